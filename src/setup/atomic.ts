// Write-then-rename helpers, so an interrupted or concurrent setup never leaves a half-made file in place.
import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A unique sibling name for `finalPath`, hidden and marked as temporary (`.<name>.tmp-<pid>-<random>`). */
export function tempPathFor(finalPath: string): string {
  const suffix = `${process.pid}-${randomBytes(4).toString('hex')}`;
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.tmp-${suffix}`);
}

/** Writes `data` to a temp file, fsyncs it and renames it to `finalPath`. */
export async function writeFileAtomic(finalPath: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  await fs.mkdir(path.dirname(finalPath), { recursive: true });
  const tmp = tempPathFor(finalPath);
  try {
    const fh = await fs.open(tmp, 'wx', mode);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, finalPath);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/**
 * Moves a finished temp directory to `finalDir`. When another process got there first, the temp
 * directory is removed and false is returned (both hold the same content, by construction of the names).
 */
export async function renameDirIntoPlace(tmpDir: string, finalDir: string): Promise<boolean> {
  try {
    await fs.rename(tmpDir, finalDir);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    await fs.rm(tmpDir, { recursive: true, force: true });
    return false;
  }
}

/** Removes leftovers of interrupted runs (`.*.tmp-<pid>-*` entries whose process is gone) from `dir`. */
export async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try { names = await fs.readdir(dir); } catch { return; }
  for (const name of names) {
    const m = /^\..*\.tmp-(\d+)-[0-9a-f]+$/.exec(name);
    if (m && !processAlive(Number(m[1]))) await fs.rm(path.join(dir, name), { recursive: true, force: true });
  }
}

/** True when a process with this pid exists on this host. */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when `p` exists (any type). */
export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The JSON record `<dir>/<recordName>` of an artifact whose builder marks it `complete` last, or undefined when it
 * is missing, unreadable, not complete, or `<dir>/<requiredFile>` is gone.
 */
export async function readCompleteRecord<T extends { complete?: boolean }>(dir: string, recordName: string, requiredFile: string): Promise<T | undefined> {
  let rec: T;
  try {
    rec = JSON.parse(await fs.readFile(path.join(dir, recordName), 'utf8')) as T;
  } catch {
    return undefined;
  }
  return rec.complete === true && await exists(path.join(dir, requiredFile)) ? rec : undefined;
}
