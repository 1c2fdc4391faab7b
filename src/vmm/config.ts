// A VM's configuration as plain, validated data, kept apart from the running VM.
import { boxliteError } from '../errors.js';

import type { Accelerator } from './accel.js';

export type { Accelerator };

/** A block device of the VM. Every box of one shape gets the same device list; only the files differ. */
export interface DiskConfig {
  /** Stable name (QEMU drive id, and the serial the guest sees). */
  readonly name: string;
  readonly path: string;
  readonly readOnly: boolean;
  /** The file's format: `raw` (the default) or `qcow2` (an overlay on a chain of read-only files, see backingFiles). */
  readonly format?: DiskFormat;
  /**
   * The read-only files a qcow2 disk's chain opens (its backing file, that one's, ...), as absolute paths: a jailed
   * VMM gets them read-only at the same places. The chain itself is named in the qcow2 headers.
   */
  readonly backingFiles?: readonly string[];
}

/** How a disk's bytes are stored in its file. */
export type DiskFormat = 'raw' | 'qcow2';

/** Everything the VMM driver needs to launch one VM. Paths are absolute. */
export interface VmConfig {
  readonly cpus: number;
  readonly memoryMib: number;
  readonly accelerator: Accelerator;
  readonly kernelPath: string;
  readonly initrdPath: string;
  /** Extra kernel command-line words appended after the driver's own. */
  readonly kernelArgs: readonly string[];
  readonly disks: readonly DiskConfig[];
  /** Unix sockets where the VMM serves the portal ports (virtio-serial ports `boxlite.portal.<n>`), one per client process. */
  readonly portalSocketPaths: readonly string[];
  /** Unix socket where the VMM serves the serial console (output is dropped while nobody is connected). */
  readonly consoleSocketPath: string;
  /** TSC frequency the guest is told at early boot (kHz); avoids calibration hangs under TCG. */
  readonly tscKhz: number;
  /** Unix socket of the network process (passt) the VM's NIC is connected to; no NIC when absent. */
  readonly networkSocketPath?: string;
  /** Shared directories: a vhost-user-fs device per volume (needs guest memory QEMU can share with virtiofsd). */
  readonly volumes?: ReadonlyArray<{ readonly tag: string; readonly socketPath: string }>;
  /** Unix socket where the VMM serves its control protocol (needed to save the VM's state); none when absent. */
  readonly controlSocketPath?: string;
  /**
   * Start from this saved state of a VM with the same device set (only the files behind them differ) instead of
   * booting. The driver opens it and hands QEMU the descriptor (`-incoming fd:3`): a jailed QEMU neither sees the
   * file nor may run a program to read it.
   */
  readonly restoreFrom?: string;
  /** Stay paused once the state is loaded (`-S`): a VM whose state is only to be saved again, never run. */
  readonly startPaused?: boolean;
  /** QEMU's own seccomp filter: no obsolete calls, no privilege changes, no new programs, no resource control. */
  readonly sandbox?: boolean;
  /**
   * Guest RAM in a file instead of anonymous memory. `shared`: the VM writes the file (a template being made; its
   * state is then saved without the RAM, which stays in the file). Otherwise the file is mapped copy-on-write and
   * never written (a box restored from a template): `readOnlyShim` is the preload library that lets QEMU 7.2,
   * which opens such a file for writing, open it read-only.
   */
  readonly memoryFile?: { readonly path: string; readonly shared: boolean; readonly readOnlyShim?: string };
}

/** The descriptor a VM restored from a state file reads it from. */
export const RESTORE_FD = 3;

/** Checks the invariants of a VmConfig; throws BoxliteError `Config` naming the bad field. */
export function validateVmConfig(c: VmConfig): VmConfig {
  const fail = (msg: string): never => { throw boxliteError('Config', `invalid VM config: ${msg}`); };
  if (!Number.isInteger(c.cpus) || c.cpus < 1 || c.cpus > 64) fail(`cpus must be an integer 1..64, got ${c.cpus}`);
  if (!Number.isInteger(c.memoryMib) || c.memoryMib < 64 || c.memoryMib > 65536) fail(`memoryMib must be an integer 64..65536, got ${c.memoryMib}`);
  if (c.accelerator !== 'kvm' && c.accelerator !== 'tcg') fail(`accelerator must be kvm or tcg, got ${String(c.accelerator)}`);
  if (c.portalSocketPaths.length < 1 || c.portalSocketPaths.length > 16) fail(`portalSocketPaths must list 1..16 sockets, got ${c.portalSocketPaths.length}`);
  for (const p of [c.kernelPath, c.initrdPath, c.consoleSocketPath, ...c.portalSocketPaths, ...c.disks.map((d) => d.path)]) {
    if (!p.startsWith('/')) fail(`paths must be absolute, got ${JSON.stringify(p)}`);
    if (p.includes(',')) fail(`paths must not contain a comma (QEMU option syntax), got ${JSON.stringify(p)}`);
  }
  if (c.networkSocketPath !== undefined && (!c.networkSocketPath.startsWith('/') || c.networkSocketPath.includes(','))) {
    fail(`networkSocketPath must be absolute and without commas, got ${JSON.stringify(c.networkSocketPath)}`);
  }
  if (c.controlSocketPath !== undefined && (!c.controlSocketPath.startsWith('/') || c.controlSocketPath.includes(','))) {
    fail(`controlSocketPath must be absolute and without commas, got ${JSON.stringify(c.controlSocketPath)}`);
  }
  if (c.restoreFrom !== undefined && (!c.restoreFrom.startsWith('/') || /[\0\n\r]/.test(c.restoreFrom))) {
    fail(`restoreFrom must be an absolute path without NUL or line breaks, got ${JSON.stringify(c.restoreFrom)}`);
  }
  if (c.memoryFile) {
    for (const p of [c.memoryFile.path, c.memoryFile.readOnlyShim].filter((x): x is string => x !== undefined)) {
      if (!p.startsWith('/') || /[,\0\n\r]/.test(p)) fail(`memory file paths must be absolute, without commas or line breaks, got ${JSON.stringify(p)}`);
    }
    if (c.volumes?.length) fail('a VM with volumes needs shared memfd memory, not a memory file');
    if (c.restoreFrom !== undefined && !c.controlSocketPath) fail('restoring into a memory file needs a controlSocketPath (the state is loaded over it)');
  }
  for (const v of c.volumes ?? []) {
    if (!/^vol\d{1,2}$/.test(v.tag)) fail(`volume tag ${JSON.stringify(v.tag)} must be vol<n>`);
    if (!v.socketPath.startsWith('/') || v.socketPath.includes(',')) fail(`volume socket paths must be absolute and without commas, got ${JSON.stringify(v.socketPath)}`);
  }
  for (const d of c.disks) {
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(d.name)) fail(`disk name ${JSON.stringify(d.name)} must match [a-z][a-z0-9-]{0,19}`);
    if (d.format !== undefined && d.format !== 'raw' && d.format !== 'qcow2') fail(`disk ${d.name}'s format must be raw or qcow2, got ${JSON.stringify(d.format)}`);
    if (d.backingFiles?.length && d.format !== 'qcow2') fail(`disk ${d.name} has backing files, so its format must be qcow2`);
    for (const b of d.backingFiles ?? []) if (!b.startsWith('/') || /[\0\n\r]/.test(b)) fail(`backing files must be absolute paths without NUL or line breaks, got ${JSON.stringify(b)}`);
  }
  for (const w of c.kernelArgs) if (/\s/.test(w) || w === '') fail(`kernel argument ${JSON.stringify(w)} must be one non-empty word`);
  if (!Number.isInteger(c.tscKhz) || c.tscKhz <= 0) fail(`tscKhz must be a positive integer, got ${c.tscKhz}`);
  return c;
}
