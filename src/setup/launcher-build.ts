// Builds the jailer (launcher/, static C) that starts a box's QEMU, passt and virtiofsd confined, once per version of its sources.
import path from 'node:path';
import { ensureProgram, type BuiltProgram } from './c-build.js';
import type { StepOptions } from './types.js';

/** The file name `make OUT=<dir>` produces in `<dir>`. */
export const LAUNCHER_BINARY = 'boxlite-launcher';
/** The preload library built beside it, for VMs restored from a template (launcher/ram-shim.c). */
export const RAM_SHIM_LIBRARY = 'boxlite-ram-shim.so';

/** The RAM shim that was built with the launcher at `launcherPath`. */
export function ramShimPath(launcherPath: string): string {
  return path.join(path.dirname(launcherPath), RAM_SHIM_LIBRARY);
}

/** Returns `<cache>/launcher/<hash>/boxlite-launcher`, building it first when that version is not built yet. */
export async function ensureLauncher(cacheDir: string, launcherSrcDir: string, opts: StepOptions = {}): Promise<BuiltProgram> {
  return ensureProgram({
    srcDir: launcherSrcDir, outRoot: path.join(cacheDir, 'launcher'), binary: LAUNCHER_BINARY, extras: [RAM_SHIM_LIBRARY], label: 'jailer (launcher)', artifact: 'launcher', cacheDir,
    whyStatic: 'it must run unchanged wherever the helper is confined, with no shared libraries to find', needs: 'gcc, libc6-dev and make',
  }, opts);
}
