// `boxlite pause|resume|fork`: keeping a running box's memory, and continuing from it in new boxes.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import { eachBox, findBox, openRuntime } from './shared.js';

/** Adds `pause`, `resume` and `fork`. */
export function registerPause(program: Command): void {
  const each = (verb: string, what: string, act: (box: LiteBox) => Promise<void>): void => eachBox(program, verb, what, act);
  each('pause', 'pause boxes with their memory kept on disk (no CPU, no memory); `resume` continues them', (box) => box.pause());
  each('resume', 'resume paused boxes: their processes continue where they were', (box) => box.resume());

  program.command('fork')
    .description('new boxes that continue from a running or paused box\'s state (memory, processes, disk); prints their ids')
    .argument('<box>', 'box id, id prefix or name')
    .option('-n, --count <n>', 'how many boxes (1..16)', '1')
    .option('--name <name...>', 'names of the new boxes, in order')
    .action(async (idOrName: string, flags: { count: string; name?: string[] }) => {
      const count = Number(flags.count);
      if (!/^\d+$/.test(flags.count)) throw boxliteError('InvalidArgument', `--count must be a whole number 1..16, got ${JSON.stringify(flags.count)}`);
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        const forks = await box.fork({ count: Math.max(count, flags.name?.length ?? 0), ...(flags.name ? { names: flags.name } : {}) });
        for (const f of forks) process.stdout.write(`${f.id}\n`);
      } finally {
        await runtime.close();
      }
    });
}
