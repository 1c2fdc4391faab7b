// qemu-img, for disk snapshots: a qcow2 overlay on a read-only file, and moving an overlay onto another backing file.
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

async function qemuImg(args: string[], what: string): Promise<void> {
  try {
    await run(QEMU_IMG, args, { maxBuffer: 1024 * 1024 });
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message?: string };
    if (e.code === 'ENOENT') throw boxliteError('Engine', `${what}: ${QEMU_IMG} was not found; install qemu-utils (\`npx boxlite setup\` does)`, err);
    const said = (e.stderr?.trim() || e.message || String(err)).slice(0, 2000);
    // A full disk keeps its errno, so callers report it as one (Storage, naming the place).
    if (/no space left/i.test(said)) throw Object.assign(new Error(`${what}: ${said}`, { cause: err }), { code: 'ENOSPC' });
    throw boxliteError('Engine', `${what} failed: ${QEMU_IMG} said: ${said}`, err);
  }
}
