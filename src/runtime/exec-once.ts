// One-call commands: run a program (or a /bin/sh script) to completion and return its exit code and output.
import { boxliteError, BoxliteError } from '../errors.js';
import type { BoxCommand } from './command.js';
import { collectOutput } from './exec-collect.js';
import { feedInput } from './exec-input.js';
import { abortError, prepareExec, type CommandResult, type ExecOptions } from './exec-options.js';
import type { Execution } from './execution.js';

/** @internal What a one-call command needs from its box. */
export type RunCommand = (command: BoxCommand) => Promise<Execution>;

/** @internal `exec(program, args?, options?)` with args left out: the second argument may be the options. */
export function splitExecArgs(a?: readonly string[] | ExecOptions, b?: ExecOptions): [readonly string[], ExecOptions] {
  return Array.isArray(a) ? [a, b ?? {}] : [[], (a as ExecOptions | undefined) ?? b ?? {}];
}

/**
 * @internal Runs `program args…` to completion: input in, stdout and stderr collected (bounded by maxBuffer),
 * the exit code out. Aborting kills it (AbortError); too much output kills it (a Run error); a box failure rejects.
 */
export async function execOnce(run: RunCommand, program: string, args: readonly string[], options: ExecOptions): Promise<CommandResult<string | Buffer>> {
  const { command, resolved } = prepareExec(program, args, options);
  const { signal, maxBuffer, encoding } = resolved;
  const label = `\`${command}\``;
  if (signal?.aborted) throw abortError(label, signal);

  const execution = await startAbortable(run(command), signal, label);
  let failure: unknown;
  const fail = (err: unknown): void => {
    if (failure !== undefined) return;
    failure = err;
    execution.kill().catch(() => undefined); // the command is gone already, or the box failed: wait() says which
  };
  const onAbort = (): void => fail(abortError(label, signal!));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const overflow = (stream: string) => (): void => fail(boxliteError('Run',
      `${stream} of ${label} exceeded maxBuffer (${maxBuffer} bytes), so the command was killed; raise maxBuffer, `
      + 'or stream the output with box.run()', Object.assign(new RangeError(`${stream} maxBuffer length exceeded`), { code: 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER' })));
    const stdout = collectOutput(execution.stdout()!, maxBuffer, overflow('stdout'));
    const stderr = collectOutput(execution.stderr()!, maxBuffer, overflow('stderr'));
    const fed = feedInput(execution.stdin()!, resolved.input, label).catch(fail);
    // Every part settles (the streams end with the exit, or with the box failure); the first failure wins.
    const [result, out, err] = await Promise.allSettled([execution.wait(), stdout, stderr, fed]);
    if (failure !== undefined) throw failure;
    const decode = (b: Buffer): string | Buffer => (encoding === 'buffer' ? b : b.toString(encoding));
    const { exitCode, timedOut } = valueOf(result);
    return { exitCode, stdout: decode(valueOf(out)), stderr: decode(valueOf(err)), timedOut };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

function valueOf<T>(settled: PromiseSettledResult<T>): T {
  if (settled.status === 'rejected') throw settled.reason;
  return settled.value;
}

/**
 * @internal Runs `script` with `/bin/sh -c`, as `execOnce` does. A box without /bin/sh rejects with a Run error
 * saying so (and what to use instead).
 */
export async function shellOnce(run: RunCommand, script: string, options: ExecOptions): Promise<CommandResult<string | Buffer>> {
  if (typeof script !== 'string' || script === '') {
    throw boxliteError('InvalidArgument', `sh() needs a non-empty shell script string, got ${JSON.stringify(script)}`);
  }
  try {
    return await execOnce(run, '/bin/sh', ['-c', script], options);
  } catch (err) {
    if (BoxliteError.is(err) && err.code === 'Run' && /could not start .*\/bin\/sh: No such file or directory/.test(err.message)) {
      throw boxliteError('Run', 'sh() runs scripts with /bin/sh, and this box has no /bin/sh (an image without a shell, e.g. distroless); '
        + 'run the program directly with box.exec(program, args), or use an image with a shell', err);
    }
    throw err;
  }
}

/** Resolves with the started execution; an abort while it starts rejects at once, and kills it once it has started. */
async function startAbortable(started: Promise<Execution>, signal: AbortSignal | undefined, label: string): Promise<Execution> {
  if (!signal) return started;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(label, signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([started, aborted]);
  } catch (err) {
    if (signal.aborted) started.then(async (e) => { await e.kill(); await e.wait(); }).catch(() => undefined);
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort!);
  }
}
