// `boxlite setup`: installs what boxes need (OS packages, guest kernel, agent, initramfs) and reports it.
import type { Command } from 'commander';
import { resolveHomeDir } from '../runtime/options.js';
import { ensureGuestArtifacts } from '../setup/index.js';
import { ensureOsPackages } from '../setup/os-packages.js';
import { qemuVersion } from '../setup/qemu-info.js';
import { chooseAccelerator } from '../vmm/accel.js';

/** Adds the `setup` subcommand. */
export function registerSetup(program: Command): void {
  program.command('setup')
    .description('install QEMU and build the guest kernel, agent and initramfs (cached; safe to run again)')
    .option('-q, --quiet', 'print only the summary')
    .action(async (opts: { quiet?: boolean }) => {
      const log = opts.quiet ? () => undefined : (line: string) => process.stderr.write(`  ${line}\n`);
      const homeDir = resolveHomeDir(program.opts<{ home?: string }>().home);
      await ensureOsPackages({ log });
      const guest = await ensureGuestArtifacts({ homeDir, log });
      const accel = chooseAccelerator('auto');
      process.stdout.write([
        `home:         ${homeDir}`,
        `qemu:         ${await qemuVersion()}`,
        `kernel:       ${guest.kernelVersion} (${guest.kernelPath})`,
        `initramfs:    ${guest.initrdPath}`,
        `accelerator:  ${accel.accelerator} — ${accel.reason}`,
        '',
      ].join('\n'));
    });
}
