// The boxlite command line on failures: errors name the flag or the box and what to do, with a non-zero exit.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isAlive, processStartTime } from '../../src/state/process-identity.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME, testRuntime } from '../helpers/boxes.js';
import { boxlite } from '../helpers/cli.js';



describe('boxlite errors', () => {
  it('hostile review #11: `boxlite run --cpus abc` names the flag and the value', async () => {
    const r = await boxlite('run', '--cpus', 'abc', '--rootfs', busyboxRootfs(), '--', 'true');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidArgument: --cpus must be a whole number, got "abc"/);
    assert.doesNotMatch(r.stderr, /null/);
  });

  it('hostile review #11: `boxlite stop` of a box whose directory was deleted says so, exits non-zero, and leaves no VM', async () => {
    const started = await boxlite('run', '-d', '--rootfs', busyboxRootfs(), '--name', 'dir-deleted', '--', 'sleep', '600');
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const runtime = testRuntime();
    const pid = (await runtime.getInfo(id))!.pid!;
    const vm = { pid, start: processStartTime(pid)! };
    fs.rmSync(path.join(TEST_HOME, 'boxes', id), { recursive: true, force: true });
    try {
      const r = await boxlite('stop', 'dir-deleted');
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, new RegExp(`Storage: box ${id}: its directory .*${id} was deleted while it ran`));
      assert.match(r.stderr, /its VM was killed and the box is stopped; remove it with `boxlite rm/);
      assert.equal(isAlive(vm), false, 'the VM is gone');
      assert.equal((await runtime.getInfo(id))!.status.toString(), 'stopped');
    } finally {
      await runtime.remove(id, true).catch(() => undefined);
    }
  });
});
