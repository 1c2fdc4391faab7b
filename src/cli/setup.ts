// `boxlite setup`: installs the OS packages (root), fills the shared guest cache (kernel, agent, initramfs, jailer), and reports it.
import type { Command } from 'commander';
import { DEFAULT_CPUS, DEFAULT_MEMORY_MIB, resolveHomeDir, snapshotsEnabled } from '../runtime/options.js';
import { ensureDefaultTemplate, TemplateStore } from '../runtime/templates.js';
import { QemuDriver } from '../vmm/qemu/process.js';
import { describeProgress, ensureGuestArtifacts, parseKernelFlavor, readOnlyFallback, resolveCacheDir } from '../setup/index.js';
import { SETUP_KERNEL_FLAVOR, wantedKernelFlavor } from '../setup/kernel-flavor.js';
import { GuestCache } from '../runtime/guest-cache.js';
import { ensureOsPackages } from '../setup/os-packages.js';
import { qemuVersion } from '../setup/qemu-info.js';
import { chooseAccelerator } from '../vmm/accel.js';

/** Adds the `setup` subcommand. */
export function registerSetup(program: Command): void {
  program.command('setup')
    .description('install the OS packages (as root), build the guest kernel, agent, initramfs and jailer into the shared cache, and snapshot a booted guest (cached; safe to run again; a runtime builds what is missing on first use, so only the packages need this)')
    .option('-q, --quiet', 'print only the summary')
    .option('--kernel <custom|cloud>', 'the guest kernel, recorded as the cache\'s choice for every runtime: custom (built from guest/kernel/boxlite.config, minutes, once per cache; asking again retries a failed build; the cloud kernel stands in while it cannot be built) or cloud (Debian\'s linux-image-cloud-amd64); default: $BOXLITE_KERNEL, else the cache\'s choice, else custom')
    .option('--cache-dir <dir>', 'the shared cache of guest artifacts (default: $BOXLITE_CACHE_DIR, /var/cache/boxlite as root, else ~/.cache/boxlite)')
    .action(async (opts: { quiet?: boolean; cacheDir?: string; kernel?: string }) => {
      const asked = opts.kernel === undefined ? undefined : parseKernelFlavor(opts.kernel, '--kernel');
      const log = opts.quiet ? () => undefined : (line: string) => process.stderr.write(`  ${line}\n`);
      const homeDir = resolveHomeDir(program.opts<{ home?: string }>().home);
      const cacheDir = resolveCacheDir(opts.cacheDir);
      await ensureOsPackages({ log });
      const fallback = readOnlyFallback(opts.cacheDir);
      const guest = await ensureGuestArtifacts({
        cacheDir, ...(fallback && fallback !== cacheDir ? { readOnlyCacheDirs: [fallback] } : {}), osPackages: false,
        kernel: wantedKernelFlavor(asked, [cacheDir], process.env, SETUP_KERNEL_FLAVOR), saveKernelChoice: true, retryKernelBuild: asked === 'custom',
        onProgress: (e) => {
          if (e.type === 'build-start' || e.type === 'build-done') log(describeProgress(e)); // log has the steps
        }, log,
      });
      const accel = chooseAccelerator('auto');
      const pruned = await new TemplateStore(homeDir, new QemuDriver()).pruneStale(guest);
      if (pruned.removed) log(`removed ${pruned.removed} snapshot(s) of an older kernel, agent or QEMU (${Math.round(pruned.freedBytes / 1024 / 1024)} MiB)`);
      const t0 = performance.now();
      const snapshot = snapshotsEnabled() ? await ensureDefaultTemplate(homeDir, new QemuDriver(), new GuestCache(opts.cacheDir ? { cacheDir: opts.cacheDir } : {})) : { ok: false as const, reason: 'off (BOXLITE_SNAPSHOTS=0)' };
      const snapshotLine = snapshot.ok
        ? `default box shape (${DEFAULT_CPUS} CPUs, ${DEFAULT_MEMORY_MIB} MiB) ${snapshot.made ? `saved in ${Math.round(performance.now() - t0)} ms` : 'ready'}`
        : `none: ${snapshot.reason}; boxes boot cold`;
      process.stdout.write([
        `home:         ${homeDir}`,
        `cache:        ${guest.cacheDir} (guest artifacts shared by every home; ${guest.built.length ? `built now: ${guest.built.join(', ')}` : 'all cached'})`,
        `qemu:         ${await qemuVersion()}`,
        `kernel:       ${guest.kernelVersion}, ${guest.kernelFlavor} (${guest.kernelPath})${guest.kernelFallbackReason ? `; not custom: ${guest.kernelFallbackReason} (retry: boxlite setup --kernel custom)` : ''}`,
        `initramfs:    ${guest.initrdPath}`,
        `launcher:     ${guest.launcherPath} (the jailer: starts each box's QEMU, passt and virtiofsd confined)`,
        `accelerator:  ${accel.accelerator} — ${accel.reason}`,
        `snapshot:     ${snapshotLine}`,
        '',
      ].join('\n'));
    });
}
