// `boxlite run`: creates a box, runs one command in it with its I/O attached, and exits with its exit code.
import type { Command } from 'commander';
import { BoxCommand } from '../runtime/command.js';
import { addBoxFlags, boxOptionsFromFlags, type BoxFlags } from './box-flags.js';
import { runKept } from './keep-spawn.js';
import { splitRunArgs } from './run-args.js';
import { attach, intFlag, openRuntime } from './shared.js';

interface RunFlags extends BoxFlags {
  tty?: boolean; interactive?: boolean; detach?: boolean; rm?: boolean; timeout?: string;
}

/** Adds the `run` subcommand. */
export function registerRun(program: Command): void {
  addBoxFlags(program.command('run')
    .description('run a command in a new box (removed afterwards unless -d or --no-rm): `run IMAGE -- CMD…` or `run --rootfs DIR -- CMD…`')
    .argument('<args...>', '[image] then the command and its arguments (put them after --)'))
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'forward standard input (without it the command reads end-of-file at once)')
    .option('-d, --detach', 'start the command in a detached box, print the box id, and leave it running')
    .option('--rm', 'remove the box when the command ends (the default, unless -d; with -d its keeper removes it)')
    .option('--no-rm', 'keep the box (stopped) after the command ends')
    .option('--timeout <ms>', 'kill the command after this many milliseconds')
    .action(async (args: string[], flags: RunFlags) => {
      const { image, argv } = splitRunArgs(args, flags);
      // Everything is checked before the box is made, so a bad flag leaves no box behind.
      const cmd = new BoxCommand(argv[0]!).args(argv.slice(1)).tty(Boolean(flags.tty));
      if (flags.timeout !== undefined) cmd.timeout(intFlag('--timeout', flags.timeout)!);
      const options = boxOptionsFromFlags(flags, image);
      const runtime = openRuntime(program);
      try {
        // -d --rm: the keeper stops the box when its command ends, and a detached auto-remove box goes when it stops.
        const box = await runtime.create({ ...options, detach: Boolean(flags.detach), autoRemove: flags.detach ? flags.rm === true : flags.rm !== false }, flags.name);
        // A box whose command never started is removed, detached or not (unless --no-rm): nothing of it ran. A
        // start that failed has already removed an auto-remove box; this covers -d and a command that cannot start.
        const execution = await (flags.detach ? runKept(runtime.homeDir, box, cmd, { removeWhenDone: flags.rm === true }) : box.run(cmd)).catch(async (err: unknown) => {
          if (flags.rm !== false) await runtime.remove(box.id.asStr(), true).catch(() => undefined);
          throw err;
        });
        for (const p of box.info().ports) process.stderr.write(`published ${p.hostIp}:${p.hostPort} -> ${p.guestPort}/${p.protocol}\n`);
        if (flags.detach) {
          process.stdout.write(`${box.id}\n`);
          return;
        }
        process.exitCode = await attach(execution!, Boolean(flags.interactive) || (Boolean(flags.tty) && process.stdin.isTTY === true), Boolean(flags.tty));
        await box.stop();
      } finally {
        await runtime.close();
      }
    });
}
