// `boxlite inspect|start|stop|restart|rm`: one-box lifecycle commands over the public API.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import { awaitKeeperEnd, runningKeeper } from './keeper-end.js';
import { eachBox, findBox, openRuntime } from './shared.js';

/** Adds `inspect`, `start`, `stop`, `restart` and `rm`. */
export function registerManage(program: Command): void {
  program.command('inspect')
    .description('print a box as JSON: its state, its configuration (image, env, volumes, ports, ...) and metrics')
    .argument('<box>', 'box id, id prefix or name')
    .action(async (idOrName: string) => {
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        process.stdout.write(`${JSON.stringify({ ...box.info(), metrics: await box.metrics() }, null, 2)}\n`);
      } finally {
        await runtime.close();
      }
    });

  const each = (verb: string, what: string, act: (box: LiteBox, homeDir: string) => Promise<void>): void => eachBox(program, verb, what, act);
  each('start', 'start boxes', (box) => box.start());
  each('stop', 'stop boxes (graceful, then forced)', (box, home) => stopKept(box, home));
  each('restart', 'stop boxes, then start them again (their files stay; a command `run -d` started does not run again)', async (box, home) => {
    if (box.info().autoRemove) {
      throw boxliteError('InvalidState', `cannot restart box ${box.id}: it is removed when it stops (created with --rm or by \`run\` without -d/--no-rm); stop and create it again instead`);
    }
    await stopKept(box, home);
    await box.start();
  });

  program.command('rm')
    .description('remove boxes and their files')
    .argument('<boxes...>', 'box ids, id prefixes or names')
    .option('-f, --force', 'stop running boxes first')
    .action(async (ids: string[], flags: { force?: boolean }) => {
      const runtime = openRuntime(program);
      try {
        for (const id of ids) {
          const info = await runtime.getInfo(id);
          const keeper = info && runningKeeper(runtime.homeDir, info.id.asStr());
          await runtime.remove(id, Boolean(flags.force));
          await awaitKeeperEnd(keeper);
          process.stdout.write(`${id}\n`);
        }
      } finally {
        await runtime.close();
      }
    });
}

// Stops the box, and waits for the keeper of its detached command (which ends with the VM) to be gone.
async function stopKept(box: LiteBox, homeDir: string): Promise<void> {
  const keeper = runningKeeper(homeDir, box.id.asStr());
  await box.stop();
  await awaitKeeperEnd(keeper);
}
