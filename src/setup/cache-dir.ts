// Where the machine-wide guest artifacts live (one cache every home uses), and the check that nobody else can write it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boxliteError } from '../errors.js';

/** The environment variable that picks the shared cache dir (below the `cacheDir` runtime option). */
export const CACHE_DIR_ENV = 'BOXLITE_CACHE_DIR';
/** The cache root uses, and the one ordinary users read from when it holds what they need. */
export const SYSTEM_CACHE_DIR = '/var/cache/boxlite';

const myUid = (): number => process.getuid?.() ?? 0;

/**
 * The shared cache dir: `option`, else `$BOXLITE_CACHE_DIR`, else `/var/cache/boxlite` for root, else
 * `$XDG_CACHE_HOME/boxlite`, else `~/.cache/boxlite`. Absolute.
 */
export function resolveCacheDir(option?: string, env: NodeJS.ProcessEnv = process.env, uid = myUid()): string {
  if (option !== undefined && (typeof option !== 'string' || option === '')) {
    throw boxliteError('InvalidArgument', `cacheDir must be a non-empty path, got ${JSON.stringify(option)}`);
  }
  const chosen = option ?? (env[CACHE_DIR_ENV] || undefined);
  if (chosen) return path.resolve(chosen);
  if (uid === 0) return SYSTEM_CACHE_DIR;
  const xdg = env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.cache'), 'boxlite');
}

/**
 * Where an ordinary user may also find the artifacts, read-only: root's system cache, when the user chose no
 * cache dir of their own (neither the option nor the environment variable). Undefined otherwise.
 */
export function readOnlyFallback(option?: string, env: NodeJS.ProcessEnv = process.env, uid = myUid()): string | undefined {
  return uid !== 0 && option === undefined && !env[CACHE_DIR_ENV] ? SYSTEM_CACHE_DIR : undefined;
}

/** The stat fields the safety check looks at. */
export interface DirStat {
  uid: number;
  mode: number;
}

/**
 * Why `dir` (with stat `st`) is not safe to hold binaries this user runs, or undefined when it is. The cache dir
 * itself must be owned by this user or root and writable by nobody else; each directory above it must be owned by
 * this user or root and, when others may write to it, sticky (so they cannot rename what is below).
 */
export function unsafeDirReason(dir: string, st: DirStat, isCacheDir: boolean, uid = myUid()): string | undefined {
  const perms = (st.mode & 0o7777).toString(8);
  if (st.uid !== uid && st.uid !== 0) return `${dir} is owned by uid ${st.uid}, neither this user (${uid}) nor root`;
  const othersWrite = (st.mode & 0o022) !== 0;
  if (isCacheDir && othersWrite) return `${dir} is writable by other users (mode ${perms})`;
  if (!isCacheDir && othersWrite && (st.mode & 0o1000) === 0) return `${dir} is writable by other users and not sticky (mode ${perms}), so they could replace what is below it`;
  return undefined;
}

/** Throws Config when `dir` or a directory above it lets another user change what is in the cache (see unsafeDirReason). */
export function checkCacheDirSafe(dir: string): void {
  let real: string;
  try {
    real = fs.realpathSync(dir);
  } catch (err) {
    throw boxliteError('Config', `cannot use the shared cache dir ${dir}: ${(err as Error).message}; create it, or choose another with the cacheDir option or ${CACHE_DIR_ENV}`, err);
  }
  for (let d = real, isCacheDir = true; ; d = path.dirname(d), isCacheDir = false) {
    const why = unsafeDirReason(d, fs.statSync(d), isCacheDir);
    if (why) {
      throw boxliteError('Config', `the shared cache dir ${dir} is not safe to build and run guest artifacts from: ${why}; fix its owner or mode (chmod go-w), or choose another with the cacheDir option or ${CACHE_DIR_ENV}`);
    }
    if (d === path.dirname(d)) break;
  }
}

/** Creates the cache dir when missing (mode 0755: other users and jailed VMs may read it) and checks that it is safe. */
export function ensureCacheDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw boxliteError('Config', `cannot create the shared cache dir ${dir}: ${(err as Error).message}; choose another with the cacheDir option or ${CACHE_DIR_ENV}`, err);
  }
  checkCacheDirSafe(dir);
}
