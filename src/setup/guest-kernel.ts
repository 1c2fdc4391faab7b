// Gets the guest kernel of the chosen flavor, falling back to the cloud kernel when the custom one cannot be built.
import fs from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors.js';
import { ensureCustomKernel, kernelConfigHash } from './kernel-build.js';
import { ensureKernel } from './kernel.js';
import type { KernelFlavor } from './kernel-flavor.js';
import { missingBuildTools } from './os-packages.js';
import { GUEST_MODULES, type WantedModule } from './module-order.js';
import { emitProgress } from './progress.js';
import type { StepOptions } from './types.js';

/** A kernel ready to boot, with what the initramfs needs to know about it. */
export interface ChosenKernel {
  flavor: KernelFlavor;
  version: string;
  packageName: string;
  /** The package version; for `custom` also the config hash (`6.1.192-3+<hash>`). */
  packageVersion: string;
  vmlinuxPath: string;
  /** Where its modules are (for `custom`, a dir without any). */
  moduleDir: string;
  /** The modules its initramfs loads (none for `custom`: everything is built in). */
  modules: readonly WantedModule[];
  /** The custom kernel's config hash (custom only). */
  configHash?: string;
  /** Why the custom kernel was wanted but the cloud one is used. */
  fallback?: { configHash: string; reason: string };
}

/** Options of ensureGuestKernel. */
export interface GuestKernelOptions extends StepOptions {
  flavor: KernelFlavor;
  /** The custom kernel's config fragment. */
  configPath: string;
  /** The release to prefer among unpacked cloud kernels. */
  preferCloudVersion?: string;
  refreshCloud?: boolean;
  /** An earlier failure of this config's build, which skips building it again unless `retry`. */
  earlierFailure?: { configHash: string; reason: string };
  retry?: boolean;
}

/** The modules the initramfs of a kernel of `flavor` holds. */
export function modulesOf(flavor: KernelFlavor): readonly WantedModule[] {
  return flavor === 'custom' ? [] : GUEST_MODULES;
}

/** The hash of the custom kernel's config fragment at `configPath`. */
export async function customConfigHash(configPath: string): Promise<string> {
  return kernelConfigHash(await fs.readFile(configPath, 'utf8'));
}

/**
 * The kernel of `opts.flavor`. A custom kernel whose build cannot run (missing build tools) or fails gives the cloud
 * kernel instead, with a `kernel-fallback` progress event saying why and how to retry; that failure is remembered
 * (by the caller, in the manifest) so later calls do not rebuild for minutes only to fail again.
 */
export async function ensureGuestKernel(cacheDir: string, opts: GuestKernelOptions): Promise<ChosenKernel> {
  if (opts.flavor === 'custom') {
    const configHash = await customConfigHash(opts.configPath);
    let reason: string;
    if (opts.earlierFailure?.configHash === configHash && !opts.retry) {
      reason = opts.earlierFailure.reason;
    } else {
      const missing = await missingBuildTools();
      if (missing.length === 0) {
        try {
          const k = await ensureCustomKernel(cacheDir, opts);
          return {
            flavor: 'custom', version: k.version, packageName: k.packageName, packageVersion: `${k.packageVersion}+${k.configHash}`,
            vmlinuxPath: k.vmlinuxPath, moduleDir: k.dir, modules: modulesOf('custom'), configHash,
          };
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          reason = `the kernel build failed: ${messageOf(err).split('\n').slice(0, 4).join(' ')}`;
        }
      } else {
        reason = `missing kernel build tools: ${missing.map((m) => `${m.tool} (package ${m.pkg})`).join(', ')}`;
      }
    }
    const fallback = { configHash, reason };
    const message = `using the cloud kernel: the custom kernel cannot be built (${reason}); fix that and retry with \`boxlite setup --kernel custom\``;
    opts.log?.(message);
    emitProgress(opts.onProgress, { type: 'kernel-fallback', reason, message });
    return { ...(await cloudKernel(cacheDir, opts)), fallback };
  }
  return cloudKernel(cacheDir, opts);
}

async function cloudKernel(cacheDir: string, opts: GuestKernelOptions): Promise<ChosenKernel> {
  const k = await ensureKernel(cacheDir, { ...opts, preferVersion: opts.preferCloudVersion, refresh: opts.refreshCloud });
  return {
    flavor: 'cloud', version: k.version, packageName: k.packageName, packageVersion: k.packageVersion,
    vmlinuxPath: k.vmlinuxPath, moduleDir: k.moduleDir, modules: modulesOf('cloud'),
  };
}

/** The config fragment that goes with a guest source dir: `<guest>/kernel/boxlite.config`. */
export function kernelConfigOf(guestSrcDir: string): string {
  return path.join(guestSrcDir, 'kernel', 'boxlite.config');
}
