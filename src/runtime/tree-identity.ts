// The content identity of a directory tree from its metadata alone (no file is read): what keys a rootfs dir's base disk.
//
// Every entry's relative path, type and mode, owner, size, inode and device, modification time and inode change
// time (ns) go into a SHA-256. ctime is the field that makes it safe: the kernel sets it on every write, chmod,
// chown, rename, link or xattr change, and no user tool can set it back (touch -d and cp -p restore mtime, not
// ctime), so a changed file always changes the identity. The remaining hole is two writes of equal size within
// one timestamp tick around the walk ("racy git"); entries changed within RACY_WINDOW_MS of the walk mark the
// identity `racy`, and a racy tree's disk is never shared.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Entries changed this recently make the identity racy (covers filesystems with 1 s or 2 s timestamps). */
export const RACY_WINDOW_MS = 2000;
const BLOCK = 4096;

/** A tree's identity and what building its ext4 image needs to know. */
export interface TreeIdentity {
  /** SHA-256 over every entry's metadata (hex). */
  hash: string;
  /** Bytes the tree needs on ext4 in 4 KiB blocks, and its number of entries (as measureTree). */
  bytes: number;
  entries: number;
  /** True when an entry changed within RACY_WINDOW_MS of the walk: its content may change without its ctime moving. */
  racy: boolean;
}

/** Walks `dir` with lstat (symlinks are not followed) and returns its identity. */
export async function treeIdentity(dir: string): Promise<TreeIdentity> {
  const startedNs = BigInt(Date.now()) * 1_000_000n;
  const h = createHash('sha256');
  let bytes = 0;
  let entries = 0;
  let newestNs = 0n;
  const add = (rel: string, st: fs.BigIntStats): void => {
    h.update(`${rel}\0${st.mode}\0${st.uid}:${st.gid}\0${st.size}\0${st.ino}:${st.dev}:${st.rdev}\0${st.mtimeNs}\0${st.ctimeNs}\n`);
    if (st.ctimeNs > newestNs) newestNs = st.ctimeNs;
    if (st.mtimeNs > newestNs) newestNs = st.mtimeNs;
  };
  const walk = async (abs: string, rel: string): Promise<void> => {
    const names = (await fs.promises.readdir(abs)).sort();
    const stats = await Promise.all(names.map((n) => fs.promises.lstat(path.join(abs, n), { bigint: true })));
    for (let i = 0; i < names.length; i++) {
      const st = stats[i]!;
      const childRel = `${rel}/${names[i]}`;
      entries++;
      add(childRel, st);
      if (st.isDirectory()) { bytes += BLOCK; await walk(path.join(abs, names[i]!), childRel); } else bytes += Math.ceil(Number(st.size) / BLOCK) * BLOCK;
    }
  };
  add('.', await fs.promises.lstat(dir, { bigint: true }));
  await walk(dir, '.');
  const racy = startedNs - newestNs < BigInt(RACY_WINDOW_MS) * 1_000_000n;
  return { hash: h.digest('hex'), bytes, entries, racy };
}
