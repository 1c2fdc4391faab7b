// Execution: the handle of one running command, its streams, and its result.
import { boxliteError, type BoxliteError } from '../errors.js';
import { abortError, raceAbort } from '../util/abort.js';
import type { WaitOptions } from './call-options.js';
import type { ExecSink, PortalClient } from '../portal/client.js';
import { ExecOutput } from './exec-output.js';
import { ExecStdin } from './exec-stdin.js';
import { OutputWatch, type OutputMatch, type WaitForOutputOptions } from './output-watch.js';

/**
 * How a command ended. `exitCode` is the process's exit code, or the negated signal number when a signal killed
 * it (so `kill()` gives -9); `timedOut` is true when the command's timeout killed it; `boxStopped` is true when
 * the box was stopped on purpose (`box.stop()`, `runtime.remove(id, true)`, `runtime.close()`, from this process
 * or another) while the command ran: the command ended with its VM, and `exitCode` is then -9, as for SIGKILL.
 */
export class ExecResult {
  constructor(readonly exitCode: number, readonly timedOut = false, readonly boxStopped = false) {}

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
  /** True when the box's VM was stopped on purpose (asked by `stop()`), not by a crash or a failure. */
  stoppedOnPurpose(): boolean;
  onExecutionEnded(outcome: { failed: boolean; bytesSent: number; bytesReceived: number }): void;
}

/**
 * A command running in a box.
 *
 * Streams: `stdin()`, `stdout()` and `stderr()` each hand out their stream once; calling one again throws
 * InvalidState (keep what the first call returned). `wait()` settles the streams nobody took: their output is
 * discarded (until then it is held, up to 256 KiB per execution, after which the process blocks as on a full
 * pipe), and a stdin nobody took is closed, so the command reads EOF (`cat` ends instead of waiting forever).
 * Taking such a stream after `wait()` throws InvalidState: take the streams you want before calling `wait()`.
 *
 * `box.run(cmd, { signal })` kills the command when the signal aborts; its `wait()` then rejects with an
 * AbortError. A box stopped on purpose while the command runs ends it with `boxStopped: true` (see ExecResult).
 * Disposing an Execution (`await using`) kills it if it is still running.
 */
export class Execution implements AsyncDisposable {
  /** The execution id, unique within its box. */
  readonly id: string;
  private readonly out: ExecOutput;
  private readonly err: ExecOutput;
  private readonly input: ExecStdin;
  // Who has each stream: nobody yet, the caller, or wait() (which discarded or closed it).
  private taken: Record<'stdin' | 'stdout' | 'stderr', 'caller' | 'wait' | undefined> = { stdin: undefined, stdout: undefined, stderr: undefined };
  private readonly result: Promise<ExecResult>;
  private settled = false;
  private killedByAbort = false;
  private readonly watch: OutputWatch;

  /** @internal */
  constructor(
    private readonly host: ExecutionHost,
    private readonly execId: number,
    boxId: string,
    private readonly label: string,
    result: Promise<ExecResult>,
    streams: { out: ExecOutput; err: ExecOutput; input: ExecStdin; watch?: OutputWatch },
    signal?: AbortSignal,
  ) {
    this.id = `${boxId}-${execId}`;
    this.out = streams.out;
    this.err = streams.err;
    this.input = streams.input;
    this.watch = streams.watch ?? new OutputWatch(label);
    const aborted = (): Error => abortError(signal, `running \`${label}\``);
    this.result = result.then(
      (r) => { this.settled = true; if (this.killedByAbort) throw aborted(); return r; },
      (e: unknown) => { this.settled = true; throw this.killedByAbort ? aborted() : e; },
    );
    this.result.catch(() => undefined);
    if (signal) this.killOnAbort(signal);
  }

  /** Standard input. Taken once; after `wait()` it is closed (InvalidState). */
  stdin(): ExecStdin { return this.take('stdin', this.input); }
  /** Standard output. Taken once, before `wait()` (which discards it otherwise). With a TTY it carries stderr too. */
  stdout(): ExecOutput { return this.take('stdout', this.out); }
  /** Standard error. Taken once, before `wait()` (which discards it otherwise). Empty with a TTY. */
  stderr(): ExecOutput { return this.take('stderr', this.err); }

  /**
   * Waits for the command to end. Output streams nobody took are discarded, and a stdin nobody took is closed
   * (EOF). Rejects with a BoxliteError if the box failed while it ran, and with an AbortError when `opts.signal`
   * aborts (only this wait ends; the command keeps running) or when the run's signal killed the command.
   */
  wait(opts: WaitOptions = {}): Promise<ExecResult> {
    if (!this.taken.stdout) { this.taken.stdout = 'wait'; this.out.discard(); }
    if (!this.taken.stderr) { this.taken.stderr = 'wait'; this.err.discard(); }
    if (!this.taken.stdin) { this.taken.stdin = 'wait'; void this.input.close().catch(() => undefined); }
    return raceAbort(this.result, opts.signal, `waiting for \`${this.label}\``);
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

  // Hands out a stream once; a second call, or one after wait() settled it, says why it cannot.
  private take<T>(key: keyof Execution['taken'], value: T): T {
    const by = this.taken[key];
    if (by === 'caller') {
      throw boxliteError('InvalidState', `the ${key} of \`${this.label}\` was already taken; use what the first ${key}() call returned`);
    }
    if (by === 'wait') {
      const what = key === 'stdin' ? 'closed by wait() (a stdin nobody took is closed, so the command reads EOF)' : 'discarded by wait()';
      throw boxliteError('InvalidState', `the ${key} of \`${this.label}\` was ${what}; call ${key}() before wait()`);
    }
    this.taken[key] = 'caller';
    return value;
  }

  // The run's signal: aborting it kills a command still running, and its wait() rejects with an AbortError.
  private killOnAbort(signal: AbortSignal): void {
    const onAbort = (): void => {
      if (this.settled) return;
      this.killedByAbort = true;
      void this.kill().catch(() => undefined);
    };
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      void this.result.catch(() => undefined).finally(() => signal.removeEventListener('abort', onAbort));
    }
  }
}

/**
 * @internal Starts a command over the portal; resolves when the guest reports it started. `signal` kills it
 * when it aborts (also when that happens before it started: it is killed as soon as it starts).
 */
export function startExecution(
  host: ExecutionHost, boxId: string, label: string, request: Parameters<PortalClient['exec']>[0], signal?: AbortSignal,
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
        resolveStart(new Execution(host, execId, boxId, label, result, { out, err, input, watch }, signal));
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
        if (!started) {
          ended(!closedByHost);
          // The guest could not start it (e.g. no such program), or the box died first.
          const e = failure.code === 'Run'
            ? boxliteError('Run', `could not start \`${label}\`: ${failure.message}`, failure)
            : failure;
          void host.explainFailure(e, `starting \`${label}\``).then(rejectStart);
          return;
        }
        void host.explainFailure(failure, `running \`${label}\``).then((e) => {
          // A stop is not a failure: the command ended with its box, and says so.
          const stopped = host.stoppedOnPurpose();
          ended(!closedByHost && !stopped);
          if (stopped) {
            out.end(); err.end(); watch.end({}); input.finish(boxliteError('InvalidState', `\`${label}\` ended: its box was stopped; its stdin is closed`));
            resolveResult(new ExecResult(-9, false, true));
            return;
          }
          out.end(e); err.end(e); input.finish(e); watch.end({ error: e });
          rejectResult(e);
        });
      },
    };
    execId = portal.exec(request, sink);
  });
}
