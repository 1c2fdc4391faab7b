// Before a box starts: room on the home's disk for what the start writes, and a warning when the sparse disks of running boxes could outgrow it.
import fs from 'node:fs';
import { boxliteError } from '../errors.js';

/** Room a start needs beyond its disks' metadata: the VM's first writes, its console and network logs, the database. */
export const START_MARGIN_BYTES = 16 * 1024 * 1024;
/**
 * What formatting a new sparse writable disk allocates, rounded up. Measured with `mke2fs -E lazy_itable_init=1,
 * lazy_journal_init=1` on tmpfs: 0.6 MiB for 1 GB, 4.2 MiB for 10 GB, 5.1 MiB for 100 GB.
 */
export const UPPER_FORMAT_BYTES = 8 * 1024 * 1024;
/** The code of the process warning emitted when running boxes could fill the disk (see `process.on('warning')`). */
export const OVERCOMMIT_WARNING = 'BOXLITE_DISK_OVERCOMMIT';

/** A box's writable disk: where it is and how large it may grow. */
export interface SparseDisk {
  boxId: string;
  path: string;
  diskSizeGb: number;
}

/**
 * Refuses (Storage) a start when the home's disk has less free space than the new box needs right away: its writable
 * disk's format (if not made yet) plus START_MARGIN_BYTES. When the box and the other running boxes' sparse disks
 * could together grow past the free space, it starts anyway (sparse disks are the point: most boxes write little)
 * and emits a process warning with code OVERCOMMIT_WARNING saying by how much.
 */
export function checkRoomToStart(homeDir: string, box: SparseDisk, running: readonly SparseDisk[]): void {
  const free = freeBytes(homeDir);
  if (free === undefined) return;
  const exists = fs.existsSync(box.path);
  const need = (exists ? 0 : UPPER_FORMAT_BYTES) + START_MARGIN_BYTES;
  if (free < need) {
    throw boxliteError('Storage',
      `cannot start box ${box.boxId}: no space left for it on the disk holding ${homeDir}: ${mib(free)} free, and a start needs about ${mib(need)} ` +
      `(${exists ? '' : `formatting its ${box.diskSizeGb} GiB writable disk and `}${mib(START_MARGIN_BYTES)} for its first writes and logs); free some space there, or point BOXLITE_HOME at a larger disk`);
  }
  const disks = [box, ...running.filter((d) => d.boxId !== box.boxId)];
  const growth = disks.reduce((sum, d) => sum + growthOf(d), 0);
  if (growth <= free) return;
  process.emitWarning(
    `box ${box.boxId}: the writable disks of ${disks.length === 1 ? 'this box' : `the ${disks.length} running boxes of ${homeDir}`} may grow by ${mib(growth)} ` +
    `(diskSizeGb ${disks.map((d) => d.diskSizeGb).join(' + ')}), but the disk holding ${homeDir} has ${mib(free)} free. If it fills, writes inside the boxes ` +
    `fail with I/O errors and a box's disk turns read-only until the box is restarted; give boxes a smaller diskSizeGb, or free space there`,
    { code: OVERCOMMIT_WARNING });
}

/** Free bytes for unprivileged writers on the filesystem holding `dir`; undefined when it cannot be told. */
export function freeBytes(dir: string): number | undefined {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}

// How much more of the host's disk a sparse disk may take: its size less what it already holds.
function growthOf(d: SparseDisk): number {
  let held = 0;
  try { held = fs.statSync(d.path).blocks * 512; } catch { /* not made yet */ }
  return Math.max(0, d.diskSizeGb * 1024 ** 3 - held);
}

function mib(bytes: number): string {
  return bytes >= 10 * 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(0)} GiB` : `${(bytes / 1024 ** 2).toFixed(0)} MiB`;
}
