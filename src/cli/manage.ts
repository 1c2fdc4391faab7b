// `boxlite inspect|start|stop|rm`: one-box lifecycle commands over the public API.
import type { Command } from 'commander';
import { findBox, openRuntime } from './shared.js';

/** Adds `inspect`, `start`, `stop` and `rm`. */
export function registerManage(program: Command): void {
  program.command('inspect')
    .description('print a box as JSON (info and metrics)')
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

  for (const [verb, what] of [['start', 'start boxes'], ['stop', 'stop boxes (graceful, then forced)']] as const) {
    program.command(verb)
      .description(what)
      .argument('<boxes...>', 'box ids, id prefixes or names')
      .action(async (ids: string[]) => {
        const runtime = openRuntime(program);
        try {
          for (const id of ids) {
            const box = await findBox(runtime, id);
            await (verb === 'start' ? box.start() : box.stop());
            process.stdout.write(`${box.id}\n`);
          }
        } finally {
          await runtime.close();
        }
      });
  }

  program.command('rm')
    .description('remove boxes and their files')
    .argument('<boxes...>', 'box ids, id prefixes or names')
    .option('-f, --force', 'stop running boxes first')
    .action(async (ids: string[], flags: { force?: boolean }) => {
      const runtime = openRuntime(program);
      try {
        for (const id of ids) {
          await runtime.remove(id, Boolean(flags.force));
          process.stdout.write(`${id}\n`);
        }
      } finally {
        await runtime.close();
      }
    });
}
