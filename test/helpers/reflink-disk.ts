// A real filesystem with reflinks (XFS on a loop device) for tests of the reflink path of disk snapshots, unmounted when the test file ends.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';

const made: Array<{ dir: string; image: string }> = [];
after(() => {
  for (const { dir, image } of made) {
    try { execFileSync('umount', ['-l', dir], { stdio: 'ignore' }); } catch { /* already gone */ }
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(image, { force: true });
  }
});

let probed: string | undefined | null = null;

/** Why a reflink filesystem cannot be made here (root, mkfs.xfs and a loop device are needed), or undefined. */
export function reflinkDiskUnavailable(): string | undefined {
  if (probed !== null) return probed;
  if (process.getuid?.() !== 0) probed = 'mounting an XFS loop device needs root';
  else {
    try {
      reflinkDisk();
      probed = undefined;
    } catch (e) {
      probed = `cannot make an XFS filesystem with reflinks here (install xfsprogs; scripts/setup.sh does): ${(e as Error).message}`;
    }
  }
  return probed;
}

/** A new empty directory on its own XFS filesystem with reflinks (XFS's smallest, 300 MiB, sparse in the temp dir). */
export function reflinkDisk(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-reflink-disk-'));
  const image = `${dir}.img`;
  made.push({ dir, image });
  fs.writeFileSync(image, '');
  fs.truncateSync(image, 320 * 1024 * 1024);
  execFileSync('mkfs.xfs', ['-q', '-m', 'reflink=1', image], { stdio: ['ignore', 'ignore', 'pipe'] });
  execFileSync('mount', ['-o', 'loop', image, dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(dir, 0o755);
  return dir;
}
