// Applies an image's layers, in order, into a fresh directory.
import fs from 'node:fs/promises';
import { openLayerTar } from './decompress.js';
import { applyLayer, type LayerStats } from './apply-layer.js';
import { SafeRoot } from './safe-root.js';

/** What the unpack did. */
export interface UnpackResult {
  entries: number;
  bytes: number;
  layers: number;
}

/**
 * Applies each layer (blob file path plus digest, bottom layer first) into `dir`, which is created (mode 0755).
 * On failure `dir` is left for the caller to remove.
 */
export async function unpackLayers(dir: string, layers: readonly { path: string; digest: string }[], signal?: AbortSignal): Promise<UnpackResult> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const safe = new SafeRoot(dir);
  const total: UnpackResult = { entries: 0, bytes: 0, layers: 0 };
  for (const layer of layers) {
    signal?.throwIfAborted();
    const source = await openLayerTar(layer.path, layer.digest);
    const stats: LayerStats = await applyLayer(safe, source, layer.digest);
    total.entries += stats.entries;
    total.bytes += stats.bytes;
    total.layers++;
  }
  return total;
}
