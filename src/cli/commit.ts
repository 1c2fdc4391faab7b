// `boxlite commit BOX REF`: the box's filesystem changes as a new image in the local store (as `docker commit`).
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { CommitOptions } from '../images/index.js';
import { formatBytes } from './images-progress.js';
import { findBox, openRuntime } from './shared.js';

interface CommitFlags { message?: string; author?: string; cmd?: string; workdir?: string }

/** `--cmd` as a JSON array of strings (`'["/app","--serve"]'`), as a Dockerfile's exec form. */
export function parseCmdFlag(value: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    v = undefined;
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string')) {
    throw boxliteError('InvalidArgument', `--cmd must be a JSON array of strings such as '["/bin/sh","-c","echo hi"]', got ${JSON.stringify(value)}`);
  }
  return v as string[];
}

/** Adds the `commit` subcommand. */
export function registerCommit(program: Command): void {
  program.command('commit')
    .description('make a new image from a box\'s changes to its image (starts the box if it is stopped)')
    .argument('<box>', 'box id, id prefix or name')
    .argument('<reference>', 'the new image\'s reference, e.g. myapp:v1 or 127.0.0.1:5000/team/app:v1')
    .option('-m, --message <text>', 'a comment for the new layer\'s history')
    .option('-a, --author <name>', 'the image\'s author')
    .option('--cmd <json>', 'the image\'s command, as a JSON array (default: the box\'s image\'s)')
    .option('-w, --workdir <dir>', 'the image\'s working directory')
    .action(async (idOrName: string, reference: string, flags: CommitFlags) => {
      const options: CommitOptions = {
        ...(flags.message !== undefined ? { message: flags.message } : {}),
        ...(flags.author !== undefined ? { author: flags.author } : {}),
        ...(flags.cmd !== undefined ? { cmd: parseCmdFlag(flags.cmd) } : {}),
        ...(flags.workdir !== undefined ? { workingDir: flags.workdir } : {}),
      };
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, idOrName);
        const image = await box.commit(reference, options);
        const layer = image.layers.at(-1)!;
        process.stdout.write(`${image.reference}@${image.digest} (new layer ${formatBytes(layer.size)})\n`);
      } finally {
        await runtime.close();
      }
    });
}
