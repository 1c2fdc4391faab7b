// A state database lost under a running detached box: noticed by the runtime that had it open and by every later one,
// naming the file and the box's VM, and recoverable from the copy saved for that purpose; the VM is never orphaned.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME } from '../helpers/boxes.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-lostdb-'));
for (const d of ['guest', 'host']) fs.symlinkSync(path.join(TEST_HOME, d), path.join(home, d)); // the guest and the jailer it names
const file = path.join(home, 'db', 'boxlite.db');
const vmPids: number[] = [];

// The VM is detached: whatever the test got to, it is killed here, found by its command line naming this home.
after(() => {
  for (const pid of vmPids) if (vmOfHome(pid)) process.kill(pid, 'SIGKILL');
  fs.rmSync(home, { recursive: true, force: true });
});

function vmOfHome(pid: number): boolean {
  try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(home); } catch { return false; }
}

const databaseError = (re: RegExp) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e) && e.code === 'Database', String(e));
  assert.ok(e.message.includes(file), `names the file: ${e.message}`);
  assert.match(e.message, re);
  return true;
};

test('hostile review #10: a database deleted under a running detached box is noticed, names the VM, and the box is recovered, not hidden', async () => {
  const first = new BoxliteRuntime({ homeDir: home, snapshots: false });
  const box = await first.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, detach: true, autoRemove: false }, 'keeper');
  await box.start();
  const pid = (await first.getInfo('keeper'))!.pid!;
  vmPids.push(pid);
  for (const f of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(f, { force: true });

  // The runtime that had it open: its next call fails, and what it still held is saved.
  let saved = '';
  await assert.rejects(first.listInfo(), (e: unknown) => {
    databaseError(/was deleted while this runtime had it open/)(e);
    saved = /saved to (\S+):/.exec((e as Error).message)?.[1] ?? '';
    return true;
  });
  assert.ok(fs.existsSync(saved), `the copy ${saved} exists`);
  await first.close().catch(databaseError(/was deleted/));

  // A new runtime does not start empty over the lost boxes: it names the box and its running VM.
  assert.throws(() => new BoxliteRuntime({ homeDir: home, snapshots: false }),
    databaseError(new RegExp(`is missing, but .* holds 1 box directory \\(${box.id.asStr()}\\); the VMs of ${box.id.asStr()} \\(pid ${pid}\\) are still running`)));
  assert.ok(vmOfHome(pid), 'the VM was left running, not killed by recovery');

  // The way out the first error named: the saved copy put back, the box is found running and can be removed.
  fs.renameSync(saved, file);
  const again = new BoxliteRuntime({ homeDir: home, snapshots: false });
  try {
    assert.deepEqual((await again.listInfo()).map((i) => [i.name, i.status.toString(), i.pid]), [['keeper', 'running', pid]]);
    await again.remove('keeper', true);
    assert.equal(vmOfHome(pid), false, 'its VM is gone');
  } finally {
    await again.close();
  }
});
