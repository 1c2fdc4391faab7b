// info().config: the stored options shown as created, whitelisted, with defaults for boxes made before a field existed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configOf } from '../../../src/runtime/box-config.js';
import { resolveBoxOptions, type ResolvedBoxOptions } from '../../../src/runtime/options.js';

describe('box config', () => {
  it('shows env, volumes, ports, network and the shape as created', () => {
    const c = configOf(resolveBoxOptions({ rootfs: { image: 'alpine' }, env: [['A', '1'], ['A', '2']], user: 'nobody', network: { egress: 'none' } }));
    assert.deepEqual(c.env, { A: '2' }, 'the later of two values wins, as in the command');
    assert.deepEqual([c.rootfs, c.cpus, c.memoryMib, c.diskSizeGb, c.user, c.workingDir, c.network], [{ image: 'alpine' }, 2, 512, 10, 'nobody', undefined, { egress: 'none' }]);
    assert.deepEqual(configOf(resolveBoxOptions({ rootfs: { image: 'alpine' }, ports: [{ guestPort: 80, hostIp: '127.0.0.1' }] })).ports, [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 80 }]);
  });

  it('shows nothing of the stored options it does not name, and defaults for old boxes', () => {
    const old = { cpus: 1, memoryMib: 256, diskSizeGb: 10, workingDir: undefined, env: [], rootfs: { rootfsPath: '/r' }, autoRemove: true, detach: false, labels: {}, accelerator: 'auto', secret: 'x' } as unknown as ResolvedBoxOptions;
    const c = configOf(old);
    assert.deepEqual([c.volumes, c.ports, c.network], [[], [], { egress: 'all' }]);
    assert.equal(JSON.stringify(c).includes('secret'), false);
  });
});
