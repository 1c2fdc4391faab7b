// Builds the patched passt the box network runs on hosts whose passt is Debian 12's (see docs/decisions.md).
//
// Debian 12's passt (0.0~git20230309) mishandles a connection the guest half-closed: once the guest sent its FIN it
// stops dequeuing acknowledged data and stops following the guest's window, so a download into a box whose client
// shut down its sending side (`printf ... | nc host port`) stalls after a socket buffer and replays bytes from the
// wrong offset, and it closes the connection while data is still queued. `patches/` holds the fix; setup fetches
// Debian's source of that exact version with apt (a private source list: the host's apt config is not touched),
// checks its digest, applies the patch and builds `passt` into the shared cache. Any other passt is used as installed.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { boxliteError } from '../errors.js';
import { aptEnv, isRoot } from './apt.js';
import { exists, removeStaleTemps, renameDirIntoPlace, tempPathFor } from './atomic.js';
import { runTool } from './run-tool.js';
import { reportBuild, type StepOptions } from './types.js';

/** The Debian package version the patch is for. */
export const PATCHED_PASST_VERSION = '0.0~git20230309.7c7625d-1';
/** The upstream tarball of that version (Debian's `.orig.tar.xz`) and its digest. */
const PASST_TARBALL = 'passt_0.0~git20230309.7c7625d.orig.tar.xz';
const PASST_TARBALL_SHA256 = 'f071e1c2f618fe678516c6c2a798c491ac44bb96d3a00617d343f67313e3db6c';
/** The patch shipped with this package (dist/src/setup → ../../../patches). */
export const PASST_PATCH = fileURLToPath(new URL('../../../patches/passt-2023_03_09.patch', import.meta.url));
/** Where Debian's source index lives. */
const DEB_SRC = 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n';

/** A passt built by setup. */
export interface BuiltPasst {
  path: string;
  /** The installed package version it replaces. */
  replaces: string;
}

/**
 * Where setup keeps the patched passt for this host (`<cache>/passt/<hash of tarball and patch>/passt`), or
 * undefined when the installed passt is used as it is (any version but PATCHED_PASST_VERSION).
 */
export async function wantedPasstPath(cacheDir: string): Promise<string | undefined> {
  if ((await installedPasstVersion()) !== PATCHED_PASST_VERSION) return undefined;
  const hash = createHash('sha256').update(PASST_TARBALL_SHA256).update(await fs.readFile(PASST_PATCH)).digest('hex').slice(0, 16);
  return path.join(cacheDir, 'passt', hash, 'passt');
}

/** The installed passt package's version, or undefined when dpkg does not know it. */
export async function installedPasstVersion(): Promise<string | undefined> {
  const r = await runTool('dpkg-query', ['-W', '-f=${Version}', 'passt'], { allowFailure: true });
  const v = r.stdout.toString('utf8').trim();
  return r.exitCode === 0 && v ? v : undefined;
}

/**
 * Returns `<cache>/passt/<patch hash>/passt` when the installed passt is the version the patch fixes, building
 * it first when needed; undefined when the installed passt is used as it is.
 */
export async function ensurePatchedPasst(cacheDir: string, opts: StepOptions = {}): Promise<BuiltPasst | undefined> {
  const binary = await wantedPasstPath(cacheDir);
  if (!binary) return undefined;
  if (await exists(binary)) return { path: binary, replaces: PATCHED_PASST_VERSION };
  return reportBuild(opts, 'passt', cacheDir, `passt ${PATCHED_PASST_VERSION} with ${path.basename(PASST_PATCH)} (apt-get source, patch, make)`, () => buildPasst(binary, opts));
}

/** Downloads, patches and builds passt into the directory of `binary` (via a temp dir renamed into place). */
async function buildPasst(binary: string, opts: StepOptions): Promise<BuiltPasst> {
  const version = PATCHED_PASST_VERSION;
  const finalDir = path.dirname(binary);
  const root = path.dirname(finalDir);
  await fs.mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const tmp = tempPathFor(finalDir);
  await fs.mkdir(tmp);
  try {
    const tarball = await downloadSource(root, tmp, opts);
    const src = path.join(tmp, 'src');
    await fs.mkdir(src);
    opts.log?.(`building passt ${version} with ${path.basename(PASST_PATCH)}`);
    await runTool('tar', ['-xJf', tarball, '-C', src, '--strip-components=1'], { signal: opts.signal, errorCode: 'Config', hint: 'unpacking the passt source (it needs xz-utils)' });
    await runTool('patch', ['-p1', '--forward', '--batch', '-i', PASST_PATCH], { cwd: src, signal: opts.signal, errorCode: 'Internal', hint: `the patch ${PASST_PATCH} does not apply to ${PASST_TARBALL}` });
    await runTool('make', ['-C', src, 'passt'], { signal: opts.signal, errorCode: 'Config', hint: 'building passt needs gcc and make: run `npx boxlite setup` as root to install them' });
    await fs.rename(path.join(src, 'passt'), path.join(tmp, '.passt'));
    for (const name of await fs.readdir(tmp)) { // keep only the binary: not the source, the tarball or apt's .dsc
      if (name !== '.passt') await fs.rm(path.join(tmp, name), { recursive: true, force: true });
    }
    await fs.rename(path.join(tmp, '.passt'), path.join(tmp, 'passt'));
    await fs.chmod(path.join(tmp, 'passt'), 0o755);
    await renameDirIntoPlace(tmp, finalDir);
    await fs.rm(path.join(root, 'apt'), { recursive: true, force: true }); // the source index (~10 MB) is not needed again
    for (const name of await fs.readdir(root)) { // builds from an older patch (a running passt keeps its open binary)
      if (/^[0-9a-f]{16}$/.test(name) && name !== path.basename(finalDir)) await fs.rm(path.join(root, name), { recursive: true, force: true });
    }
    return { path: binary, replaces: version };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Downloads the pinned passt source tarball into `dir` with apt (its own lists under `root/apt`) and checks its digest. */
async function downloadSource(root: string, dir: string, opts: StepOptions): Promise<string> {
  const apt = path.join(root, 'apt');
  const parts = path.join(apt, 'sources.list.d');
  await fs.mkdir(path.join(apt, 'lists', 'partial'), { recursive: true });
  await fs.mkdir(path.join(apt, 'cache', 'archives', 'partial'), { recursive: true });
  await fs.mkdir(parts, { recursive: true });
  await fs.writeFile(path.join(parts, 'debian-src.sources'), DEB_SRC);
  const config = [
    '-o', `Dir::Etc::SourceList=${path.join(parts, 'debian-src.sources')}`, '-o', `Dir::Etc::SourceParts=${parts}`,
    '-o', `Dir::State::Lists=${path.join(apt, 'lists')}`, '-o', `Dir::Cache=${path.join(apt, 'cache')}`,
    // As root, apt would try to drop to the _apt user, which cannot write into a home under /root.
    ...(isRoot() ? ['-o', 'APT::Sandbox::User=root'] : []),
  ];
  const hint = 'check that Debian\'s source archive (deb-src of bookworm main) is reachable';
  const fetch = (): Promise<unknown> => runTool('apt-get', [...config, 'source', '--download-only', `passt=${PATCHED_PASST_VERSION}`], { cwd: dir, env: aptEnv(), signal: opts.signal, errorCode: 'Network', hint, allowFailure: true });
  await fetch();
  if (!(await exists(path.join(dir, PASST_TARBALL)))) {
    opts.log?.('apt-get update (Debian source index, for passt)');
    await runTool('apt-get', [...config, 'update'], { env: aptEnv(), signal: opts.signal, errorCode: 'Network', hint });
    await fetch();
  }
  const tarball = path.join(dir, PASST_TARBALL);
  if (!(await exists(tarball))) throw boxliteError('Network', `apt-get source passt=${PATCHED_PASST_VERSION} did not download ${PASST_TARBALL}; ${hint}`);
  const digest = createHash('sha256').update(await fs.readFile(tarball)).digest('hex');
  if (digest !== PASST_TARBALL_SHA256) {
    throw boxliteError('Network', `${PASST_TARBALL} from apt has sha256 ${digest}, expected ${PASST_TARBALL_SHA256}; delete ${root} and run setup again`);
  }
  return tarball;
}
