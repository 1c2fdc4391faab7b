// A cgroup per box that bounds the memory, pids and CPU of all its host processes (QEMU, passt, virtiofsd).
//
// cgroup v2 (a unified /sys/fs/cgroup with controllers): /sys/fs/cgroup/boxlite/<name>, controllers enabled on the
// way down. cgroup v1 (or a v1/v2 hybrid, as on these machines): <controller mount>/<this process's cgroup>/boxlite/<name>
// in each of the memory, pids and cpu hierarchies, so a box stays inside whatever bounds this process has.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = '/sys/fs/cgroup';
/** Memory a box's host processes may use beyond its guest memory: QEMU itself, passt, virtiofsd, page cache. */
export const HOST_OVERHEAD_MIB = 384;
/** Extra under TCG: QEMU's translation cache grows up to 1 GiB. */
export const TCG_OVERHEAD_MIB = 1024;
/** Processes and threads a box's host processes may have (QEMU's I/O threads, virtiofsd's pool). */
export const BOX_PIDS_MAX = 1024;
const CPU_PERIOD_US = 100_000;

/** What a box's cgroup allows. */
export interface CgroupLimits {
  memoryBytes: number;
  pids: number;
  /** CPUs' worth of time per period (the box's vCPU count). */
  cpus: number;
}

/** The limits of a box with `memoryMib` of guest memory and `cpus` vCPUs. */
export function boxCgroupLimits(memoryMib: number, cpus: number, tcg: boolean): CgroupLimits {
  return { memoryBytes: (memoryMib + HOST_OVERHEAD_MIB + (tcg ? TCG_OVERHEAD_MIB : 0)) * 2 ** 20, pids: BOX_PIDS_MAX, cpus };
}

/** The directories of one box cgroup (one per v1 hierarchy, or one for v2); undefined where this host has none we can use. */
export function cgroupDirs(name: string): string[] | undefined {
  if (fs.existsSync(path.join(ROOT, 'cgroup.controllers'))) return [path.join(ROOT, 'boxlite', name)];
  const own = ownV1Paths();
  const dirs = ['memory', 'pids', 'cpu'].map((c) => own.get(c) && path.join(ROOT, c, own.get(c)!, 'boxlite', name));
  return dirs.every((d): d is string => d !== undefined && fs.existsSync(path.dirname(path.dirname(d)))) ? dirs : undefined;
}

/**
 * Creates the cgroup `name` with `limits`; returns its directories, or why there is none (no cgroup
 * filesystem, not writable by this user).
 */
export function createBoxCgroup(name: string, limits: CgroupLimits): { dirs: string[] } | { unavailable: string } {
  const dirs = cgroupDirs(name);
  if (!dirs) return { unavailable: `no cgroup hierarchy with the memory, pids and cpu controllers under ${ROOT}` };
  try {
    if (dirs.length === 1) {
      const dir = dirs[0]!;
      fs.mkdirSync(dir, { recursive: true });
      for (const parent of [ROOT, path.dirname(dir)]) fs.writeFileSync(path.join(parent, 'cgroup.subtree_control'), '+memory +pids +cpu');
      fs.writeFileSync(path.join(dir, 'memory.max'), String(limits.memoryBytes));
      if (fs.existsSync(path.join(dir, 'memory.swap.max'))) fs.writeFileSync(path.join(dir, 'memory.swap.max'), '0'); // only with swap accounting
      fs.writeFileSync(path.join(dir, 'pids.max'), String(limits.pids));
      fs.writeFileSync(path.join(dir, 'cpu.max'), `${limits.cpus * CPU_PERIOD_US} ${CPU_PERIOD_US}`);
    } else {
      const [memory, pids, cpu] = dirs as [string, string, string];
      for (const d of dirs) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(memory, 'memory.limit_in_bytes'), String(limits.memoryBytes));
      fs.writeFileSync(path.join(pids, 'pids.max'), String(limits.pids));
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
      fs.writeFileSync(path.join(cpu, 'cpu.cfs_quota_us'), String(limits.cpus * CPU_PERIOD_US));
    }
    return { dirs };
  } catch (err) {
    removeCgroupDirs(dirs, 0);
    return { unavailable: `cannot set up a cgroup in ${dirs[0]}: ${(err as Error).message}` };
  }
}

/**
 * Removes a box cgroup's directories (as createBoxCgroup returned them: another process may have made them, in
 * its own v1 cgroup) once its processes are gone; they are killed first, and this waits up to `waitMs` for the
 * kernel to empty it. Returns the directories that could not be removed.
 */
export function removeCgroupDirs(dirs: readonly string[], waitMs = 2000): string[] {
  const left: string[] = [];
  for (const dir of dirs) {
    for (const deadline = Date.now() + waitMs; ;) {
      try {
        fs.rmdirSync(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > deadline) {
          left.push(dir);
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
      }
    }
  }
  return left;
}

/** The box cgroups under this process's own cgroup, by name (to find those left by boxes that are gone). */
export function boxCgroupNames(): string[] {
  const dirs = cgroupDirs('x');
  if (!dirs) return [];
  try {
    return fs.readdirSync(path.dirname(dirs[0]!), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

// This process's cgroup path in each v1 hierarchy, by controller (from /proc/self/cgroup).
function ownV1Paths(): Map<string, string> {
  const out = new Map<string, string>();
  let text = '';
  try { text = fs.readFileSync('/proc/self/cgroup', 'utf8'); } catch { return out; }
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]+):(.*)$/.exec(line);
    if (!m) continue;
    for (const c of m[1]!.split(',')) out.set(c, m[2]!);
  }
  return out;
}
