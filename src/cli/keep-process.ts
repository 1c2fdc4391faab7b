// `boxlite __keep BOX` (hidden): the keeper of a detached command — runs it in the box, writes its output, exits when it ends.
import type { Command } from 'commander';
import { BoxliteError, boxliteError } from '../errors.js';
import type { Execution } from '../runtime/execution.js';
import { selfIdentity } from '../state/process-identity.js';
import { commandFromData } from './keep-command.js';
import { KEEPER_START_TIMEOUT_MS, type KeepAnswer, type KeepRequest } from './keep-spawn.js';
import { KeptFiles, LOG_FILE_MAX_BYTES, type KeeperState } from './kept-files.js';
import { LogWriter } from './log-writer.js';
import { findBox, openRuntime } from './shared.js';

/** Adds the hidden `__keep` subcommand `run -d` spawns. */
export function registerKeep(program: Command): void {
  program.command('__keep', { hidden: true })
    .argument('<box>', 'box id')
    .action(async (boxId: string) => {
      const request = await receiveRequest();
      const runtime = openRuntime(program);
      const files = new KeptFiles(runtime.homeDir, boxId);
      let writer: LogWriter | undefined;
      let state: KeeperState | undefined;
      try {
        const box = await findBox(runtime, boxId);
        const cmd = commandFromData(request.command);
        writer = new LogWriter(files.current, files.previous, LOG_FILE_MAX_BYTES);
        state = { keeper: selfIdentity(), argv: cmd.argv, startedAt: new Date().toISOString() };
        files.writeState(state);
        const execution = await box.run(cmd);
        answer({ ok: true });
        const exitCode = await keep(execution, writer);
        files.writeState({ ...state, exitCode, endedAt: new Date().toISOString() });
        if (request.removeWhenDone) {
          writer.close();
          await box.stop(); // `run -d --rm`: an auto-remove box, removed (logs included) as it stops
        }
      } catch (err) {
        if (process.connected) {
          answer(BoxliteError.is(err) ? { ok: false, code: err.code, message: err.message } : { ok: false, code: 'Internal', message: String(err) });
        } else if (state) {
          files.writeState({ ...state, endedAt: new Date().toISOString(), error: BoxliteError.is(err) ? `${err.code}: ${err.message}` : String(err) });
        }
      } finally {
        writer?.close();
        await runtime.close().catch(() => undefined);
      }
      process.exit(0); // nothing of the keeper may stay behind once the command has ended
    });
}

// Writes the command's output until it ends; its exit code.
async function keep(execution: Execution, writer: LogWriter): Promise<number> {
  void execution.stdin()?.close(); // as `docker run -d` without -i: the command reads EOF
  const pump = async (stream: AsyncIterable<Buffer> | undefined, name: 'stdout' | 'stderr'): Promise<void> => {
    if (stream) for await (const chunk of stream) writer.write(name, chunk);
  };
  await Promise.allSettled([pump(execution.stdout()?.bytes(), 'stdout'), pump(execution.stderr()?.bytes(), 'stderr')]);
  return (await execution.wait()).exitCode;
}

// The command `run -d` hands over; the keeper gives up when none arrives.
function receiveRequest(): Promise<KeepRequest> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(boxliteError('InvalidArgument', '`boxlite __keep` is started by `boxlite run -d`, not by hand'));
      return;
    }
    const timer = setTimeout(() => reject(boxliteError('Run', 'no command arrived from `boxlite run -d`')), KEEPER_START_TIMEOUT_MS);
    process.once('message', (m: KeepRequest) => { clearTimeout(timer); resolve(m); });
    process.once('disconnect', () => { clearTimeout(timer); reject(boxliteError('Run', '`boxlite run -d` went away before handing over its command')); });
    process.send({ ready: true } satisfies KeepAnswer);
  });
}

function answer(a: KeepAnswer): void {
  if (!process.connected) return;
  process.send!(a, undefined, {}, () => { if (process.connected) process.disconnect(); });
}
