// A runtime's view of the shared guest cache: the artifacts every box boots from, built on first use, once per runtime.
import fs from 'node:fs';
import { ensureGuestArtifacts, readOnlyFallback, resolveCacheDir, type ReadyGuest } from '../setup/index.js';
import type { KernelFlavor } from '../setup/kernel-flavor.js';
import type { ProgressListener } from '../setup/progress.js';

/** Where the cache is, who hears about the work, and (for tests and tools) which sources to build. */
export interface GuestCacheOptions {
  /** The shared cache dir (default resolveCacheDir(): `BOXLITE_CACHE_DIR`, `/var/cache/boxlite` for root, else `~/.cache/boxlite`). */
  cacheDir?: string;
  onProgress?: ProgressListener;
  /** The guest kernel flavor (default: BOXLITE_KERNEL, else the cache's chosen flavor, else cloud). */
  kernel?: KernelFlavor;
  guestSrcDir?: string;
  launcherSrcDir?: string;
}

/**
 * The guest artifacts (kernel, initramfs, agent, jailer, patched passt) of one runtime. The first `artifacts()`
 * checks the OS packages (a missing one is a Config error naming `boxlite setup`) and finds or builds what is
 * missing in the shared cache, reporting it to `onProgress`; later calls return the same set while its files exist.
 */
export class GuestCache {
  /** The shared cache dir this runtime builds in. */
  readonly cacheDir: string;
  readonly onProgress: ProgressListener | undefined;
  private readonly readOnly: string[];
  private ready: Promise<ReadyGuest> | undefined;

  constructor(private readonly options: GuestCacheOptions = {}) {
    this.cacheDir = resolveCacheDir(options.cacheDir);
    const fallback = readOnlyFallback(options.cacheDir);
    this.readOnly = fallback && fallback !== this.cacheDir ? [fallback] : [];
    this.onProgress = options.onProgress;
  }

  /** The artifacts to boot from, found or built in the cache (see the class comment). */
  async artifacts(signal?: AbortSignal): Promise<ReadyGuest> {
    if (this.ready) {
      const have = await this.ready.catch(() => undefined);
      if (have && [have.kernelPath, have.initrdPath, have.launcherPath, ...(have.passtPath ? [have.passtPath] : [])].every((p) => fs.existsSync(p))) return have;
      this.ready = undefined; // failed, or deleted under us: look again
    }
    this.ready ??= ensureGuestArtifacts({
      cacheDir: this.cacheDir, readOnlyCacheDirs: this.readOnly, osPackages: 'check', signal,
      ...(this.options.onProgress ? { onProgress: this.options.onProgress } : {}),
      ...(this.options.kernel ? { kernel: this.options.kernel } : {}),
      ...(this.options.guestSrcDir ? { guestSrcDir: this.options.guestSrcDir } : {}),
      ...(this.options.launcherSrcDir ? { launcherSrcDir: this.options.launcherSrcDir } : {}),
    });
    return this.ready;
  }
}
