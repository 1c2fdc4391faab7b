// Host processes of a bench's boxes: found by their command lines, measured from /proc.
import fs from 'node:fs';
import { BoxPaths } from '../src/runtime/box-paths.js';

/** Every pid in /proc. */
export const pids = (): number[] => fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);

/** The processes whose command line mentions `marker`. */
export function processesWith(marker: string): number[] {
  return pids().filter((pid) => {
    try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker); } catch { return false; }
  });
}

/** Proportional set size of `pid` (shared pages divided among their users), from /proc/<pid>/smaps_rollup. */
export function pssOf(pid: number): number {
  try {
    const kb = /^Pss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch { return 0; /* the process ended */ }
}

/** The PSS in bytes of all of a box's host processes (QEMU, passt, their supervisors). */
export function boxPss(homeDir: string, boxId: string): number {
  return [...new Set([...processesWith(boxId), ...processesWith(new BoxPaths(homeDir, boxId).networkSocket)])].reduce((n, p) => n + pssOf(p), 0);
}
