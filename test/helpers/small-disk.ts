// Small real filesystems (tmpfs mounts) for tests of a full host disk, unmounted when the test file ends.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

const mounts: string[] = [];
after(() => {
  for (const dir of mounts) {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
      fs.rmdirSync(dir);
    } catch { /* already gone */ }
  }
});

/** Why small disks cannot be made here (tmpfs mounts need root), or undefined when they can. */
export function smallDiskUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  try {
    smallDisk(1); // a probe, unmounted with the others
    return undefined;
  } catch (e) {
    return `cannot mount a tmpfs here: ${(e as Error).message}`;
  }
}

/** A new empty directory on its own tmpfs of `mib` MiB. */
export function smallDisk(mib: number): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-small-disk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m,mode=0755`, 'boxlite-test', dir], { stdio: 'ignore' });
  mounts.push(dir);
  return dir;
}

/** Fills the filesystem holding `dir` to the last byte with a file, and returns the file (delete it to free the space). */
export function fillDisk(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (let size = 64 * 1024; size >= 1; size >>= 1) {
      const chunk = Buffer.alloc(size, 1);
      for (;;) {
        try {
          fs.writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
          break; // then smaller writes, for the last bytes
        }
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}
