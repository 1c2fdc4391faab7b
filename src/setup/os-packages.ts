// Checks for the host tools BoxLite uses and installs the Debian packages that provide them (as root).
import fs from 'node:fs/promises';
import path from 'node:path';
import { boxliteError, type BoxliteError } from '../errors.js';
import { aptEnv, aptUpdateOnce, isRoot } from './apt.js';
import { Elf64 } from './elf.js';
import { runTool } from './run-tool.js';
import type { StepOptions } from './types.js';

/** The Debian packages the custom guest kernel's build needs besides make and gcc (kernel-build.ts). */
export const KERNEL_BUILD_PACKAGES = ['bc', 'flex', 'bison', 'libelf-dev'] as const;

/** The Debian packages setup installs. */
export const OS_PACKAGES = ['qemu-system-x86', 'passt', 'qemu-utils', 'musl-tools', 'libc6-dev', 'e2fsprogs', 'xz-utils', 'zstd', 'busybox-static', 'make', 'gcc', 'patch', 'nftables', ...KERNEL_BUILD_PACKAGES] as const;

/**
 * Debian packages only the test suite needs (installed by scripts/setup.sh, not by `boxlite setup`): a registry
 * server for the image tests, debootstrap for the Python test image, and xfsprogs for a filesystem with reflinks (disk snapshots).
 */
export const TEST_OS_PACKAGES = ['docker-registry', 'debootstrap', 'xfsprogs'] as const;

/** Each needed tool and the package that provides it. */
export const OS_TOOLS: readonly { tool: string; pkg: string }[] = [
  { tool: 'qemu-system-x86_64', pkg: 'qemu-system-x86' },
  { tool: 'qemu-img', pkg: 'qemu-utils' }, // disk snapshots and clones (vmm/qemu/img.ts), export and import (box-archive.ts)
  { tool: 'passt', pkg: 'passt' },
  { tool: 'musl-gcc', pkg: 'musl-tools' },
  { tool: 'mke2fs', pkg: 'e2fsprogs' },
  { tool: 'xz', pkg: 'xz-utils' },
  { tool: 'zstd', pkg: 'zstd' },
  { tool: 'make', pkg: 'make' },
  { tool: 'gcc', pkg: 'gcc' }, // with patch: the patched passt (passt-build.ts)
  { tool: 'patch', pkg: 'patch' },
  { tool: 'nft', pkg: 'nftables' }, // the network policy (vmm/network/nftables.ts)
  { tool: 'dpkg-deb', pkg: 'dpkg' },
  { tool: 'apt-get', pkg: 'apt' },
];

/** Files the kernel's build needs. */
export const KERNEL_BUILD_FILES: readonly { file: string; pkg: string }[] = [
  { file: '/usr/include/libelf.h', pkg: 'libelf-dev' },
];

/** Files the jailer's (launcher/) build needs (glibc's static libc and headers, the kernel's seccomp/capability headers). */
export const OS_BUILD_FILES: readonly { file: string; pkg: string }[] = [
  { file: '/usr/include/stdio.h', pkg: 'libc6-dev' },
  { file: '/usr/include/linux/seccomp.h', pkg: 'linux-libc-dev' },
];

/**
 * What the custom kernel's build needs (objtool needs libelf's headers). Not in OS_TOOLS: without them the cloud
 * kernel is used, so a runtime never fails for want of them.
 */
export const KERNEL_BUILD_TOOLS: readonly { tool: string; pkg: string }[] = [
  { tool: 'make', pkg: 'make' },
  { tool: 'gcc', pkg: 'gcc' },
  { tool: 'bc', pkg: 'bc' },
  { tool: 'flex', pkg: 'flex' },
  { tool: 'bison', pkg: 'bison' },
  { tool: 'perl', pkg: 'perl' },
  { tool: 'tar', pkg: 'tar' },
];

/** The static busybox that test images and guest tooling copy (from busybox-static). */
export const STATIC_BUSYBOX = '/bin/busybox';

/** The command a user runs to install everything. */
export const INSTALL_COMMAND = `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${OS_PACKAGES.join(' ')}`;

/** A missing tool and the package providing it. */
export interface MissingTool {
  tool: string;
  pkg: string;
}

/** The tools not found (on PATH, in /usr/sbin and /sbin), build files missing, or a non-static /bin/busybox; a few stat calls. */
export async function missingOsTools(): Promise<MissingTool[]> {
  const missing = await missingFrom(OS_TOOLS, OS_BUILD_FILES);
  if (!(await isStaticBusybox(STATIC_BUSYBOX))) missing.push({ tool: `${STATIC_BUSYBOX} (static)`, pkg: 'busybox-static' });
  return missing;
}

/** The custom kernel's build tools and files not found; a few stat calls. */
export function missingBuildTools(): Promise<MissingTool[]> {
  return missingFrom(KERNEL_BUILD_TOOLS, KERNEL_BUILD_FILES);
}

/** The tools not on the search path and the files not there, with the packages that bring them. */
async function missingFrom(tools: readonly MissingTool[], files: readonly { file: string; pkg: string }[]): Promise<MissingTool[]> {
  const dirs = toolDirs();
  const missing: MissingTool[] = [];
  for (const t of tools) {
    if (!(await findExecutable(t.tool, dirs))) missing.push(t);
  }
  for (const f of files) {
    if (!(await fs.access(f.file).then(() => true, () => false))) missing.push({ tool: f.file, pkg: f.pkg });
  }
  return missing;
}

function toolDirs(): string[] {
  return [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
}

/**
 * Makes sure the host tools are there. Cheap when they are (no apt call). When some are missing: as root,
 * runs `apt-get update` once and installs OS_PACKAGES; otherwise rejects with a Config error giving the command.
 * Missing kernel build tools (KERNEL_BUILD_TOOLS) are installed as root and ignored otherwise.
 */
export async function ensureOsPackages(opts: StepOptions = {}): Promise<void> {
  const missing = await missingOsTools();
  // The kernel's build tools are installed along (as root); elsewhere their absence only means the cloud kernel.
  if (missing.length === 0 && (!isRoot() || (await missingBuildTools()).length === 0)) return;
  const list = missing.map((m) => `${m.tool} (package ${m.pkg})`).join(', ');
  if (missing.some((m) => m.pkg === 'apt' || m.pkg === 'dpkg') || !isRoot()) throw missingPackagesError(missing);
  await aptUpdateOnce(opts);
  opts.log?.(`apt-get install ${OS_PACKAGES.join(' ')}`);
  await runTool('apt-get', ['install', '-y', '--no-install-recommends', ...OS_PACKAGES], {
    env: aptEnv(), signal: opts.signal, errorCode: 'Config', hint: `installing packages for: ${list}`,
  });
  const still = await missingOsTools();
  if (still.length > 0) {
    throw boxliteError('Config', `still missing after apt-get install: ${still.map((m) => m.tool).join(', ')}; check the apt output and install them by hand`);
  }
}

/** Throws the error for missing OS packages (see missingPackagesError) when a tool is missing; a few stat calls. */
export async function checkOsPackages(): Promise<void> {
  const missing = await missingOsTools();
  if (missing.length > 0) throw missingPackagesError(missing);
}

/**
 * The Config error for missing host tools: which tools, from which packages, and that `boxlite setup` (as root)
 * installs them; a host without apt gets the package list to install by other means.
 */
export function missingPackagesError(missing: readonly MissingTool[]): BoxliteError {
  const list = missing.map((m) => `${m.tool} (package ${m.pkg})`).join(', ');
  if (missing.some((m) => m.pkg === 'apt' || m.pkg === 'dpkg')) {
    return boxliteError('Config', `missing OS packages: ${list}; \`boxlite setup\` installs them with apt, which this host lacks, so install the equivalents of: ${OS_PACKAGES.join(' ')}`);
  }
  return boxliteError('Config', `missing OS packages: ${list}; run \`sudo npx boxlite setup\` once on this machine (it installs them with apt), or as root: ${INSTALL_COMMAND}`);
}

/** The first executable `name` in `dirs`, or undefined. */
export async function findExecutable(name: string, dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const p = path.join(dir, name);
    try {
      await fs.access(p, fs.constants.X_OK);
      return p;
    } catch { /* not in this dir */ }
  }
  return undefined;
}

async function isStaticBusybox(p: string): Promise<boolean> {
  try {
    const fh = await fs.open(p, 'r');
    try {
      const { bytesRead, buffer } = await fh.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, 0);
      return Elf64.parse(buffer.subarray(0, bytesRead), p).isStatic();
    } finally {
      await fh.close();
    }
  } catch {
    return false;
  }
}
