// `boxlite create [IMAGE]`: creates a box without running anything (as `docker create`) and prints its id.
import type { Command } from 'commander';
import type { BoxOptions } from '../runtime/options.js';
import { addBoxFlags, boxOptionsFromFlags, type BoxFlags } from './box-flags.js';
import { openRuntime } from './shared.js';

/** The flags of `create`: the box flags of `run`, and `--rm`. */
export interface CreateFlags extends BoxFlags {
  rm?: boolean;
}

/**
 * The BoxOptions of `create`'s flags (as `run` reads them): detached (it outlives this process, so a later
 * `boxlite start` keeps it running) and kept when stopped unless `--rm`.
 */
export function createOptions(imageArg: string | undefined, flags: CreateFlags): BoxOptions {
  return { ...boxOptionsFromFlags(flags, imageArg), detach: true, autoRemove: Boolean(flags.rm) };
}

/** Adds the `create` subcommand. */
export function registerCreate(program: Command): void {
  addBoxFlags(program.command('create')
    .description('create a box without starting it (start it with `boxlite start`, run in it with `boxlite exec`); prints its id')
    .argument('[image]', 'OCI image to boot (pulled at the first start), as --image'))
    .option('--rm', 'remove the box when it stops')
    .action(async (image: string | undefined, flags: CreateFlags) => {
      const options = createOptions(image, flags);
      const runtime = openRuntime(program);
      try {
        const box = await runtime.create(options, flags.name);
        process.stdout.write(`${box.id}\n`);
      } finally {
        await runtime.close();
      }
    });
}
