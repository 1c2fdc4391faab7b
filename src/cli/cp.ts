// `boxlite cp SRC DEST`: copies between a box and the host as `docker cp` does; `-` is a tar stream on stdin or stdout.
import type { Command } from 'commander';
import { boxliteError } from '../errors.js';
import type { LiteBox } from '../runtime/box.js';
import { parseCpArgs, type CpPlan } from './cp-args.js';
import { followBoxSource, followHostSource, resolveInBox } from './cp-follow.js';
import { findBox, openRuntime } from './shared.js';

interface CpFlags { archive?: boolean; followLink?: boolean }

/** Adds the `cp` subcommand. */
export function registerCp(program: Command): void {
  program.command('cp')
    .description('copy files or directories between a box and the host (as docker cp; a trailing /. copies a directory\'s contents)')
    .argument('<src>', 'BOX:PATH, a host path, or - to read a tar stream from stdin')
    .argument('<dest>', 'BOX:PATH, a host path, or - to write a tar stream to stdout')
    .option('-a, --archive', 'keep the uid/gid of what is copied into the box (default: the box\'s user owns it)')
    .option('-L, --follow-link', 'follow a symlink SRC_PATH and copy what it points to under the link\'s name')
    .action(async (src: string, dest: string, flags: CpFlags) => {
      const plan = parseCpArgs(src, dest);
      const runtime = openRuntime(program);
      try {
        const box = await findBox(runtime, plan.box);
        await (plan.direction === 'in' ? copyInto(box, plan, flags) : copyOutOf(box, plan, flags));
      } finally {
        await runtime.close();
      }
    });
}

async function copyInto(box: LiteBox, plan: CpPlan, flags: CpFlags): Promise<void> {
  const options = { preserveOwnership: Boolean(flags.archive) };
  if (plan.host.kind === 'stream') {
    if (process.stdin.isTTY) throw boxliteError('InvalidArgument', '`boxlite cp - BOX:DIR` reads a tar stream from stdin, which is a terminal; pipe or redirect one in');
    await box.copyInTar(process.stdin as AsyncIterable<Buffer>, plan.guestPath, options);
    return;
  }
  const [from, to] = flags.followLink ? await followHostSource(box, plan.host.path, plan.guestPath) : [plan.host.path, plan.guestPath];
  await box.copyIn(from, to, options);
}

async function copyOutOf(box: LiteBox, plan: CpPlan, flags: CpFlags): Promise<void> {
  if (plan.host.kind === 'stream') {
    await writeOut(await box.copyOutTar(flags.followLink ? await resolveInBox(box, plan.guestPath) : plan.guestPath));
    return;
  }
  const [from, to] = flags.followLink ? await followBoxSource(box, plan.guestPath, plan.host.path) : [plan.guestPath, plan.host.path];
  await box.copyOut(from, to);
}

/** Writes `stream` to stdout as it is read; a reader that went away (EPIPE) ends it quietly. */
async function writeOut(stream: AsyncIterable<Buffer>): Promise<void> {
  const out = process.stdout;
  let failed: NodeJS.ErrnoException | undefined;
  const wake: Array<() => void> = [];
  out.on('error', (e: NodeJS.ErrnoException) => { failed = e; wake.splice(0).forEach((r) => r()); });
  for await (const chunk of stream) {
    if (failed) break;
    if (!out.write(chunk)) await new Promise<void>((r) => { wake.push(r); out.once('drain', () => r()); });
    if (failed) break;
  }
  if (failed && failed.code !== 'EPIPE') throw failed;
}
