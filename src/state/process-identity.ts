// Identifies processes across pid reuse (pid + start time) and host reboots (boot id), from /proc.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

/**
 * A process as (pid, start time in clock ticks since boot): a reused pid has another start time. `instance`
 * tells runtimes of one process apart (lock and portal-claim holders); the process's death still ends them.
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly start: number;
  readonly instance?: string;
}

/** The start time of `pid` (field 22 of /proc/<pid>/stat), or undefined if there is no such process. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** This process's identity. */
export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, start: processStartTime(process.pid) ?? 0 };
}

/** This process's identity as one runtime instance: its own lock and portal-claim holder, ended with the process. */
export function runtimeIdentity(): ProcessIdentity {
  return { ...selfIdentity(), instance: randomBytes(8).toString('hex') };
}

/** True when the process that had this identity is still running (not a new process that reuses its pid). */
export function isAlive(id: ProcessIdentity | undefined): boolean {
  if (!id) return false;
  const start = processStartTime(id.pid);
  return start !== undefined && start === id.start && !isZombie(id.pid);
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return false;
  }
}

/** "pid:start" or "pid:start:instance", the form stored in lock and claim columns. */
export function formatIdentity(id: ProcessIdentity): string {
  return `${id.pid}:${id.start}${id.instance ? `:${id.instance}` : ''}`;
}

/** Parses "pid:start[:instance]"; undefined when malformed. */
export function parseIdentity(s: string | null | undefined): ProcessIdentity | undefined {
  const m = /^(\d+):(\d+)(?::([0-9a-f]+))?$/.exec(s ?? '');
  if (!m) return undefined;
  return m[3] ? { pid: Number(m[1]), start: Number(m[2]), instance: m[3] } : { pid: Number(m[1]), start: Number(m[2]) };
}

/** The kernel's id of the current boot; boxes recorded as running under another boot id are not running. */
export function currentBootId(): string {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown';
  }
}

/** The command line of `pid` (arguments joined by NUL), or undefined when there is no such process. */
export function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

/** The processes (but this one and init) whose command line contains one of `markers`, from /proc. */
export function processesNaming(markers: readonly string[]): Array<{ pid: number; cmdline: string }> {
  let entries: string[];
  try { entries = fs.readdirSync('/proc'); } catch { return []; }
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) continue;
    const cmdline = commandLine(pid);
    if (cmdline !== undefined && markers.some((m) => cmdline.includes(m))) found.push({ pid, cmdline });
  }
  return found;
}
