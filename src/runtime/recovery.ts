// Recovery when a runtime opens: reconcile boxes whose VM is gone, and clean leftovers and temp files.
import fs from 'node:fs';
import path from 'node:path';
import { asBoxliteError, BoxliteError } from '../errors.js';
import type { BoxStore } from '../state/box-store.js';
import { isAlive } from '../state/process-identity.js';
import { BoxPaths } from './box-paths.js';
import { sweepJails } from '../jailer/box-jail.js';
import { policyTable, policyTables, removeRuleset } from '../vmm/network/nftables.js';
import type { BoxLifecycle } from './lifecycle.js';

/** What recovery did, for diagnostics. */
export interface RecoveryReport {
  /**
   * Boxes whose state changed: recorded as active with their VM gone (or a helper dead), or left behind by a
   * start or stop whose process died; now Stopped, or removed when auto-removing. Their leftover processes ended.
   */
  reconciled: string[];
  /** Box directories without a box, and stale temp files, that were deleted. */
  cleaned: string[];
  /** Boxes that could not be brought to a consistent state (their files could not be removed), with why. */
  failed: Array<{ boxId: string; error: BoxliteError }>;
}

/** @internal Brings the home dir to a consistent state. Safe while other processes use it. */
export function recover(homeDir: string, store: BoxStore, lifecycle: BoxLifecycle): RecoveryReport {
  const report: RecoveryReport = { reconciled: [], cleaned: [], failed: [] };
  for (const rec of store.list()) {
    // One box that cannot be cleaned up must not keep the runtime from opening: it is tried again on its next read.
    try {
      // Read again: a start or stop in another process may have changed the box since the list was read.
      const after = lifecycle.reconcile(store.get(rec.id));
      if (!after || after.status !== rec.status) report.reconciled.push(rec.id);
    } catch (err) {
      if (BoxliteError.is(err) && err.code === 'Database') throw err;
      report.failed.push({ boxId: rec.id, error: asBoxliteError(err, `recovering box ${rec.id}`, homeDir) });
    }
  }
  const boxesDir = path.join(homeDir, 'boxes');
  for (const entry of safeReaddir(boxesDir)) {
    const dir = path.join(boxesDir, entry);
    // A directory is made after its row exists (at start), or just before its row (a clone's, which holds its disk
    // copy before the box may start), so one without a row for a minute is a leftover.
    if (!store.get(entry) && olderThan(dir, 60_000)) {
      fs.rmSync(dir, { recursive: true, force: true });
      report.cleaned.push(dir);
      continue;
    }
    for (const f of safeReaddir(dir)) {
      const m = /\.tmp-(\d+)$/.exec(f);
      if (m && !isAlive({ pid: Number(m[1]), start: startOrZero(Number(m[1])) })) {
        fs.rmSync(path.join(dir, f), { force: true });
        report.cleaned.push(path.join(dir, f));
      }
    }
  }
  for (const dir of BoxPaths.leftoverSocketDirs(homeDir, (id) => store.get(id) !== undefined)) {
    fs.rmSync(dir, { recursive: true, force: true });
    report.cleaned.push(dir);
  }
  // A box's jail, cgroup and policy table are swept only under its lock, while it is idle: a box being started or
  // stopped by a live process holds that lock (its cgroup may be empty yet), and a start waits for the sweep.
  report.cleaned.push(...sweepJails(homeDir, { sweepIfIdle: (id, sweep) => lifecycle.sweepIfIdle(id, sweep), isGone: (id) => !store.get(id) }));
  for (const boxId of policyTables(homeDir)) {
    lifecycle.sweepIfIdle(boxId, () => {
      removeRuleset(policyTable(homeDir, boxId));
      report.cleaned.push(`nftables table ${policyTable(homeDir, boxId)}`);
    });
  }
  // Temp files, and what a fork or an import whose process died left staged (a fork's RAM file can be large).
  for (const [dir, maxAgeMs] of [['tmp', 24 * 3600_000], ['forks', 6 * 3600_000], ['imports', 6 * 3600_000]] as const) {
    for (const f of safeReaddir(path.join(homeDir, dir))) {
      const p = path.join(homeDir, dir, f);
      if (olderThan(p, maxAgeMs)) {
        fs.rmSync(p, { recursive: true, force: true });
        report.cleaned.push(p);
      }
    }
  }
  return report;
}

function safeReaddir(dir: string): string[] {
  try { return fs.readdirSync(dir); } catch { return []; }
}

function olderThan(p: string, ms: number): boolean {
  try { return Date.now() - fs.statSync(p).mtimeMs > ms; } catch { return false; }
}

// A temp file names only its writer's pid; a live process with that pid counts as its writer.
function startOrZero(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return -1;
  }
}
