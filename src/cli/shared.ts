// Helpers shared by the subcommands: opening the runtime, finding a box, attaching an execution to this terminal.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import type { Execution } from '../runtime/execution.js';
import { BoxliteRuntime } from '../runtime/runtime.js';
import { describeProgress, type ProgressEvent } from '../setup/progress.js';
import { forwardSignals } from './signals.js';

/** A runtime on the `--home` of the program; first-use work (building the shared guest cache, root disks) is printed to stderr. */
export function openRuntime(program: Command): BoxliteRuntime {
  return new BoxliteRuntime({ homeDir: program.opts<{ home?: string }>().home, onProgress: printProgress });
}

/** Prints what a runtime builds on first use; quiet when everything was cached. */
function printProgress(e: ProgressEvent): void {
  if (e.type === 'guest-ready' && e.built.length === 0) return;
  if (e.type === 'rootfs-disk' && e.status === 'reused') return;
  process.stderr.write(`boxlite: ${describeProgress(e)}\n`);
}

/** The box with this id, prefix or name, or a NotFound error naming it. */
export async function findBox(runtime: BoxliteRuntime, idOrName: string): Promise<LiteBox> {
  const box = await runtime.get(idOrName);
  if (!box) throw boxliteError('NotFound', `no box with id or name ${JSON.stringify(idOrName)}; \`boxlite ls -a\` lists them`);
  return box;
}

/** Adds the command `verb BOX...`: `act` on each box in turn (each found by id, id prefix or name), printing its id. */
export function eachBox(program: Command, verb: string, what: string, act: (box: LiteBox, homeDir: string) => Promise<void>): void {
  program.command(verb)
    .description(what)
    .argument('<boxes...>', 'box ids, id prefixes or names')
    .action(async (ids: string[]) => {
      const runtime = openRuntime(program);
      try {
        for (const id of ids) {
          const box = await findBox(runtime, id);
          await act(box, runtime.homeDir);
          process.stdout.write(`${box.id}\n`);
        }
      } finally {
        await runtime.close();
      }
    });
}

/** `KEY=VALUE` → [KEY, VALUE]; a bare `KEY` takes this process's value. */
export function splitEnv(kv: string): [string, string] {
  const i = kv.indexOf('=');
  return i < 0 ? [kv, process.env[kv] ?? ''] : [kv.slice(0, i), kv.slice(i + 1)];
}

/** A whole-number flag (`--cpus 2`); InvalidArgument naming the flag and what was given otherwise. */
export function intFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw boxliteError('InvalidArgument', `${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Collects a repeatable option into a list. */
export const repeatable = (v: string, acc: string[]): string[] => [...acc, v];

/**
 * Wires an execution to this process's stdio; resolves with a shell-style exit code (128+N for signal N). Stdin
 * is forwarded when `forwardStdin`, else closed at once (the command reads EOF, as under `docker run` without -i).
 * Without a TTY, this process's signals go to the command (signals.ts); with one, Ctrl-C is a byte on it.
 */
export async function attach(execution: Execution, forwardStdin: boolean, tty: boolean): Promise<number> {
  const pump = async (stream: AsyncIterable<Buffer>, out: NodeJS.WriteStream): Promise<void> => {
    for await (const chunk of stream) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  };
  const pumps = [pump(execution.stdout()!.bytes(), process.stdout), pump(execution.stderr()!.bytes(), process.stderr)];
  const restoreTty = tty && process.stdin.isTTY ? enterRawMode(execution) : () => undefined;
  const stopForwarding = tty ? () => undefined : forwardSignals(execution);
  const restore = (): void => { stopForwarding(); restoreTty(); };
  if (forwardStdin) void forward(execution);
  else void execution.stdin().close().catch(() => undefined);
  try {
    await Promise.all(pumps);
    const result = await execution.wait();
    if (result.timedOut) process.stderr.write('boxlite: the command timed out and was killed\n');
    return result.exitCode < 0 ? 128 - result.exitCode : result.exitCode;
  } finally {
    restore();
    process.stdin.pause();
  }
}

async function forward(execution: Execution): Promise<void> {
  const stdin = execution.stdin()!;
  try {
    for await (const chunk of process.stdin) await stdin.write(chunk as Buffer);
    await stdin.close();
  } catch { /* the command exited first */ }
}

function enterRawMode(execution: Execution): () => void {
  process.stdin.setRawMode(true);
  const resize = (): void => { void execution.resizeTty(process.stdout.rows || 24, process.stdout.columns || 80).catch(() => undefined); };
  resize();
  process.stdout.on('resize', resize);
  return () => { process.stdin.setRawMode(false); process.stdout.off('resize', resize); };
}
