// Upkeep of a box's layers dir: folding a layer into the files that read through it, and sweeping what nothing needs.
import fs from 'node:fs';
import path from 'node:path';
import { rebaseOverlay } from '../vmm/qemu/img.js';
import type { BoxPaths } from './box-paths.js';
import { backingOf, chainOf, currentUpper, layerChain, layerFormat } from './disk-layers.js';
import { sealLayer, syncDir, tempBeside } from './disk-copy.js';
import { readIndex } from './snapshot-index.js';

/**
 * Folds layer `layer` into every file that reads through it (the disk, later layers), so it can go: each such file
 * is copied, the copy moved onto `layer`'s own backing file with what `layer` held copied in (qemu-img rebase), and
 * renamed onto the original. A file is either as before or merged, never half.
 */
export async function mergeIntoDependants(paths: BoxPaths, layer: string): Promise<void> {
  const dir = paths.layersDir;
  const parent = layerFormat(layer) === 'qcow2' ? await backingOf(dir, path.join(dir, layer)) : undefined;
  for (const name of await fs.promises.readdir(dir)) {
    if (name !== path.basename(paths.overlayUpperDisk) && layerFormat(name) !== 'qcow2') continue;
    const file = path.join(dir, name);
    if (await backingOf(dir, file) !== layer) continue;
    const tmp = tempBeside(file);
    try {
      await fs.promises.copyFile(file, tmp, fs.constants.COPYFILE_FICLONE);
      await fs.promises.chmod(tmp, 0o600);
      await rebaseOverlay(tmp, parent ? { name: parent, format: layerFormat(parent)! } : undefined);
      if (name !== path.basename(paths.overlayUpperDisk)) await sealLayer(tmp);
      await fs.promises.rename(tmp, file);
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }
  await syncDir(dir);
}

/**
 * Deletes what no longer belongs in the box's layers dir: layers neither the disk nor a snapshot reads through,
 * temp files of an operation that did not finish (the caller holds the box's lock), and a raw disk left beside the
 * overlay that replaced it. Nothing is deleted when the index or a header cannot be read.
 */
export async function sweepLayers(paths: BoxPaths): Promise<void> {
  const dir = paths.layersDir;
  if (!fs.existsSync(dir)) return;
  const keep = new Set<string>();
  const upper = currentUpper(paths);
  if (upper?.format === 'qcow2') for (const p of await chainOf(dir, upper.path)) keep.add(path.basename(p));
  for (const e of readIndex(dir)) for (const n of await layerChain(dir, e.layer)) keep.add(n);
  for (const name of await fs.promises.readdir(dir)) {
    if ((layerFormat(name) && !keep.has(name)) || name.includes('.tmp-')) await fs.promises.rm(path.join(dir, name), { force: true });
  }
  if (upper?.format === 'qcow2') await fs.promises.rm(paths.upperDisk, { force: true });
  for (const name of await fs.promises.readdir(paths.dir)) if (name.startsWith(`${path.basename(paths.upperDisk)}.tmp-`)) await fs.promises.rm(path.join(paths.dir, name), { force: true });
}
