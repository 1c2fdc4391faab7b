// Sets up everything a guest boots from (host packages, kernel, agent, initramfs) and finds it again later.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureAgent, hashGuestSources } from './agent-build.js';
import { hashSources } from './c-build.js';
import { ensureLauncher } from './launcher-build.js';
import { ensureInitramfs, initramfsHash } from './initramfs.js';
import { ensureKernel } from './kernel.js';
import { withFileLock } from '../util/file-lock.js';
import { artifactsOf, guestDir, readManifest, writeManifest, type GuestArtifacts, type GuestManifest } from './manifest.js';
import { ensureOsPackages } from './os-packages.js';
import { ensurePatchedPasst, wantedPasstPath } from './passt-build.js';
import type { StepOptions } from './types.js';

export { findGuestArtifacts, type GuestArtifacts } from './manifest.js';
export { ensureOsPackages, missingOsTools, OS_PACKAGES, INSTALL_COMMAND } from './os-packages.js';
export { ensureKernel, type KernelInfo } from './kernel.js';
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
  homeDir: string;
  /** The agent's sources (default DEFAULT_GUEST_SRC_DIR). */
  guestSrcDir?: string;
  /** The jailer's sources (launcher/) (default DEFAULT_LAUNCHER_SRC_DIR). */
  launcherSrcDir?: string;
  /** Check for (and as root install) the host packages first (default true). */
  osPackages?: boolean;
  /** Ask apt for the newest cloud kernel even when one is unpacked already (default false: no apt calls when cached). */
  refreshKernel?: boolean;
}

/**
 * Makes the guest kernel and initramfs ready in `<home>/guest` and records them in its manifest.json.
 * A second call with unchanged agent sources only reads the manifest and stats a few files (milliseconds).
 * Concurrent calls on one home dir are serialized by a lock file; every file is written via temp + rename.
 */
export async function ensureGuestArtifacts(opts: EnsureGuestArtifactsOptions): Promise<GuestArtifacts> {
  const { homeDir } = opts;
  const guestSrcDir = path.resolve(opts.guestSrcDir ?? DEFAULT_GUEST_SRC_DIR);
  const launcherSrcDir = path.resolve(opts.launcherSrcDir ?? DEFAULT_LAUNCHER_SRC_DIR);
  if (opts.osPackages !== false) await ensureOsPackages(opts);
  const warm = opts.refreshKernel ? undefined : await upToDate(homeDir, guestSrcDir, launcherSrcDir);
  if (warm) return warm;

  await fs.mkdir(guestDir(homeDir), { recursive: true });
  const lock = path.join(guestDir(homeDir), 'setup.lock');
  return withFileLock(lock, async () => {
    const again = opts.refreshKernel ? undefined : await upToDate(homeDir, guestSrcDir, launcherSrcDir); // another process may have finished while we waited
    if (again) return again;
    const previous = readManifest(homeDir);
    const agent = await ensureAgent(homeDir, guestSrcDir, opts); // first: a broken agent fails before any download
    const launcher = await ensureLauncher(homeDir, launcherSrcDir, opts);
    const kernel = await ensureKernel(homeDir, { ...opts, preferVersion: previous?.kernelVersion, refresh: opts.refreshKernel });
    const initramfs = await ensureInitramfs(homeDir, agent, kernel, opts);
    const passt = await ensurePatchedPasst(homeDir, opts);
    const dir = guestDir(homeDir);
    const manifest: GuestManifest = {
      formatVersion: 1,
      kernelVersion: kernel.version,
      kernelPackage: kernel.packageName,
      kernelPackageVersion: kernel.packageVersion,
      kernelPath: path.relative(dir, kernel.vmlinuxPath),
      initrdPath: path.relative(dir, initramfs.path),
      initramfsHash: initramfs.hash,
      agentHash: agent.hash,
      agentPath: path.relative(dir, agent.path),
      launcherHash: launcher.hash,
      launcherPath: path.relative(dir, launcher.path),
      modules: initramfs.modules.load.map((m) => m.name),
      builtinModules: initramfs.modules.builtin,
      ...(passt ? { passtPath: path.relative(dir, passt.path), passtReplaces: passt.replaces } : {}),
      createdAt: new Date().toISOString(),
    };
    await writeManifest(homeDir, manifest);
    return { kernelPath: kernel.vmlinuxPath, initrdPath: initramfs.path, kernelVersion: kernel.version, agentHash: agent.hash, launcherPath: launcher.path, ...(passt ? { passtPath: passt.path } : {}) };
  }, { signal: opts.signal, errorCode: 'Config', onWait: (pid) => opts.log?.(`waiting for setup in process ${pid} to finish`) });
}

/** The recorded artifacts when they match the current agent and launcher sources and initramfs layout, else undefined. */
async function upToDate(homeDir: string, guestSrcDir: string, launcherSrcDir: string): Promise<GuestArtifacts | undefined> {
  const m = readManifest(homeDir);
  if (!m) return undefined;
  const agentHash = await hashGuestSources(guestSrcDir).catch(() => undefined);
  if (agentHash !== m.agentHash) return undefined;
  const launcherHash = await hashSources(launcherSrcDir).catch(() => undefined);
  if (launcherHash === undefined || launcherHash !== m.launcherHash) return undefined;
  const expected = initramfsHash(agentHash, { version: m.kernelVersion, packageVersion: m.kernelPackageVersion });
  if (expected !== m.initramfsHash) return undefined;
  // The passt build follows the installed passt package (one dpkg-query) and the patch: a build for a version no longer
  // installed or an older patch, or none where one is needed, redoes it.
  const passt = await wantedPasstPath(homeDir).catch(() => undefined);
  if ((m.passtPath === undefined ? undefined : path.resolve(guestDir(homeDir), m.passtPath)) !== passt) return undefined;
  return artifactsOf(homeDir, m);
}
