// The apt operations setup needs: one `apt-get update` per process, resolving a metapackage, downloading a .deb.
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { tempPathFor } from './atomic.js';
import { runTool } from './run-tool.js';
import type { StepOptions } from './types.js';


let updated: Promise<void> | undefined;

/** True when this process runs as root. */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Runs `apt-get update` once per process (root only; otherwise a Config error saying what to run). */
export function aptUpdateOnce(opts: StepOptions = {}): Promise<void> {
  if (!isRoot()) {
    return Promise.reject(boxliteError('Config', 'the apt package lists are missing or stale, and only root can refresh them: run `sudo apt-get update`, then run setup again'));
  }
  updated ??= (async () => {
    opts.log?.('apt-get update');
    await runTool('apt-get', ['update'], { env: aptEnv(), signal: opts.signal, errorCode: 'Network', hint: 'check that the Debian mirrors in /etc/apt/sources.list are reachable' });
  })().catch((e: unknown) => { updated = undefined; throw e; });
  return updated;
}

/** The environment for non-interactive apt runs. */
export function aptEnv(): NodeJS.ProcessEnv {
  return { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
}

/** The versioned package a metapackage (`linux-image-cloud-amd64`) depends on, updating the lists once if apt knows nothing. */
export async function resolveMetapackage(meta: string, prefix: string, opts: StepOptions = {}): Promise<string> {
  const ask = async (): Promise<string | undefined> => {
    const r = await runTool('apt-cache', ['depends', meta], { signal: opts.signal, allowFailure: true });
    const dep = /^\s*Depends:\s*(\S+)/m.exec(r.stdout.toString('utf8'));
    return dep?.[1]?.startsWith(prefix) ? dep[1] : undefined;
  };
  const first = await ask();
  if (first) return first;
  await aptUpdateOnce(opts);
  const second = await ask();
  if (second) return second;
  throw boxliteError('Config', `apt knows no package ${meta} (or it depends on no ${prefix}* package): add Debian's main archive to /etc/apt/sources.list and run \`apt-get update\``);
}

/**
 * Downloads `pkg` with `apt-get download` into `destDir` (not installing it) and returns the .deb's path.
 * An already downloaded .deb is reused. The download happens in a temp dir, so `destDir` never holds a partial file.
 */
export async function aptDownload(pkg: string, destDir: string, opts: StepOptions = {}): Promise<string> {
  await fs.mkdir(destDir, { recursive: true });
  const have = (await fs.readdir(destDir)).find((n) => n.startsWith(`${pkg}_`) && n.endsWith('.deb'));
  if (have) return path.join(destDir, have);
  const tmp = tempPathFor(path.join(destDir, pkg));
  await fs.mkdir(tmp);
  try {
    opts.log?.(`apt-get download ${pkg}`);
    // As root, apt would try to drop to the _apt user, which cannot write into a home under /root.
    const sandbox = isRoot() ? ['-o', 'APT::Sandbox::User=root'] : [];
    await runTool('apt-get', [...sandbox, 'download', pkg], { cwd: tmp, env: aptEnv(), signal: opts.signal, errorCode: 'Network', hint: 'check that the Debian mirrors are reachable (or run `apt-get update`)' });
    const deb = (await fs.readdir(tmp)).find((n) => n.endsWith('.deb'));
    if (!deb) throw boxliteError('Config', `\`apt-get download ${pkg}\` left no .deb in ${tmp}`);
    await fs.rename(path.join(tmp, deb), path.join(destDir, deb));
    return path.join(destDir, deb);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}
