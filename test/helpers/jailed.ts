// What /proc says about a box's host processes: the confined program behind a supervising jailer, and its status.
import fs from 'node:fs';
import path from 'node:path';
import { confinedProgram } from '../../src/jailer/supervisor.js';

/** The program a recorded pid runs: itself, or, when it is this home's jailer supervising it (a pid namespace), its child. */
export function confinedPid(pid: number, launcherPath: string): number {
  const program = confinedProgram(pid);
  if (fs.readlinkSync(`/proc/${pid}/exe`) === fs.realpathSync(launcherPath) && program === pid) throw new Error(`supervisor ${pid} has no one child`);
  return program;
}

/** The fields of /proc/<pid>/status, by name, whitespace squeezed. */
export function procStatus(pid: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1).trim().replace(/\s+/g, ' ');
  }
  return out;
}

/** Which of a process's namespaces differ from this test process's. */
export function ownNamespaces(pid: number): string[] {
  return ['mnt', 'pid', 'ipc', 'uts', 'net', 'user'].filter((ns) => fs.readlinkSync(`/proc/${pid}/ns/${ns}`) !== fs.readlinkSync(`/proc/self/ns/${ns}`));
}

/** Where a process's descriptors lead. */
export function fdTargets(pid: number): string[] {
  return fs.readdirSync(`/proc/${pid}/fd`).map((fd) => {
    try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { return ''; }
  });
}

/** A process's environment variable names. */
export function environNames(pid: number): string[] {
  return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((e) => e.split('=')[0]!);
}

/** The soft and hard value of one row of /proc/<pid>/limits ("Max open files"). */
export function limitOf(pid: number, name: string): [string, string] {
  const line = fs.readFileSync(`/proc/${pid}/limits`, 'utf8').split('\n').find((l) => l.startsWith(name));
  const cols = line!.slice(name.length).trim().split(/\s+/);
  return [cols[0]!, cols[1]!];
}

/** Whether `hostPath` can be seen through the process's root (its jail). */
export function seesInItsRoot(pid: number, hostPath: string): boolean {
  return fs.existsSync(path.join(`/proc/${pid}/root`, hostPath));
}

/** The capability bits of a CapXxx status value. */
export const capBits = (hex: string): bigint => BigInt(`0x${hex}`);
