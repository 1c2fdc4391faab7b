// `boxlite logs BOX [-f]`: prints the kept output of the box's detached command (`boxlite run -d`), stdout and stderr apart.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import { KeptFiles } from './kept-files.js';
import { readKept } from './log-reader.js';
import { findBox, openRuntime } from './shared.js';

/** Adds the `logs` subcommand. */
export function registerLogs(program: Command): void {
  program.command('logs')
    .description('print the output of the command `boxlite run -d` started in a box (the newest 4-8 MiB of it)')
    .argument('<box>', 'box id, id prefix or name')
    .option('-f, --follow', 'keep printing output until the command ends')
    .action(async (idOrName: string, flags: { follow?: boolean }) => {
      const runtime = openRuntime(program);
      let files: KeptFiles;
      try {
        const box = await findBox(runtime, idOrName);
        files = new KeptFiles(runtime.homeDir, box.id.asStr());
      } finally {
        await runtime.close();
      }
      if (!files.readState()) {
        throw boxliteError('NotFound', `box ${files.boxId} has no kept output: only the command of \`boxlite run -d\` keeps it; use \`boxlite exec\` to run one and see its output`);
      }
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      try {
        await readKept(files, async (r) => {
          const out = r.stream === 'stdout' ? process.stdout : process.stderr;
          if (!out.write(r.data)) await new Promise((resolve) => out.once('drain', resolve));
        }, { follow: Boolean(flags.follow), signal: stop.signal });
      } finally {
        process.off('SIGINT', onSignal);
      }
    });
}
