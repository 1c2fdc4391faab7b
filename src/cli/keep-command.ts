// A BoxCommand as plain data, so `boxlite run -d` can hand the command to its keeper process over IPC.
import { BoxCommand } from '../runtime/command.js';

/** What a kept command is: everything of a BoxCommand. */
export interface KeptCommand {
  argv: string[];
  env: Array<[string, string]>;
  cwd?: string;
  tty: boolean;
  timeoutMs?: number;
  user?: string;
}

/** The plain form of `cmd`. */
export function commandToData(cmd: BoxCommand): KeptCommand {
  return {
    argv: cmd.argv, env: [...cmd.envVars], tty: cmd.isTty,
    ...(cmd.cwd !== undefined ? { cwd: cmd.cwd } : {}),
    ...(cmd.timeoutMs !== undefined ? { timeoutMs: cmd.timeoutMs } : {}),
    ...(cmd.userName !== undefined ? { user: cmd.userName } : {}),
  };
}

/** The BoxCommand of its plain form (validated again by BoxCommand's setters). */
export function commandFromData(data: KeptCommand): BoxCommand {
  const cmd = new BoxCommand(data.argv[0]!).args(data.argv.slice(1)).tty(data.tty);
  for (const [k, v] of data.env) cmd.env(k, v);
  if (data.cwd !== undefined) cmd.workingDir(data.cwd);
  if (data.timeoutMs !== undefined) cmd.timeout(data.timeoutMs);
  if (data.user !== undefined) cmd.user(data.user);
  return cmd;
}
