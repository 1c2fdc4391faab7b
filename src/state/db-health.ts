// Checks, before and after opening, that the state database is whole, and that it was not lost while boxes exist.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError, type BoxliteError } from '../errors.js';
import { damaged } from './db-errors.js';
import { processesNaming } from './process-identity.js';

const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/**
 * A Database error when `file` exists but is not a whole SQLite database: shorter than its header, a header that is
 * not SQLite's, or a size that is not a whole number of pages (a truncated copy). Undefined when it looks whole
 * or does not exist.
 */
export function checkDbFile(file: string): BoxliteError | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return boxliteError('Database', `cannot read the state database ${file}: ${(err as Error).message}; check its permissions`, err);
  }
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return undefined; // a database another process has just created; see lostDbError for a lost one
    const header = Buffer.alloc(100);
    const got = fs.readSync(fd, header, 0, 100, 0);
    if (got < 100) return damaged(file, `it is ${size} bytes, shorter than a database header (100 bytes): truncated`);
    if (!header.subarray(0, 16).equals(HEADER)) return damaged(file, 'its first bytes are not an SQLite header');
    const raw = header.readUInt16BE(16);
    const pageSize = raw === 1 ? 65536 : raw;
    if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return damaged(file, `its header names an impossible page size (${raw})`);
    if (size % pageSize !== 0) return damaged(file, `it is ${size} bytes, not a whole number of ${pageSize}-byte pages: truncated`);
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A Database error when `file` is missing or empty although `<home>/boxes` holds box directories: the database
 * was lost, and starting with an empty one would hide those boxes (and their VMs, which may still run).
 * Undefined when the home has no box directories (a new home) or the database is there.
 */
export function lostDbError(homeDir: string, file: string): BoxliteError | undefined {
  let size: number | undefined;
  try { size = fs.statSync(file).size; } catch { size = undefined; }
  if (size !== undefined && (size > 0 || fs.existsSync(`${file}-wal`))) return undefined;
  const boxesDir = path.join(homeDir, 'boxes');
  let boxes: string[];
  try {
    boxes = fs.readdirSync(boxesDir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  } catch {
    return undefined;
  }
  if (boxes.length === 0) return undefined;
  const vms = runningVmsOf(boxes.map((b) => path.join(boxesDir, b)));
  const running = vms.length > 0
    ? `; the VMs of ${vms.map((v) => `${path.basename(v.dir)} (pid ${v.pid})`).join(', ')} are still running`
    : '; no VM of theirs is running';
  return boxliteError('Database',
    `the state database ${file} is ${size === undefined ? 'missing' : 'empty'}, but ${boxesDir} holds ${boxes.length} box director${boxes.length === 1 ? 'y' : 'ies'} ` +
    `(${boxes.slice(0, 5).join(', ')}${boxes.length > 5 ? ', ...' : ''})${running}. Opening it as new would forget those boxes: restore ${file} from a backup; ` +
    `or, to start afresh, ${vms.length > 0 ? `stop those VMs (kill ${vms.map((v) => v.pid).join(' ')}) and ` : ''}move ${boxesDir} aside`);
}

/** The VMs (QEMU processes, not their jailers) whose command line names one of the box directories `dirs`. */
function runningVmsOf(dirs: string[]): Array<{ pid: number; dir: string }> {
  // QEMU itself: the jailer supervising it names the same paths, and ends with it.
  return processesNaming(dirs.map((d) => `${d}/`)).filter((p) => p.cmdline.includes('qemu-system') && !p.cmdline.split('\0')[0]!.endsWith('/boxlite-launcher'))
    .map((p) => ({ pid: p.pid, dir: dirs.find((d) => p.cmdline.includes(`${d}/`))! }));
}
