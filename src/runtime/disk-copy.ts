// Cheap copies of a box's writable disk that share its unchanged blocks: reflinks where the filesystem has them, else qcow2 overlays.
import fs from 'node:fs';
import path from 'node:path';
import { createOverlay } from '../vmm/qemu/img.js';
import type { BoxPaths } from './box-paths.js';
import { currentUpper, layerChain, layerFormat, newLayerName } from './disk-layers.js';

const reflinkByDir = new Map<string, Promise<boolean>>();

/**
 * Whether files in `dir` can be reflinked (copy-on-write clones: btrfs, XFS; not ext4 or tmpfs), probed once per
 * directory with a one-block file.
 */
export function reflinkSupported(dir: string): Promise<boolean> {
  let known = reflinkByDir.get(dir);
  if (!known) {
    known = probeReflink(dir);
    reflinkByDir.set(dir, known);
  }
  return known;
}

async function probeReflink(dir: string): Promise<boolean> {
  const a = path.join(dir, `.reflink-probe-${process.pid}`);
  const b = `${a}.copy`;
  try {
    await fs.promises.writeFile(a, Buffer.alloc(4096, 1));
    await fs.promises.copyFile(a, b, fs.constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    await fs.promises.rm(a, { force: true });
    await fs.promises.rm(b, { force: true });
  }
}

/** A temp name beside `file`, to be renamed onto it. */
export function tempBeside(file: string): string {
  return `${file}.tmp-${process.pid}`;
}

/** Makes a frozen layer read-only for good: ours, readable by the jails of every box whose chain has it (clones share it). */
export async function sealLayer(file: string): Promise<void> {
  const uid = process.getuid?.();
  if (uid !== undefined) await fs.promises.chown(file, uid, process.getgid?.() ?? uid);
  await fs.promises.chmod(file, 0o444);
}

/**
 * Freezes the box's current writable disk into a new read-only layer of its layers dir and returns the layer's name;
 * the box keeps a writable disk that reads the same. With reflinks the layer is a clone of the disk; otherwise the
 * disk's file itself becomes the layer (a hard link, no copy) and the box gets a fresh qcow2 overlay on it, renamed
 * into place: at every step the box's disk is either the old file or the new overlay. The box must not be running.
 */
export async function freezeUpper(paths: BoxPaths): Promise<string> {
  const upper = currentUpper(paths);
  if (!upper) throw new Error(`box ${paths.boxId} has no writable disk yet`);
  await fs.promises.mkdir(paths.layersDir, { recursive: true, mode: 0o700 });
  const name = newLayerName(upper.format);
  const layer = path.join(paths.layersDir, name);
  if (await reflinkSupported(paths.layersDir)) {
    const tmp = tempBeside(layer);
    try {
      await fs.promises.copyFile(upper.path, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
      await sealLayer(tmp);
      await fs.promises.rename(tmp, layer);
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
    return name;
  }
  await fs.promises.link(upper.path, layer);
  try {
    await overlayInPlace(paths, name);
  } catch (err) {
    await fs.promises.rm(layer, { force: true }); // only a second name of the disk, which is unchanged
    throw err;
  }
  await sealLayer(layer);
  return name;
}

/**
 * Gives the box a fresh writable disk that reads as layer `name` of its layers dir: a qcow2 overlay on it (or, with
 * reflinks, a clone of it), made under a temp name and renamed into place. A raw disk it replaces is deleted after.
 */
export async function overlayInPlace(paths: BoxPaths, name: string): Promise<void> {
  const format = layerFormat(name)!;
  const layer = path.join(paths.layersDir, name);
  const reflink = await reflinkSupported(paths.layersDir);
  // With reflinks a raw layer comes back as the raw disk; anything else becomes the overlay.
  const target = reflink && format === 'raw' ? paths.upperDisk : paths.overlayUpperDisk;
  const tmp = tempBeside(target);
  try {
    if (reflink) await fs.promises.copyFile(layer, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
    else await createOverlay(tmp, { name, format });
    await fs.promises.chmod(tmp, 0o600);
    await fs.promises.rename(tmp, target);
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
  // The overlay wins over a raw disk while both exist (a crash here): removing the other one finishes the switch.
  await fs.promises.rm(target === paths.upperDisk ? paths.overlayUpperDisk : paths.upperDisk, { force: true });
  await syncDir(paths.layersDir);
}

/**
 * Makes `dst`'s writable disk a copy of `src`'s that shares its blocks; the two then diverge independently. `src`
 * keeps a disk that reads the same (it may become an overlay on a new frozen layer, see freezeUpper); `dst` gets
 * hard links of the read-only layers its disk reads through (immutable files, so sharing them is safe, and each
 * box's removal drops only its own names). Neither box may be running; `dst` must have no disk yet.
 */
export async function cheapDiskCopy(src: BoxPaths, dst: BoxPaths): Promise<void> {
  const upper = currentUpper(src);
  if (!upper) return;
  await fs.promises.mkdir(dst.layersDir, { recursive: true, mode: 0o700 });
  if (await reflinkSupported(src.dir)) {
    const target = upper.format === 'raw' ? dst.upperDisk : dst.overlayUpperDisk;
    if (upper.format === 'qcow2') await linkLayers(src, dst, (await layerChain(src.layersDir, path.basename(upper.path))).slice(1));
    const tmp = tempBeside(target);
    try {
      await fs.promises.copyFile(upper.path, tmp, fs.constants.COPYFILE_FICLONE_FORCE);
      await fs.promises.rename(tmp, target);
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
    return;
  }
  const frozen = await freezeUpper(src);
  await linkLayers(src, dst, await layerChain(src.layersDir, frozen));
  await overlayInPlace(dst, frozen);
}

async function linkLayers(src: BoxPaths, dst: BoxPaths, names: readonly string[]): Promise<void> {
  for (const n of names) await fs.promises.link(path.join(src.layersDir, n), path.join(dst.layersDir, n));
}

/** fsyncs a directory, so the renames in it survive a crash. */
export async function syncDir(dir: string): Promise<void> {
  const fd = await fs.promises.open(dir, 'r');
  try { await fd.sync(); } finally { await fd.close(); }
}
