// The program behind a jailer's supervisor: with a pid namespace, the recorded process is the jailer, its one child the VMM.
import fs from 'node:fs';
import path from 'node:path';
import { LAUNCHER_BINARY } from '../setup/launcher-build.js';

/** `pid` itself, or, when it is the jailer supervising a program in a pid namespace, that program's pid. */
export function confinedProgram(pid: number): number {
  try {
    if (path.basename(fs.readlinkSync(`/proc/${pid}/exe`)) !== LAUNCHER_BINARY) return pid;
    const children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length === 1 ? Number(children[0]) : pid;
  } catch {
    return pid; // gone, or not ours to read
  }
}
