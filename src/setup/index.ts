// Makes everything a guest boots from (kernel, agent, initramfs, jailer, passt) ready in the shared cache, and finds it again.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAgent, hashGuestSources } from './agent-build.js';
import { hashSources } from './c-build.js';
import { ensureLauncher } from './launcher-build.js';
import { ensureInitramfs, initramfsHash } from './initramfs.js';
import { customConfigHash, ensureGuestKernel, kernelConfigOf, modulesOf } from './guest-kernel.js';
import { saveKernelChoice, wantedKernelFlavor, type KernelFlavor } from './kernel-flavor.js';
import { withFileLock } from '../util/file-lock.js';
import { artifactsOf, readManifest, writeManifest, type GuestArtifacts, type GuestManifest } from './manifest.js';
import { checkCacheDirSafe, ensureCacheDir, resolveCacheDir } from './cache-dir.js';
import { checkOsPackages, ensureOsPackages } from './os-packages.js';
import { emitProgress, type ArtifactName, type ProgressListener } from './progress.js';
import { ensurePatchedPasst, wantedPasstPath } from './passt-build.js';
import type { StepOptions } from './types.js';

export { findGuestArtifacts, type GuestArtifacts } from './manifest.js';
export { ensureOsPackages, checkOsPackages, missingOsTools, missingPackagesError, OS_PACKAGES, INSTALL_COMMAND } from './os-packages.js';
export { resolveCacheDir, readOnlyFallback, CACHE_DIR_ENV, SYSTEM_CACHE_DIR } from './cache-dir.js';
export { describeProgress, type ProgressEvent, type ProgressListener, type ArtifactName } from './progress.js';
export { ensureKernel, type KernelInfo } from './kernel.js';
export { ensureCustomKernel, KERNEL_SOURCE_PACKAGE, type CustomKernel } from './kernel-build.js';
export { DEFAULT_KERNEL_FLAVOR, KERNEL_ENV, parseKernelFlavor, readKernelChoice, type GuestKernel, type KernelFlavor } from './kernel-flavor.js';
export { ensureAgent, hashGuestSources, type AgentInfo } from './agent-build.js';
export { ensureLauncher, LAUNCHER_BINARY } from './launcher-build.js';
export { ensureInitramfs, type InitramfsInfo } from './initramfs.js';
export { GUEST_MODULES } from './module-order.js';
export { qemuVersion, type QemuVersion } from './qemu-info.js';
export type { Log, StepOptions } from './types.js';

/** The `guest/` folder shipped with this package (dist/src/setup/index.js → ../../../guest). */
export const DEFAULT_GUEST_SRC_DIR = fileURLToPath(new URL('../../../guest', import.meta.url));
/** The `launcher/` folder shipped with this package. */
export const DEFAULT_LAUNCHER_SRC_DIR = fileURLToPath(new URL('../../../launcher', import.meta.url));

/** Options of ensureGuestArtifacts. */
export interface EnsureGuestArtifactsOptions extends StepOptions {
  /** The shared cache to find and build the artifacts in (default resolveCacheDir()). */
  cacheDir?: string;
  /** Caches only read from, tried when `cacheDir` is not up to date (e.g. root's, for an ordinary user). */
  readOnlyCacheDirs?: readonly string[];
  /** The agent's sources (default DEFAULT_GUEST_SRC_DIR). */
  guestSrcDir?: string;
  /** The jailer's sources (launcher/) (default DEFAULT_LAUNCHER_SRC_DIR). */
  launcherSrcDir?: string;
  /**
   * The host packages: `install` checks and, as root, installs them (setup); `check` fails with a Config error
   * naming `boxlite setup` when one is missing (a runtime); `false` skips them. Default `install`.
   */
  osPackages?: 'install' | 'check' | false;
  /** Ask apt for the newest cloud kernel even when one is unpacked already (default false: no apt calls when cached). */
  refreshKernel?: boolean;
  /**
   * The guest kernel: `custom` (built from `<guest>/kernel/boxlite.config`, minutes once per cache) or `cloud`.
   * Default: $BOXLITE_KERNEL, else the cache's recorded choice (see `saveKernelChoice`), else DEFAULT_KERNEL_FLAVOR.
   * A custom kernel that cannot be built gives the cloud kernel (a `kernel-fallback` event says why).
   */
  kernel?: KernelFlavor;
  /** Record `kernel` as the cache's choice, the default of later calls (what `boxlite setup --kernel` does). */
  saveKernelChoice?: boolean;
  /** Build the custom kernel even when its build failed before with the same config (default false). */
  retryKernelBuild?: boolean;
}

/** The artifacts ready in a cache, and where. */
export interface ReadyGuest extends GuestArtifacts {
  cacheDir: string;
  /** What this call built (empty: all reused). */
  built: ArtifactName[];
}

/**
 * Makes the guest kernel, agent, initramfs, jailer and (where needed) patched passt ready in the shared cache and
 * records them in its manifest.json; every artifact is keyed by its inputs (source hashes, kernel release, patch).
 * A call with everything cached only reads the manifest, hashes the sources and stats a few files. Concurrent
 * builders (processes, homes) are serialized by `<cache>/setup.lock`; every file is written via temp + rename.
 * Ends with a `guest-ready` progress event naming what was built.
 */
export async function ensureGuestArtifacts(opts: EnsureGuestArtifactsOptions = {}): Promise<ReadyGuest> {
  const t0 = performance.now();
  const cacheDir = opts.cacheDir ?? resolveCacheDir();
  const guestSrcDir = path.resolve(opts.guestSrcDir ?? DEFAULT_GUEST_SRC_DIR);
  const requested = wantedKernelFlavor(opts.kernel, [cacheDir, ...(opts.readOnlyCacheDirs ?? [])]);
  const inputs: Inputs = { guestSrcDir, launcherSrcDir: path.resolve(opts.launcherSrcDir ?? DEFAULT_LAUNCHER_SRC_DIR), kernel: requested, retryKernel: opts.retryKernelBuild === true };
  if (opts.osPackages === 'check') await checkOsPackages();
  else if (opts.osPackages !== false) await ensureOsPackages(opts);
  const ready = (dir: string, found: GuestArtifacts, built: ArtifactName[]): ReadyGuest => {
    emitProgress(opts.onProgress, { type: 'guest-ready', cacheDir: dir, built, durationMs: Math.round(performance.now() - t0) });
    return { ...found, cacheDir: dir, built };
  };
  if (!opts.refreshKernel && !inputs.retryKernel) {
    for (const dir of [cacheDir, ...(opts.readOnlyCacheDirs ?? [])]) {
      const warm = await upToDate(dir, inputs);
      if (warm && dir === cacheDir && opts.saveKernelChoice && opts.kernel) await saveKernelChoice(cacheDir, opts.kernel);
      if (warm) return ready(dir, warm, []);
    }
  }

  ensureCacheDir(cacheDir);
  const built: ArtifactName[] = [];
  const onProgress: ProgressListener = (e) => {
    if (e.type === 'build-done') built.push(e.artifact);
    emitProgress(opts.onProgress, e);
  };
  const log = (line: string): void => { opts.log?.(line); emitProgress(opts.onProgress, { type: 'step', line }); };
  const step = { signal: opts.signal, log, onProgress };
  const lock = path.join(cacheDir, 'setup.lock');
  return withFileLock(lock, async () => {
    const again = opts.refreshKernel || inputs.retryKernel ? undefined : await upToDate(cacheDir, inputs); // another process may have finished while we waited
    if (again) return ready(cacheDir, again, []);
    const previous = readManifest(cacheDir);
    const agent = await ensureAgent(cacheDir, inputs.guestSrcDir, step); // first: a broken agent fails before any download
    const launcher = await ensureLauncher(cacheDir, inputs.launcherSrcDir, step);
    const flavor = requested;
    const kernel = await ensureGuestKernel(cacheDir, {
      ...step, flavor, configPath: kernelConfigOf(guestSrcDir), preferCloudVersion: previous?.kernelFlavor === 'custom' ? undefined : previous?.kernelVersion,
      refreshCloud: opts.refreshKernel, earlierFailure: previous?.kernelFallback, retry: inputs.retryKernel,
    });
    const initramfs = await ensureInitramfs(cacheDir, agent, kernel, { ...step, modules: kernel.modules });
    const passt = await ensurePatchedPasst(cacheDir, step);
    const manifest: GuestManifest = {
      formatVersion: 1,
      kernelVersion: kernel.version,
      kernelPackage: kernel.packageName,
      kernelPackageVersion: kernel.packageVersion,
      kernelPath: path.relative(cacheDir, kernel.vmlinuxPath),
      kernelFlavor: kernel.flavor,
      ...(kernel.configHash ? { kernelConfigHash: kernel.configHash } : {}),
      ...(kernel.fallback ? { kernelFallback: kernel.fallback } : {}),
      initrdPath: path.relative(cacheDir, initramfs.path),
      initramfsHash: initramfs.hash,
      agentHash: agent.hash,
      agentPath: path.relative(cacheDir, agent.path),
      launcherHash: launcher.hash,
      launcherPath: path.relative(cacheDir, launcher.path),
      modules: initramfs.modules.load.map((m) => m.name),
      builtinModules: initramfs.modules.builtin,
      ...(passt ? { passtPath: path.relative(cacheDir, passt.path), passtReplaces: passt.replaces } : {}),
      createdAt: new Date().toISOString(),
    };
    await writeManifest(cacheDir, manifest);
    if (opts.saveKernelChoice && opts.kernel) await saveKernelChoice(cacheDir, opts.kernel);
    const found = { kernelPath: kernel.vmlinuxPath, initrdPath: initramfs.path, kernelVersion: kernel.version, kernelFlavor: kernel.flavor, ...(kernel.fallback ? { kernelFallbackReason: kernel.fallback.reason } : {}), agentHash: agent.hash, launcherPath: launcher.path, ...(passt ? { passtPath: passt.path } : {}) };
    return ready(cacheDir, found, built);
  }, { signal: opts.signal, errorCode: 'Config', onWait: (ownerPid) => { log(`waiting for setup in process ${ownerPid} to finish`); emitProgress(opts.onProgress, { type: 'waiting', lockPath: lock, ownerPid }); } });
}

/** The inputs the recorded artifacts must match: sources, and the kernel flavor wanted. */
interface Inputs {
  guestSrcDir: string;
  launcherSrcDir: string;
  kernel: KernelFlavor;
  retryKernel: boolean;
}

/**
 * The artifacts recorded in `cacheDir` when they match the current agent and launcher sources, initramfs layout,
 * kernel flavor and config, and installed passt, else undefined. A cloud kernel recorded as the fallback for the
 * same custom config counts as custom. A cache dir that exists must be safe (see checkCacheDirSafe): it holds binaries.
 */
async function upToDate(cacheDir: string, inputs: Inputs): Promise<GuestArtifacts | undefined> {
  const m = readManifest(cacheDir);
  if (!m) return undefined;
  checkCacheDirSafe(cacheDir);
  const flavor = m.kernelFlavor ?? 'cloud';
  const configHash = async (): Promise<string | undefined> => customConfigHash(kernelConfigOf(inputs.guestSrcDir)).catch(() => undefined);
  if (flavor === 'custom' && m.kernelConfigHash !== (await configHash())) return undefined;
  if (inputs.kernel === 'custom' && flavor === 'cloud' && (m.kernelFallback === undefined || m.kernelFallback.configHash !== (await configHash()))) return undefined;
  if (inputs.kernel === 'cloud' && (flavor !== 'cloud' || m.kernelFallback)) return undefined;
  const agentHash = await hashGuestSources(inputs.guestSrcDir).catch(() => undefined);
  if (agentHash !== m.agentHash) return undefined;
  const launcherHash = await hashSources(inputs.launcherSrcDir).catch(() => undefined);
  if (launcherHash === undefined || launcherHash !== m.launcherHash) return undefined;
  const expected = initramfsHash(agentHash, { version: m.kernelVersion, packageVersion: m.kernelPackageVersion }, modulesOf(flavor));
  if (expected !== m.initramfsHash) return undefined;
  // The passt build follows the installed passt package (one dpkg-query) and the patch: a build for a version no longer
  // installed or an older patch, or none where one is needed, redoes it.
  const passt = await wantedPasstPath(cacheDir).catch(() => undefined);
  if ((m.passtPath === undefined ? undefined : path.resolve(cacheDir, m.passtPath)) !== passt) return undefined;
  return artifactsOf(cacheDir, m);
}
