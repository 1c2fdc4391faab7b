// Runs an external tool to completion and turns every way it can fail into a BoxliteError naming the command.
import { spawn } from 'node:child_process';
import { boxliteError, type ErrorCode } from '../errors.js';

/** How to run a tool, and how to describe its failure. */
export interface RunToolOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the tool's stdin (stdin is closed either way). */
  input?: Buffer;
  signal?: AbortSignal;
  /** The error code used when the tool fails (default `Config`). */
  errorCode?: ErrorCode;
  /** What the user should do about a failure; ends the error message. */
  hint?: string;
  /** Resolve instead of rejecting when the tool exits non-zero. */
  allowFailure?: boolean;
  /** Most stdout bytes kept; more is a failure (default 512 MiB). */
  maxStdoutBytes?: number;
}

/** What a finished tool left behind. */
export interface ToolResult {
  stdout: Buffer;
  /** The last 16 KiB of stderr. */
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

const STDERR_TAIL_BYTES = 16 * 1024;

/** Runs `cmd args`, collecting stdout and the tail of stderr; rejects with a BoxliteError unless it exits 0. */
export function runTool(cmd: string, args: readonly string[], opts: RunToolOptions = {}): Promise<ToolResult> {
  const shown = [cmd, ...args].join(' ');
  const code = opts.errorCode ?? 'Config';
  const maxStdout = opts.maxStdoutBytes ?? 512 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      signal: opts.signal,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = Buffer.alloc(0);
    let tooMuch = false;
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) { tooMuch = true; child.kill('SIGKILL'); return; }
      out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = Buffer.concat([err, b]);
      if (err.length > STDERR_TAIL_BYTES) err = err.subarray(err.length - STDERR_TAIL_BYTES);
    });
    child.stdin.on('error', () => { /* the tool may exit without reading its input */ });
    child.stdin.end(opts.input);
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(boxliteError('Config', `${cmd} not found on PATH (needed for \`${shown}\`): run \`npx boxlite setup\` as root, or install it`, e));
      } else if (e.name === 'AbortError') {
        reject(boxliteError(code, `\`${shown}\` was aborted`, e));
      } else {
        reject(boxliteError(code, `could not run \`${shown}\`: ${e.message}`, e));
      }
    });
    child.on('close', (exitCode, signal) => {
      const result: ToolResult = { stdout: Buffer.concat(out), stderr: err.toString('utf8'), exitCode, signal };
      if (tooMuch) {
        reject(boxliteError(code, `\`${shown}\` wrote more than ${maxStdout} bytes to stdout`));
      } else if (exitCode === 0 || (opts.allowFailure && !opts.signal?.aborted)) {
        resolve(result);
      } else if (!opts.signal?.aborted) {
        const how = signal ? `was killed by ${signal}` : `exited with code ${exitCode}`;
        const tail = result.stderr.trim().split('\n').slice(-15).join('\n');
        const hint = opts.hint ? `; ${opts.hint}` : '';
        reject(boxliteError(code, `\`${shown}\` ${how}${hint}${tail ? `\n${tail}` : ''}`));
      }
    });
  });
}
