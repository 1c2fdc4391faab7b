#!/usr/bin/env node
// The boxlite command line: a thin layer over the public API, one subcommand per file.
import { Command } from 'commander';
import { BoxliteError } from '../errors.js';
import { registerCommit } from './commit.js';
import { registerClone } from './clone.js';
import { registerCreate } from './create.js';
import { registerCp } from './cp.js';
import { registerExec } from './exec.js';
import { registerImages } from './images.js';
import { registerKeep } from './keep-process.js';
import { registerLogs } from './logs.js';
import { registerLs } from './ls.js';
import { registerManage } from './manage.js';
import { registerPause } from './pause.js';
import { registerArchive } from './archive.js';
import { registerRun } from './run.js';
import { registerSetup } from './setup.js';
import { registerPush } from './push.js';
import { registerSnapshot } from './snapshot.js';
import { openRuntime } from './shared.js';
import { registerStats } from './stats.js';

const program = new Command('boxlite')
  .description('Hardware-isolated Linux sandboxes (micro-VMs) for running untrusted commands')
  .version('0.1.0')
  .option('--home <dir>', 'home directory (default: $BOXLITE_HOME or ~/.boxlite)');

registerSetup(program);
registerRun(program);
registerCreate(program);
registerExec(program);
registerLs(program);
registerManage(program);
registerPause(program);
registerArchive(program);
registerStats(program);
registerLogs(program);
registerKeep(program);
registerCp(program);
registerCommit(program);
registerPush(program);
registerSnapshot(program);
registerClone(program);
registerImages(program, {
  inUseDigests: async () => {
    const runtime = openRuntime(program);
    try {
      return runtime.imageDigestsInUse();
    } finally {
      await runtime.close();
    }
  },
});

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.stderr.write(`boxlite: ${BoxliteError.is(err) ? `${err.code}: ${err.message}` : String(err)}\n`);
  process.exit(125);
}
