// A reproducible newc ("070701") cpio writer: the archive format of the Linux initramfs.
import { boxliteError } from '../errors.js';

/** One archive member. Paths are relative (`init`, `lib/modules`); a leading `/` is dropped. */
export type CpioEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Uint8Array; mode?: number }
  | { type: 'symlink'; path: string; target: string }
  | { type: 'chardev'; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;
const TRAILER = 'TRAILER!!!';

/** Adds a `dir` entry (mode 0755) before the first member of every parent directory not listed earlier. */
export function withParentDirs(entries: readonly CpioEntry[]): CpioEntry[] {
  const dirs = new Set<string>();
  const out: CpioEntry[] = [];
  for (const e of entries) {
    const p = normalize(e.path);
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!dirs.has(parent)) { dirs.add(parent); out.push({ type: 'dir', path: parent }); }
    }
    if (e.type === 'dir') {
      if (dirs.has(p)) continue;
      dirs.add(p);
    }
    out.push(e);
  }
  return out;
}

/**
 * Yields the archive in pieces (header, name, data, padding per member, then the trailer). Every member has
 * uid/gid 0 and mtime 0, and inode numbers count up from 1, so equal input gives byte-identical output.
 */
export function* cpioChunks(entries: Iterable<CpioEntry>): Generator<Buffer> {
  let ino = 1;
  let offset = 0;
  const emit = function* (name: string, mode: number, nlink: number, data: Uint8Array, rdev: [number, number], inode: number): Generator<Buffer> {
    const nameBytes = Buffer.from(`${name}\0`, 'utf8');
    const fields = [inode, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0], rdev[1], nameBytes.length, 0];
    const header = Buffer.from('070701' + fields.map(hex8).join(''), 'latin1');
    const namePad = pad4(offset + header.length + nameBytes.length);
    yield Buffer.concat([header, nameBytes, Buffer.alloc(namePad)]);
    offset += header.length + nameBytes.length + namePad;
    if (data.length > 0) {
      const dataPad = pad4(offset + data.length);
      yield Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (dataPad) yield Buffer.alloc(dataPad);
      offset += data.length + dataPad;
    }
  };
  const none = new Uint8Array(0);
  for (const e of entries) {
    const name = normalize(e.path);
    switch (e.type) {
      case 'dir': yield* emit(name, S_IFDIR | perm(e.mode, 0o755), 2, none, [0, 0], ino++); break;
      case 'file': yield* emit(name, S_IFREG | perm(e.mode, 0o644), 1, e.data, [0, 0], ino++); break;
      case 'symlink': yield* emit(name, S_IFLNK | 0o777, 1, Buffer.from(e.target, 'utf8'), [0, 0], ino++); break;
      case 'chardev': yield* emit(name, S_IFCHR | perm(e.mode, 0o600), 1, none, [e.major, e.minor], ino++); break;
    }
  }
  yield* emit(TRAILER, 0, 1, none, [0, 0], 0);
}

/** The whole archive as one Buffer. */
export function cpioArchive(entries: Iterable<CpioEntry>): Buffer {
  return Buffer.concat([...cpioChunks(entries)]);
}

function normalize(p: string): string {
  const n = p.replace(/^\/+/, '').replace(/\/+$/, '');
  if (n === '' || n.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw boxliteError('InvalidArgument', `cpio member path must be a plain relative path, got ${JSON.stringify(p)}`);
  }
  return n;
}

function perm(mode: number | undefined, dflt: number): number {
  return (mode ?? dflt) & 0o7777;
}

function hex8(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw boxliteError('InvalidArgument', `cpio header field out of range: ${n}`);
  return n.toString(16).toUpperCase().padStart(8, '0');
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}
