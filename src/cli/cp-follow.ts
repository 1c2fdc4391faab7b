// `boxlite cp -L`: a symlink SRC is followed, and what it points to is copied under the link's own name.
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, BoxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';

const MAX_LINKS = 40;

/** Where a chain of symlinks in the box starting at `p` ends (`p` itself when it is no symlink, or ends in `/.`). */
export async function resolveInBox(box: LiteBox, p: string): Promise<string> {
  if (/\/\.$/.test(p)) return p; // `link/.` already goes through the link: the contents of what it points to
  let cur = path.posix.resolve('/', p);
  for (let i = 0; i < MAX_LINKS; i++) {
    const st = await box.fs.lstat(cur);
    if (!st.isSymbolicLink()) return cur;
    cur = path.posix.resolve(path.posix.dirname(cur), st.linkTarget ?? '');
  }
  throw boxliteError('InvalidArgument', `cannot follow ${p} in box ${box.id}: more than ${MAX_LINKS} levels of symlinks`);
}

/** A host SRC for copyIn and the box path to copy it to, the link followed and named as the link when SRC is a symlink. */
export async function followHostSource(box: LiteBox, hostPath: string, guestPath: string): Promise<[string, string]> {
  const st = await fs.lstat(hostPath).catch(() => undefined);
  if (!st?.isSymbolicLink()) return [hostPath, guestPath];
  const real = await fs.realpath(hostPath).catch((e: NodeJS.ErrnoException) => {
    throw boxliteError('NotFound', `cannot follow the symlink ${path.resolve(hostPath)}: ${e.message}`, e);
  });
  return [real, await intoDirectory(guestPath, path.basename(hostPath), async (p) => (await box.fs.stat(p).catch(notFound))?.isDirectory() ?? false)];
}

/** A box SRC (followed) and the host path to copy it to, named as the link when the box path was a symlink. */
export async function followBoxSource(box: LiteBox, guestPath: string, hostPath: string): Promise<[string, string]> {
  const real = await resolveInBox(box, guestPath);
  if (real === guestPath || real === path.posix.resolve('/', guestPath)) return [guestPath, hostPath];
  const isDir = async (p: string): Promise<boolean> => (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
  return [real, await intoDirectory(hostPath, path.posix.basename(guestPath), isDir)];
}

/** `dest/name` when `dest` is an existing directory (the copy goes in it under `name`), else `dest`. */
async function intoDirectory(dest: string, name: string, isDir: (p: string) => Promise<boolean>): Promise<string> {
  return (await isDir(dest)) ? `${dest.replace(/\/+$/, '')}/${name}` : dest;
}

function notFound(e: unknown): undefined {
  if (BoxliteError.is(e) && e.code === 'NotFound') return undefined;
  throw e;
}
