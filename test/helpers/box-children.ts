// Test homes of their own and host processes that drive boxes in them (test/fixtures/box-process.ts), for tests
// of several processes, owners that die and recovery.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import type { BoxProcess } from '../../src/state/box-processes.js';
import { BoxStore } from '../../src/state/box-store.js';
import { openStateDb } from '../../src/state/db.js';
import { TEST_HOME } from './boxes.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';

/** The compiled box-process fixture. */
export const BOX_CHILD = fileURLToPath(new URL('../fixtures/box-process.js', import.meta.url));

/** A new home dir (pushed to `homes` for cleanup) sharing the set-up guest kernel of the test home. */
export function freshHome(prefix: string, homes: string[]): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.symlinkSync(path.join(TEST_HOME, 'guest'), path.join(home, 'guest'));
  homes.push(home);
  return home;
}

/** A running box-process fixture and the JSON lines it prints, one per `next()`. */
export interface BoxChild {
  proc: ChildProcess;
  next(): Promise<Record<string, unknown>>;
}

/**
 * Runs the box-process fixture on `home` with `args` (pushed to `children` for cleanup). With `leak`, it inherits
 * that file open as fds 40 and 200 without close-on-exec, as from an embedding program.
 */
export function boxChild(home: string, args: string[], children: ChildProcess[], leak?: string): BoxChild {
  const [cmd, argv] = leak
    ? ['bash', ['-c', 'exec 40<"$1" 200<"$1"; shift; exec "$@"', 'bash', leak, process.execPath, BOX_CHILD, ...args]]
    : [process.execPath, [BOX_CHILD, ...args]];
  const proc = spawn(cmd, argv, { env: { ...process.env, BOXLITE_HOME: home }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(proc);
  const lines = readline.createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    next: async () => {
      const l = await lines.next();
      if (l.done) throw new Error(`child ${args.join(' ')} exited without output (code ${proc.exitCode})`);
      return JSON.parse(l.value) as Record<string, unknown>;
    },
  };
}

/** The processes recorded for a box in a home's database (read with a connection of the test's own). */
export function recordedProcesses(home: string, boxId: string): BoxProcess[] {
  const db = openStateDb(home);
  try { return new BoxStore(db).processes.of(boxId); } finally { db.close(); }
}

/** Kills the fixture children, removes every box of the homes (stopping their VMs) and deletes the homes. */
export async function cleanUpChildren(children: ChildProcess[], homes: string[]): Promise<void> {
  for (const c of children) c.kill('SIGKILL');
  for (const home of homes) {
    const rt = new BoxliteRuntime({ homeDir: home });
    for (const info of await rt.listInfo()) await rt.remove(info.id.asStr(), true).catch(() => undefined);
    await rt.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/** A busybox box shape kept when stopped, for tests on homes of their own. */
export const KEPT_SHAPE = { rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false };

/** A runtime on `home`, pushed to `runtimes` to close at the end. */
export function runtimeOn(home: string, runtimes: BoxliteRuntime[]): BoxliteRuntime {
  const r = new BoxliteRuntime({ homeDir: home });
  runtimes.push(r);
  return r;
}

/** Runs a shell script in `box`, which must succeed; its stdout, trimmed. */
export async function shOk(box: LiteBox, script: string): Promise<string> {
  const r = await box.sh(script);
  assert.equal(r.exitCode, 0, `\`${script}\` failed: ${String(r.stderr)}`);
  return String(r.stdout).trim();
}
