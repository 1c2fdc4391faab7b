// Reads a box's kept output: the rotated file, then the current one, and with `follow` what comes until the keeper ends.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../state/process-identity.js';
import type { KeptFiles } from './kept-files.js';
import { LogDecoder, type LogRecord } from './log-format.js';

/** How often `follow` looks for new output. */
export const FOLLOW_POLL_MS = 200;

/** Options of readKept. */
export interface ReadKeptOptions {
  /** Keep reading until the command ends (or its keeper dies, or the box is removed). */
  follow?: boolean;
  signal?: AbortSignal;
}

const READ_CHUNK_BYTES = 64 * 1024;

/** Calls `onRecord` with every record kept for the box, oldest first. */
export async function readKept(files: KeptFiles, onRecord: (r: LogRecord) => void | Promise<void>, opts: ReadKeptOptions = {}): Promise<void> {
  await readWhole(files.previous, onRecord);
  let open = openLog(files.current);
  for (;;) {
    if (open) await drain(open, onRecord);
    if (!opts.follow || opts.signal?.aborted) break;
    const ended = keepingEnded(files); // checked before the last read, so nothing written before the end is missed
    // A rotation renamed our file to `.1`: its rest is read, then the new file is followed.
    const now = fs.statSync(files.current, { throwIfNoEntry: false });
    if (open && now && now.ino !== open.ino) {
      await drain(open, onRecord);
      fs.closeSync(open.fd);
      open = openLog(files.current);
      continue;
    }
    open ??= openLog(files.current);
    if (ended) {
      if (open) await drain(open, onRecord);
      break;
    }
    await sleep(FOLLOW_POLL_MS, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined);
  }
  if (open) fs.closeSync(open.fd);
}

interface OpenLog { fd: number; ino: number; decoder: LogDecoder }

function openLog(file: string): OpenLog | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    return { fd, ino: fs.fstatSync(fd).ino, decoder: new LogDecoder(file) };
  } catch {
    return undefined;
  }
}

async function readWhole(file: string, onRecord: (r: LogRecord) => void | Promise<void>): Promise<void> {
  const log = openLog(file);
  if (!log) return;
  try {
    await drain(log, onRecord);
  } finally {
    fs.closeSync(log.fd);
  }
}

// Reads from the file's position to its current end.
async function drain(log: OpenLog, onRecord: (r: LogRecord) => void | Promise<void>): Promise<void> {
  const buf = Buffer.alloc(READ_CHUNK_BYTES);
  for (;;) {
    const n = fs.readSync(log.fd, buf, 0, buf.length, null);
    if (n === 0) return;
    for (const r of log.decoder.push(buf.subarray(0, n))) await onRecord(r);
  }
}

// The command ended, its keeper died (a stopped box), or the box was removed.
function keepingEnded(files: KeptFiles): boolean {
  const s = files.readState();
  return s === undefined || s.exitCode !== undefined || s.error !== undefined || !isAlive(s.keeper);
}
