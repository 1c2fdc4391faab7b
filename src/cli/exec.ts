// `boxlite exec BOX -- CMD`: runs a command in an existing box (starting it if needed), attached to this terminal.
import type { Command } from 'commander';
import { BoxCommand } from '../runtime/command.js';
import { attach, findBox, intFlag, openRuntime, repeatable, splitEnv } from './shared.js';

/** Adds the `exec` subcommand. */
export function registerExec(program: Command): void {
  program.command('exec')
    .description('run a command in an existing box')
    .argument('<box>', 'box id, id prefix or name')
    .argument('<command...>', 'command and arguments (put them after --)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', repeatable, [])
    .option('-w, --workdir <dir>', 'working directory inside the box')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'forward standard input')
    .option('--timeout <ms>', 'kill the command after this many milliseconds')
    .action(async (idOrName: string, argv: string[], flags: { env: string[]; workdir?: string; tty?: boolean; interactive?: boolean; timeout?: string }) => {
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        const cmd = new BoxCommand(argv[0]!).args(argv.slice(1)).tty(Boolean(flags.tty));
        for (const [k, v] of flags.env.map(splitEnv)) cmd.env(k, v);
        if (flags.workdir) cmd.workingDir(flags.workdir);
        if (flags.timeout) cmd.timeout(intFlag('--timeout', flags.timeout)!);
        const execution = await box.run(cmd);
        process.exitCode = await attach(execution, Boolean(flags.interactive) || (Boolean(flags.tty) && process.stdin.isTTY === true), Boolean(flags.tty));
      } finally {
        await runtime.close();
      }
    });
}
