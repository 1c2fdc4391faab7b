// Execution: the handle of one running command, its streams, and its result.
import { boxliteError, type BoxliteError } from '../errors.js';
import type { ExecSink, PortalClient } from '../portal/client.js';
import { ExecOutput } from './exec-output.js';
import { ExecStdin } from './exec-stdin.js';
import { OutputWatch, type OutputMatch, type WaitForOutputOptions } from './output-watch.js';

/**
 * How a command ended. `exitCode` is the process's exit code, or the negated signal number when a signal killed
 * it (so `kill()` gives -9); `timedOut` is true when the command's timeout killed it.
 */
export class ExecResult {
  constructor(readonly exitCode: number, readonly timedOut = false) {}

  /** True when the exit code is 0. */
  success(): boolean { return this.exitCode === 0; }
  /** The exit code. */
  code(): number { return this.exitCode; }
  /** The signal that killed the process, if one did. */
  get signal(): number | undefined { return this.exitCode < 0 ? -this.exitCode : undefined; }
}

/** @internal What an Execution needs from its box. */
export interface ExecutionHost {
  readonly portal: PortalClient;
  /** Turns a portal failure into the error users see (e.g. with the VM's exit and console). */
  explainFailure(err: BoxliteError, what: string): Promise<BoxliteError>;
  onExecutionEnded(outcome: { failed: boolean; bytesSent: number; bytesReceived: number }): void;
}

/**
 * A command running in a box. Take each stream at most once (`stdin()`, `stdout()`, `stderr()` return
 * `undefined` the second time). Output you do not take is discarded once you call `wait()`; until then it is
 * held up to 256 KiB per execution, after which the process blocks as on a full pipe.
 * Disposing an Execution (`await using`) kills it if it is still running.
 */
export class Execution implements AsyncDisposable {
  /** The execution id, unique within its box. */
  readonly id: string;
  private readonly out: ExecOutput;
  private readonly err: ExecOutput;
  private readonly input: ExecStdin;
  private taken = { stdin: false, stdout: false, stderr: false };
  private readonly result: Promise<ExecResult>;
  private settled = false;
  private readonly watch: OutputWatch;

  /** @internal */
  constructor(
    private readonly host: ExecutionHost,
    private readonly execId: number,
    boxId: string,
    private readonly label: string,
    result: Promise<ExecResult>,
    streams: { out: ExecOutput; err: ExecOutput; input: ExecStdin; watch?: OutputWatch },
  ) {
    this.id = `${boxId}-${execId}`;
    this.out = streams.out;
    this.err = streams.err;
    this.input = streams.input;
    this.watch = streams.watch ?? new OutputWatch(label);
    this.result = result.finally(() => { this.settled = true; });
    this.result.catch(() => undefined);
  }

  /** Standard input (taken once). */
  stdin(): ExecStdin | undefined { return this.take('stdin', this.input); }
  /** Standard output (taken once). With a TTY it carries stderr too. */
  stdout(): ExecOutput | undefined { return this.take('stdout', this.out); }
  /** Standard error (taken once). Empty with a TTY. */
  stderr(): ExecOutput | undefined { return this.take('stderr', this.err); }

  /** Waits for the command to end. Rejects with a BoxliteError if the box failed while it ran. */
  wait(): Promise<ExecResult> {
    if (!this.taken.stdout) { this.taken.stdout = true; this.out.discard(); }
    if (!this.taken.stderr) { this.taken.stderr = true; this.err.discard(); }
    return this.result;
  }

  /**
   * Resolves when a line of stdout or stderr matches `pattern` (a RegExp, or a string to find), e.g. a server's
   * "listening on" line. It reads a copy of the output: the streams still give every byte to whoever reads them.
   * Lines written before the call count too while they are among the last 64 KiB of their stream. Output nobody
   * reads still fills the 256 KiB window and then blocks the command, so read or discard what a chatty server writes.
   * Rejects (Run) when the command exits first or after `timeoutMs` (default 30 s), showing its last lines.
   */
  waitForOutput(pattern: RegExp | string, options?: WaitForOutputOptions): Promise<OutputMatch> {
    return this.watch.waitFor(pattern, options);
  }

  /** Kills the command and its process group (SIGKILL). */
  kill(): Promise<void> {
    return this.signal(9);
  }

  /** Sends `signal` (a number, e.g. 15 for SIGTERM) to the command's process group. */
  async signal(signal: number): Promise<void> {
    if (!Number.isInteger(signal) || signal < 1 || signal > 64) {
      throw boxliteError('InvalidArgument', `signal must be an integer 1..64, got ${signal}`);
    }
    if (this.settled) return;
    await this.host.portal.request({ kind: 'signal', id: this.execId, signal }, 'Run').catch((e: BoxliteError) => this.rethrow(e));
  }

  /** Resizes the command's pseudo-terminal (TTY commands only). */
  async resizeTty(rows: number, cols: number): Promise<void> {
    for (const [n, v] of [['rows', rows], ['cols', cols]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw boxliteError('InvalidArgument', `${n} must be an integer 1..65535, got ${v}`);
    }
    if (this.settled) return;
    await this.host.portal.request({ kind: 'resize', id: this.execId, rows, cols }, 'Run').catch((e: BoxliteError) => this.rethrow(e));
  }

  /** Kills the command if it is still running and waits for it to end. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.settled) await this.kill().catch(() => undefined);
    await this.wait().catch(() => undefined);
  }

  private async rethrow(e: BoxliteError): Promise<never> {
    throw await this.host.explainFailure(e, `running \`${this.label}\``);
  }

  private take<K extends keyof Execution['taken'], T>(key: K, value: T): T | undefined {
    if (this.taken[key]) return undefined;
    this.taken[key] = true;
    return value;
  }
}

/** @internal Starts a command over the portal; resolves when the guest reports it started. */
export function startExecution(
  host: ExecutionHost, boxId: string, label: string, request: Parameters<PortalClient['exec']>[0],
): Promise<Execution> {
  const portal = host.portal;
  let execId = 0;
  let bytesSent = 0;
  let bytesReceived = 0;
  const out = new ExecOutput((n) => portal.returnCredit(execId, n));
  const err = new ExecOutput((n) => portal.returnCredit(execId, n));
  const watch = new OutputWatch(`\`${label}\``);
  const input = new ExecStdin({
    write: (data) => { bytesSent += data.length; return portal.writeStdin(execId, data); },
    close: () => portal.closeStdin(execId),
  }, label);
  const ended = (failed: boolean): void => host.onExecutionEnded({ failed, bytesSent, bytesReceived });
  return new Promise<Execution>((resolveStart, rejectStart) => {
    let started = false;
    let resolveResult!: (r: ExecResult) => void;
    let rejectResult!: (e: BoxliteError) => void;
    const result = new Promise<ExecResult>((res, rej) => { resolveResult = res; rejectResult = rej; });
    const sink: ExecSink = {
      onStarted: () => {
        started = true;
        resolveStart(new Execution(host, execId, boxId, label, result, { out, err, input, watch }));
      },
      onOutput: (stream, data) => { bytesReceived += data.length; watch.push(stream, data); (stream === 'stdout' ? out : err).push(data); },
      onStdinCredit: (n) => input.addCredit(n),
      onExit: (status, timedOut) => {
        const exited = boxliteError('InvalidState', `\`${label}\` has exited; its stdin is closed`);
        out.end(); err.end(); input.finish(exited); watch.end({ exitCode: status });
        ended(false);
        resolveResult(new ExecResult(status, timedOut));
      },
      onFailed: (failure, closedByHost) => {
        ended(!closedByHost);
        if (!started) {
          // The guest could not start it (e.g. no such program), or the box died first.
          const e = failure.code === 'Run'
            ? boxliteError('Run', `could not start \`${label}\`: ${failure.message}`, failure)
            : failure;
          void host.explainFailure(e, `starting \`${label}\``).then(rejectStart);
          return;
        }
        void host.explainFailure(failure, `running \`${label}\``).then((e) => {
          out.end(e); err.end(e); input.finish(e); watch.end({ error: e });
          rejectResult(e);
        });
      },
    };
    execId = portal.exec(request, sink);
  });
}
