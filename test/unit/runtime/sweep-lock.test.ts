// Recovery's sweeps run under the box's lock: a start in another process cannot begin while a box's cgroup or
// policy table is being removed, and a box being started or stopped by a live process is not swept at all.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteRuntime } from '../../../src/runtime/runtime.js';
import type { BoxLifecycle } from '../../../src/runtime/lifecycle.js';
import type { BoxStore } from '../../../src/state/box-store.js';
import { runtimeIdentity } from '../../../src/state/process-identity.js';
import { busyboxRootfs } from '../../fixtures/rootfs.js';

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-sweep-'));
const runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
after(async () => { await runtime.close(); fs.rmSync(home, { recursive: true, force: true }); });
// The runtime's own store and lifecycle: what recovery sweeps with.
const internals = runtime as unknown as { store: BoxStore; lifecycle: BoxLifecycle };

test('a sweep holds the box lock: another process cannot start the box meanwhile, and a locked box is not swept', async () => {
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false });
  const id = box.id.asStr();
  const starter = runtimeIdentity(); // another runtime instance, alive: as a start in another process would be

  let duringSweep: boolean | undefined;
  assert.equal(internals.lifecycle.sweepIfIdle(id, () => { duringSweep = internals.store.tryLock(id, starter); }), true);
  assert.equal(duringSweep, false, 'a start could not take the lock while the sweep ran');
  assert.equal(internals.store.tryLock(id, starter), true, 'the sweep released the lock');

  let swept = false;
  assert.equal(internals.lifecycle.sweepIfIdle(id, () => { swept = true; }), false);
  assert.equal(swept, false, 'a box being started (locked by a live process) is not swept');
  internals.store.unlock(id, starter);

  assert.equal(internals.lifecycle.sweepIfIdle('01NOSUCHBOX0000000000000000', () => { swept = true; }), true);
  assert.equal(swept, true, 'what a box without a row left is swept');
});
