// Tar streams in and out of a box (`docker cp BOX:PATH -` and `docker cp - BOX:DIR`) over the agent's fs.tar-out
// and fs.tar-in: what the box sends is checked entry by entry and packed again before anyone reads it.
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { boxliteError, BoxliteError, messageOf } from '../errors.js';
import { startOp, withBuiltin, type FileHost } from './builtin-call.js';
import type { BoxFs } from './box-fs.js';
import { copyOutSource, COPY_IDLE_TIMEOUT_MS, idleBounded } from './copy-out.js';
import { boxPath, ownerArg } from './paths.js';
import { ArchiveChecker, type PackHeader } from './tar-check.js';
import { TarGuard } from './tar-guard.js';
import type { CopyInOptions, CopyOutOptions } from './types.js';

/**
 * `guestPath` of the box (a file, symlink or tree; ending in `/.`: a directory's contents, named `./...`) as a tar
 * stream. Resolves once the path is known to exist (NotFound naming it otherwise). The box's tar is parsed with the
 * checks of TarGuard and ArchiveChecker and packed again, so a reader never sees oversized headers, names outside
 * the path asked for, entries beneath an archived symlink, or more than the CopyOutOptions limits; the stream errors
 * with the BoxliteError where the box went wrong. Modes, owners and device numbers are passed on as the box has them.
 */
export async function tarOut(host: FileHost, files: BoxFs, guestPath: string, options: CopyOutOptions = {}): Promise<Readable> {
  const { src, contents, limits } = copyOutSource(guestPath, options);
  const st = await files.lstat(src);
  if (contents && !st.isDirectory()) throw boxliteError('InvalidArgument', `cannot copy the contents of ${src} in box ${host.boxId}: it is not a directory`);
  const top = contents ? '.' : path.posix.basename(src);
  const op = await startOp(host, `copy ${src} out`, ['fs.tar-out', src, top]);
  const checker = new ArchiveChecker(top, limits, `box ${host.boxId}`);
  const pack = tar.pack();
  const repack = async (): Promise<void> => {
    await op.exec.stdin()!.close();
    const extract = tar.extract();
    const piping = pipeline(Readable.from(idleBounded(op.stdout.bytes(), COPY_IDLE_TIMEOUT_MS, `copying ${src} out of box ${host.boxId}`)), new TarGuard(`box ${host.boxId}`), extract);
    let first: unknown;
    piping.catch((err: unknown) => { first = err; });
    try {
      for await (const entry of extract) {
        const header = checker.check(entry.header);
        await passEntry(pack, header, entry as AsyncIterable<Buffer>);
      }
    } catch (e) {
      extract.destroy();
      throw BoxliteError.is(first) ? first : e;
    }
    await piping;
    await op.finish();
    pack.finalize();
  };
  repack().catch(async (e: unknown) => {
    const err = await op.fail(e);
    pack.destroy(BoxliteError.is(err) ? err : boxliteError('Portal', `copying ${src} out of box ${host.boxId} as tar failed: ${messageOf(err)}`, err));
  });
  return Readable.from(pack as AsyncIterable<Buffer>, { objectMode: false });
}

/** Writes one entry (its header, then its data as it is read) to `pack`. */
function passEntry(pack: tar.Pack, header: PackHeader, body: AsyncIterable<Buffer>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry(header, (err) => (err ? reject(err) : resolve()));
    void (async () => {
      for await (const chunk of body) if (!sink.write(chunk)) await new Promise<void>((r) => { sink.once('drain', () => r()); });
      sink.end(undefined);
    })().catch((e: unknown) => { sink.destroy(e as Error); reject(e); });
  });
}

/**
 * Extracts the tar stream `archive` into the existing directory `guestDir` of the box (as `docker cp - BOX:DIR`):
 * names must be relative and without `..` (the agent refuses others); files belong to the box's user unless
 * CopyInOptions say otherwise (`preserveOwnership` keeps the archive's ids). Resolves once the box has it all.
 */
export async function tarIn(host: FileHost, files: BoxFs, archive: AsyncIterable<Uint8Array>, guestDir: string, options: CopyInOptions = {}): Promise<void> {
  const dest = boxPath(guestDir, 'guestDir');
  const st = await files.stat(dest);
  if (!st.isDirectory()) throw boxliteError('InvalidArgument', `cannot extract a tar stream to ${dest} in box ${host.boxId}: it is not a directory`);
  const owner = options.preserveOwnership ? '-' : await ownerArg(options.owner, () => host.defaultOwner());
  await withBuiltin(host, `extract a tar stream into ${dest}`, ['fs.tar-in', dest, owner, ''], async (exec, stdout) => {
    const stdin = exec.stdin()!;
    const out = stdout.text();
    out.catch(() => undefined);
    for await (const chunk of archive) await stdin.write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    await stdin.close();
    await out;
  });
}
