// Disk images: one read-only ext4 base disk per image manifest digest, built once from the unpacked layers and shared by every box.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { buildBaseDisk } from '../runtime/disks.js';
import { processAlive } from '../setup/atomic.js';
import type { ImageOperationOptions } from './events.js';
import { hexOf, type ContentStore } from './store/content-store.js';
import { withFileLock } from '../util/file-lock.js';
import type { RefRecord } from './store/refs.js';
import { unpackLayers } from './unpack/unpack-image.js';

/** A ready base disk and what making it cost (0 ms when it was already there). */
export interface ImageDisk {
  path: string;
  built: boolean;
  unpackMs: number;
  convertMs: number;
}

/** Where the base disk of the image with manifest `digest` lives. */
export function diskPathFor(imagesRoot: string, digest: string): string {
  return path.join(imagesRoot, 'disks', `${hexOf(digest)}.ext4`);
}

/**
 * The base disk for `record`, built when missing: layers unpacked into a private temp directory, `buildBaseDisk`
 * (mke2fs -d; temp + rename), then the directory deleted. A lock per digest makes concurrent callers build it once.
 */
export async function ensureImageDisk(content: ContentStore, record: RefRecord, opts: ImageOperationOptions = {}): Promise<ImageDisk> {
  const out = diskPathFor(content.root, record.digest);
  if (await isFile(out)) return { path: out, built: false, unpackMs: 0, convertMs: 0 };
  const hex = hexOf(record.digest);
  return withFileLock(path.join(content.root, 'disks', `${hex}.lock`), async () => {
    if (await isFile(out)) return { path: out, built: false, unpackMs: 0, convertMs: 0 };
    const tmp = path.join(content.root, 'tmp', `unpack-${hex.slice(0, 16)}-${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      const t0 = performance.now();
      await unpackLayers(tmp, record.layers.map((l, i) => ({ path: content.blobPath(l.digest), digest: l.digest, ...(record.config.diffIds?.[i] ? { diffId: record.config.diffIds[i] } : {}) })), opts.signal);
      const unpackMs = performance.now() - t0;
      opts.onEvent?.({ type: 'stage', stage: 'unpack', reference: record.reference, durationMs: unpackMs });
      const t1 = performance.now();
      await buildBaseDisk(tmp, out);
      const convertMs = performance.now() - t1;
      opts.onEvent?.({ type: 'stage', stage: 'convert', reference: record.reference, durationMs: convertMs });
      return { path: out, built: true, unpackMs, convertMs };
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  }, opts.signal ? { signal: opts.signal } : {});
}

/** Removes unpack directories left by processes that are gone; returns the number removed. */
export async function sweepUnpackDirs(imagesRoot: string): Promise<number> {
  const dir = path.join(imagesRoot, 'tmp');
  let removed = 0;
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = /^unpack-[0-9a-f]+-(\d+)-[0-9a-f]+$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await fs.rm(path.join(dir, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}
