// Writes a tar stream from a box into a host directory, treating every entry as hostile: confined names,
// no symlink followed, no device or setuid file, limits on bytes and entries, and nothing left on failure.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Header as Headers } from 'tar-stream';
import { boxliteError, BoxliteError } from '../errors.js';
import { SafeRoot } from '../images/unpack/safe-root.js';
import type { CopyResult } from './types.js';

/** Limits of one extraction. */
export interface ExtractLimits { maxBytes: number; maxFiles: number }

/** One extraction into `root`, of entries named `top` or beneath it. */
export class HostTreeWriter {
  readonly result: CopyResult = { entries: 0, bytes: 0, skipped: [] };
  private readonly safe: SafeRoot;
  private readonly created: string[] = [];
  private readonly dirs: { abs: string; mode: number; mtime?: Date }[] = [];
  private readonly top: string;

  constructor(root: string, top: string, private readonly limits: ExtractLimits, private readonly source: string) {
    this.safe = new SafeRoot(root, (name, why) => boxliteError('Portal',
      `${source} sent an entry ${JSON.stringify(name)} that ${why}; refused, and nothing of this copy was left in ${root} (the guest is broken or hostile)`));
    this.safe.created = this.created;
    this.top = this.safe.clean(top);
  }

  /** Writes one entry; `body` is its data (drained by the caller if not consumed). */
  async entry(h: Headers, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = this.safe.clean(h.name);
    if (this.top !== '' && rel !== this.top && !rel.startsWith(`${this.top}/`)) {
      throw this.safe.refuse(h.name, `is not under ${JSON.stringify(this.top)}, the path asked for`);
    }
    if (++this.result.entries > this.limits.maxFiles) throw this.limit(`more than maxFiles (${this.limits.maxFiles}) entries`);
    const abs = await this.safe.prepareParents(rel, h.name);
    const existing = await fs.lstat(abs).catch(() => undefined);
    switch (h.type) {
      case 'directory':
        if (existing?.isSymbolicLink()) throw this.safe.refuse(h.name, 'is a directory where the host has a symlink (it is never followed)');
        if (existing && !existing.isDirectory()) throw this.safe.refuse(h.name, 'is a directory where the host has a file');
        if (!existing) {
          await fs.mkdir(abs, { mode: 0o700 });
          this.created.push(abs);
        }
        this.safe.knownDir(rel);
        if (rel !== '') this.dirs.push({ abs, mode: (h.mode ?? 0o755) & 0o777, mtime: h.mtime });
        return;
      case 'file': case 'contiguous-file':
        if (existing?.isDirectory()) throw this.safe.refuse(h.name, 'is a file where the host has a directory');
        await this.writeFile(abs, h, body, !existing);
        return;
      case 'symlink': {
        if (existing?.isDirectory()) throw this.safe.refuse(h.name, 'is a symlink where the host has a directory');
        const tmp = tempName(abs);
        await fs.symlink(h.linkname ?? '', tmp);
        await fs.rename(tmp, abs).catch(async (e: unknown) => { await fs.rm(tmp, { force: true }); throw e; });
        if (!existing) this.created.push(abs);
        if (h.mtime) await fs.lutimes(abs, h.mtime, h.mtime).catch(() => undefined);
        this.safe.forget(rel);
        return;
      }
      default:
        this.result.entries--;
        this.result.skipped.push({ path: rel, reason: skipReason(h.type) });
    }
  }

  /** Applies directory modes and mtimes (innermost first), once every entry is written. */
  async commit(): Promise<void> {
    for (const d of this.dirs.reverse()) {
      await fs.chmod(d.abs, d.mode);
      if (d.mtime) await fs.utimes(d.abs, d.mtime, d.mtime).catch(() => undefined);
    }
  }

  /** Removes everything this extraction created (newest first). */
  async rollback(): Promise<void> {
    for (const p of this.created.reverse()) await fs.rm(p, { recursive: true, force: true }).catch(() => undefined);
  }

  private async writeFile(abs: string, h: Headers, body: AsyncIterable<Buffer>, isNew: boolean): Promise<void> {
    const tmp = tempName(abs);
    const file = await fs.open(tmp, 'wx', 0o600);
    try {
      for await (const chunk of body) {
        this.result.bytes += chunk.length;
        if (this.result.bytes > this.limits.maxBytes) throw this.limit(`more than maxBytes (${this.limits.maxBytes}) bytes`);
        await file.write(chunk);
      }
      await file.chmod((h.mode ?? 0o644) & 0o777); // never setuid, setgid or sticky on the host
      if (h.mtime) await file.utimes(h.mtime, h.mtime);
      await file.close();
      await fs.rename(tmp, abs);
    } catch (e) {
      await file.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw e;
    }
    if (isNew) this.created.push(abs);
  }

  private limit(what: string): BoxliteError {
    return boxliteError('InvalidArgument', `${this.source} sent ${what}; stopped, and nothing of this copy was left in ${this.safe.root}: raise the limit in CopyOutOptions if the box is trusted with more`);
  }
}

function tempName(abs: string): string {
  return path.join(path.dirname(abs), `.${path.basename(abs).slice(0, 200)}.boxlite-${randomBytes(6).toString('hex')}`);
}

function skipReason(type: Headers['type']): string {
  switch (type) {
    case 'character-device': case 'block-device': return 'device nodes are never created on the host';
    case 'fifo': return 'fifos are not copied';
    case 'link': return 'hard links are not copied (copy the file they link to)';
    default: return `tar entries of type ${String(type)} are not copied`;
  }
}

