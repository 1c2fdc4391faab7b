// Blob downloads that survive interruptions: bytes go to `ingest/<hex>.partial`, which a later attempt (in this or
// another process, after a broken connection or a killed process) continues with a Range request.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, isDiskFull } from '../../errors.js';
import { withFileLock } from '../../util/file-lock.js';
import { hexOf, type BlobInfo, type ContentStore } from './content-store.js';

/** Blob bytes from `offset` on (0 when the source sent the whole blob). */
export interface RangedChunks {
  chunks: AsyncIterable<Uint8Array>;
  offset: number;
}

/** How to report and cancel a download. */
export interface DownloadOptions {
  /** Where the bytes come from, for error messages. */
  source: string;
  /** Called with the bytes of the blob held so far (resumed bytes included). */
  onBytes?: (bytesDone: number) => void;
  /** Called once when an earlier partial download is continued, with the bytes it already had. */
  onResume?: (bytes: number) => void;
  signal?: AbortSignal;
}

/** The partial download file of a blob. */
export function partialPath(content: ContentStore, digest: string): string {
  return path.join(content.root, 'ingest', `${hexOf(digest)}.partial`);
}

/**
 * Makes sure the blob `expected` is committed, fetching it with `fetchFrom(offset)`. A partial download left by
 * an earlier attempt is continued from where it stopped. One process at a time downloads a blob (a lock file);
 * one that finds it committed meanwhile fetches nothing. A continued download whose bytes turn out wrong (a
 * damaged partial) is thrown away and fetched again from the start, once; a fresh one that is wrong is an Image
 * error and keeps nothing.
 */
export async function downloadBlob(content: ContentStore, expected: BlobInfo, fetchFrom: (offset: number) => Promise<RangedChunks>, opts: DownloadOptions): Promise<BlobInfo> {
  const partial = partialPath(content, expected.digest);
  await fs.mkdir(path.dirname(partial), { recursive: true });
  return withFileLock(`${partial.slice(0, -'.partial'.length)}.lock`, async () => {
    if (await content.has(expected.digest)) return expected;
    const kept = await fs.stat(partial).then((s) => s.size, () => 0);
    if (kept > 0 && kept < expected.size) {
      const done = await continueDownload(content, partial, kept, expected, fetchFrom, opts);
      if (done) return done;
    }
    return (await continueDownload(content, partial, 0, expected, fetchFrom, opts))!;
  }, opts.signal ? { signal: opts.signal } : {});
}

/**
 * Fetches from `from` (the bytes before it are in `partial`) and commits the blob; undefined when a continued
 * download turned out wrong (the partial is then deleted). A broken or short transfer keeps the partial.
 */
async function continueDownload(content: ContentStore, partial: string, from: number, expected: BlobInfo, fetchFrom: (offset: number) => Promise<RangedChunks>, opts: DownloadOptions): Promise<BlobInfo | undefined> {
  const source = await fetchFrom(from);
  const start = source.offset === from ? from : 0; // a source that ignores the range sends everything
  const hash = createHash('sha256');
  if (start > 0) {
    await hashPrefix(partial, start, hash);
    opts.onResume?.(start);
  }
  const fh = await fs.open(partial, start > 0 ? 'r+' : 'w', 0o644);
  let size = start;
  let wrong: string | undefined;
  try {
    await fh.truncate(start);
    opts.onBytes?.(size);
    for await (const chunk of source.chunks) {
      opts.signal?.throwIfAborted();
      size += chunk.byteLength;
      if (size > expected.size) {
        wrong = `is larger than the ${expected.size} bytes its manifest declares`;
        break;
      }
      hash.update(chunk);
      await fh.write(chunk, 0, chunk.byteLength, size - chunk.byteLength);
      opts.onBytes?.(size);
    }
    if (!wrong && size < expected.size) {
      // Cut short without an error: what arrived is kept, and the next pull continues from there.
      throw boxliteError('Image', `blob ${expected.digest} from ${opts.source} ended after ${size} of ${expected.size} bytes; try the pull again (it continues from there)`);
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (!wrong && digest !== expected.digest) wrong = `has the wrong content (its sha256 is ${digest})`;
    if (!wrong) await fh.sync();
  } catch (e) {
    if (isDiskFull(e)) await fs.rm(partial, { force: true }); // give the space back rather than keep a partial on a full disk
    throw e;
  } finally {
    await fh.close();
  }
  if (wrong) {
    await fs.rm(partial, { force: true });
    if (start > 0) return undefined;
    throw boxliteError('Image', `blob ${expected.digest} from ${opts.source} ${wrong}; nothing was kept; the registry's copy is damaged: push the image again`);
  }
  await content.commit(partial, expected.digest);
  return expected;
}

/** Feeds the first `bytes` bytes of `file` to `hash`. */
async function hashPrefix(file: string, bytes: number, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(file, { start: 0, end: bytes - 1, highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
}
