// Applies one layer tar to a directory: files, directories, links, device nodes and whiteouts, with owners, modes and mtimes.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import { constants as C } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import tar from 'tar-stream';
import { boxliteError, BoxliteError, messageOf } from '../../errors.js';
import type { TarSource } from './decompress.js';
import type { SafeRoot } from './safe-root.js';
import { applyOpaque, applyWhiteout, OPAQUE, WHITEOUT_PREFIX } from './whiteout.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** Counts of what a layer put in place. */
export interface LayerStats {
  entries: number;
  bytes: number;
}

/** Applies the tar `source` (the layer `digest`) onto `safe.root`. */
export async function applyLayer(safe: SafeRoot, source: TarSource, digest: string): Promise<LayerStats> {
  safe.layer = digest;
  safe.reset();
  const extract = tar.extract();
  const piping = pipeline(source.stream, extract);
  piping.catch(() => undefined);
  const written = new Set<string>();
  const dirTimes: [string, Date][] = [];
  const stats: LayerStats = { entries: 0, bytes: 0 };
  try {
    for await (const entry of extract) {
      const h = entry.header;
      try {
        await applyEntry(safe, h, entry as AsyncIterable<Uint8Array>, written, dirTimes, stats);
      } catch (e) {
        if (BoxliteError.is(e)) throw e;
        throw boxliteError('Image', `could not unpack ${JSON.stringify(h.name)} of layer ${digest}: ${messageOf(e)}`, e);
      }
      entry.resume();
      stats.entries++;
    }
    await piping;
    await source.finished;
  } catch (e) {
    source.stream.destroy();
    extract.destroy();
    await source.finished.catch(() => undefined);
    if (BoxliteError.is(e)) throw e;
    const first = await source.finished.then(() => undefined, (err: unknown) => err);
    if (first) throw first;
    throw boxliteError('Image', `layer ${digest} is not a valid tar archive: ${messageOf(e)}; the image is damaged: pull it again or rebuild it`, e);
  }
  // Directory mtimes last: creating entries inside a directory changes its mtime.
  for (const [p, mtime] of dirTimes.reverse()) await fs.lutimes(p, mtime, mtime).catch(() => undefined);
  return stats;
}

type Header = tar.Header;

async function applyEntry(safe: SafeRoot, h: Header, body: AsyncIterable<Uint8Array>, written: Set<string>, dirTimes: [string, Date][], stats: LayerStats): Promise<void> {
  const rel = safe.clean(h.name);
  const base = path.posix.basename(rel);
  const dirRel = rel.includes('/') ? path.posix.dirname(rel) : '';
  if (base.startsWith(WHITEOUT_PREFIX)) {
    if (base === OPAQUE) await applyOpaque(safe, dirRel, written, h.name);
    else if (!base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) {
      await applyWhiteout(safe, dirRel === '' ? base.slice(4) : `${dirRel}/${base.slice(4)}`, h.name);
    }
    return;
  }
  written.add(rel);
  const mode = h.mode & 0o7777;
  const mtime = h.mtime ?? new Date(0);
  if (rel === '') {
    if (h.type === 'directory') await setMeta(safe.root, h, mode, mtime, dirTimes);
    return;
  }
  const abs = await safe.prepareParents(rel, h.name);
  const existing = await fs.lstat(abs).catch(() => undefined);
  const clear = async (): Promise<void> => {
    if (!existing) return;
    await fs.rm(abs, { recursive: true, force: true });
    safe.forget(rel);
  };
  switch (h.type) {
    case 'directory':
      if (!existing?.isDirectory()) {
        await clear();
        await fs.mkdir(abs, { mode: 0o755 });
      }
      safe.knownDir(rel);
      await setMeta(abs, h, mode, mtime, dirTimes);
      return;
    case 'file':
    case 'contiguous-file': {
      await clear();
      const fh = await fs.open(abs, C.O_WRONLY | C.O_CREAT | C.O_EXCL | C.O_NOFOLLOW, 0o600);
      try {
        for await (const chunk of body) {
          await fh.write(chunk);
          stats.bytes += chunk.byteLength;
        }
        if (isRoot) await fh.chown(h.uid, h.gid);
        await fh.chmod(mode);
        await fh.utimes(mtime, mtime);
      } finally {
        await fh.close();
      }
      return;
    }
    case 'symlink':
      await clear();
      await fs.symlink(h.linkname, abs);
      if (isRoot) await fs.lchown(abs, h.uid, h.gid);
      await fs.lutimes(abs, mtime, mtime);
      return;
    case 'link': {
      const targetRel = safe.clean(h.linkname);
      const target = await safe.prepareParents(targetRel, h.linkname, false);
      const st = await fs.lstat(target).catch(() => undefined);
      if (!st) throw safe.refuse(h.name, `is a hard link to ${JSON.stringify(h.linkname)}, which does not exist in the image`);
      if (st.isDirectory()) throw safe.refuse(h.name, `is a hard link to the directory ${JSON.stringify(h.linkname)}`);
      if (targetRel === rel) return;
      await clear();
      await fs.link(target, abs); // link(2) does not follow a symlink target: it links the symlink itself
      return;
    }
    case 'character-device':
    case 'block-device':
    case 'fifo': {
      await clear();
      const kind = h.type === 'fifo' ? ['p'] : [h.type === 'block-device' ? 'b' : 'c', String(h.devmajor), String(h.devminor)];
      if (h.type !== 'fifo' && !isRoot) return; // only root may make device nodes; the box gets its own /dev anyway
      await run('mknod', ['-m', (mode & 0o777).toString(8), '--', abs, ...kind]);
      if (isRoot) await fs.lchown(abs, h.uid, h.gid);
      await fs.chmod(abs, mode);
      await fs.lutimes(abs, mtime, mtime);
      return;
    }
    default:
      return; // pax/gnu extension headers are consumed by the parser; other types carry nothing for a rootfs
  }
}

async function setMeta(abs: string, h: Header, mode: number, mtime: Date, dirTimes: [string, Date][]): Promise<void> {
  if (isRoot) await fs.lchown(abs, h.uid, h.gid);
  await fs.chmod(abs, mode);
  dirTimes.push([abs, mtime]);
}
