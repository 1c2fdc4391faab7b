// Directories only this user controls, for sockets outside the home dir (under the shared temp dir).
//
// A directory another user made first, or a symlink planted where ours should be, would hand them the box's
// sockets, or make us change a directory of their choosing. So a directory is created so that creating fails if
// something is there, checked with lstat (a real directory, ours, nobody else may write), and its mode and owner
// are only ever changed through a descriptor opened with O_NOFOLLOW, never through a path.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boxliteError } from '../errors.js';

const uid = (): number => process.getuid?.() ?? 0;

/** `<tmp>/boxlite-<uid>`: where this user's boxes keep sockets that cannot be in their home dir. */
export function runDir(): string {
  return path.join(os.tmpdir(), `boxlite-${uid()}`);
}

/**
 * Makes `dir` a private directory with `mode` (owned by this user, writable by nobody else), creating it if
 * missing. Throws Config naming the path when something else is there (another user's, a symlink, writable by
 * others), or when its parent lets others replace it.
 */
export function ensurePrivateDir(dir: string, mode: number): void {
  const parent = fs.statSync(path.dirname(dir), { throwIfNoEntry: false });
  if (!parent?.isDirectory()) throw unsafe(dir, `its parent ${path.dirname(dir)} is not a directory`);
  if ((parent.mode & 0o022) !== 0 && (parent.mode & 0o1000) === 0) {
    throw unsafe(dir, `its parent ${path.dirname(dir)} is writable by other users and not sticky, so they could replace it`);
  }
  try {
    fs.mkdirSync(dir, { mode });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw boxliteError('Config', `cannot create the socket directory ${dir}: ${(err as Error).message}`, err);
  }
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) throw unsafe(dir, 'it is a symlink (someone may have planted it to redirect the box\'s sockets)');
  if (!st.isDirectory()) throw unsafe(dir, 'it is not a directory');
  if (st.uid !== uid()) throw unsafe(dir, `it is owned by uid ${st.uid}, not ${uid()} (another user made it, and could read the box's sockets)`);
  if ((st.mode & 0o022) !== 0) throw unsafe(dir, `other users may write to it (mode ${(st.mode & 0o7777).toString(8)})`);
  if ((st.mode & 0o7777) !== mode) withDirFd(dir, st, (fd) => fs.fchmodSync(fd, mode));
}

/**
 * Creates `dir` afresh inside a private parent (see ensurePrivateDir): a leftover of an earlier start is
 * deleted first; then mkdir, which fails if anything is there; `owner` (uid = gid) is set through the descriptor.
 */
export function freshPrivateSubdir(dir: string, mode: number, owner?: number): void {
  fs.rmSync(dir, { recursive: true, force: true });
  try {
    fs.mkdirSync(dir, { mode });
  } catch (err) {
    throw boxliteError('Config', `cannot create the socket directory ${dir}: ${(err as Error).message}`, err);
  }
  const st = fs.lstatSync(dir);
  withDirFd(dir, st, (fd) => {
    if ((st.mode & 0o7777) !== mode) fs.fchmodSync(fd, mode);
    if (owner !== undefined) fs.fchownSync(fd, owner, owner);
  });
}

/** True when `dir` is a private directory of this user (what ensurePrivateDir makes); for deleting below it. */
export function isPrivateDir(dir: string): boolean {
  const st = fs.lstatSync(dir, { throwIfNoEntry: false });
  return st !== undefined && st.isDirectory() && st.uid === uid() && (st.mode & 0o022) === 0;
}

// Runs `fn` on a descriptor of `dir` that is the directory lstat saw (not a symlink, not swapped since).
function withDirFd(dir: string, seen: fs.Stats, fn: (fd: number) => void): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  try {
    const st = fs.fstatSync(fd);
    if (st.dev !== seen.dev || st.ino !== seen.ino) throw unsafe(dir, 'it was replaced while it was being checked');
    fn(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function unsafe(dir: string, why: string): Error {
  return boxliteError('Config', `the socket directory ${dir} is not safe to use: ${why}; remove it, or set TMPDIR to a directory only you can write`);
}
