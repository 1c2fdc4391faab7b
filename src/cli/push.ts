// `boxlite push REF` (and `boxlite images push`): a stored image to the registry its reference names.
import type { Command } from 'commander';
import { ImageStore } from '../images/index.js';
import { resolveHomeDir } from '../runtime/options.js';
import { progressView } from './images-progress.js';
import { repeatable } from './shared.js';

/** Adds `push` to `parent` (the program, or its `images` command). */
export function registerPush(program: Command, parent: Command = program): void {
  parent.command('push')
    .description('push a stored image (pulled, loaded or committed) to its registry')
    .argument('<reference>', 'image reference, e.g. 127.0.0.1:5000/team/app:v1')
    .option('--insecure-registry <host>', 'reach this registry over plain http; repeatable', repeatable, [])
    .action(async (reference: string, flags: { insecureRegistry: string[] }) => {
      const store = new ImageStore({ homeDir: resolveHomeDir(program.opts<{ home?: string }>().home), insecureRegistries: flags.insecureRegistry });
      const view = progressView(process.stderr, 'pushed');
      try {
        const r = await store.push(reference, { onProgress: (p) => view.update(p) });
        view.stop();
        process.stdout.write(`${r.reference}@${r.digest} (${r.uploaded} blobs uploaded, ${r.mounted} mounted from another repository, ${r.skipped} already there)\n`);
      } finally {
        view.stop();
      }
    });
}
