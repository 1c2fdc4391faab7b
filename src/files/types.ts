// The public types of a box's files API: stats, directory entries, watch events and the options of each call.

/** What kind of file an entry is. */
export type BoxFileType = 'file' | 'directory' | 'symlink' | 'char-device' | 'block-device' | 'fifo' | 'socket';

/**
 * A file's metadata inside a box, as `fs.stat()` gives it (method names follow `node:fs`'s `Stats`).
 * Times and ids are the guest's own and are not trusted by the host.
 */
export class BoxStats {
  /** @internal */
  constructor(
    /** The path as asked for (`stat`), or relative to the listed directory (`readdir`). */
    readonly path: string,
    readonly type: BoxFileType,
    /** Full `st_mode`: type and permission bits. */
    readonly mode: number,
    readonly uid: number,
    readonly gid: number,
    /** Size in bytes (of the link itself for a symlink). */
    readonly size: number,
    /** Modification time in nanoseconds since the epoch. */
    readonly mtimeNs: bigint,
    readonly ino: number,
    readonly nlink: number,
    /** A symlink's target, as stored. */
    readonly linkTarget?: string,
  ) {}

  /** Modification time. */
  get mtime(): Date { return new Date(Number(this.mtimeNs / 1_000_000n)); }
  /** Modification time in milliseconds since the epoch. */
  get mtimeMs(): number { return Number(this.mtimeNs) / 1e6; }
  /** Permission bits (`mode & 0o7777`). */
  get permissions(): number { return this.mode & 0o7777; }
  isFile(): boolean { return this.type === 'file'; }
  isDirectory(): boolean { return this.type === 'directory'; }
  isSymbolicLink(): boolean { return this.type === 'symlink'; }
}

/** One entry of `fs.readdir(path, { withFileTypes: true })`, with its metadata (like `node:fs`'s `Dirent`). */
export interface BoxDirent extends BoxStats {
  /** The entry's base name. */
  readonly name: string;
  /** The directory holding it, as a box path. */
  readonly parentPath: string;
}

/** What happened to a path being watched. */
export type WatchEventType = 'create' | 'modify' | 'write' | 'delete' | 'rename-from' | 'rename-to' | 'attrib' | 'overflow' | 'gone';

/**
 * A change under a watched path (from inotify in the box). `write` means a file was closed after being written
 * (its content is complete); `overflow` that events were lost (the box made them faster than they were read);
 * `gone` that the watched path itself was removed or moved (the watch then ends).
 */
export interface WatchEvent {
  readonly type: WatchEventType;
  /** The path relative to the watched one ('' for the watched path itself). */
  readonly name: string;
  /** The absolute box path. */
  readonly path: string;
  readonly isDirectory: boolean;
}

/** Options of `copyIn`. */
export interface CopyInOptions {
  /**
   * Who owns what is written in the box: a user (`name`, `uid`, `name:group`, `uid:gid`, as `BoxCommand.user`).
   * Default: the box's user (its `user` option, else the image's, else root).
   */
  owner?: string;
  /** Keep the host files' uid/gid instead (like `docker cp -a`). */
  preserveOwnership?: boolean;
}

/** Options of `copyOut`. */
export interface CopyOutOptions {
  /** Most file bytes accepted from the box (default 4 GiB). More is refused, and nothing is left behind. */
  maxBytes?: number;
  /** Most entries (files, directories, links) accepted (default 100000). */
  maxFiles?: number;
}

/** What a copy moved. */
export interface CopyResult {
  /** Entries written (files, directories and symlinks). */
  entries: number;
  /** File bytes written. */
  bytes: number;
  /** Entries not copied to the host, with why (device nodes, fifos, hard links, sockets). */
  skipped: { path: string; reason: string }[];
}

/** Options of `fs.writeFile`. */
export interface WriteFileOptions {
  /** Permission bits of a new file (default 0o644; an existing file keeps its mode unless given). */
  mode?: number;
  /** Make missing parent directories (default false). */
  recursive?: boolean;
  /** `'w'` replace (default: written to a new file that replaces the old one when complete), `'wx'` fail if it exists, `'a'` append. */
  flag?: 'w' | 'wx' | 'a';
  /** Owner of a new file (default: the box's user); an existing file keeps its owner unless given. */
  owner?: string;
  /** Encoding of string data (default utf8). */
  encoding?: BufferEncoding;
}

/** Options of `fs.readFile`. */
export interface ReadFileOptions {
  /** Decode to a string with this encoding; without it you get a Buffer. */
  encoding?: BufferEncoding;
  /** Most bytes read into memory (default 256 MiB); larger files fail: stream them with `createReadStream`. */
  maxBytes?: number;
}

/** Options of `fs.readdir`. */
export interface ReaddirOptions {
  /** Entries with their metadata instead of names. */
  withFileTypes?: boolean;
  /** List everything beneath (names relative to the directory). */
  recursive?: boolean;
  /** Levels to descend (1 = the directory's own entries; default 1, or unlimited with `recursive`). */
  depth?: number;
  /** Most entries returned (default 100000). */
  maxEntries?: number;
}
