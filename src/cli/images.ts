// `boxlite images ls|pull|push|rm|prune|load` (and `boxlite pull`): the image store from the command line, a thin layer over ImageStore.
import fs from 'node:fs';
import type { Command } from 'commander';
import { ImageStore, prepareImageRootfs, type ImageEvent } from '../images/index.js';
import { resolveHomeDir } from '../runtime/options.js';
import { formatBytes, progressView } from './images-progress.js';
import { registerPush } from './push.js';

/** What `images` needs from the rest of the CLI. */
export interface ImagesCliOptions {
  /** The manifest digests boxes use; prune keeps their disks. */
  inUseDigests: () => Promise<Set<string>>;
}

interface StoreFlags { registry: string[]; insecureRegistry: string[] }

const repeat = (v: string, acc: string[]): string[] => [...acc, v];

/** Adds the `images` command and its subcommands, and the top-level `pull`. */
export function registerImages(program: Command, opts: ImagesCliOptions): void {
  const images = program.command('images').description('list, pull, push, remove, prune and load OCI images');
  const store = (flags: Partial<StoreFlags> = {}): ImageStore => new ImageStore({
    homeDir: resolveHomeDir(program.opts<{ home?: string }>().home),
    imageRegistries: flags.registry ?? [],
    insecureRegistries: flags.insecureRegistry ?? [],
  });
  const warn = (e: ImageEvent): void => { if (e.type === 'warning') process.stderr.write(`warning: ${e.message}\n`); };

  images.command('ls').alias('list')
    .description('list stored images')
    .option('--digests', 'show full digests')
    .option('--json', 'print JSON')
    .action(async (flags: { digests?: boolean; json?: boolean }) => {
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(await store().list(), null, 2)}\n`);
        return;
      }
      const rows = (await store().list()).map((i) => [
        i.reference, flags.digests ? i.digest : i.digest.slice(7, 19), formatBytes(i.sizeBytes),
        i.diskBytes === undefined ? '-' : formatBytes(i.diskBytes), i.pulledAt.replace(/\.\d+Z$/, 'Z'),
      ]);
      printTable(['REFERENCE', 'DIGEST', 'SIZE', 'DISK', 'PULLED'], rows);
    });

  // `boxlite images pull` and its shorthand `boxlite pull` (as docker's).
  for (const parent of [images, program]) {
    parent.command('pull')
      .description('pull an image (tags are re-resolved) and build its disk')
      .argument('<reference>', 'image reference, e.g. alpine:3.20 or 127.0.0.1:5000/app:v1')
      .option('--registry <prefix>', 'registry (or host/namespace) to try for unqualified names; repeatable', repeat, [])
      .option('--insecure-registry <host>', 'reach this registry over plain http; repeatable', repeat, [])
      .option('--no-disk', 'only download; do not unpack and build the disk')
      .action((reference: string, flags: StoreFlags & { disk: boolean }) => pull(store(flags), reference, flags.disk, warn));
  }

  registerPush(program, images);

  images.command('rm').alias('remove')
    .description('remove images (their disks stay until prune)')
    .argument('<reference...>', 'image references')
    .action(async (refs: string[]) => {
      const s = store();
      for (const ref of refs) {
        const r = await s.remove(ref);
        process.stdout.write(`removed ${r.reference} (${formatBytes(r.freedBytes)} freed)\n`);
      }
    });

  images.command('prune')
    .description('delete disks and blobs no image or box uses, and leftovers of interrupted pulls')
    .option('-a, --all', 'also remove every image no box uses')
    .action(async (flags: { all?: boolean }) => {
      const r = await store().prune(await opts.inUseDigests(), { all: Boolean(flags.all) });
      for (const item of r.removed) process.stdout.write(`deleted ${item}\n`);
      process.stdout.write(`freed ${formatBytes(r.freedBytes)}\n`);
    });

  images.command('load')
    .description('load a `docker save` archive or an OCI image layout directory')
    .argument('<path>', 'archive file or layout directory')
    .argument('[reference]', 'reference to tag the image as (picks it when the source holds several)')
    .action(async (source: string, reference: string | undefined) => {
      const s = store();
      const isDir = fs.statSync(source, { throwIfNoEntry: false })?.isDirectory() ?? false;
      const loaded = isDir ? await s.loadLayout(source, reference) : await s.loadArchive(source, reference);
      process.stdout.write(`loaded ${loaded.reference}@${loaded.digest} (${formatBytes(loaded.sizeBytes)})\n`);
    });
}

async function pull(s: ImageStore, reference: string, disk: boolean, warn: (e: ImageEvent) => void): Promise<void> {
  const view = progressView();
  try {
    const pulled = await s.pull(reference, { onProgress: (p) => view.update(p), onEvent: warn });
    view.stop();
    if (disk) {
      const r = await prepareImageRootfs(s, pulled.reference, { onEvent: warn });
      process.stderr.write(`disk: ${r.baseDiskPath}${r.timings.convertMs > 0 ? ` (unpacked in ${Math.round(r.timings.unpackMs)} ms, built in ${Math.round(r.timings.convertMs)} ms)` : ' (already built)'}\n`);
    }
    process.stdout.write(`${pulled.reference}@${pulled.digest} (${formatBytes(pulled.sizeBytes)})\n`);
  } finally {
    view.stop();
  }
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const r of [head, ...rows]) process.stdout.write(`${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}\n`);
}
