// prepareImageRootfs: the one call the runtime makes: image reference in, cached read-only base disk and process defaults out.
import type { ImageOperationOptions } from './events.js';
import type { ImageStore } from './index.js';
import type { RefRecord } from './store/refs.js';

/** How to prepare. */
export interface PrepareOptions extends ImageOperationOptions {
  /** `missing` (default): use the stored image when there is one, with no network; `always`: re-resolve the tag first. */
  pull?: 'missing' | 'always';
}

/** A box's root filesystem, ready to attach, and what the image says to run with. */
export interface PreparedRootfs {
  /** The read-only ext4 base disk (shared by every box of this image; never write to it). */
  baseDiskPath: string;
  /** The image manifest digest (what boxes record as their image). */
  digest: string;
  /** The normalised reference the image is recorded under. */
  reference: string;
  config: {
    env: [string, string][];
    workingDir?: string;
    user?: string;
    entrypoint?: string[];
    cmd?: string[];
  };
  /** Time spent in each stage (0 for stages served from the cache). */
  timings: { pullMs: number; unpackMs: number; convertMs: number };
}

/**
 * Makes `ref` ready to boot: pulls it when it is not stored (or always, with `pull: 'always'`), unpacks it and
 * builds its base disk when that disk does not exist yet. A second call for a stored image touches no network
 * and reuses the same disk file.
 */
export async function prepareImageRootfs(store: ImageStore, ref: string, opts: PrepareOptions = {}): Promise<PreparedRootfs> {
  const t0 = performance.now();
  let record: RefRecord | undefined;
  if (opts.pull !== 'always') {
    for (const candidate of store.candidates(ref)) {
      const found = await store.record(candidate.toString());
      // Usable without network when its disk is built, or when every blob to build it is stored.
      if (found && ((await store.hasDisk(found)) || (await store.completeRecord(found.reference)))) {
        record = found;
        break;
      }
    }
  }
  let pullMs = 0;
  if (!record) {
    const pulled = await store.pull(ref, opts);
    record = (await store.record(pulled.reference))!;
    pullMs = performance.now() - t0;
  }
  const disk = await store.disk(record, opts);
  const c = record.config;
  return {
    baseDiskPath: disk.path,
    digest: record.digest,
    reference: record.reference,
    config: {
      env: c.env,
      ...(c.workingDir ? { workingDir: c.workingDir } : {}),
      ...(c.user ? { user: c.user } : {}),
      ...(c.entrypoint ? { entrypoint: c.entrypoint } : {}),
      ...(c.cmd ? { cmd: c.cmd } : {}),
    },
    timings: { pullMs, unpackMs: disk.unpackMs, convertMs: disk.convertMs },
  };
}
