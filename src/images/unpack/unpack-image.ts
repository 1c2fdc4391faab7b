// Applies an image's layers, in order, into a fresh directory.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { boxliteError } from '../../errors.js';
import { openLayerTar } from './decompress.js';
import { applyLayer, type LayerStats } from './apply-layer.js';
import { SafeRoot } from './safe-root.js';

/** What the unpack did. */
export interface UnpackResult {
  entries: number;
  bytes: number;
  layers: number;
}

/** One layer to apply: its blob file, its (compressed) digest, and the digest of its uncompressed tar when known. */
export interface LayerSource {
  path: string;
  digest: string;
  /** The image config's `rootfs.diff_ids` entry: the uncompressed tar must hash to it. */
  diffId?: string;
}

/**
 * Applies each layer (bottom layer first) into `dir`, which is created (mode 0755). A layer whose uncompressed tar
 * does not hash to its `diffId` is an Image error. On failure `dir` is left for the caller to remove.
 */
export async function unpackLayers(dir: string, layers: readonly LayerSource[], signal?: AbortSignal): Promise<UnpackResult> {
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  const safe = new SafeRoot(dir);
  const total: UnpackResult = { entries: 0, bytes: 0, layers: 0 };
  for (const layer of layers) {
    signal?.throwIfAborted();
    const source = await openLayerTar(layer.path, layer.digest);
    const hash = layer.diffId?.startsWith('sha256:') ? createHash('sha256') : undefined;
    if (hash) source.stream.on('data', (chunk: Buffer) => hash.update(chunk));
    const stats: LayerStats = await applyLayer(safe, source, layer.digest);
    const diffId = hash && `sha256:${hash.digest('hex')}`;
    if (diffId && diffId !== layer.diffId) {
      throw boxliteError('Image', `layer ${layer.digest} unpacks to content with digest ${diffId}, but the image config says ${layer.diffId} (rootfs.diff_ids); the image is inconsistent or tampered with: rebuild or re-push it`);
    }
    total.entries += stats.entries;
    total.bytes += stats.bytes;
    total.layers++;
  }
  return total;
}
