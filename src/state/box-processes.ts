// The processes a box's start spawned (its VM, passt, each virtiofsd), recorded the moment each exists.
//
// A start can die anywhere (its process SIGKILLed); a detached box's helpers then outlive it. Each record holds
// what identifies the process as safely as a VM is identified: pid, start time, and a string its command line
// contains (a path of the box), so a reused pid is never taken for it.
import type { DbGuard } from './db-guard.js';
import type { StateDb } from './db.js';
import { commandLine, isAlive, processesNaming, type ProcessIdentity } from './process-identity.js';

/** One recorded process: `kind` is 'vmm', 'network' or 'volume:<tag>'. */
export interface BoxProcess extends ProcessIdentity {
  readonly kind: string;
  /** A string the process's command line contains. */
  readonly marker: string;
}

/** How long endAll waits for killed processes to be gone. */
const END_WAIT_MS = 2000;

/** The box_processes table. */
export class BoxProcesses {
  constructor(private readonly db: StateDb, private readonly guard: DbGuard) {}

  /** Records (or replaces) the process of `kind` of a box. */
  record(boxId: string, p: BoxProcess): void {
    this.guard.run(`recording the ${p.kind} process of box ${boxId}`, () => {
      this.db.prepare('INSERT OR REPLACE INTO box_processes (box_id, kind, pid, pid_start, marker) VALUES (?, ?, ?, ?, ?)')
        .run(boxId, p.kind, p.pid, p.start, p.marker);
    });
  }

  /** The recorded processes of a box. */
  of(boxId: string): BoxProcess[] {
    const rows = this.guard.run(`reading the processes of box ${boxId}`, () => this.db.prepare('SELECT kind, pid, pid_start, marker FROM box_processes WHERE box_id = ? ORDER BY kind')
      .all(boxId) as Array<{ kind: string; pid: number; pid_start: number; marker: string }>);
    return rows.map((r) => ({ kind: r.kind, pid: r.pid, start: r.pid_start, marker: r.marker }));
  }

  /** Kills every recorded process of a box that is still the one recorded, and forgets them all. */
  endAll(boxId: string): BoxProcess[] {
    const ended = this.of(boxId).filter((p) => isRecordedProcess(p));
    for (const p of ended) {
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* it just exited */ }
    }
    // Wait (briefly) until they are gone, so that a QEMU still starting up creates no file in a directory being removed.
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (const deadline = Date.now() + END_WAIT_MS; ended.some((p) => isAlive(p)) && Date.now() < deadline;) Atomics.wait(pause, 0, 0, 10);
    this.guard.run(`forgetting the processes of box ${boxId}`, () => this.db.prepare('DELETE FROM box_processes WHERE box_id = ?').run(boxId));
    return ended;
  }
}

/** True when `p` still runs: same pid and start time (not a zombie), and a command line naming its box. */
export function isRecordedProcess(p: BoxProcess): boolean {
  return isAlive(p) && (commandLine(p.pid)?.includes(p.marker) ?? false);
}

/**
 * Kills every process whose command line names one of `markers` (a box's own directory or socket paths, unique
 * per box): processes of a box that were started but never recorded (their starter died in between).
 */
export function endByMarkers(markers: readonly string[]): number {
  let ended = 0;
  for (const { pid } of processesNaming(markers)) {
    try { process.kill(pid, 'SIGKILL'); ended++; } catch { /* it just exited */ }
  }
  return ended;
}
