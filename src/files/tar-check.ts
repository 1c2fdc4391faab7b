// Checks each entry of a tar stream from a box before it is passed on as tar: confined names, no entry beneath a
// symlink of the same archive, hard links only to earlier entries, and limits on entries and bytes.
import path from 'node:path';
import type { Header, Pack } from 'tar-stream';
import { boxliteError, type BoxliteError } from '../errors.js';
import type { ExtractLimits } from './host-extract.js';

/** @internal The header of an entry to pack. */
export type PackHeader = Parameters<Pack['entry']>[0];

const PASSED: ReadonlySet<Header['type']> = new Set(['file', 'contiguous-file', 'directory', 'symlink', 'link', 'character-device', 'block-device', 'fifo']);

/** @internal The verdicts on one archive's entries, in order; `check` throws on the first bad one. */
export class ArchiveChecker {
  private readonly seen = new Set<string>();
  private readonly links = new Set<string>();
  private entries = 0;
  /** File bytes passed so far. */
  bytes = 0;

  /** `top`: the name every entry must be or be beneath ('.' = any); `source` names the box in errors. */
  constructor(private readonly top: string, private readonly limits: ExtractLimits, private readonly source: string, private readonly limitsOption = 'CopyOutOptions') {}

  /** The header to pass on for `h` (only the fields that describe the entry, its name cleaned), or an error. */
  check(h: Header): PackHeader {
    const name = this.clean(h.name, h.name);
    if (this.top !== '.' && name !== this.top && !name.startsWith(`${this.top}/`)) throw this.refuse(h.name, `is not under ${JSON.stringify(this.top)}, the path asked for`);
    if (!PASSED.has(h.type)) throw this.refuse(h.name, `has the tar entry type ${String(h.type)}, which is never passed on`);
    for (let dir = path.posix.dirname(name); dir !== '.' && dir !== '/'; dir = path.posix.dirname(dir)) {
      if (this.links.has(dir)) throw this.refuse(h.name, `lies beneath ${JSON.stringify(dir)}, a symlink of the same archive`);
    }
    if (++this.entries > this.limits.maxFiles) throw this.limit(`more than maxFiles (${this.limits.maxFiles}) entries`);
    const size = h.type === 'file' || h.type === 'contiguous-file' ? h.size ?? 0 : 0;
    this.bytes += size;
    if (this.bytes > this.limits.maxBytes) throw this.limit(`more than maxBytes (${this.limits.maxBytes}) bytes`);
    let linkname: string | undefined;
    if (h.type === 'link') {
      linkname = this.clean(h.linkname ?? '', h.name);
      if (!this.seen.has(linkname)) throw this.refuse(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which is no earlier entry of the archive`);
    } else if (h.type === 'symlink') {
      linkname = h.linkname ?? '';
      if (linkname.includes('\0')) throw this.refuse(h.name, 'is a symlink whose target holds a NUL byte');
    }
    if (h.type === 'symlink') this.links.add(name);
    else this.links.delete(name); // an entry that replaces a symlink ends it
    this.seen.add(name);
    const shown = this.top === '.' && name !== '.' ? `./${name}` : name; // contents stay `./...`, as the box sent them
    const out: PackHeader = {
      name: h.type === 'directory' ? `${shown}/` : shown, type: h.type, size, mode: h.mode, mtime: h.mtime,
      uid: h.uid, gid: h.gid, uname: h.uname, gname: h.gname,
    };
    if (linkname !== undefined) out.linkname = linkname;
    if (h.type === 'character-device' || h.type === 'block-device') Object.assign(out, { devmajor: h.devmajor, devminor: h.devminor });
    return out;
  }

  /** A relative, normalized name without '..' or NUL, or an error naming the entry. */
  private clean(raw: string, entry: string): string {
    if (raw.includes('\0')) throw this.refuse(entry, 'holds a NUL byte');
    const norm = path.posix.normalize(raw.replace(/\/+$/, ''));
    if (raw.startsWith('/')) throw this.refuse(entry, 'is an absolute name');
    if (norm === '..' || norm.startsWith('../')) throw this.refuse(entry, 'climbs out of the archive with ".."');
    if (norm === '') throw this.refuse(entry, 'has an empty name');
    return norm;
  }

  private refuse(name: string, why: string): BoxliteError {
    return boxliteError('Portal', `${this.source} sent a tar entry ${JSON.stringify(name)} that ${why}; the stream was cut there (the guest is broken or hostile)`);
  }

  private limit(what: string): BoxliteError {
    return boxliteError('InvalidArgument', `${this.source} sent ${what}; the stream was cut there: raise the limit in ${this.limitsOption} if the box is trusted with more`);
  }
}
