// `boxlite exec BOX -- CMD`: runs a command in an existing box (starting it if needed), attached to this terminal.
import type { Command } from 'commander';
import { addCommandFlags, commandFromFlags, type CommandFlags } from './command-flags.js';
import { attach, findBox, openRuntime } from './shared.js';

/** Adds the `exec` subcommand. */
export function registerExec(program: Command): void {
  addCommandFlags(program.command('exec')
    .description('run a command in an existing box')
    .argument('<box>', 'box id, id prefix or name')
    .argument('<command...>', 'command and arguments (put them after --)'))
    .action(async (idOrName: string, argv: string[], flags: CommandFlags) => {
      const cmd = commandFromFlags(argv, flags); // checked before the box is looked up or started
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        const execution = await box.run(cmd);
        process.exitCode = await attach(execution, Boolean(flags.interactive) || (Boolean(flags.tty) && process.stdin.isTTY === true), Boolean(flags.tty));
      } finally {
        await runtime.close();
      }
    });
}
