// `boxlite export|import`: a stopped or paused box to one file, and back (on this machine or another).
import type { Command } from 'commander';
import { findBox, openRuntime } from './shared.js';

/** Adds `export` and `import`. */
export function registerArchive(program: Command): void {
  program.command('export')
    .description('write a stopped or paused box (options, disks, and a paused box\'s memory) to one file')
    .argument('<box>', 'box id, id prefix or name')
    .argument('<file>', 'the file to write, e.g. mybox.boxlite')
    .action(async (idOrName: string, file: string) => {
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        await box.export(file);
        process.stdout.write(`${file}\n`);
      } finally {
        await runtime.close();
      }
    });

  program.command('import')
    .description('make a box from a file `boxlite export` wrote; prints its id')
    .argument('<file>', 'the export file')
    .option('--name <name>', 'the new box\'s name (default: the exported box\'s)')
    .action(async (file: string, flags: { name?: string }) => {
      const runtime = openRuntime(program);
      try {
        const box = await runtime.import(file, flags.name);
        process.stdout.write(`${box.id}\n`);
      } finally {
        await runtime.close();
      }
    });
}
