// copyIn: a host file or tree packed as tar (symlinks as links) and streamed to the agent, which extracts it in the box.
import fs from 'node:fs/promises';
import { createReadStream, type Stats } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { boxliteError, BoxliteError, messageOf } from '../errors.js';
import { startOp, type FileHost } from './builtin-call.js';
import { boxPath, ownerArg } from './paths.js';
import type { BoxFs } from './box-fs.js';
import type { CopyInOptions, CopyResult } from './types.js';

type EntryHeader = Parameters<tar.Pack['entry']>[0];

/** Adds `abs` (archived as `name`) and what is beneath it to `pack`. */
async function addTree(pack: tar.Pack, abs: string, name: string, result: CopyResult): Promise<void> {
  const st = await fs.lstat(abs);
  const base = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
  if (st.isDirectory()) {
    await entry(pack, { ...base, name: name === '.' ? './' : `${name}/`, type: 'directory' });
    result.entries++;
    const names = (await fs.readdir(abs)).sort();
    for (const child of names) await addTree(pack, path.join(abs, child), name === '.' ? child : `${name}/${child}`, result);
  } else if (st.isFile()) {
    await fileEntry(pack, abs, base, st);
    result.entries++;
    result.bytes += st.size;
  } else if (st.isSymbolicLink()) {
    await entry(pack, { ...base, type: 'symlink', linkname: await fs.readlink(abs) });
    result.entries++;
  } else {
    result.skipped.push({ path: abs, reason: 'only files, directories and symlinks are copied into a box' });
  }
}

function entry(pack: tar.Pack, header: EntryHeader): Promise<void> {
  return new Promise((resolve, reject) => pack.entry(header, (err) => (err ? reject(err) : resolve())));
}

function fileEntry(pack: tar.Pack, abs: string, base: EntryHeader, st: Stats): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const sink = pack.entry({ ...base, type: 'file', size: st.size }, (err) => (err ? reject(err) : resolve()));
    pipeline(createReadStream(abs), sink).catch((e: unknown) => {
      reject(boxliteError('InvalidArgument', `could not copy ${abs} into the box: ${messageOf(e)} (did it change while being copied?)`, e));
    });
  });
}

/**
 * Copies `hostPath` (a file, symlink or directory tree) into the box at `guestPath`, as `docker cp` does: into an
 * existing directory under its own name, else to `guestPath` itself (parents are made); `hostPath` ending in
 * `/.` copies a directory's contents. Modes and mtimes are kept, symlinks stay links; ownership per CopyInOptions.
 */
export async function copyIn(host: FileHost, files: BoxFs, hostPath: string, guestPath: string, options: CopyInOptions = {}): Promise<CopyResult> {
  if (typeof hostPath !== 'string' || hostPath === '') throw boxliteError('InvalidArgument', `hostPath must be a non-empty string, got ${JSON.stringify(hostPath)}`);
  const abs = path.resolve(hostPath);
  const st = await fs.lstat(abs).catch((e: NodeJS.ErrnoException) => {
    throw boxliteError(e.code === 'ENOENT' ? 'NotFound' : 'InvalidArgument', `cannot copy ${abs} into box ${host.boxId}: ${e.message}`, e);
  });
  const contents = /\/\.$/.test(hostPath);
  if (contents && !st.isDirectory()) throw boxliteError('InvalidArgument', `cannot copy the contents of ${abs}: it is not a directory`);
  const dest = boxPath(guestPath, 'guestPath');
  const owner = options.preserveOwnership ? '-' : await ownerArg(options.owner, () => host.defaultOwner());
  const target = await files.stat(dest).catch((e: unknown) => {
    if (BoxliteError.is(e) && e.code === 'NotFound') return undefined;
    throw e;
  });
  let dir: string;
  let top: string;
  if (target?.isDirectory()) {
    dir = dest;
    top = contents ? '.' : path.basename(abs);
  } else if (contents) {
    if (target) throw boxliteError('InvalidArgument', `cannot copy the contents of ${abs} to ${dest} in box ${host.boxId}: it is a file`);
    dir = dest;
    top = '.';
  } else {
    if (target && st.isDirectory()) throw boxliteError('InvalidArgument', `cannot copy the directory ${abs} onto the file ${dest} in box ${host.boxId}`);
    dir = path.posix.dirname(dest);
    top = path.posix.basename(dest);
  }
  const result: CopyResult = { entries: 0, bytes: 0, skipped: [] };
  const op = await startOp(host, `copy ${abs} in to ${dest}`, ['fs.tar-in', dir, owner, 'p']);
  const pack = tar.pack();
  try {
    const producing = addTree(pack, abs, top, result).then(() => pack.finalize(), (e: unknown) => { pack.destroy(e as Error); throw e; });
    const stdin = op.exec.stdin()!;
    const out = op.stdout.text();
    out.catch(() => undefined);
    const sending = (async () => {
      for await (const chunk of pack as AsyncIterable<Buffer>) await stdin.write(chunk);
      await stdin.close();
    })();
    await Promise.all([producing, sending, out]);
  } catch (e) {
    throw await op.fail(e);
  }
  await op.finish();
  return result;
}
