// Path safety for unpacking: entry names confined to the root, and parent directories checked with lstat so no symlink is ever followed.
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, type BoxliteError } from '../../errors.js';

/**
 * One unpack root. Entry names are cleaned (`./a/b/` → `a/b`); names that are absolute or hold `..` are refused;
 * each parent component is checked with lstat (created as a directory when missing) and refused when it is a
 * symlink or not a directory. Directories known good are cached until something under them is replaced.
 */
export class SafeRoot {
  readonly root: string;
  /** The layer being applied, for error messages. */
  layer = '';
  private readonly dirs = new Set<string>();
  /** When set, every directory prepareParents makes is added here (so a failed copy can remove it). */
  created: string[] | undefined;

  /** `refusal` words the error for a refused entry (by default: an Image error naming the layer). */
  constructor(root: string, private readonly refusal?: (name: string, why: string) => BoxliteError) {
    this.root = root;
  }

  /** The error for an entry `name` that `why`. */
  refuse(name: string, why: string): BoxliteError {
    if (this.refusal) return this.refusal(name, why);
    return boxliteError('Image', `layer ${this.layer} has an entry ${JSON.stringify(name)} that ${why}; refusing to unpack it (the image is malformed or hostile)`);
  }

  /** The cleaned relative path of an entry name ('' for the root itself). */
  clean(name: string): string {
    if (name.startsWith('/')) throw this.refuse(name, 'is an absolute path');
    const parts = name.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw this.refuse(name, 'contains ".." (it would escape the root)');
    if (parts.some((p) => p.includes('\0'))) throw this.refuse(name, 'contains a NUL byte');
    return parts.join('/');
  }

  /** The absolute path of a cleaned relative path. */
  abs(rel: string): string {
    return rel === '' ? this.root : path.join(this.root, rel);
  }

  /**
   * Makes sure every parent of `rel` is a real directory inside the root (creating missing ones when `create`),
   * and returns the absolute path of `rel`. `name` is the original entry name, for errors.
   */
  async prepareParents(rel: string, name: string, create = true): Promise<string> {
    const parts = rel.split('/');
    parts.pop();
    let cur = '';
    for (const part of parts) {
      cur = cur === '' ? part : `${cur}/${part}`;
      if (this.dirs.has(cur)) continue;
      const st = await fs.lstat(this.abs(cur)).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return undefined;
        throw e;
      });
      if (!st) {
        if (!create) throw this.refuse(name, `refers to ${JSON.stringify(cur)}, which does not exist`);
        await fs.mkdir(this.abs(cur), { mode: 0o755 });
        this.created?.push(this.abs(cur));
      } else if (st.isSymbolicLink()) {
        throw this.refuse(name, `goes through the symlink ${JSON.stringify(cur)} (symlinks are never followed while unpacking; they could point outside the root)`);
      } else if (!st.isDirectory()) {
        throw this.refuse(name, `needs ${JSON.stringify(cur)} to be a directory, but it is a file`);
      }
      this.dirs.add(cur);
    }
    return this.abs(rel);
  }

  /** Marks `rel` as a known directory. */
  knownDir(rel: string): void {
    if (rel !== '') this.dirs.add(rel);
  }

  /** Forgets cached directories at or under `rel` (after it was removed or replaced). */
  forget(rel: string): void {
    for (const d of this.dirs) if (d === rel || d.startsWith(`${rel}/`)) this.dirs.delete(d);
  }

  /** Forgets every cached directory (between layers). */
  reset(): void {
    this.dirs.clear();
  }
}
