// Packs the guest initramfs: the agent as /init, the kernel modules it loads, and their load order.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type { AgentInfo } from './agent-build.js';
import { exists, removeStaleTemps, tempPathFor } from './atomic.js';
import { cpioChunks, withParentDirs, type CpioEntry } from './cpio.js';
import type { KernelInfo } from './kernel.js';
import { GUEST_MODULES, parseModulesBuiltin, parseModulesDep, resolveModuleOrder, type ModuleOrder, type WantedModule } from './module-order.js';
import { buildModulesDep, readModule } from './modules-dep.js';
import { reportBuild, type StepOptions } from './types.js';

/** Bump when the layout of the initramfs changes, so cached ones are rebuilt. */
export const INITRAMFS_FORMAT = 1;

/** Where the agent finds the module list: one absolute path per line, in load order. */
export const MODULE_ORDER_FILE = 'lib/modules/boxlite.order';

/** A built initramfs and the modules inside it. */
export interface InitramfsInfo {
  path: string;
  /** Hash of agent hash, kernel version and wanted module list (16 hex digits). */
  hash: string;
  modules: ModuleOrder;
}

/** What the initramfs needs to know about its kernel. */
export type InitramfsKernel = Pick<KernelInfo, 'version' | 'packageVersion' | 'moduleDir'>;

/** Options of ensureInitramfs. */
export interface InitramfsOptions extends StepOptions {
  /** Modules to include (default GUEST_MODULES). */
  modules?: readonly WantedModule[];
}

/** The name an initramfs gets: a hash of everything that goes into it (16 hex digits). */
export function initramfsHash(agentHash: string, kernel: Pick<KernelInfo, 'version' | 'packageVersion'>, wanted: readonly WantedModule[] = GUEST_MODULES): string {
  const input = { format: INITRAMFS_FORMAT, agent: agentHash, kernel: kernel.version, pkg: kernel.packageVersion, wanted };
  return createHash('sha256').update(JSON.stringify(input)).digest('hex').slice(0, 16);
}

/**
 * Returns `<cache>/initramfs/<hash>.cpio.gz`, building it when missing: `/init` is the agent (0755),
 * the wanted modules and their dependencies (decompressed, built-in ones skipped) sit under
 * `/lib/modules/<version>/`, `/lib/modules/boxlite.order` lists them, plus `/dev /proc /sys /run /tmp`.
 */
export async function ensureInitramfs(cacheDir: string, agent: AgentInfo, kernel: InitramfsKernel, opts: InitramfsOptions = {}): Promise<InitramfsInfo> {
  const wanted = opts.modules ?? GUEST_MODULES;
  const hash = initramfsHash(agent.hash, kernel, wanted);
  const modules = await moduleOrder(kernel, wanted, opts.signal);
  const root = path.join(cacheDir, 'initramfs');
  const finalPath = path.join(root, `${hash}.cpio.gz`);
  if (await exists(finalPath)) return { path: finalPath, hash, modules };

  return reportBuild(opts, 'initramfs', cacheDir, `${hash} (agent ${agent.hash}, ${modules.load.length} modules of ${kernel.version})`, async () => {
    await packInitramfs(root, finalPath, agent, kernel, modules, opts);
    return { path: finalPath, hash, modules };
  });
}

/** Writes the initramfs to `finalPath` (temp file in `root`, fsync, rename). */
async function packInitramfs(root: string, finalPath: string, agent: AgentInfo, kernel: InitramfsKernel, modules: ModuleOrder, opts: StepOptions): Promise<void> {
  await fs.mkdir(root, { recursive: true });
  await removeStaleTemps(root);
  const entries: CpioEntry[] = [
    { type: 'dir', path: 'dev' },
    { type: 'chardev', path: 'dev/console', major: 5, minor: 1, mode: 0o600 },
    { type: 'dir', path: 'proc', mode: 0o555 },
    { type: 'dir', path: 'sys', mode: 0o555 },
    { type: 'dir', path: 'run' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'init', data: await fs.readFile(agent.path), mode: 0o755 },
  ];
  const inGuest: string[] = [];
  for (const m of modules.load) {
    const guestPath = `lib/modules/${kernel.version}/${m.path.replace(/\.(xz|zst|gz)$/, '')}`;
    entries.push({ type: 'file', path: guestPath, data: await readModule(path.join(kernel.moduleDir, m.path), opts.signal) });
    inGuest.push(`/${guestPath}`);
  }
  entries.push({ type: 'file', path: MODULE_ORDER_FILE, data: Buffer.from(inGuest.map((l) => `${l}\n`).join('')) });

  const tmp = tempPathFor(finalPath);
  try {
    await pipeline(Readable.from(cpioChunks(withParentDirs(entries))), zlib.createGzip({ level: 6 }), createWriteStream(tmp, { flags: 'wx' }), { signal: opts.signal });
    const fh = await fs.open(tmp, 'r');
    await fh.sync().finally(() => fh.close());
    await fs.rename(tmp, finalPath);
  } finally {
    await fs.rm(tmp, { force: true });
  }
}

/** Resolves the load order from the kernel's modules.dep, or from the modules' own depends= when the package ships none. */
async function moduleOrder(kernel: InitramfsKernel, wanted: readonly WantedModule[], signal?: AbortSignal): Promise<ModuleOrder> {
  if (wanted.length === 0) return { load: [], builtin: [], absent: [] }; // a kernel with everything built in
  const read = (name: string): Promise<string | undefined> => fs.readFile(path.join(kernel.moduleDir, name), 'utf8').catch(() => undefined);
  const depText = (await read('modules.dep')) ?? (await buildModulesDep(kernel.moduleDir, wanted, signal));
  const builtin = parseModulesBuiltin((await read('modules.builtin')) ?? '');
  return resolveModuleOrder(wanted, parseModulesDep(depText), builtin, `kernel ${kernel.version}`);
}
