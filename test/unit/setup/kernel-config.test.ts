// The custom kernel's config checks and flavor choice: fragment options Kconfig dropped, keys, and where the flavor comes from.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { customKernelKey, DEFAULT_KERNEL_CONFIG, kernelConfigHash } from '../../../src/setup/kernel-build.js';
import { parseKconfig, unmetConfig } from '../../../src/setup/kernel-config.js';
import { DEFAULT_KERNEL_FLAVOR, readKernelChoice, saveKernelChoice, wantedKernelFlavor } from '../../../src/setup/kernel-flavor.js';

describe('kernel config text', () => {
  it('reads set, string and not-set options, ignoring comments', () => {
    const m = parseKconfig('# a comment\nCONFIG_A=y\nCONFIG_B="-boxlite"\n# CONFIG_C is not set\nCONFIG_D=64\n');
    assert.deepEqual([...m], [['CONFIG_A', 'y'], ['CONFIG_B', '"-boxlite"'], ['CONFIG_C', 'n'], ['CONFIG_D', '64']]);
  });

  it('reports the fragment options the final config lacks; n is met by unset', () => {
    const fragment = 'CONFIG_A=y\nCONFIG_B=y\nCONFIG_C=n\nCONFIG_D=n\nCONFIG_E=64\n';
    const final = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_D=y\nCONFIG_E=32\n';
    assert.deepEqual(unmetConfig(fragment, final), [
      { option: 'CONFIG_B', wanted: 'y', got: 'n' },
      { option: 'CONFIG_D', wanted: 'n', got: 'y' },
      { option: 'CONFIG_E', wanted: '64', got: '32' },
    ]);
  });

  it('ships a fragment with everything the guest needs built in, and no modules', () => {
    const m = parseKconfig(fs.readFileSync(DEFAULT_KERNEL_CONFIG, 'utf8'));
    for (const o of ['VIRTIO_MMIO', 'VIRTIO_BLK', 'VIRTIO_NET', 'VIRTIO_CONSOLE', 'HW_RANDOM_VIRTIO', 'VIRTIO_FS', 'FUSE_FS', 'EXT4_FS', 'OVERLAY_FS',
      'EROFS_FS', 'TMPFS', 'DEVTMPFS', 'SERIAL_8250_CONSOLE', 'USER_NS', 'PID_NS', 'NET_NS', 'CGROUPS', 'SECCOMP_FILTER', 'NF_TABLES', 'VETH',
      'BRIDGE', 'IPV6', 'UNIX', 'INOTIFY_USER', 'UNIX98_PTYS', 'PVH', 'ACPI', 'PCI']) {
      assert.equal(m.get(`CONFIG_${o}`), 'y', `CONFIG_${o}`);
    }
    assert.equal(m.get('CONFIG_MODULES'), undefined);
  });

  it('keys a build by source version and config hash', () => {
    const h = kernelConfigHash('CONFIG_A=y\n');
    assert.match(h, /^[0-9a-f]{16}$/);
    assert.notEqual(h, kernelConfigHash('CONFIG_A=n\n'));
    assert.equal(customKernelKey('6.1.192-3', h), `6.1.192-3-${h}`);
    assert.equal(customKernelKey('1:6.1/x', h), `1_6.1_x-${h}`);
  });
});

describe('kernel flavor choice', () => {
  it('takes the option, then BOXLITE_KERNEL, then the cache choice, then the default', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-kflavor-'));
    try {
      assert.equal(wantedKernelFlavor(undefined, [dir], {}), DEFAULT_KERNEL_FLAVOR);
      await saveKernelChoice(dir, 'custom');
      assert.equal(readKernelChoice(dir), 'custom');
      assert.equal(wantedKernelFlavor(undefined, [dir], {}), 'custom');
      assert.equal(wantedKernelFlavor(undefined, [dir], { BOXLITE_KERNEL: 'cloud' }), 'cloud');
      assert.equal(wantedKernelFlavor('custom', [dir], { BOXLITE_KERNEL: 'cloud' }), 'custom');
      assert.throws(() => wantedKernelFlavor(undefined, [dir], { BOXLITE_KERNEL: 'tiny' }),
        (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /BOXLITE_KERNEL must be "custom" or "cloud", got "tiny"/.test(e.message));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
