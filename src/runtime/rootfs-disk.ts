// A box's base disk from a rootfs directory: built once per content identity of the tree, kept in the home, and
// hard-linked into each box that uses it (so a box keeps its disk even after the cache moves on).
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { emitProgress, type ProgressListener } from '../setup/progress.js';
import { withFileLock } from '../util/file-lock.js';
import { buildBaseDisk } from './disks.js';
import { treeIdentity } from './tree-identity.js';

/** Bump when buildBaseDisk makes a different image of the same tree, so cached disks are not reused. */
export const ROOTFS_DISK_FORMAT = 1;

/** `<home>/rootfs-disks`: the cached base disks of rootfs directories. */
export function rootfsDisksDir(homeDir: string): string {
  return path.join(homeDir, 'rootfs-disks');
}

/** The cached disk of the tree at `realDir` with identity `identityHash`: `<dir hash>-<identity>.ext4`. */
export function rootfsDiskPath(homeDir: string, realDir: string, identityHash: string): string {
  const key = createHash('sha256').update(`${ROOTFS_DISK_FORMAT}\0${identityHash}`).digest('hex').slice(0, 32);
  return path.join(rootfsDisksDir(homeDir), `${dirKey(realDir)}-${key}.ext4`);
}

/** What provideRootfsDisk did. */
export interface RootfsDiskResult {
  status: 'reused' | 'built';
  /** The cached disk the box's disk is a link of; undefined when the box got a disk of its own (see provideRootfsDisk). */
  cachedPath: string | undefined;
}

/**
 * Gives the box the base disk `boxDisk` of the rootfs directory `rootfsPath`: a hard link of the cached disk of the
 * tree's current identity (see tree-identity.ts), built first when missing (one builder per identity; the others
 * wait). The tree is walked again after a build: a tree that changed meanwhile, or a racy one, gets a disk of the
 * box's own that is not cached. A home whose boxes sit on another filesystem than its cache gets a copy.
 */
export async function provideRootfsDisk(homeDir: string, rootfsPath: string, boxDisk: string, onProgress?: ProgressListener): Promise<RootfsDiskResult> {
  const t0 = performance.now();
  let realDir: string;
  try {
    realDir = fs.realpathSync(rootfsPath);
  } catch (err) {
    throw boxliteError('InvalidArgument', `rootfs.rootfsPath ${rootfsPath} cannot be read: ${(err as Error).message}; pass an existing directory`, err);
  }
  const id = await treeIdentity(realDir);
  const done = (status: RootfsDiskResult['status'], cachedPath: string | undefined): RootfsDiskResult => {
    emitProgress(onProgress, { type: 'rootfs-disk', status, rootfsPath, diskPath: cachedPath ?? boxDisk, durationMs: Math.round(performance.now() - t0) });
    return { status, cachedPath };
  };
  if (id.racy) {
    await buildBaseDisk(realDir, boxDisk, id);
    return done('built', undefined);
  }
  const cached = rootfsDiskPath(homeDir, realDir, id.hash);
  if (await linkInto(cached, boxDisk)) return done('reused', cached);
  fs.mkdirSync(rootfsDisksDir(homeDir), { recursive: true, mode: 0o700 });
  return withFileLock(`${cached}.lock`, async () => {
    if (await linkInto(cached, boxDisk)) return done('reused', cached);
    const fresh = `${cached}.building-${process.pid}`;
    try {
      await buildBaseDisk(realDir, fresh, id);
      if ((await treeIdentity(realDir)).hash !== id.hash) { // changed while mke2fs read it: this box's only
        fs.renameSync(fresh, boxDisk);
        return done('built', undefined);
      }
      fs.chmodSync(fresh, 0o644); // shared by boxes of different jail uids; the directory stays private
      fs.renameSync(fresh, cached);
    } finally {
      fs.rmSync(fresh, { force: true });
    }
    evictUnused(homeDir, realDir, cached);
    if (!(await linkInto(cached, boxDisk))) throw boxliteError('Storage', `the root disk ${cached} of ${rootfsPath} vanished right after it was built; start the box again`);
    return done('built', cached);
  });
}

/** Links (or, across filesystems, copies) `cached` to `boxDisk`; false when there is no `cached`. */
async function linkInto(cached: string, boxDisk: string): Promise<boolean> {
  try {
    fs.linkSync(cached, boxDisk);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return false;
    if (code !== 'EXDEV') throw boxliteError('Storage', `cannot link the root disk ${cached} into ${boxDisk}: ${(err as Error).message}`, err);
  }
  await fs.promises.copyFile(cached, `${boxDisk}.tmp-${process.pid}`, fs.constants.COPYFILE_FICLONE);
  fs.renameSync(`${boxDisk}.tmp-${process.pid}`, boxDisk);
  return true;
}

/** Removes the other cached disks of `realDir` that no box links to any more (older contents of the same directory). */
function evictUnused(homeDir: string, realDir: string, keep: string): void {
  const dir = rootfsDisksDir(homeDir);
  const prefix = `${dirKey(realDir)}-`;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    if (!name.startsWith(prefix) || !name.endsWith('.ext4') || p === keep) continue;
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (st && st.nlink === 1) fs.rmSync(p, { force: true });
  }
}

function dirKey(realDir: string): string {
  return createHash('sha256').update(realDir).digest('hex').slice(0, 16);
}
