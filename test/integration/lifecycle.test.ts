// Box lifecycle on real VMs: start, stop, start again, two boxes at once, auto-remove, wrong-state calls.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { ContainerID } from '../../src/runtime/ids.js';
import { busyboxBox, sh, testRuntime, TEST_HOME } from '../helpers/boxes.js';

describe('box lifecycle', () => {
  it('creates Configured with no VM, runs Running, and reports the accelerator it chose', async () => {
    const box = await busyboxBox({ autoRemove: false }, `life-${process.pid}`);
    assert.equal(box.info().status, BoxStatus.Configured);
    assert.equal(box.info().pid, undefined);
    await box.start();
    await box.start(); // idempotent
    const info = box.info();
    assert.equal(info.status, BoxStatus.Running);
    assert.ok(info.pid && info.pid > 0);
    assert.ok(info.accelerator === 'kvm' || info.accelerator === 'tcg');
    assert.match(box.acceleratorReason!, /KVM|TCG/);
    const state = box.state();
    assert.equal(state.status, BoxStatus.Running);
    assert.equal(state.pid, info.pid);
    assert.ok(ContainerID.isValid(state.containerId!));
    assert.equal(state.lockId, undefined, 'no lock is held between operations');
    assert.equal(info.cpus, 1);
    assert.equal(info.memoryMib, 256);
    assert.equal((await testRuntime().get(`life-${process.pid}`))?.id.asStr(), box.id.asStr());
  });

  it('stops and starts again, keeping what the box wrote', async () => {
    const box = await busyboxBox({ autoRemove: false });
    await sh(box, 'echo kept > /root/note && sync');
    await box.stop();
    assert.equal(box.info().status, BoxStatus.Stopped);
    assert.equal(box.info().pid, undefined);
    await box.stop(); // idempotent
    await box.start();
    assert.equal((await sh(box, 'cat /root/note')).stdout, 'kept\n');
  });

  it('never writes to the rootfs directory it was built from', async () => {
    const box = await busyboxBox({ autoRemove: false });
    const r = await sh(box, 'echo x > /etc/new-file && rm /etc/passwd && echo done');
    assert.equal(r.stdout, 'done\n');
    const rootfs = box.info().image;
    assert.equal(fs.existsSync(path.join(rootfs, 'etc/new-file')), false);
    assert.equal(fs.existsSync(path.join(rootfs, 'etc/passwd')), true);
  });

  it('runs two boxes at once, isolated from each other', async () => {
    const [a, b] = await Promise.all([busyboxBox(), busyboxBox()]);
    await Promise.all([sh(a, 'echo A > /tmp/who'), sh(b, 'echo B > /tmp/who')]);
    const [ra, rb] = await Promise.all([sh(a, 'cat /tmp/who; hostname'), sh(b, 'cat /tmp/who; hostname')]);
    assert.equal(ra.stdout.split('\n')[0], 'A');
    assert.equal(rb.stdout.split('\n')[0], 'B');
    assert.notEqual(ra.stdout.split('\n')[1], rb.stdout.split('\n')[1]);
  });

  it('removes an auto-remove box (the default) and its files when it stops', async () => {
    const box = await busyboxBox();
    await sh(box, 'true');
    const dir = path.join(TEST_HOME, 'boxes', box.id.asStr());
    assert.ok(fs.existsSync(dir));
    await box.stop();
    assert.equal(fs.existsSync(dir), false);
    assert.equal(await testRuntime().exists(box.id.asStr()), false);
    await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'NotFound');
  });

  it('refuses to remove a running box without force, and stops it with force', async () => {
    const box = await busyboxBox({ autoRemove: false });
    await box.start();
    await assert.rejects(testRuntime().remove(box.id.asStr()), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'InvalidState' && /it is running; stop it first or pass force/.test(e.message));
    await testRuntime().remove(box.id.short(), true);
    assert.equal(await testRuntime().exists(box.id.asStr()), false);
  });

  it('rejects a second box with a taken name', async () => {
    await busyboxBox({}, `dup-${process.pid}`);
    await assert.rejects(busyboxBox({}, `dup-${process.pid}`), (e: unknown) => BoxliteError.is(e) && e.code === 'AlreadyExists');
  });
});
