// Writes a layer into the content store as it is packed: tar (tar-stream), sha256 of the tar (the diff_id), gzip,
// then the content store's ingest (the blob's digest and size).
import { createHash } from 'node:crypto';
import { PassThrough, Transform } from 'node:stream';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import type { PackHeader } from '../../files/tar-check.js';
import type { ContentStore } from '../store/content-store.js';

/** A committed layer blob: its compressed digest and size, and the digest of the tar inside (`rootfs.diff_ids`). */
export interface WrittenLayer {
  digest: string;
  size: number;
  diffId: string;
}

/** @internal One layer being written: `add` entries in order, then `finish` (or `abort` to keep nothing). */
export class LayerWriter {
  private readonly pack = tar.pack();
  private readonly hash = createHash('sha256');
  private readonly stored: Promise<{ digest: string; size: number }>;

  constructor(content: ContentStore, source: string, signal?: AbortSignal) {
    const tap = new Transform({ transform: (chunk: Buffer, _enc, done) => { this.hash.update(chunk); done(null, chunk); } });
    const gzip = createGzip();
    const out = this.pack.pipe(tap).pipe(gzip).pipe(new PassThrough());
    for (const s of [tap, gzip]) s.on('error', (e) => out.destroy(e));
    this.pack.on('error', (e) => out.destroy(e));
    // The ingest reads `out` only after it opened its file: an abort before that must not be an unhandled 'error'
    // (the ingest still sees the stream errored and rejects with it).
    out.on('error', () => undefined);
    this.stored = content.ingest(out as AsyncIterable<Buffer>, { source, ...(signal ? { signal } : {}) });
    this.stored.catch(() => undefined);
  }

  /** Adds one entry; `body` is read for a file (exactly its size), ignored otherwise. */
  add(header: PackHeader, body?: AsyncIterable<Buffer>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const sink = this.pack.entry(header, (err) => (err ? reject(err) : resolve()));
      if (header.type !== 'file' || !header.size) {
        sink.end(undefined);
        return;
      }
      void (async () => {
        for await (const chunk of body ?? []) if (!sink.write(chunk)) await new Promise<void>((r) => { sink.once('drain', () => r()); });
        sink.end(undefined);
      })().catch((e: unknown) => { sink.destroy(e as Error); reject(e); });
    });
  }

  /** Ends the tar and waits for the blob to be committed. */
  async finish(): Promise<WrittenLayer> {
    this.pack.finalize();
    const blob = await this.stored;
    return { ...blob, diffId: `sha256:${this.hash.digest('hex')}` };
  }

  /** Stops writing; the ingest file is removed and nothing is committed. */
  async abort(err: Error): Promise<void> {
    this.pack.destroy(err);
    await this.stored.catch(() => undefined);
  }
}
