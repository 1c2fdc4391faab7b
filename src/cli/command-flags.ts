// The flags of the command a box runs that `run` and `exec` share: environment (-e, --env-file), -w and -u.
import type { Command } from 'commander';
import { BoxCommand } from '../runtime/command.js';
import { readEnvFiles } from './env-file.js';
import { intFlag, repeatable, splitEnv } from './shared.js';

/** The parsed command flags of `exec`. */
export interface CommandFlags {
  env: string[]; envFile: string[]; workdir?: string; user?: string; tty?: boolean; interactive?: boolean; timeout?: string;
}

/** Adds `exec`'s command flags to `command`. */
export function addCommandFlags(command: Command): Command {
  return command
    .option('-e, --env <KEY=VALUE>', 'set an environment variable; a bare KEY takes its value here (repeatable)', repeatable, [])
    .option('--env-file <file>', 'read environment variables from a file of KEY=VALUE lines (repeatable; -e wins)', repeatable, [])
    .option('-w, --workdir <dir>', 'working directory inside the box')
    .option('-u, --user <user[:group]>', 'run as this user (name or uid, optionally :group or :gid)')
    .option('-t, --tty', 'allocate a pseudo-terminal')
    .option('-i, --interactive', 'forward standard input (without it the command reads end-of-file at once)')
    .option('--timeout <ms>', 'kill the command after this many milliseconds');
}

/** The environment of `--env-file` files (in order) and then `-e` flags, which win, as Docker does. */
export function commandEnv(flags: { env: string[]; envFile: string[] }): Array<[string, string]> {
  return [...readEnvFiles(flags.envFile), ...flags.env.map(splitEnv)];
}

/** The BoxCommand `argv` and the flags describe. */
export function commandFromFlags(argv: readonly string[], flags: CommandFlags): BoxCommand {
  const cmd = new BoxCommand(argv[0]!).args(argv.slice(1)).tty(Boolean(flags.tty));
  for (const [k, v] of commandEnv(flags)) cmd.env(k, v);
  if (flags.workdir !== undefined) cmd.workingDir(flags.workdir);
  if (flags.user !== undefined) cmd.user(flags.user);
  if (flags.timeout !== undefined) cmd.timeout(intFlag('--timeout', flags.timeout)!);
  return cmd;
}
