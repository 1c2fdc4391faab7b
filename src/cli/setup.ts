// `boxlite setup`: installs what boxes need (OS packages, guest kernel, agent, initramfs, jailer) and reports it.
import type { Command } from 'commander';
import { DEFAULT_CPUS, DEFAULT_MEMORY_MIB, resolveHomeDir, snapshotsEnabled } from '../runtime/options.js';
import { ensureDefaultTemplate, TemplateStore } from '../runtime/templates.js';
import { QemuDriver } from '../vmm/qemu/process.js';
import { ensureGuestArtifacts } from '../setup/index.js';
import { ensureOsPackages } from '../setup/os-packages.js';
import { qemuVersion } from '../setup/qemu-info.js';
import { chooseAccelerator } from '../vmm/accel.js';

/** Adds the `setup` subcommand. */
export function registerSetup(program: Command): void {
  program.command('setup')
    .description('install QEMU, build the guest kernel, agent and initramfs, and snapshot a booted guest (cached; safe to run again)')
    .option('-q, --quiet', 'print only the summary')
    .action(async (opts: { quiet?: boolean }) => {
      const log = opts.quiet ? () => undefined : (line: string) => process.stderr.write(`  ${line}\n`);
      const homeDir = resolveHomeDir(program.opts<{ home?: string }>().home);
      await ensureOsPackages({ log });
      const guest = await ensureGuestArtifacts({ homeDir, log });
      const accel = chooseAccelerator('auto');
      const pruned = await new TemplateStore(homeDir, new QemuDriver()).pruneStale(guest);
      if (pruned.removed) log(`removed ${pruned.removed} snapshot(s) of an older kernel, agent or QEMU (${Math.round(pruned.freedBytes / 1024 / 1024)} MiB)`);
      const t0 = performance.now();
      const snapshot = snapshotsEnabled() ? await ensureDefaultTemplate(homeDir, new QemuDriver()) : { ok: false as const, reason: 'off (BOXLITE_SNAPSHOTS=0)' };
      const snapshotLine = snapshot.ok
        ? `default box shape (${DEFAULT_CPUS} CPUs, ${DEFAULT_MEMORY_MIB} MiB) ${snapshot.made ? `saved in ${Math.round(performance.now() - t0)} ms` : 'ready'}`
        : `none: ${snapshot.reason}; boxes boot cold`;
      process.stdout.write([
        `home:         ${homeDir}`,
        `qemu:         ${await qemuVersion()}`,
        `kernel:       ${guest.kernelVersion} (${guest.kernelPath})`,
        `initramfs:    ${guest.initrdPath}`,
        `launcher:     ${guest.launcherPath} (the jailer: starts each box's QEMU, passt and virtiofsd confined)`,
        `accelerator:  ${accel.accelerator} — ${accel.reason}`,
        `snapshot:     ${snapshotLine}`,
        '',
      ].join('\n'));
    });
}
