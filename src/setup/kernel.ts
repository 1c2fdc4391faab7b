// Gets the guest kernel: Debian's cloud kernel package, unpacked into the shared cache (never /boot), plus its vmlinux.
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError } from '../errors.js';
import { aptDownload, resolveMetapackage } from './apt.js';
import { exists, readCompleteRecord, removeStaleTemps, renameDirIntoPlace, tempPathFor, writeFileAtomic } from './atomic.js';
import { runTool } from './run-tool.js';
import { reportBuild, type StepOptions } from './types.js';
import { checkPvhKernel, extractVmlinux, type KernelCompression } from './vmlinux.js';

/** The metapackage that always points at Debian's current cloud kernel. */
export const KERNEL_METAPACKAGE = 'linux-image-cloud-amd64';

/** An unpacked guest kernel. Paths are absolute. */
export interface KernelInfo {
  /** The kernel release (`uname -r` in the guest), e.g. `6.1.0-56-cloud-amd64`. */
  version: string;
  packageName: string;
  packageVersion: string;
  /** `<cache>/kernel/<version>`. */
  dir: string;
  vmlinuxPath: string;
  /** `lib/modules/<version>` inside `dir`. */
  moduleDir: string;
  /** How the bzImage stored the kernel. */
  compression: KernelCompression;
  pvhEntry: number;
}

/** What `kernel.json` in a kernel dir records; written last, so its presence means the dir is complete. */
interface KernelRecord {
  complete: true;
  version: string;
  packageName: string;
  packageVersion: string;
  moduleDir: string;
  compression: KernelCompression;
  pvhEntry: number;
  completedAt: string;
}

/** Options of ensureKernel. */
export interface EnsureKernelOptions extends StepOptions {
  /** The release to use among those already unpacked (e.g. the one in the manifest). */
  preferVersion?: string;
  /** Ask apt for the newest kernel even when one is unpacked already. */
  refresh?: boolean;
}

/**
 * Returns an unpacked guest kernel under `<cache>/kernel/`. When a complete one is there, nothing else
 * happens (no apt calls, works offline); otherwise the package behind `linux-image-cloud-amd64` is
 * downloaded to `<cache>/downloads/`, unpacked with `dpkg-deb -x` and its vmlinux extracted.
 */
export async function ensureKernel(cacheDir: string, opts: EnsureKernelOptions = {}): Promise<KernelInfo> {
  const root = path.join(cacheDir, 'kernel');
  if (!opts.refresh) {
    const cached = await cachedKernels(root);
    const pick = cached.find((k) => k.version === opts.preferVersion) ?? cached[0];
    if (pick) return pick;
  }
  if (process.arch !== 'x64') {
    throw boxliteError('UnsupportedEngine', `guest kernels are set up for x86_64 hosts only; this host is ${process.arch}`);
  }
  const pkg = await resolveMetapackage(KERNEL_METAPACKAGE, 'linux-image-', opts);
  const release = pkg.slice('linux-image-'.length);
  const existing = await readKernel(path.join(root, release));
  if (existing) return existing;
  const made = await reportBuild(opts, 'kernel', cacheDir, `${pkg} (apt-get download, dpkg-deb -x, extract vmlinux)`, async () => {
    const deb = await aptDownload(pkg, path.join(cacheDir, 'downloads'), opts);
    const info = await unpackKernel(deb, root, opts);
    return { info, path: info.vmlinuxPath };
  });
  return made.info;
}

/** Unpacks a linux-image .deb into `<root>/<release>/` (via a temp dir) and extracts its vmlinux. */
export async function unpackKernel(deb: string, root: string, opts: StepOptions = {}): Promise<KernelInfo> {
  await fs.mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const tmp = tempPathFor(path.join(root, path.basename(deb, '.deb')));
  try {
    opts.log?.(`unpacking ${path.basename(deb)}`);
    await runTool('dpkg-deb', ['-x', deb, tmp], { signal: opts.signal, hint: `the download may be damaged: delete ${deb} and run setup again` });
    const fields = await runTool('dpkg-deb', ['-f', deb, 'Package', 'Version'], { signal: opts.signal });
    const packageName = /^Package:\s*(\S+)/m.exec(fields.stdout.toString())?.[1] ?? path.basename(deb).split('_')[0]!;
    const packageVersion = /^Version:\s*(\S+)/m.exec(fields.stdout.toString())?.[1] ?? 'unknown';
    const moduleBase = (await exists(path.join(tmp, 'lib', 'modules'))) ? 'lib/modules' : 'usr/lib/modules';
    const releases = await fs.readdir(path.join(tmp, moduleBase)).catch(() => []);
    if (releases.length !== 1) throw boxliteError('Config', `${deb} should hold exactly one ${moduleBase}/<release> dir, found ${releases.length}`);
    const version = releases[0]!;
    const vmlinuz = path.join(tmp, 'boot', `vmlinuz-${version}`);
    opts.log?.(`extracting vmlinux from vmlinuz-${version}`);
    const { vmlinux, compression } = await extractVmlinux(await fs.readFile(vmlinuz), vmlinuz, opts.signal);
    const pvhEntry = checkPvhKernel(vmlinux, `vmlinux of ${packageName}`);
    await writeFileAtomic(path.join(tmp, 'vmlinux'), vmlinux);
    const record: KernelRecord = {
      complete: true, version, packageName, packageVersion, moduleDir: `${moduleBase}/${version}`,
      compression, pvhEntry, completedAt: new Date().toISOString(),
    };
    await writeFileAtomic(path.join(tmp, 'kernel.json'), JSON.stringify(record, null, 2) + '\n');
    const finalDir = path.join(root, version);
    if ((await exists(finalDir)) && !(await readKernel(finalDir))) await fs.rm(finalDir, { recursive: true, force: true });
    await renameDirIntoPlace(tmp, finalDir);
    const info = await readKernel(finalDir);
    if (!info) throw boxliteError('Internal', `kernel dir ${finalDir} is incomplete right after unpacking`);
    return info;
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** Complete kernels under `root`, newest first. */
async function cachedKernels(root: string): Promise<KernelInfo[]> {
  const names = await fs.readdir(root).catch(() => [] as string[]);
  const found: { info: KernelInfo; at: string }[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const info = await readKernel(path.join(root, name));
    if (info) found.push({ info, at: (await fs.stat(info.vmlinuxPath)).mtime.toISOString() });
  }
  return found.sort((a, b) => b.at.localeCompare(a.at)).map((f) => f.info);
}

/** The kernel in `dir` when its kernel.json says complete and its vmlinux exists, else undefined. */
async function readKernel(dir: string): Promise<KernelInfo | undefined> {
  const rec = await readCompleteRecord<KernelRecord>(dir, 'kernel.json', 'vmlinux');
  if (!rec) return undefined;
  const vmlinuxPath = path.join(dir, 'vmlinux');
  return {
    version: rec.version, packageName: rec.packageName, packageVersion: rec.packageVersion, dir, vmlinuxPath,
    moduleDir: path.join(dir, rec.moduleDir), compression: rec.compression, pvhEntry: rec.pvhEntry,
  };
}
