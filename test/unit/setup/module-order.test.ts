// Module load order from modules.dep and modules.builtin text: dependencies first, built-ins skipped, each once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GUEST_MODULES, moduleName, parseModulesBuiltin, parseModulesDep, resolveModuleOrder } from '../../../src/setup/module-order.js';

// As depmod writes it: every (transitive) dependency, the last one to be loaded first.
const DEP = `
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/net/core/failover.ko:
kernel/drivers/net/net_failover.ko: kernel/net/core/failover.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/net/net_failover.ko kernel/net/core/failover.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/fuse/fuse.ko:
kernel/fs/fuse/virtiofs.ko: kernel/fs/fuse/fuse.ko kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/arch/x86/crypto/crc32c-intel.ko.xz:
kernel/lib/libcrc32c.ko:
kernel/fs/erofs/erofs.ko: kernel/lib/libcrc32c.ko
kernel/fs/overlayfs/overlay.ko:
kernel/drivers/char/hw_random/virtio-rng.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko
kernel/fs/ext4/ext4.ko: kernel/fs/jbd2/jbd2.ko kernel/fs/mbcache.ko kernel/lib/crc16.ko
kernel/fs/jbd2/jbd2.ko:
kernel/fs/mbcache.ko:
kernel/lib/crc16.ko:
kernel/crypto/crc32c_generic.ko:
`;

const names = (deps: string, builtin: string, wanted = GUEST_MODULES): string[] =>
  resolveModuleOrder(wanted, parseModulesDep(deps), parseModulesBuiltin(builtin)).load.map((m) => m.name);

describe('module order', () => {
  it('canonicalizes names: basename, no .ko/.ko.xz/.ko.zst, dashes as underscores', () => {
    assert.equal(moduleName('kernel/arch/x86/crypto/crc32c-intel.ko.xz'), 'crc32c_intel');
    assert.equal(moduleName('virtio-rng'), 'virtio_rng');
    assert.equal(moduleName('kernel/fs/erofs/erofs.ko.zst'), 'erofs');
  });

  it('loads everything in the wanted order, each dependency before its users, when nothing is built in', () => {
    assert.deepEqual(names(DEP, ''), [
      'virtio_ring', 'virtio', 'virtio_mmio', 'virtio_blk', 'failover', 'net_failover', 'virtio_net', 'virtio_console',
      'fuse', 'virtiofs', 'crc32c_generic', 'crc32c_intel', 'libcrc32c', 'erofs', 'overlay', 'virtio_rng',
      'crc16', 'mbcache', 'jbd2', 'ext4',
    ]);
  });

  it('keeps the path modules.dep gives (compressed or not)', () => {
    const order = resolveModuleOrder([{ name: 'crc32c-intel' }], parseModulesDep(DEP), new Set());
    assert.deepEqual(order.load, [{ name: 'crc32c_intel', path: 'kernel/arch/x86/crypto/crc32c-intel.ko.xz' }]);
  });

  it('skips built-in modules and reports them (ext4 built in, as in Debian cloud 6.1)', () => {
    const builtin = 'kernel/fs/mbcache.ko\nkernel/fs/ext4/ext4.ko\nkernel/fs/jbd2/jbd2.ko\nkernel/crypto/crc32c_generic.ko\nkernel/lib/crc16.ko\n';
    const order = resolveModuleOrder(GUEST_MODULES, parseModulesDep(DEP), parseModulesBuiltin(builtin));
    assert.deepEqual(order.builtin, ['crc32c_generic', 'ext4']);
    assert.equal(order.load.length, 15);
    assert.equal(order.load.at(-1)!.name, 'virtio_rng');
    assert.ok(!order.load.some((m) => ['ext4', 'jbd2', 'mbcache', 'crc16'].includes(m.name)));
  });

  it('pulls in dependencies that were not asked for, before the module that needs them', () => {
    assert.deepEqual(names(DEP, '', [{ name: 'virtio_net' }]), ['virtio_ring', 'virtio', 'failover', 'net_failover', 'virtio_net']);
    assert.deepEqual(names(DEP, '', [{ name: 'erofs' }, { name: 'libcrc32c' }]), ['libcrc32c', 'erofs']);
  });

  it('leaves out an optional module the kernel lacks, and names a required one', () => {
    const dep = 'kernel/fs/overlayfs/overlay.ko:\n';
    const order = resolveModuleOrder([{ name: 'crc32c-intel', optional: true }, { name: 'overlay' }], parseModulesDep(dep), new Set());
    assert.deepEqual(order.absent, ['crc32c_intel']);
    assert.deepEqual(order.load.map((m) => m.name), ['overlay']);
    assert.throws(() => resolveModuleOrder([{ name: 'erofs' }], parseModulesDep(dep), new Set(), 'kernel 6.1-test'),
      { code: 'Config', message: /kernel 6\.1-test has no module "erofs"/ });
  });

  it('reports a missing dependency with the module that needs it', () => {
    assert.throws(() => names('a.ko: b.ko\n', '', [{ name: 'a' }]), { message: /no module "b" \(needed by a\)/ });
  });

  it('rejects a dependency cycle instead of looping', () => {
    assert.throws(() => names('a.ko: b.ko\nb.ko: a.ko\n', '', [{ name: 'a' }]), { code: 'Config', message: /cycle.*a -> b -> a/ });
  });
});
