// A lock file (O_EXCL) that serializes setup runs on one home dir and is broken when its owner died.
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { boxliteError } from '../errors.js';
import { processAlive } from './atomic.js';

/** How long to wait for another setup, and how to stop waiting. */
export interface LockOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called once when the lock is held by another live process. */
  onWait?: (ownerPid: number) => void;
}

/**
 * Runs `fn` while holding `lockPath`. Another live holder is waited for (polling); a lock left by a dead
 * process is removed. Every artifact is also written via temp + rename, so even a broken lock cannot corrupt files.
 */
export async function withLock<T>(lockPath: string, fn: () => Promise<T>, opts: LockOptions = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await fs.open(lockPath, 'wx', 0o644);
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) ? !processAlive(owner) : await olderThan(lockPath, 10_000)) {
      await fs.rm(lockPath, { force: true }); // its owner died (or died before writing its pid)
      continue;
    }
    if (Date.now() > deadline) {
      throw boxliteError('Config', `timed out after ${timeoutMs} ms waiting for lock ${lockPath} held by pid ${owner}: wait for that setup to finish, or remove the file if no setup is running`);
    }
    if (!told && Number.isInteger(owner)) { opts.onWait?.(owner); told = true; }
    await sleep(200, undefined, { signal: opts.signal });
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

async function olderThan(p: string, ms: number): Promise<boolean> {
  const st = await fs.stat(p).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > ms;
}
