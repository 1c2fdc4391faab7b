// Builds the purpose-built guest kernel from Debian's linux-source package and guest/kernel/boxlite.config, once per cache.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { boxliteError } from '../errors.js';
import { aptDownload } from './apt.js';
import { exists, readCompleteRecord, removeStaleTemps, renameDirIntoPlace, tempPathFor, writeFileAtomic } from './atomic.js';
import { unmetConfig } from './kernel-config.js';
import { runTool } from './run-tool.js';
import { reportBuild, type StepOptions } from './types.js';
import { checkPvhKernel } from './vmlinux.js';

/** The Debian package holding the kernel sources (a tarball under /usr/src). */
export const KERNEL_SOURCE_PACKAGE = 'linux-source-6.1';
/** The config fragment merged onto `make tinyconfig` (shipped in the package's guest/ folder). */
export const DEFAULT_KERNEL_CONFIG = fileURLToPath(new URL('../../../guest/kernel/boxlite.config', import.meta.url));
/** Bump when the build recipe changes (not the fragment, which is hashed), so cached kernels are rebuilt. */
export const KERNEL_BUILD_FORMAT = 1;

/** A built custom kernel. Paths are absolute. */
export interface CustomKernel {
  /** The kernel release (`uname -r` in the guest), e.g. `6.1.192-boxlite`. */
  version: string;
  packageName: string;
  /** The source package's version. */
  packageVersion: string;
  /** The config fragment's hash (16 hex digits). */
  configHash: string;
  /** `<cache>/kernel-custom/<key>`. */
  dir: string;
  vmlinuxPath: string;
  /** How long the build took. */
  buildMs: number;
}

/** What `kernel.json` records; written last, so its presence means the dir is complete. */
interface CustomKernelRecord extends Omit<CustomKernel, 'dir' | 'vmlinuxPath'> {
  complete: true;
  completedAt: string;
}

/** Options of ensureCustomKernel. */
export interface CustomKernelOptions extends StepOptions {
  /** The config fragment (default DEFAULT_KERNEL_CONFIG). */
  configPath?: string;
  /** Parallel compile jobs (default: the available CPUs); the compiler runs under `nice -n 19` either way. */
  jobs?: number;
}

/** The hash of a config fragment's text (16 hex digits). */
export function kernelConfigHash(text: string): string {
  return createHash('sha256').update(`${KERNEL_BUILD_FORMAT}\n${text}`).digest('hex').slice(0, 16);
}

/** The cache key of a build: source package version and config hash. */
export function customKernelKey(packageVersion: string, configHash: string): string {
  return `${packageVersion.replace(/[^A-Za-z0-9.+~-]/g, '_')}-${configHash}`;
}

/**
 * Returns the custom kernel under `<cache>/kernel-custom/<source version>-<config hash>/`. A complete one built from
 * the same fragment is reused without any apt call; otherwise `linux-source-6.1` is downloaded (cached in
 * `<cache>/downloads/`), unpacked into a temp dir, configured (tinyconfig + the fragment, checked), and its vmlinux
 * compiled (minutes; `step` progress lines every 30 s). The sources are removed afterwards; the vmlinux and the final
 * .config are kept.
 */
export async function ensureCustomKernel(cacheDir: string, opts: CustomKernelOptions = {}): Promise<CustomKernel> {
  const configPath = opts.configPath ?? DEFAULT_KERNEL_CONFIG;
  const fragment = await fs.readFile(configPath, 'utf8');
  const configHash = kernelConfigHash(fragment);
  const root = path.join(cacheDir, 'kernel-custom');
  const cached = await cachedCustomKernel(root, configHash);
  if (cached) return cached;
  if (process.arch !== 'x64') {
    throw boxliteError('UnsupportedEngine', `the custom guest kernel is built for x86_64 hosts only; this host is ${process.arch}`);
  }
  const deb = await aptDownload(KERNEL_SOURCE_PACKAGE, path.join(cacheDir, 'downloads'), opts);
  const fields = await runTool('dpkg-deb', ['-f', deb, 'Version'], { signal: opts.signal });
  const packageVersion = /^Version:\s*(\S+)/m.exec(fields.stdout.toString())?.[1] ?? fields.stdout.toString().trim();
  const finalDir = path.join(root, customKernelKey(packageVersion, configHash));
  const existing = await readCustomKernel(finalDir);
  if (existing) return existing;
  const detail = `${KERNEL_SOURCE_PACKAGE} ${packageVersion} with ${path.basename(configPath)} ${configHash} (takes minutes)`;
  return reportBuild(opts, 'kernel', cacheDir, detail, async () => {
    const t0 = performance.now();
    await fs.mkdir(root, { recursive: true });
    await removeStaleTemps(root);
    const tmp = tempPathFor(finalDir);
    try {
      await fs.mkdir(tmp);
      const src = await unpackSources(deb, tmp, opts);
      await configure(src, fragment, configPath, opts);
      await compile(src, opts);
      const version = (await make(src, ['-s', 'kernelrelease'], opts)).stdout.toString().trim();
      const vmlinux = await fs.readFile(path.join(src, 'vmlinux'));
      checkPvhKernel(vmlinux, `the vmlinux built from ${KERNEL_SOURCE_PACKAGE} ${packageVersion}`);
      const out = path.join(tmp, 'out');
      await fs.mkdir(out);
      await writeFileAtomic(path.join(out, 'vmlinux'), vmlinux);
      await fs.copyFile(path.join(src, '.config'), path.join(out, 'config'));
      const record: CustomKernelRecord = {
        complete: true, version, packageName: KERNEL_SOURCE_PACKAGE, packageVersion, configHash,
        buildMs: Math.round(performance.now() - t0), completedAt: new Date().toISOString(),
      };
      await writeFileAtomic(path.join(out, 'kernel.json'), JSON.stringify(record, null, 2) + '\n');
      if ((await exists(finalDir)) && !(await readCustomKernel(finalDir))) await fs.rm(finalDir, { recursive: true, force: true });
      await renameDirIntoPlace(out, finalDir);
      const info = await readCustomKernel(finalDir);
      if (!info) throw boxliteError('Internal', `kernel dir ${finalDir} is incomplete right after the build`);
      return { ...info, path: info.vmlinuxPath };
    } finally {
      await fs.rm(tmp, { recursive: true, force: true });
    }
  });
}

/** Unpacks the source package's tarball into `tmp`; returns the source tree. */
async function unpackSources(deb: string, tmp: string, opts: StepOptions): Promise<string> {
  opts.log?.(`unpacking ${path.basename(deb)}`);
  const debDir = path.join(tmp, 'deb');
  await runTool('dpkg-deb', ['-x', deb, debDir], { signal: opts.signal, hint: `the download may be damaged: delete ${deb} and run setup again` });
  const usrSrc = path.join(debDir, 'usr', 'src');
  const tarball = (await fs.readdir(usrSrc)).find((n) => /^linux-source-.*\.tar\.(xz|gz|bz2)$/.test(n));
  if (!tarball) throw boxliteError('Config', `${deb} holds no linux-source-*.tar.* under /usr/src`);
  await runTool('tar', ['-xf', path.join(usrSrc, tarball), '-C', tmp], { signal: opts.signal, hint: `unpacking ${tarball}` });
  await fs.rm(debDir, { recursive: true, force: true });
  const src = path.join(tmp, tarball.replace(/\.tar\.\w+$/, ''));
  if (!(await exists(path.join(src, 'Makefile')))) throw boxliteError('Config', `${tarball} did not unpack into ${path.basename(src)}/`);
  return src;
}

/** tinyconfig, the fragment merged with merge_config.sh, olddefconfig; fails when Kconfig dropped a wanted option. */
async function configure(src: string, fragment: string, configPath: string, opts: StepOptions): Promise<void> {
  opts.log?.(`configuring: tinyconfig + ${configPath}`);
  await make(src, ['tinyconfig'], opts);
  await runTool(path.join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '.config', configPath], { cwd: src, env: buildEnv(), signal: opts.signal });
  await make(src, ['olddefconfig'], opts);
  const unmet = unmetConfig(fragment, await fs.readFile(path.join(src, '.config'), 'utf8'));
  if (unmet.length > 0) {
    const list = unmet.map((u) => `${u.option}=${u.wanted} (got ${u.got ?? 'unset'})`).join(', ');
    throw boxliteError('Config', `${configPath} asks for options Kconfig did not keep (a dependency is missing from the fragment): ${list}`);
  }
}

/** `make vmlinux` under `nice -n 19`, reporting a step line every 30 s. */
async function compile(src: string, opts: CustomKernelOptions): Promise<void> {
  const jobs = opts.jobs ?? os.availableParallelism();
  const t0 = performance.now();
  opts.log?.(`compiling vmlinux (make -j${jobs} under nice -n 19; several minutes)`);
  const timer = setInterval(() => opts.log?.(`still compiling the kernel (${Math.round((performance.now() - t0) / 1000)} s)`), 30_000);
  try {
    await runTool('nice', ['-n', '19', 'make', '-s', `-j${jobs}`, 'ARCH=x86_64', 'vmlinux'], {
      cwd: src, env: buildEnv(), signal: opts.signal, maxStdoutBytes: 64 * 1024 * 1024,
      hint: 'the kernel build failed; the last lines of its output follow',
    });
  } finally {
    clearInterval(timer);
  }
}

/** Runs make with `args` in the source tree. */
function make(src: string, args: readonly string[], opts: StepOptions): ReturnType<typeof runTool> {
  return runTool('make', ['ARCH=x86_64', ...args], { cwd: src, env: buildEnv(), signal: opts.signal });
}

/** A fixed environment for reproducible builds (no host name or date baked in). */
function buildEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env, LC_ALL: 'C', KBUILD_BUILD_USER: 'boxlite', KBUILD_BUILD_HOST: 'boxlite',
    KBUILD_BUILD_TIMESTAMP: '1970-01-01', KCONFIG_NOTIMESTAMP: '1',
  };
}

/** The newest complete kernel under `root` built from a fragment with hash `configHash`, or undefined. */
async function cachedCustomKernel(root: string, configHash: string): Promise<CustomKernel | undefined> {
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const found: CustomKernel[] = [];
  for (const name of names.filter((n) => !n.startsWith('.') && n.endsWith(`-${configHash}`))) {
    const info = await readCustomKernel(path.join(root, name));
    if (info) found.push(info);
  }
  return found.sort((a, b) => b.packageVersion.localeCompare(a.packageVersion))[0];
}

/** The kernel in `dir` when its kernel.json says complete and its vmlinux exists, else undefined. */
export async function readCustomKernel(dir: string): Promise<CustomKernel | undefined> {
  const rec = await readCompleteRecord<CustomKernelRecord>(dir, 'kernel.json', 'vmlinux');
  if (!rec) return undefined;
  const vmlinuxPath = path.join(dir, 'vmlinux');
  return {
    version: rec.version, packageName: rec.packageName, packageVersion: rec.packageVersion, configHash: rec.configHash,
    dir, vmlinuxPath, buildMs: rec.buildMs,
  };
}
