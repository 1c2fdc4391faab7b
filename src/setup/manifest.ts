// The record of the guest artifacts last set up in a shared cache (`<cache>/manifest.json`), read without doing any work.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { CACHE_DIR_ENV, resolveCacheDir } from './cache-dir.js';
import type { KernelFlavor } from './kernel-flavor.js';

/** What the runtime needs to boot a guest. Paths are absolute. */
export interface GuestArtifacts {
  kernelPath: string;
  initrdPath: string;
  /** The guest kernel release, e.g. `6.1.0-56-cloud-amd64`. */
  kernelVersion: string;
  /** Which kernel it is: built from guest/kernel/boxlite.config, or Debian's cloud kernel. */
  kernelFlavor: KernelFlavor;
  /** Why the custom kernel was wanted but this (cloud) one is used. */
  kernelFallbackReason?: string;
  agentHash: string;
  /** The jailer (launcher/) that starts each box's QEMU, passt and virtiofsd confined. */
  launcherPath: string;
  /** The passt setup built for this host (see passt-build.ts); absent: the installed `passt`. */
  passtPath?: string;
}

/** The manifest file's content; paths are relative to the cache dir so it can move. */
export interface GuestManifest {
  formatVersion: 1;
  kernelVersion: string;
  kernelPackage: string;
  kernelPackageVersion: string;
  kernelPath: string;
  /** Absent in manifests written before the custom kernel existed: `cloud`. */
  kernelFlavor?: KernelFlavor;
  /** The custom kernel's config hash (custom only). */
  kernelConfigHash?: string;
  /** The custom kernel was wanted but could not be built (this config hash, why); the cloud kernel is used. */
  kernelFallback?: { configHash: string; reason: string };
  initrdPath: string;
  initramfsHash: string;
  agentHash: string;
  agentPath: string;
  /** The host launcher's source hash and path (absent in manifests written before it existed: setup runs again). */
  launcherHash?: string;
  launcherPath?: string;
  /** Modules in the initramfs, in load order. */
  modules: string[];
  /** Wanted modules the kernel has built in. */
  builtinModules: string[];
  /** The patched passt built by setup, and the installed passt version it stands in for (both absent when none is needed). */
  passtPath?: string;
  passtReplaces?: string;
  createdAt: string;
}

/** Reads `<cacheDir>/manifest.json`, or undefined when it is missing or unreadable. */
export function readManifest(cacheDir: string): GuestManifest | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(path.join(cacheDir, 'manifest.json'), 'utf8')) as GuestManifest;
    return m.formatVersion === 1 ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Writes the manifest atomically (temp file, fsync, rename). */
export async function writeManifest(cacheDir: string, manifest: GuestManifest): Promise<void> {
  await writeFileAtomic(path.join(cacheDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

/** The artifacts a manifest names, when all of their files exist; else undefined. */
export function artifactsOf(cacheDir: string, m: GuestManifest): GuestArtifacts | undefined {
  // Paths are relative to the real cache dir, which may be reached through a symlink.
  let dir = cacheDir;
  try { dir = fs.realpathSync(dir); } catch { /* missing: the files below are not found either */ }
  const kernelPath = path.resolve(dir, m.kernelPath);
  const initrdPath = path.resolve(dir, m.initrdPath);
  if (m.launcherPath === undefined) return undefined;
  const launcherPath = path.resolve(dir, m.launcherPath);
  const passtPath = m.passtPath === undefined ? undefined : path.resolve(dir, m.passtPath);
  if (!fs.existsSync(kernelPath) || !fs.existsSync(initrdPath) || !fs.existsSync(launcherPath) || (passtPath && !fs.existsSync(passtPath))) return undefined;
  return { kernelPath, initrdPath, kernelVersion: m.kernelVersion, kernelFlavor: m.kernelFlavor ?? 'cloud', ...(m.kernelFallback ? { kernelFallbackReason: m.kernelFallback.reason } : {}), agentHash: m.agentHash, launcherPath, ...(passtPath ? { passtPath } : {}) };
}

/**
 * The guest artifacts last set up in the shared cache `cacheDir` (default: resolveCacheDir()); synchronous, doing
 * no work and no building (one small file read, a few stats). A runtime builds what is missing on first use
 * instead (ensureGuestArtifacts); this is for tools and tests that want what is there. Throws a Config error
 * when the cache holds no complete set.
 */
export function findGuestArtifacts(cacheDir: string = resolveCacheDir()): GuestArtifacts {
  const m = readManifest(cacheDir);
  const found = m && artifactsOf(cacheDir, m);
  if (!found) {
    throw boxliteError('Config', `guest kernel/initramfs or jailer (launcher) not found in the shared cache ${cacheDir}: start a box (a runtime builds them on first use) or run \`npx boxlite setup\`; ${CACHE_DIR_ENV} picks another cache`);
  }
  return found;
}
