// A box's helper processes (passt, virtiofsd): their death fails the box, whoever watches it; and neither they nor
// QEMU inherit the embedding program's descriptors.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { isRecordedProcess } from '../../src/state/box-processes.js';
import { BoxStore } from '../../src/state/box-store.js';
import { openStateDb } from '../../src/state/db.js';
import { orTimeout } from '../../src/util/timeout.js';
import { busyboxBox, TEST_HOME } from '../helpers/boxes.js';
import { boxChild, cleanUpChildren, freshHome as newHome, recordedProcesses, type BoxChild } from '../helpers/box-children.js';
import { confinedPid, fdTargets } from '../helpers/jailed.js';
import { findGuestArtifacts } from '../../src/setup/index.js';

const children: ChildProcess[] = [];
const homes: string[] = [];
/** Longer than any product deadline involved: a call still pending then hangs. */
const HANG_MS = 60_000;

after(() => cleanUpChildren(children, homes));



// Homes of the tests' own; their processes are box-process fixtures (`leak`: a file open as fds 40 and 200).
const freshHome = (): string => newHome('boxlite-helpers-', homes);
const child = (home: string, args: string[], leak?: string): BoxChild => boxChild(home, args, children, leak);
const recorded = recordedProcesses;

test('hostile review #8: passt killed under a box another process started: the box is failed naming passt, and a pending call rejects', async () => {
  const home = freshHome();
  const c = child(home, ['detached', 'net-victim']);
  const { boxId } = await c.next() as { boxId: string };
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const box = (await rt.get(boxId))!;
    const pending = box.run(new BoxCommand('sleep').arg('600')).then((r) => r.wait());
    const passt = recorded(home, boxId).find((p) => p.kind === 'network')!;
    assert.ok(passt, 'passt is recorded');
    await new Promise((r) => setTimeout(r, 500)); // the command is running in the guest
    assert.ok(isRecordedProcess(passt), 'the recorded passt is found by pid, start time and command line');
    assert.equal((await rt.getInfo(boxId))?.status, BoxStatus.Running, 'the box runs until passt dies');
    process.kill(passt.pid, 'SIGKILL');
    const outcome = await orTimeout(pending.then(() => 'resolved', (e: unknown) => e), HANG_MS, 'hung');
    assert.ok(BoxliteError.is(outcome), `the call rejected: ${String(outcome)}`);
    assert.match(outcome.message, /network process \(passt\) exited unexpectedly/);
    const info = await rt.getInfo(boxId);
    assert.equal(info?.status, BoxStatus.Stopped);
    assert.match(info?.lastError ?? '', /network process \(passt\) exited unexpectedly/);
    assert.equal(recorded(home, boxId).length, 0, 'its other processes were ended and forgotten');
  } finally {
    await rt.close();
  }
});

test('hostile review #8: virtiofsd killed under a running box: the box is failed naming the volume, and guest I/O on it rejects', async () => {
  const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-volume-'));
  try {
    const box = await busyboxBox({ volumes: [{ hostPath: shared, guestPath: '/vol' }], autoRemove: false });
    await box.start();
    const db = openStateDb(TEST_HOME);
    const virtiofsd = new BoxStore(db).processes.of(box.id.asStr()).find((p) => p.kind.startsWith('volume:'));
    db.close();
    assert.ok(virtiofsd && isRecordedProcess(virtiofsd), 'virtiofsd is recorded and found by pid, start time and command line');
    process.kill(virtiofsd.pid, 'SIGKILL');
    const io = box.run(new BoxCommand('sh').args(['-c', 'sleep 1; ls /vol; echo x > /vol/f'])).then((r) => r.wait());
    const outcome = await orTimeout(io.then(() => 'resolved', (e: unknown) => e), HANG_MS, 'hung');
    assert.ok(BoxliteError.is(outcome), `the call rejected: ${String(outcome)}`);
    assert.equal(box.info().status, BoxStatus.Stopped);
    assert.match(box.info().lastError ?? '', new RegExp(`file server of volume ${shared} \\(virtiofsd\\) exited unexpectedly`));
  } finally {
    fs.rmSync(shared, { recursive: true, force: true });
  }
});

test('hostile review #12: QEMU, passt and virtiofsd inherit no descriptor of the embedding process (none to the state database)', async () => {
  const home = freshHome();
  const volume = fs.mkdtempSync(path.join(home, 'vol-'));
  const secret = path.join(home, 'embedder-secret');
  fs.writeFileSync(secret, 'not for the box\n');
  const c = child(home, ['start', 'fds', 'owned', volume], secret);
  const { boxId } = await c.next() as { boxId: string };
  await c.next(); // started
  const leaked = [40, 200].map((fd) => fs.readlinkSync(`/proc/${c.proc.pid}/fd/${fd}`));
  assert.deepEqual(leaked, [secret, secret], 'the embedding process holds the descriptors');
  const procs = recorded(home, boxId);
  assert.deepEqual(procs.map((p) => p.kind).sort(), ['network', 'vmm', 'volume:vol0'].sort());
  for (const p of procs) {
    // The confined program itself (behind the jailer's supervisor, with a pid namespace), and the supervisor.
    const fds = [...fdTargets(p.pid), ...fdTargets(confinedPid(p.pid, findGuestArtifacts().launcherPath))];
    assert.ok(fds.length > 3, `${p.kind} is inspected (${fds.length} fds)`);
    for (const l of leaked) assert.ok(!fds.includes(l), `${p.kind} (pid ${p.pid}) does not hold the embedder's ${l}: ${fds.join(', ')}`);
    assert.ok(!fds.some((f) => f.includes(path.join(home, 'db'))), `${p.kind} holds no descriptor of the state database: ${fds.join(', ')}`);
  }
  c.proc.kill('SIGKILL');
});
