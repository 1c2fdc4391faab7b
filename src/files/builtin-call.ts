// Calls one of the agent's file operations (an EXEC with the builtin flag) and turns its exit into a result or a typed error.
import os from 'node:os';
import { boxliteError, type BoxliteError, type ErrorCode } from '../errors.js';
import type { ExecOutput } from '../runtime/exec-output.js';
import type { Execution, ExecResult } from '../runtime/execution.js';

/** @internal What the files API needs from its box. */
export interface FileHost {
  readonly boxId: string;
  /** Starts one of the agent's file operations in the box (starting the box first, as `run()` does). */
  startBuiltin(argv: string[]): Promise<Execution>;
  /** The owner new files get by default: the box's user ('' = root). */
  defaultOwner(): Promise<string>;
}

const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
const STDERR_MAX_BYTES = 16 * 1024;

/** The spec's error code for an errno from the box. */
function codeOf(errno: string | undefined): ErrorCode {
  switch (errno) {
    case 'ENOENT': return 'NotFound';
    case 'EEXIST': return 'AlreadyExists';
    case 'ENOSPC': case 'EDQUOT': case 'EFBIG': return 'Storage';
    case 'EISDIR': case 'ENOTDIR': case 'ENOTEMPTY': case 'EINVAL': case 'ENAMETOOLONG': case 'ELOOP': case 'EXDEV':
    case 'EACCES': case 'EPERM': case 'EROFS': case 'EBUSY': case 'ETXTBSY':
      return 'InvalidArgument';
    default: return 'Run';
  }
}

/** The error of a file operation that exited non-zero: its errno is `cause.code` (e.g. 'ENOENT'). */
export function fileError(boxId: string, what: string, result: ExecResult, stderr: string): BoxliteError {
  const reason = stderr.trim().split('\n').filter(Boolean).slice(-3).join('; ');
  if (result.exitCode < 0) {
    return boxliteError('Run', `box ${boxId}: ${what} was killed (signal ${-result.exitCode})${reason ? `: ${reason}` : ''}`);
  }
  const errno = ERRNO_NAMES.get(result.exitCode);
  const cause = Object.assign(new Error(reason || `${errno ?? `error ${result.exitCode}`}`), { code: errno, errno: -result.exitCode });
  return boxliteError(codeOf(errno), `box ${boxId}: cannot ${what}: ${reason || errno || `exit code ${result.exitCode}`}`, cause);
}

/** Reads all of `out` up to `maxBytes`; more fails with `tooMuch()`. */
export async function collectBounded(out: ExecOutput, maxBytes: number, tooMuch: () => BoxliteError): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of out.bytes()) {
    total += chunk.length;
    if (total > maxBytes) throw tooMuch();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** An operation's stderr, of which the first 16 KiB are kept (the rest is read and dropped). */
export async function stderrText(out: ExecOutput): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of out.bytes()) {
    if (total < STDERR_MAX_BYTES) chunks.push(chunk.subarray(0, STDERR_MAX_BYTES - total));
    total += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** A file operation running in the box. */
export interface FileOp {
  readonly exec: Execution;
  /** Its stdout (taken here, so that a failure can drain it: a killed operation's EXIT waits for its output). */
  readonly stdout: ExecOutput;
  /** Waits for it to exit; a non-zero exit is a typed error (see fileError). */
  finish(): Promise<void>;
  /** Kills it after the host side failed with `err`; returns the error to throw (its own, if it failed first). */
  fail(err: unknown): Promise<unknown>;
}

/** Starts the file operation `argv` (`what` words it in errors). */
export async function startOp(host: FileHost, what: string, argv: string[]): Promise<FileOp> {
  const exec = await host.startBuiltin(argv);
  const stderr = stderrText(exec.stderr()!);
  stderr.catch(() => undefined);
  const stdout = exec.stdout()!;
  return {
    exec,
    stdout,
    async finish() {
      const result = await exec.wait();
      if (result.exitCode !== 0) throw fileError(host.boxId, what, result, await stderr.catch(() => ''));
    },
    async fail(err) {
      stdout.discard();
      await exec.kill().catch(() => undefined);
      const result = await exec.wait().catch(() => undefined);
      // An exit code (not the kill's -9) means it failed on its own first: its reason is the better one.
      if (result && result.exitCode > 0) return fileError(host.boxId, what, result, await stderr.catch(() => ''));
      return err;
    },
  };
}

/**
 * Runs the file operation `argv` and `body` with its execution (to feed stdin, read stdout). Resolves with what
 * `body` returns once the operation exited 0.
 */
export async function withBuiltin<T>(host: FileHost, what: string, argv: string[], body: (exec: Execution, stdout: ExecOutput) => Promise<T>): Promise<T> {
  const op = await startOp(host, what, argv);
  let value: T;
  try {
    value = await body(op.exec, op.stdout);
  } catch (e) {
    throw await op.fail(e);
  }
  await op.finish();
  return value;
}

/** Runs `argv` with no input and returns its stdout (at most `maxBytes`). */
export function callBuiltin(host: FileHost, what: string, argv: string[], maxBytes = 16 * 1024 * 1024): Promise<Buffer> {
  return withBuiltin(host, what, argv, async (exec, stdout) => {
    await exec.stdin()!.close();
    return collectBounded(stdout, maxBytes, () => boxliteError('Run',
      `box ${host.boxId}: ${what} sent more than ${maxBytes} bytes; the guest is broken or hostile`));
  });
}

