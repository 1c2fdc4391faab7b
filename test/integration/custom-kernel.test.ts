// A box on the purpose-built kernel: it boots, runs commands, and has the namespaces, cgroup v2 and filesystems boxes use.
// Builds the custom kernel into the shared cache first when it is missing (minutes, once per machine).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { sh, TEST_HOME } from '../helpers/boxes.js';

describe('the custom guest kernel', () => {
  let runtime: BoxliteRuntime;
  let box: LiteBox;
  before(async () => {
    runtime = new BoxliteRuntime({ homeDir: TEST_HOME, kernel: 'custom' });
    box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
  });
  after(async () => {
    await box?.stop().catch(() => undefined);
    if (box && await runtime.exists(box.id.asStr())) await runtime.remove(box.id.asStr(), true).catch(() => undefined);
    await runtime?.close();
  });

  it('boots a box that runs a command, and says which kernel it booted', async () => {
    const r = await sh(box, 'echo hello; uname -r');
    assert.equal(r.exitCode, 0, r.stderr);
    const [hello, release] = r.stdout.trim().split('\n');
    assert.equal(hello, 'hello');
    assert.deepEqual(box.kernel, { version: release, flavor: 'custom' });
    assert.match(release!, /-boxlite$/);
    assert.deepEqual((await runtime.getInfo(box.id.asStr()))?.kernel, { version: release, flavor: 'custom' });
  });

  it('has the filesystems boxes mount built in, and cgroup v2', async () => {
    const fss = new Set((await sh(box, 'cat /proc/filesystems')).stdout.split('\n').map((l) => l.trim().split(/\s+/).pop()));
    for (const fs of ['overlay', 'fuse', 'virtiofs', 'erofs', 'cgroup2', 'ext4', 'tmpfs', 'devtmpfs', 'devpts', 'proc', 'sysfs']) {
      assert.ok(fss.has(fs), `/proc/filesystems lacks ${fs}: ${[...fss].join(' ')}`);
    }
  });

  it('has user, pid, mount, network, ipc and uts namespaces', async () => {
    // The box itself may not mount (no CAP_SYS_ADMIN, a masked /proc): a user namespace gives each of the others.
    const r = await sh(box, 'unshare -U true && echo user; unshare -Urpf true && echo pid; unshare -Urm true && echo mnt; ' +
      'unshare -Urn true && echo net; unshare -Uri true && echo ipc; unshare -Uru true && echo uts');
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['user', 'pid', 'mnt', 'net', 'ipc', 'uts']);
  });
});
