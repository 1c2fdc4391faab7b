// qemu-img: a qcow2 overlay on a read-only file, moving an overlay onto another backing file, converting a disk.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { boxliteError } from '../../errors.js';
import type { DiskFormat } from '../config.js';

const run = promisify(execFile);

/** The program (Debian's qemu-utils). */
export const QEMU_IMG = 'qemu-img';

/** A backing file as an overlay names it: relative to the overlay's directory, with its format (never probed). */
export interface Backing {
  readonly name: string;
  readonly format: DiskFormat;
}

/** Creates the qcow2 file `out` whose unwritten blocks read from `backing`; its size is the backing file's. */
export async function createOverlay(out: string, backing: Backing): Promise<void> {
  await qemuImg(['create', '-q', '-f', 'qcow2', '-F', backing.format, '-b', backing.name, out], `creating the overlay ${out} on ${backing.name}`);
}

/**
 * Makes the qcow2 file `file` read through `backing` (or nothing) instead of its current backing file, copying
 * into it first whatever the two differ in, so the disk it holds reads the same (`qemu-img rebase`, safe mode).
 */
export async function rebaseOverlay(file: string, backing: Backing | undefined): Promise<void> {
  const onto = backing ? ['-F', backing.format, '-b', backing.name] : ['-b', ''];
  await qemuImg(['rebase', '-q', '-f', 'qcow2', ...onto, file], `moving ${file} onto ${backing ? backing.name : 'no backing file'}`);
}

/**
 * Writes the disk `from` (a raw file, or a qcow2 with its chain) as one self-contained file `to` in `toFormat`:
 * holes and zeros stay unallocated; `compress` makes a compressed qcow2 (an export); `whileInUse` reads a disk a
 * stopped VM holds open (its writes flushed: a fork's source), past QEMU's image lock.
 */
export async function convertDisk(from: { path: string; format: DiskFormat }, to: string, toFormat: DiskFormat, opts: { compress?: boolean; whileInUse?: boolean } = {}): Promise<void> {
  await qemuImg(['convert', '-q', ...(opts.compress ? ['-c'] : []), ...(opts.whileInUse ? ['-U'] : []), '-f', from.format, '-O', toFormat, from.path, to], `writing the disk ${from.path} to ${to}`);
}

/** What qemu-img says of a qcow2 file (read as qcow2, never probed): its format and backing file, if any. */
export async function qcow2Info(file: string): Promise<{ format?: string; 'backing-filename'?: string }> {
  return JSON.parse(await qemuImg(['info', '--output=json', '-f', 'qcow2', file], `reading the disk ${file}`)) as { format?: string; 'backing-filename'?: string };
}

async function qemuImg(args: string[], what: string): Promise<string> {
  try {
    return (await run(QEMU_IMG, args, { maxBuffer: 1024 * 1024 })).stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw boxliteError('Engine', `${what}: ${QEMU_IMG} was not found; install qemu-utils (\`npx boxlite setup\` does)`, err);
    const said = (e.stderr?.trim() || e.message || String(err)).slice(0, 2000);
    // A full disk keeps its errno, so callers report it as one (Storage, naming the place).
    if (/no space left/i.test(said)) throw Object.assign(new Error(`${what}: ${said}`, { cause: err }), { code: 'ENOSPC' });
    throw boxliteError('Engine', `${what} failed: ${QEMU_IMG} said: ${said}`, err);
  }
}
