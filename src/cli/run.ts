// `boxlite run`: boots a box, runs one command in it with its I/O attached, and exits with its exit code.
import type { Command } from 'commander';
import { BoxCommand } from '../runtime/command.js';
import { BoxliteRuntime } from '../runtime/runtime.js';
import type { Execution } from '../runtime/execution.js';
import type { AcceleratorPreference } from '../vmm/accel.js';

interface RunFlags {
  rootfs: string; env: string[]; workdir?: string; tty?: boolean; interactive?: boolean;
  cpus?: string; memory?: string; name?: string; accel?: AcceleratorPreference; timeout?: string;
}

/** Adds the `run` subcommand. */
export function registerRun(program: Command): void {
  program.command('run')
    .description('run a command in a new box and remove the box afterwards')
    .requiredOption('--rootfs <dir>', 'directory holding the root filesystem')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('-w, --workdir <dir>', 'working directory inside the box')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'forward standard input')
    .option('--cpus <n>', 'virtual CPUs')
    .option('--memory <mib>', 'memory in MiB')
    .option('--name <name>', 'box name')
    .option('--accel <auto|kvm|tcg>', 'accelerator')
    .option('--timeout <ms>', 'kill the command after this many milliseconds')
    .argument('<command...>', 'command and arguments (put them after --)')
    .action(async (argv: string[], flags: RunFlags) => {
      const runtime = new BoxliteRuntime({ homeDir: program.opts<{ home?: string }>().home });
      const box = await runtime.create({
        rootfs: { rootfsPath: flags.rootfs },
        cpus: flags.cpus === undefined ? undefined : Number(flags.cpus),
        memoryMib: flags.memory === undefined ? undefined : Number(flags.memory),
        accelerator: flags.accel,
        env: flags.env.map(splitEnv),
      }, flags.name);
      let code = 125;
      try {
        const cmd = new BoxCommand(argv[0]!).args(argv.slice(1)).tty(Boolean(flags.tty));
        if (flags.workdir) cmd.workingDir(flags.workdir);
        if (flags.timeout) cmd.timeout(Number(flags.timeout));
        const execution = await box.run(cmd);
        code = await attach(execution, Boolean(flags.interactive) || (Boolean(flags.tty) && process.stdin.isTTY === true), Boolean(flags.tty));
      } finally {
        await runtime.close();
      }
      process.exitCode = code;
    });
}

function splitEnv(kv: string): [string, string] {
  const i = kv.indexOf('=');
  return i < 0 ? [kv, process.env[kv] ?? ''] : [kv.slice(0, i), kv.slice(i + 1)];
}

// Wires the execution to this process's stdio; resolves with a shell-style exit code.
async function attach(execution: Execution, forwardStdin: boolean, tty: boolean): Promise<number> {
  const pumps: Promise<void>[] = [];
  const pump = async (stream: AsyncIterable<Buffer>, out: NodeJS.WriteStream): Promise<void> => {
    for await (const chunk of stream) if (!out.write(chunk)) await new Promise((r) => out.once('drain', r));
  };
  pumps.push(pump(execution.stdout()!.bytes(), process.stdout));
  pumps.push(pump(execution.stderr()!.bytes(), process.stderr));
  const restore = tty && process.stdin.isTTY ? enterRawMode(execution) : () => undefined;
  if (forwardStdin) void forward(execution);
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
