// Decides which kernel modules go into the initramfs and in which order, from modules.dep and modules.builtin.
import { boxliteError } from '../errors.js';

/** A module the guest wants; optional ones (CPU-specific accelerations) may be absent from a kernel. */
export interface WantedModule {
  name: string;
  optional?: boolean;
}

/**
 * The modules the guest agent needs, in load order: virtio transport and devices, virtiofs, erofs, overlayfs,
 * and ext4 with the crc32c providers (all skipped where the kernel has them built in).
 */
export const GUEST_MODULES: readonly WantedModule[] = [
  { name: 'virtio_ring' },
  { name: 'virtio' },
  { name: 'virtio_mmio' },
  { name: 'virtio_blk' },
  { name: 'failover' },
  { name: 'net_failover' },
  { name: 'virtio_net' },
  { name: 'virtio_console' },
  { name: 'fuse' },
  { name: 'virtiofs' },
  { name: 'crc32c_generic', optional: true },
  { name: 'crc32c-intel', optional: true },
  { name: 'libcrc32c' },
  { name: 'erofs' },
  { name: 'overlay' },
  { name: 'virtio-rng' },
  { name: 'ext4' },
];

/** One entry of modules.dep: the module's file (relative to lib/modules/<version>/) and its dependencies' files. */
export interface ModuleDepEntry {
  path: string;
  deps: string[];
}

/** A module resolved to its file. */
export interface ResolvedModule {
  name: string;
  path: string;
}

/** The outcome of resolution: modules to load in order, and the wanted ones the kernel has built in or lacks. */
export interface ModuleOrder {
  load: ResolvedModule[];
  builtin: string[];
  absent: string[];
}

/** The canonical name of a module from its name or file path: basename, no `.ko[.xz|.zst|.gz]`, `-` as `_`. */
export function moduleName(nameOrPath: string): string {
  const base = nameOrPath.slice(nameOrPath.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_');
}

/** Parses modules.dep (`path: dep dep ...` per line) into a map keyed by canonical module name. */
export function parseModulesDep(text: string): Map<string, ModuleDepEntry> {
  const map = new Map<string, ModuleDepEntry>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const path = line.slice(0, colon).trim();
    const deps = line.slice(colon + 1).trim().split(/\s+/).filter(Boolean);
    map.set(moduleName(path), { path, deps });
  }
  return map;
}

/** Parses modules.builtin (one module path per line) into a set of canonical names. */
export function parseModulesBuiltin(text: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.trim()).filter(Boolean).map(moduleName));
}

/**
 * Orders the wanted modules for loading: each module comes after all its dependencies (depth first, in the
 * order modules.dep lists them, last first as modprobe does), built-in modules are skipped, and a module is
 * loaded once. A wanted module the kernel neither has as a module nor built in is an error unless optional.
 */
export function resolveModuleOrder(
  wanted: readonly WantedModule[],
  deps: ReadonlyMap<string, ModuleDepEntry>,
  builtin: ReadonlySet<string>,
  kernelLabel = 'the kernel',
): ModuleOrder {
  const load: ResolvedModule[] = [];
  const done = new Set<string>();
  const visiting: string[] = [];
  const result: ModuleOrder = { load, builtin: [], absent: [] };

  const visit = (name: string, neededBy: string | undefined): void => {
    if (done.has(name) || builtin.has(name)) return;
    if (visiting.includes(name)) {
      throw boxliteError('Config', `module dependency cycle in ${kernelLabel}: ${[...visiting, name].join(' -> ')}`);
    }
    const entry = deps.get(name);
    if (!entry) {
      throw boxliteError('Config', `${kernelLabel} has no module "${name}" (needed by ${neededBy ?? 'the guest'}) in modules.dep nor modules.builtin: use a kernel that provides it`);
    }
    visiting.push(name);
    for (const dep of [...entry.deps].reverse()) visit(moduleName(dep), name);
    visiting.pop();
    done.add(name);
    load.push({ name, path: entry.path });
  };

  for (const w of wanted) {
    const name = moduleName(w.name);
    if (builtin.has(name)) result.builtin.push(name);
    else if (!deps.has(name) && w.optional) result.absent.push(name);
    else visit(name, undefined);
  }
  return result;
}
