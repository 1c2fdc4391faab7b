// Failures on real VMs: a VM that dies mid-run, missing set-up, a guest that cannot boot.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { busyboxBox, sh, TEST_HOME, testRuntime } from '../helpers/boxes.js';

describe('failures', () => {
  // Root in a box can no longer crash the guest kernel (sysrq-trigger is read-only, see box-root.test.ts), so the VM
  // is made to die from the host.
  it('a VM that dies mid-run makes pending calls reject promptly with the VM exit', async () => {
    const box = await busyboxBox({ autoRemove: false });
    const sleeper = await box.run(new BoxCommand('sleep').arg('1000'));
    const reader = sleeper.stdout()!.text();
    const started = Date.now();
    const pending = sh(box, 'sleep 1000');
    process.kill(box.info().pid!, 'SIGKILL');
    const isCrash = (e: unknown): boolean => BoxliteError.is(e) && e.code === 'Portal' && /the VM exited/.test(e.message);
    await assert.rejects(sleeper.wait(), isCrash);
    await assert.rejects(reader, isCrash);
    await assert.rejects(pending, isCrash);
    assert.ok(Date.now() - started < 30_000, 'rejected within the boot timeout, not hung');
    assert.equal(box.info().status, BoxStatus.Stopped);
    assert.match(box.info().lastError ?? '', /exited unexpectedly \(signal SIGKILL\)/);
    // The box can be started again after a crash.
    assert.equal((await sh(box, 'echo back')).stdout, 'back\n');
  });

  it('hostile review #11: memory the host cannot give fails fast in QEMU\'s words ("Cannot allocate memory"), not ECONNRESET after 60 s', async (t) => {
    const hostMib = Math.ceil(os.totalmem() / 2 ** 20);
    const memoryMib = hostMib + 8192;
    if (memoryMib > 65536) return t.skip(`this host has ${hostMib} MiB, so no allowed memoryMib (at most 65536) is more than it can give`);
    const overcommit = fs.readFileSync('/proc/sys/vm/overcommit_memory', 'utf8').trim();
    if (overcommit === '1') return t.skip('vm.overcommit_memory is 1: the kernel grants any allocation, so QEMU would start');
    // A home of its own (sharing the set-up guest): the failed template of this shape stays out of the test home.
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-bigmem-'));
    fs.symlinkSync(path.join(TEST_HOME, 'guest'), path.join(home, 'guest'));
    const runtime = new BoxliteRuntime({ homeDir: home });
    try {
      const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib, autoRemove: false });
      const began = Date.now();
      await assert.rejects(box.start(), (e: unknown) => {
        assert.ok(BoxliteError.is(e) && e.code === 'Engine', String(e));
        assert.match(e.message, /the VM exited \(code 1\); QEMU said: .*Cannot allocate memory/);
        assert.doesNotMatch(e.message, /ECONNRESET/);
        return true;
      });
      assert.ok(Date.now() - began < 30_000, 'failed at once, not at the boot timeout');
    } finally {
      await runtime.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('names the cacheDir option when the shared guest cache cannot be made', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-nocache-'));
    const cacheDir = path.join(home, 'not-a-dir');
    fs.writeFileSync(cacheDir, '');
    const runtime = new BoxliteRuntime({ homeDir: home, cacheDir });
    try {
      const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } });
      await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Config'
        && e.message.includes(`cannot create the shared cache dir ${cacheDir}`) && /cacheDir option or BOXLITE_CACHE_DIR/.test(e.message));
    } finally {
      await runtime.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('reports a guest that cannot boot (no /bin/sh is fine, but a broken root disk is not) with the console tail', async () => {
    const rootfs = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-badroot-'));
    const box = await testRuntime().create({ rootfs: { rootfsPath: rootfs }, cpus: 1, memoryMib: 256, autoRemove: false });
    try {
      await box.start();
      // An empty root boots (the agent mounts it), but there is nothing to run.
      await assert.rejects(box.run(new BoxCommand('sh')), (e: unknown) => BoxliteError.is(e) && e.code === 'Run' && /sh/.test(e.message));
    } finally {
      await testRuntime().remove(box.id.asStr(), true);
      fs.rmSync(rootfs, { recursive: true, force: true });
    }
  });

  it('box metrics count commands and errors', async () => {
    const box = await busyboxBox();
    await sh(box, 'true');
    await assert.rejects(box.run(new BoxCommand('missing-program')));
    const m = await box.metrics();
    assert.equal(m.commandsRunTotal, 2);
    assert.equal(m.runErrorsTotal, 1);
    assert.ok((await testRuntime().metrics()).numRunningBoxes >= 1);
  });
});
