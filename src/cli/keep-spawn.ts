// `boxlite run -d`: starts the box here, then hands the command to a detached keeper that runs it and keeps its output.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { boxliteError, type ErrorCode } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import type { BoxCommand } from '../runtime/command.js';
import { commandToData, type KeptCommand } from './keep-command.js';
import { KeptFiles } from './kept-files.js';

/** How long the keeper may take to start the command (attach to the box, start it there). */
export const KEEPER_START_TIMEOUT_MS = 60_000;

/** The message that hands the command to a keeper (sent once it said it is ready, so the message is not lost). */
export interface KeepRequest {
  command: KeptCommand;
  /** `run -d --rm`: stop the box (which auto-removes) once the command ends. */
  removeWhenDone?: boolean;
}
/** What the keeper says: ready for the request, then whether the command started (or why it did not). */
export type KeepAnswer = { ready: true } | { ok: true } | { ok: false; code: ErrorCode; message: string };
type Outcome = Exclude<KeepAnswer, { ready: true }>;

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * Starts `box` (here, so first-use progress and start errors reach this terminal), then spawns `boxlite __keep`
 * detached (its own session, stdio on /dev/null) and waits until it has started `cmd` in the box. The keeper writes
 * the command's output to the box's logs/ directory (`boxlite logs`) and exits when the command ends or the box
 * stops; with `removeWhenDone` it then stops the box, which (auto-removing) goes with its logs. Rejects with the
 * keeper's error when the command could not start.
 */
export async function runKept(homeDir: string, box: LiteBox, cmd: BoxCommand, options: { removeWhenDone?: boolean } = {}): Promise<undefined> {
  await box.start();
  const files = new KeptFiles(homeDir, box.id.asStr());
  fs.mkdirSync(files.dir, { recursive: true, mode: 0o700 });
  const child = spawn(process.execPath, [MAIN, '--home', homeDir, '__keep', box.id.asStr()], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const answer = await new Promise<Outcome>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ ok: false, code: 'Run', message: `the keeper of box ${box.id} did not start the command within ${KEEPER_START_TIMEOUT_MS} ms` });
    }, KEEPER_START_TIMEOUT_MS);
    child.on('message', (m: KeepAnswer) => {
      if ('ready' in m) {
        child.send({ command: commandToData(cmd), ...(options.removeWhenDone ? { removeWhenDone: true } : {}) } satisfies KeepRequest);
        return;
      }
      clearTimeout(timer);
      resolve(m);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: false, code: 'Run', message: `the keeper of box ${box.id} exited (${signal ?? `code ${code}`}) before starting the command` });
    });
  });
  if (child.connected) child.disconnect();
  child.unref();
  if (!answer.ok) throw boxliteError(answer.code, answer.message);
  return undefined;
}
