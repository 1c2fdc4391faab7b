// `boxlite clone BOX NAME`: a new box with a stopped box's options and a copy of its disk, over runtime.clone().
import type { Command } from 'commander';
import { openRuntime } from './shared.js';

/** Adds the `clone` subcommand. */
export function registerClone(program: Command): void {
  program.command('clone')
    .description('make a new box from a stopped one: same options, a copy of its disk sharing the unchanged blocks')
    .argument('<box>', 'box id, id prefix or name').argument('<name>', 'name of the new box')
    .action(async (idOrName: string, name: string) => {
      const runtime = openRuntime(program);
      try {
        const box = await runtime.clone(idOrName, name);
        process.stdout.write(`${box.id}\n`);
      } finally {
        await runtime.close();
      }
    });
}
