// Options of the one-call commands (box.exec, box.sh): their types, defaults, validation, and the BoxCommand they build.
import type { Readable } from 'node:stream';
import { boxliteError } from '../errors.js';
import { BoxCommand } from './command.js';

/** @internal The PATH a command gets when neither the image, the box nor the command sets one. */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Default `maxBuffer`: the most output kept in memory per stream (stdout, stderr) of one `exec()`, 16 MiB. */
export const DEFAULT_MAX_BUFFER_BYTES = 16 * 1024 * 1024;

/** What `exec()` feeds the command's standard input: text (UTF-8), bytes, or a stream of either. */
export type ExecInput = string | Uint8Array | AsyncIterable<string | Uint8Array> | Readable;

/** Options of `box.exec()` and `box.sh()`. Every field is optional. */
export interface ExecOptions {
  /** Environment variables of the command (over the box's and the image's). */
  env?: Record<string, string>;
  /** Working directory in the box (absolute; default: the box's, else the image's, else `/`). */
  cwd?: string;
  /** User to run as (`name`, `uid`, `name:group`, `uid:gid`…; default: the box's user, else root). */
  user?: string;
  /** Kills the command (SIGKILL to its process group) after this many milliseconds; the result has `timedOut: true`. */
  timeoutMs?: number;
  /** Standard input; it is closed (EOF) after the input ends, or at once when there is none. */
  input?: ExecInput;
  /** Aborting kills the command and rejects with a DOMException named `AbortError` (its `cause` is the signal's reason). */
  signal?: AbortSignal;
  /** `'utf8'` (the default) or another Buffer encoding gives strings; `'buffer'` gives the raw bytes as Buffers. */
  encoding?: BufferEncoding | 'buffer';
  /**
   * The most bytes kept per stream (stdout and stderr each); default 16 MiB. More output kills the command and
   * rejects with a `Run` error naming the stream; use `box.run()` to stream output of unknown size.
   */
  maxBuffer?: number;
}

/** How a one-call command ended, with its output. A non-zero exit is a result, not an error. */
export interface CommandResult<T extends string | Buffer = string> {
  /** Exit code, or the negated signal number when a signal killed it (a timeout gives -9). */
  exitCode: number;
  /** Everything the command wrote to standard output. */
  stdout: T;
  /** Everything it wrote to standard error. */
  stderr: T;
  /** True when `timeoutMs` killed it. */
  timedOut: boolean;
}

/** @internal ExecOptions after validation. */
export interface ResolvedExecOptions {
  input: ExecInput | undefined;
  signal: AbortSignal | undefined;
  encoding: BufferEncoding | 'buffer';
  maxBuffer: number;
}

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

/** @internal Checks `options` and builds the command `program args…` with them. */
export function prepareExec(program: string, args: readonly string[], options: ExecOptions): { command: BoxCommand; resolved: ResolvedExecOptions } {
  if (typeof options !== 'object' || options === null) invalid(`exec options must be an object, got ${JSON.stringify(options)}`);
  if (!Array.isArray(args)) invalid(`exec args must be an array of strings, got ${JSON.stringify(args)}`);
  const command = new BoxCommand(program).args(args);
  if (options.env !== undefined) {
    if (typeof options.env !== 'object' || options.env === null) invalid(`env must be a record of strings, got ${JSON.stringify(options.env)}`);
    for (const [k, v] of Object.entries(options.env)) command.env(k, v);
  }
  if (options.cwd !== undefined) command.workingDir(options.cwd);
  if (options.user !== undefined) command.user(options.user);
  if (options.timeoutMs !== undefined) command.timeout(options.timeoutMs);
  const maxBuffer = options.maxBuffer ?? DEFAULT_MAX_BUFFER_BYTES;
  if (!Number.isSafeInteger(maxBuffer) || maxBuffer < 0) invalid(`maxBuffer must be a whole number of bytes (0 or more), got ${maxBuffer}`);
  const encoding = options.encoding ?? 'utf8';
  if (encoding !== 'buffer' && !Buffer.isEncoding(encoding)) invalid(`encoding must be 'buffer' or a Buffer encoding such as 'utf8', got ${JSON.stringify(encoding)}`);
  const signal = options.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) invalid('signal must be an AbortSignal (e.g. AbortSignal.timeout(5000) or an AbortController\'s signal)');
  return { command, resolved: { input: checkInput(options.input), signal, encoding, maxBuffer } };
}

function checkInput(input: unknown): ExecInput | undefined {
  if (input === undefined || typeof input === 'string' || input instanceof Uint8Array) return input;
  if (typeof input === 'object' && input !== null && typeof (input as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function') return input as ExecInput;
  return invalid('input must be a string, a Uint8Array, or an AsyncIterable / Readable of strings or bytes');
}

/** @internal A standard AbortError for `signal`, with its reason as the cause. */
export function abortError(what: string, signal: AbortSignal): DOMException {
  return new DOMException(`${what} was aborted`, { name: 'AbortError', cause: signal.reason });
}

/** ExecOptions giving text output (the default). */
export type TextExecOptions = ExecOptions & { encoding?: BufferEncoding };
/** ExecOptions giving Buffers (`encoding: 'buffer'`). */
export type BufferExecOptions = ExecOptions & { encoding: 'buffer' };
