// Builds a box's disks: a read-only ext4 base from a rootfs directory and a sparse writable ext4 upper layer.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { boxliteError, diskFullError, isDiskFull } from '../errors.js';

const run = promisify(execFile);
const BLOCK = 4096;

/** Size and inode count a directory tree needs on ext4 (with headroom). */
export async function measureTree(dir: string): Promise<{ bytes: number; entries: number }> {
  let bytes = 0;
  let entries = 0;
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.promises.readdir(d, { withFileTypes: true })) {
      entries++;
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) { bytes += BLOCK; await walk(p); continue; }
      const st = await fs.promises.lstat(p);
      bytes += Math.ceil(st.size / BLOCK) * BLOCK;
    }
  };
  await walk(dir);
  return { bytes, entries };
}

/**
 * Writes a read-only ext4 image of `dir` to `out` (temp file + rename, so a crash leaves nothing half-made).
 * `measured` (from measureTree or treeIdentity) saves a walk of the tree.
 */
export async function buildBaseDisk(dir: string, out: string, measured?: { bytes: number; entries: number }): Promise<void> {
  const { bytes, entries } = measured ?? await measureTree(dir);
  const sizeBytes = Math.ceil((bytes * 1.15 + 16 * 1024 * 1024) / (1024 * 1024)) * 1024 * 1024;
  const inodes = Math.ceil(entries * 1.1) + 1024;
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await fs.promises.rm(tmp, { force: true });
    await run('mke2fs', [
      '-q', '-F', '-t', 'ext4', '-O', '^has_journal', '-b', String(BLOCK), '-N', String(inodes),
      '-L', 'boxlite-base', '-d', dir, tmp, `${sizeBytes / 1024}k`,
    ], { maxBuffer: 1024 * 1024 });
    await fs.promises.rename(tmp, out);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    if (diskFullIn(err)) throw diskFullError(`building the root disk ${out} from ${dir}`, path.dirname(out), err);
    throw boxliteError('Storage', `could not build the root disk from ${dir}: ${mke2fsMessage(err)}`, err);
  }
}

/** The size in bytes of a box's writable disk of `sizeGb` (diskSizeGb counts GiB: 1024³ bytes). */
export function upperDiskBytes(sizeGb: number): number {
  return sizeGb * 1024 ** 3;
}

/** Creates a sparse ext4 disk of `sizeGb` for the box's writes. */
export async function buildUpperDisk(out: string, sizeGb: number): Promise<void> {
  const tmp = `${out}.tmp-${process.pid}`;
  try {
    await fs.promises.rm(tmp, { force: true });
    const fd = await fs.promises.open(tmp, 'w', 0o600);
    try {
      await fd.truncate(upperDiskBytes(sizeGb));
    } finally {
      await fd.close();
    }
    await run('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'boxlite-upper', '-E', 'lazy_itable_init=1,lazy_journal_init=1,nodiscard', tmp]);
    await fs.promises.rename(tmp, out);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    if (diskFullIn(err)) throw diskFullError(`creating the ${sizeGb} GiB writable disk ${out}`, path.dirname(out), err);
    throw boxliteError('Storage', `could not create the ${sizeGb} GiB writable disk ${out}: ${mke2fsMessage(err)}`, err);
  }
}

/** A full disk, told by errno or by mke2fs's message. */
function diskFullIn(err: unknown): boolean {
  return isDiskFull(err) || /no space left/i.test(mke2fsMessage(err));
}

function mke2fsMessage(err: unknown): string {
  const e = err as { code?: string; stderr?: string; message?: string };
  if (e.code === 'ENOENT') return 'mke2fs was not found; install e2fsprogs (`npx boxlite setup` does)';
  return (e.stderr?.trim() || e.message || String(err)).slice(0, 2000);
}
