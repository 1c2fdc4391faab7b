// The baseline: a bare QEMU boot of the same kernel with a trivial init, timed to its first line.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpioArchive } from '../src/setup/cpio.js';
import { gzipSync } from 'node:zlib';
import { hostTscKhz } from '../src/vmm/accel.js';
import type { Accelerator } from '../src/vmm/config.js';

const SRC = fileURLToPath(new URL('../../bench/floor-init.c', import.meta.url));

/** Builds (once) an initramfs whose /init prints a line and powers off. */
export function floorInitrd(): string {
  const dir = path.join(os.tmpdir(), 'boxlite-bench');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, 'floor-initrd.cpio.gz');
  if (fs.existsSync(out)) return out;
  const bin = path.join(dir, 'floor-init');
  execFileSync('musl-gcc', ['-static', '-O2', '-o', bin, SRC]);
  const archive = cpioArchive([
    { type: 'dir', path: 'dev', mode: 0o755 },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'file', path: 'init', mode: 0o755, data: fs.readFileSync(bin) },
  ]);
  fs.writeFileSync(out, gzipSync(archive));
  return out;
}

/** Milliseconds from spawning QEMU to the init's first line, with the same machine flags as a box (`acpiOff`: microvm and the kernel without ACPI). */
export function bareBootMs(kernelPath: string, initrdPath: string, accel: Accelerator, memoryMib: number, cpus: number, opts: { acpiOff?: boolean } = {}): Promise<number> {
  const t0 = performance.now();
  const child = spawn('qemu-system-x86_64', [
    '-M', `microvm,x-option-roms=off,isa-serial=on,rtc=on${opts.acpiOff ? ',acpi=off' : ''}`, '-accel', accel, ...(accel === 'kvm' ? ['-cpu', 'host'] : []),
    '-m', String(memoryMib), '-smp', String(cpus), '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-kernel', kernelPath, '-initrd', initrdPath, '-serial', 'stdio',
    '-append', `console=ttyS0 reboot=t panic=-1 quiet loglevel=3 8250.nr_uarts=1 tsc_early_khz=${hostTscKhz()} tsc=reliable no_timer_check rdinit=/init${opts.acpiOff ? ' acpi=off' : ''}`,
  ], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    let at: number | undefined;
    child.stdout.on('data', (c: Buffer) => {
      seen += c.toString();
      if (at === undefined && seen.includes('floor: init reached')) {
        at = performance.now() - t0;
        if (opts.acpiOff) child.kill(); // without ACPI the guest cannot power off: it halts, and QEMU would wait forever
      }
    });
    child.on('close', () => (at === undefined ? reject(new Error(`bare boot printed no line: ${seen.slice(-500)}`)) : resolve(at)));
  });
}
