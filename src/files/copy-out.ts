// copyOut: a file or tree of the box streamed out as tar by the agent and written on the host by HostTreeWriter.
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { boxliteError, BoxliteError, messageOf } from '../errors.js';
import { startOp, type FileHost } from './builtin-call.js';
import { HostTreeWriter } from './host-extract.js';
import { boxPath } from './paths.js';
import { TarGuard } from './tar-guard.js';
import type { CopyOutOptions, CopyResult } from './types.js';

const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
const DEFAULT_MAX_FILES = 100_000;
/** A box that sends nothing for this long while a copy is under way is given up on. */
export const COPY_IDLE_TIMEOUT_MS = 60_000;

/** Where the copy lands: the host directory entries are written under, and the name of the top entry. */
async function destination(src: string, hostPath: string, contents: boolean): Promise<{ root: string; top: string }> {
  const abs = path.resolve(hostPath);
  const st = await fs.stat(abs).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (st?.isDirectory()) return { root: abs, top: contents ? '.' : path.posix.basename(src) };
  if (contents) throw boxliteError('InvalidArgument', `cannot copy the contents of ${src} to ${abs}: it is not an existing directory`);
  const parent = path.dirname(abs);
  const pst = await fs.stat(parent).catch(() => undefined);
  if (!pst?.isDirectory()) throw boxliteError('NotFound', `cannot copy ${src} to ${abs}: the host directory ${parent} does not exist`);
  return { root: parent, top: path.basename(abs) };
}

/** @internal Chunks of `source`, failing when none comes for `ms`. */
export async function* idleBounded(source: AsyncIterable<Buffer>, ms: number, what: string): AsyncGenerator<Buffer> {
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const step = await Promise.race([
      it.next(),
      new Promise<'idle'>((resolve) => { timer = setTimeout(() => resolve('idle'), ms); }),
    ]).finally(() => clearTimeout(timer));
    if (step === 'idle') {
      void it.return?.(); // not awaited: the source is suspended until the box sends or ends
      throw boxliteError('Portal', `${what}: the box sent nothing for ${ms / 1000} s; gave up (the guest stalled)`);
    }
    if (step.done) return;
    yield step.value;
  }
}

/** @internal Writes the tar stream `chunks` (from `source`, for errors) with `writer`; the caller commits or rolls back. */
export async function receiveTar(chunks: AsyncIterable<Buffer>, writer: HostTreeWriter, source: string): Promise<void> {
  const extract = tar.extract();
  const piping = pipeline(Readable.from(chunks), new TarGuard(source), extract);
  let first: unknown;
  piping.catch((err: unknown) => { first = err; });
  try {
    for await (const entry of extract) {
      await writer.entry(entry.header, entry as AsyncIterable<Buffer>);
      entry.resume();
    }
  } catch (e) {
    // Not waiting for the pipeline here: its source waits for the box, which the caller kills next.
    extract.destroy();
    throw BoxliteError.is(first) ? first : e; // the guard's verdict (an oversized header) is the cause of a parse failure
  }
  await piping;
}

/**
 * @internal What a copy out of the box reads: the checked path, whether it names a directory's contents (`/.`),
 * and the limits (defaults filled in; InvalidArgument for a limit that is not a positive integer).
 */
export function copyOutSource(guestPath: string, options: CopyOutOptions): { src: string; contents: boolean; limits: { maxBytes: number; maxFiles: number } } {
  const src = boxPath(guestPath, 'guestPath');
  const contents = src === '/' || /\/\.$/.test(guestPath);
  const limits = { maxBytes: options.maxBytes ?? DEFAULT_MAX_BYTES, maxFiles: options.maxFiles ?? DEFAULT_MAX_FILES };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1) throw boxliteError('InvalidArgument', `${k} must be a positive integer, got ${v}`);
  }
  return { src, contents, limits };
}

/**
 * Copies `guestPath` (a file, symlink or directory tree) of the box to `hostPath`, as `docker cp` does: into an
 * existing directory under its own name, else to `hostPath` itself; `guestPath` ending in `/.` copies a
 * directory's contents.
 */
export async function copyOut(host: FileHost, guestPath: string, hostPath: string, options: CopyOutOptions = {}): Promise<CopyResult> {
  const { src, contents, limits } = copyOutSource(guestPath, options);
  if (typeof hostPath !== 'string' || hostPath === '') throw boxliteError('InvalidArgument', `hostPath must be a non-empty string, got ${JSON.stringify(hostPath)}`);
  const { root, top } = await destination(src, hostPath, contents);
  const what = `copying ${src} out of box ${host.boxId}`;
  const writer = new HostTreeWriter(root, top, limits, `box ${host.boxId} (${what})`);
  const op = await startOp(host, `copy ${src} out`, ['fs.tar-out', src, top]);
  try {
    await op.exec.stdin()!.close();
    await receiveTar(idleBounded(op.stdout.bytes(), COPY_IDLE_TIMEOUT_MS, what), writer, `box ${host.boxId}`);
    await op.finish();
    await writer.commit();
    return writer.result;
  } catch (e) {
    const err = await op.fail(e);
    await writer.rollback();
    if (BoxliteError.is(err)) throw err;
    const disk = (err as NodeJS.ErrnoException).code === 'ENOSPC';
    throw boxliteError(disk ? 'Storage' : 'Portal', `${what} to ${hostPath} failed: ${messageOf(err)}; nothing of it was left behind`, err);
  }
}
