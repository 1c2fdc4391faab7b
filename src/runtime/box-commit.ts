// box.commit(): the box's changes (the overlay's upper directory, read by the agent's fs.changes) as a new image layer
// over the box's image, recorded in the image store.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { boxliteError, BoxliteError } from '../errors.js';
import { startOp, type FileHost } from '../files/builtin-call.js';
import { COPY_IDLE_TIMEOUT_MS, idleBounded } from '../files/copy-out.js';
import { TarGuard } from '../files/tar-guard.js';
import { checkCommitOptions } from '../images/commit/image-config.js';
import type { CommitOptions } from '../images/commit/options.js';
import { LayerEntries } from '../images/commit/layer-entries.js';
import type { LayerWriter } from '../images/commit/layer-writer.js';
import type { ImageStore, PulledImage } from '../images/index.js';
import { normalizeReference } from '../images/reference.js';
import { abortError, throwIfAborted } from '../util/abort.js';

const DEFAULT_MAX_BYTES = 8 * 1024 ** 3;
const DEFAULT_MAX_FILES = 500_000;
const DEFAULT_TIMEOUT_MS = 30 * 60_000;

/** @internal What a commit needs from its box. */
export interface CommitHost extends FileHost {
  /** Why the box cannot be committed (a rootfs-directory box), or undefined. */
  unsupported(): string | undefined;
  /** The manifest digest of the box's image (known once it has started). */
  imageDigest(): string | undefined;
}

/** Commits the box of `host` as `ref` in `images` (starting the box when it is not running). */
export async function commitBox(host: CommitHost, images: ImageStore, ref: string, o: CommitOptions = {}): Promise<PulledImage> {
  checkCommitOptions(o);
  if (typeof ref !== 'string' || ref === '') throw boxliteError('InvalidArgument', `the reference to commit box ${host.boxId} as must be a non-empty string such as "myapp:v1", got ${JSON.stringify(ref)}`);
  const reference = normalizeReference(ref);
  if (reference.digest) throw boxliteError('InvalidArgument', `cannot commit box ${host.boxId} as ${JSON.stringify(ref)}: a commit makes a new image, so name it by a tag, not a digest`);
  const why = host.unsupported();
  if (why) throw boxliteError('Unsupported', `cannot commit box ${host.boxId}: ${why}`);
  const what = `committing box ${host.boxId} as ${reference.toString()}`;
  throwIfAborted(o.signal, what);
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timer = AbortSignal.timeout(timeoutMs);
  const stop = o.signal ? AbortSignal.any([o.signal, timer]) : timer;
  const op = await startOp(host, 'read the box\'s changes', ['fs.changes']);
  const baseDigest = host.imageDigest();
  if (!baseDigest) {
    await op.fail(undefined);
    throw boxliteError('Internal', `${what}: the box started but its image digest was not recorded`);
  }
  const entries = new LayerEntries(`box ${host.boxId}`, { maxBytes: o.maxBytes ?? DEFAULT_MAX_BYTES, maxFiles: o.maxFiles ?? DEFAULT_MAX_FILES });
  const cut = new AbortController(); // ends the reader at once on any failure, so no idle timer outlives the commit
  let filling = false;
  const fill = async (layer: LayerWriter): Promise<void> => {
    filling = true;
    try {
      await op.exec.stdin()!.close();
      const bytes = cancellable(op.stdout.bytes(), AbortSignal.any([stop, cut.signal]));
      await untilStopped(receive(bytes, entries, layer, what, host.boxId), stop, () => (o.signal?.aborted
        ? abortError(o.signal, what)
        : boxliteError('Run', `${what} took longer than ${timeoutMs} ms (timeoutMs); stop what writes in the box, or raise timeoutMs`)));
      await op.finish();
    } catch (e) {
      cut.abort(e);
      throw await op.fail(e);
    }
  };
  try {
    return await images.commit({ baseDigest, reference: reference.toString(), source: `box ${host.boxId}`, fill }, o);
  } catch (e) {
    if (!filling) await op.fail(e); // failed before reading (the box's image is gone): the operation must not linger
    throw e;
  }
}

/** Reads the upper tar from the box and adds its converted entries to `layer`. */
async function receive(bytes: AsyncIterable<Buffer>, entries: LayerEntries, layer: LayerWriter, what: string, boxId: string): Promise<void> {
  const extract = tar.extract();
  const piping = pipeline(Readable.from(idleBounded(bytes, COPY_IDLE_TIMEOUT_MS, what)), new TarGuard(`box ${boxId}`), extract);
  let first: unknown;
  piping.catch((err: unknown) => { first = err; });
  try {
    for await (const entry of extract) {
      const out = entries.convert(entry.header);
      for (const [i, h] of out.entries()) await layer.add(h, i === 0 ? entry as AsyncIterable<Buffer> : undefined);
      entry.resume();
    }
  } catch (e) {
    extract.destroy();
    throw BoxliteError.is(first) ? first : e;
  }
  await piping;
}

/** The chunks of `source` until `signal` aborts, when a pending read ends at once (the source may never wake). */
async function* cancellable(source: AsyncIterable<Buffer>, signal: AbortSignal): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('the commit stopped'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  for (;;) {
    const step = await Promise.race([it.next(), aborted]);
    if (step.done) return;
    yield step.value;
  }
}

/** Settles as `p` does, or rejects with `error()` once `signal` aborts. */
function untilStopped<T>(p: Promise<T>, signal: AbortSignal, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { p.catch(() => undefined); reject(error()); };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); }, (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}
