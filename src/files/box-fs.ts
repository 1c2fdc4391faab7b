// BoxFs: files inside a box, by the agent's own file operations (no shell or tar needed in the image).
import path from 'node:path';
import { Readable } from 'node:stream';
import { boxliteError, BoxliteError } from '../errors.js';
import { callBuiltin, collectBounded, startOp, withBuiltin, type FileHost } from './builtin-call.js';
import { boxPath, modeArg, ownerArg } from './paths.js';
import { parseStatRecords } from './records.js';
import type { BoxDirent, BoxStats, ReadFileOptions, ReaddirOptions, WriteFileOptions } from './types.js';
import { BoxWatcher } from './watch.js';

const DEFAULT_READ_MAX_BYTES = 256 * 1024 * 1024;
const DEFAULT_MAX_ENTRIES = 100_000;
const STAT_RECORD_MAX_BYTES = 43 + 2 * 4096 + 2;

/** Data `writeFile` takes: bytes, text, or a stream of chunks. */
export type FileData = string | Uint8Array | AsyncIterable<Uint8Array | string>;

/**
 * The files of a box, named after `node:fs/promises`. Every call runs one of the agent's file operations in the
 * box (as root inside the box, so the image needs no shell or tools), starting the box first when it is not
 * running (as `run()` does). Paths are box paths; relative ones are taken from `/`. Failures are BoxliteErrors
 * whose `cause.code` is the errno name (`ENOENT` → code `NotFound`, `EEXIST` → `AlreadyExists`, ...).
 */
export class BoxFs {
  /** @internal */
  constructor(private readonly host: FileHost) {}

  /** A file's content: a Buffer, or a string with `encoding` (at most `maxBytes`, default 256 MiB). */
  readFile(file: string, options: ReadFileOptions & { encoding: BufferEncoding }): Promise<string>;
  readFile(file: string, options?: ReadFileOptions | BufferEncoding): Promise<Buffer>;
  async readFile(file: string, options?: ReadFileOptions | BufferEncoding): Promise<Buffer | string> {
    const opts = typeof options === 'string' ? { encoding: options } : options ?? {};
    const p = boxPath(file);
    const max = opts.maxBytes ?? DEFAULT_READ_MAX_BYTES;
    const data = await withBuiltin(this.host, `read ${p}`, ['fs.read', p], async (exec, stdout) => {
      await exec.stdin()!.close();
      return collectBounded(stdout, max, () => boxliteError('InvalidArgument',
        `box ${this.host.boxId}: ${p} is larger than maxBytes (${max} bytes): raise maxBytes or stream it with fs.createReadStream()`));
    });
    return opts.encoding ? data.toString(opts.encoding) : data;
  }

  /**
   * A file's content as a stream, read as you consume it (host memory stays bounded by the portal's window, not the
   * file's size). The stream errors with the BoxliteError if the file cannot be read.
   */
  createReadStream(file: string): Readable {
    const p = boxPath(file);
    const host = this.host;
    async function* chunks(): AsyncGenerator<Buffer> {
      const op = await startOp(host, `read ${p}`, ['fs.read', p]);
      let finished = false;
      try {
        await op.exec.stdin()!.close();
        for await (const chunk of op.stdout.bytes()) yield chunk;
        finished = true;
      } catch (e) {
        throw await op.fail(e);
      } finally {
        if (!finished) await op.exec.kill().catch(() => undefined); // the reader stopped early
      }
      await op.finish();
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  /** Writes a file (bytes, text, or a stream). See WriteFileOptions for replace/append/exclusive and owners. */
  async writeFile(file: string, data: FileData, options: WriteFileOptions | BufferEncoding = {}): Promise<void> {
    const opts = typeof options === 'string' ? { encoding: options } : options;
    const p = boxPath(file);
    const flag = opts.flag ?? 'w';
    if (!['w', 'wx', 'a'].includes(flag)) throw boxliteError('InvalidArgument', `flag must be 'w', 'wx' or 'a', got ${JSON.stringify(flag)}`);
    const flags = `${opts.recursive ? 'p' : ''}${flag === 'wx' ? 'x' : flag === 'a' ? 'a' : ''}${opts.owner !== undefined ? 'o' : ''}`;
    const owner = await ownerArg(opts.owner, () => this.host.defaultOwner());
    await withBuiltin(this.host, `write ${p}`, ['fs.write', p, modeArg(opts.mode), flags, owner], async (exec, stdout) => {
      const stdin = exec.stdin()!;
      const out = stdout.text();
      out.catch(() => undefined);
      if (typeof data === 'string') await stdin.write(Buffer.from(data, opts.encoding ?? 'utf8'));
      else if (data instanceof Uint8Array) await stdin.write(data);
      else for await (const chunk of data) await stdin.write(typeof chunk === 'string' ? Buffer.from(chunk, opts.encoding ?? 'utf8') : chunk);
      await stdin.close();
      await out;
    });
  }

  /** Appends to a file (made when missing). */
  appendFile(file: string, data: FileData, options: Omit<WriteFileOptions, 'flag'> = {}): Promise<void> {
    return this.writeFile(file, data, { ...options, flag: 'a' });
  }

  /** Metadata of a path, following a final symlink. */
  async stat(p: string): Promise<BoxStats> {
    return this.statOne(p, true);
  }

  /** Metadata of a path itself (a symlink is described, not followed). */
  async lstat(p: string): Promise<BoxStats> {
    return this.statOne(p, false);
  }

  /** Whether a path exists (a dangling symlink counts, like `lstat`). */
  async exists(p: string): Promise<boolean> {
    try {
      await this.lstat(p);
      return true;
    } catch (e) {
      if (BoxliteError.is(e) && (e.code === 'NotFound' || (e.cause as { code?: string } | undefined)?.code === 'ENOTDIR')) return false;
      throw e;
    }
  }

  /** Names in a directory, or entries with metadata with `withFileTypes`; `recursive`/`depth` go deeper. */
  readdir(dir: string, options: ReaddirOptions & { withFileTypes: true }): Promise<BoxDirent[]>;
  readdir(dir: string, options?: ReaddirOptions & { withFileTypes?: false }): Promise<string[]>;
  async readdir(dir: string, options: ReaddirOptions = {}): Promise<string[] | BoxDirent[]> {
    const p = boxPath(dir);
    const depth = options.depth ?? (options.recursive ? 4096 : 1);
    if (!Number.isInteger(depth) || depth < 1) throw boxliteError('InvalidArgument', `depth must be an integer >= 1, got ${depth}`);
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    const raw = await callBuiltin(this.host, `list ${p}`, ['fs.list', p, String(depth)], maxEntries * STAT_RECORD_MAX_BYTES);
    const stats = parseStatRecords(raw);
    if (stats.length > maxEntries) {
      throw boxliteError('InvalidArgument', `box ${this.host.boxId}: ${p} has more than maxEntries (${maxEntries}) entries: raise maxEntries or list less deep`);
    }
    if (!options.withFileTypes) return stats.map((s) => s.path);
    return stats.map((s) => Object.assign(s, {
      name: path.posix.basename(s.path),
      parentPath: path.posix.join(p, path.posix.dirname(s.path)),
    }) as BoxDirent);
  }

  /** Makes a directory; `recursive` makes parents and accepts one that exists. */
  async mkdir(dir: string, options: { recursive?: boolean; mode?: number; owner?: string } = {}): Promise<void> {
    const p = boxPath(dir);
    await callBuiltin(this.host, `make directory ${p}`, ['fs.mkdir', p, modeArg(options.mode), options.recursive ? 'p' : '', await ownerArg(options.owner, () => this.host.defaultOwner())]);
  }

  /** Removes a file, a symlink, or (with `recursive`) a directory tree; `force` ignores a missing path. */
  async rm(p: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<void> {
    const target = boxPath(p);
    if (target === '/' && options.recursive) throw boxliteError('InvalidArgument', `refusing to remove / of box ${this.host.boxId} recursively`);
    await callBuiltin(this.host, `remove ${target}`, ['fs.rm', target, `${options.recursive ? 'r' : ''}${options.force ? 'f' : ''}`]);
  }

  /** Renames (moves) a path within the box. */
  async rename(from: string, to: string): Promise<void> {
    const a = boxPath(from, 'from');
    const b = boxPath(to, 'to');
    await callBuiltin(this.host, `rename ${a} to ${b}`, ['fs.rename', a, b]);
  }

  /**
   * Watches a path for changes (inotify in the box). Resolves once the watch is in place, so changes made after
   * it resolves are reported. Iterate the watcher for events; `close()` (or `await using`, or leaving the loop)
   * ends it. With `recursive`, directories created later are watched too.
   */
  async watch(p: string, options: { recursive?: boolean; signal?: AbortSignal } = {}): Promise<BoxWatcher> {
    const target = boxPath(p);
    const exec = await this.host.startBuiltin(['fs.watch', target, options.recursive ? '1' : '0']);
    return BoxWatcher.open(this.host, target, exec, options.signal);
  }

  private async statOne(p: string, follow: boolean): Promise<BoxStats> {
    const target = boxPath(p);
    const raw = await callBuiltin(this.host, `stat ${target}`, ['fs.stat', target, follow ? '1' : '0'], STAT_RECORD_MAX_BYTES);
    const [stats, ...rest] = parseStatRecords(raw);
    if (!stats || rest.length) throw boxliteError('Portal', `box ${this.host.boxId}: the agent answered stat ${target} with ${rest.length + (stats ? 1 : 0)} records; the guest is broken or hostile`);
    return stats;
  }
}
