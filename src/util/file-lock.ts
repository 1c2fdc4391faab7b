// A lock file (O_EXCL, holding the owner's pid) for work two processes must not do at once: set-up, image disks, fixtures.
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { boxliteError, type ErrorCode } from '../errors.js';
import { processAlive } from '../setup/atomic.js';

/** How long to wait, how to stop waiting, and how to report it. */
export interface FileLockOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Called once when a live process holds the lock. */
  onWait?: (ownerPid: number) => void;
  /** The code of the timeout error (default Storage). */
  errorCode?: ErrorCode;
}

/**
 * Runs `fn` while holding the lock file `lockPath`. A lock held by a live process is waited for (polling every
 * 100 ms, up to `timeoutMs`); a lock whose owner is dead, or that was left empty for over 10 s, is broken.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  let told = false;
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const deadline = Date.now() + timeoutMs;
  await fs.mkdir(path.dirname(lockPath), { recursive: true });
  for (;;) {
    opts.signal?.throwIfAborted();
    try {
      const fh = await fs.open(lockPath, 'wx', 0o644);
      try {
        await fh.writeFile(`${process.pid}\n`);
      } catch (err) {
        await fs.rm(lockPath, { force: true }); // an ownerless lock would stall others for 10 s
        throw err;
      } finally {
        await fh.close();
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const text = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
    if (text === undefined) continue; // released meanwhile
    const owner = Number.parseInt(text, 10);
    const stale = Number.isInteger(owner) ? owner !== process.pid && !processAlive(owner) : await olderThan(lockPath, 10_000);
    if (stale) {
      await fs.rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw boxliteError(opts.errorCode ?? 'Storage', `timed out after ${timeoutMs} ms waiting for ${lockPath}, held by pid ${owner}; wait for that process, or delete the file if it is not running`);
    }
    if (!told && Number.isInteger(owner)) { opts.onWait?.(owner); told = true; }
    await sleep(100, undefined, opts.signal ? { signal: opts.signal } : undefined);
  }
  try {
    return await fn();
  } finally {
    await fs.rm(lockPath, { force: true });
  }
}

/** True while a live process holds the lock file `lockPath` (see withFileLock). */
export async function lockHeld(lockPath: string): Promise<boolean> {
  const owner = Number.parseInt(await fs.readFile(lockPath, 'utf8').catch(() => ''), 10);
  return Number.isInteger(owner) && processAlive(owner);
}

async function olderThan(p: string, ms: number): Promise<boolean> {
  const st = await fs.stat(p).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > ms;
}
