// The content store: blobs addressed by sha256, written to ingest/ while streaming, checked, fsynced, renamed into blobs/.
//
// Lifecycle of a blob: *ingesting* (bytes stream into `ingest/<pid>-<random>`, hashed and counted as they arrive),
// *committed* (size and digest matched, file fsynced and renamed to `blobs/sha256/<hex>`; rename is atomic, so a
// reader never sees a partial blob and two writers of the same blob both succeed), *deleted* (by remove/prune).
// A failed or interrupted ingest leaves only an `ingest/` file, which is never read and is swept later. Registry
// downloads go through resumable.ts instead, whose `ingest/<hex>.partial` files a later pull continues.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, messageOf } from '../../errors.js';
import { processAlive } from '../../setup/atomic.js';
import { lockHeld } from '../../util/file-lock.js';

/** A committed blob: its digest and size. */
export interface BlobInfo {
  digest: string;
  size: number;
}

/** How to check and report an ingest. */
export interface IngestOptions {
  /** The digest (and size) the bytes must have; without it the blob is stored under the digest it turns out to have. */
  expected?: { digest: string; size?: number };
  /** Where the bytes come from (`registry 127.0.0.1:5000`, a file), for error messages. */
  source: string;
  /** Called with the running byte count as chunks arrive. */
  onBytes?: (bytesDone: number) => void;
  signal?: AbortSignal;
}

/** Content-addressed blobs under `<root>/blobs/sha256/`, with `<root>/ingest/` for writes in progress. */
export class ContentStore {
  /** The images directory (`<home>/images`). */
  readonly root: string;

  constructor(root: string) {
    this.root = root;
  }

  /** Where the blob with `digest` lives once committed. */
  blobPath(digest: string): string {
    return path.join(this.root, 'blobs', 'sha256', hexOf(digest));
  }

  /** True when the blob is committed. */
  async has(digest: string): Promise<boolean> {
    return fs.stat(this.blobPath(digest)).then((s) => s.isFile(), () => false);
  }

  /** The whole blob (for manifests and configs, which are small). */
  async read(digest: string): Promise<Buffer> {
    try {
      return await fs.readFile(this.blobPath(digest));
    } catch (e) {
      throw boxliteError('Storage', `blob ${digest} is missing from the image store ${this.root}: ${messageOf(e)}; pull the image again`, e);
    }
  }

  /** Streams `source` into the store; rejects with an Image error (and keeps nothing) when size or digest differ. */
  async ingest(source: AsyncIterable<Uint8Array>, opts: IngestOptions): Promise<BlobInfo> {
    const ingestDir = path.join(this.root, 'ingest');
    await fs.mkdir(ingestDir, { recursive: true });
    const tmp = path.join(ingestDir, `${process.pid}-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    const want = opts.expected;
    let size = 0;
    const fh = await fs.open(tmp, 'wx', 0o644);
    let closed = false;
    try {
      for await (const chunk of source) {
        opts.signal?.throwIfAborted();
        size += chunk.byteLength;
        if (want?.size !== undefined && size > want.size) {
          throw boxliteError('Image', `blob ${want.digest} from ${opts.source} is larger than the ${want.size} bytes its manifest declares; the registry or the image is damaged: push the image again`);
        }
        hash.update(chunk);
        await fh.write(chunk);
        opts.onBytes?.(size);
      }
      const digest = `sha256:${hash.digest('hex')}`;
      if (want && want.size !== undefined && size !== want.size) {
        throw boxliteError('Image', `blob ${want.digest} from ${opts.source} ended after ${size} of ${want.size} bytes; try the pull again`);
      }
      if (want && digest !== want.digest) {
        throw boxliteError('Image', `blob ${want.digest} from ${opts.source} has the wrong content (its sha256 is ${digest}); nothing was kept; the registry's copy is damaged: push the image again`);
      }
      await fh.sync();
      await fh.close();
      closed = true;
      await this.commit(tmp, digest);
      return { digest, size };
    } catch (e) {
      if (!closed) await fh.close().catch(() => undefined);
      await fs.rm(tmp, { force: true });
      throw e;
    }
  }

  /** Moves a verified, synced file into the store as the blob `digest` (atomic: readers never see it partly). */
  async commit(file: string, digest: string): Promise<void> {
    const final = this.blobPath(digest);
    await fs.mkdir(path.dirname(final), { recursive: true });
    await fs.rename(file, final);
  }

  /** Stores a small blob held in memory (a manifest or config), checking it against `expected` when given. */
  async write(bytes: Buffer, source: string, expected?: string): Promise<BlobInfo> {
    return this.ingest((async function* one() { yield bytes; })(), { source, ...(expected ? { expected: { digest: expected, size: bytes.length } } : {}) });
  }

  /** Deletes a blob; returns the bytes freed (0 when it was not there). */
  async delete(digest: string): Promise<number> {
    const p = this.blobPath(digest);
    const st = await fs.stat(p).catch(() => undefined);
    await fs.rm(p, { force: true });
    return st?.size ?? 0;
  }

  /** Every committed blob. */
  async list(): Promise<BlobInfo[]> {
    const dir = path.join(this.root, 'blobs', 'sha256');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const out: BlobInfo[] = [];
    for (const hex of names) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const st = await fs.stat(path.join(dir, hex)).catch(() => undefined);
      if (st?.isFile()) out.push({ digest: `sha256:${hex}`, size: st.size });
    }
    return out;
  }

  /**
   * Removes ingest files left by processes that are gone, and partial downloads nobody is continuing (which a
   * later pull would have resumed); returns the bytes freed.
   */
  async sweepIngest(): Promise<number> {
    const dir = path.join(this.root, 'ingest');
    let freed = 0;
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      const partial = /^([a-f0-9]{64})\.(partial|lock)$/.exec(name);
      const pid = Number.parseInt(name, 10);
      if (partial ? await lockHeld(path.join(dir, `${partial[1]}.lock`)) : Number.isInteger(pid) && processAlive(pid)) continue;
      const st = await fs.stat(path.join(dir, name)).catch(() => undefined);
      freed += st?.size ?? 0;
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
    }
    return freed;
  }
}

/** The hex part of `sha256:<hex>`. */
export function hexOf(digest: string): string {
  const hex = digest.startsWith('sha256:') ? digest.slice(7) : '';
  if (!/^[a-f0-9]{64}$/.test(hex)) throw boxliteError('InvalidArgument', `${JSON.stringify(digest)} is not a sha256 digest (sha256:<64 hex>)`);
  return hex;
}
