// findGuestArtifacts: reads the shared cache's manifest and checks the files, doing no work; says how to fill the cache otherwise.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { findGuestArtifacts } from '../../../src/setup/index.js';
import { writeManifest, type GuestManifest } from '../../../src/setup/manifest.js';
import { parseQemuVersion } from '../../../src/setup/qemu-info.js';

const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-setup-test-'));
after(() => fs.rmSync(cache, { recursive: true, force: true }));

describe('findGuestArtifacts', () => {
  it('tells the user to run setup when there is no manifest', () => {
    assert.throws(() => findGuestArtifacts(cache), { code: 'Config', message: /guest kernel\/initramfs or jailer \(launcher\) not found in the shared cache .*: start a box \(a runtime builds them on first use\) or run `npx boxlite setup`/ });
  });

  it('returns absolute paths once the manifest and its files exist, and fails again when a file goes', async () => {
    const launcherPath = 'launcher/cafe/boxlite-launcher';
    const m: GuestManifest = {
      formatVersion: 1, kernelVersion: '6.1.0-test', kernelPackage: 'linux-image-6.1.0-test', kernelPackageVersion: '1',
      kernelPath: 'kernel/6.1.0-test/vmlinux', initrdPath: 'initramfs/abc.cpio.gz', initramfsHash: 'abc',
      agentHash: 'deadbeef', agentPath: 'agent/deadbeef/boxlite-agent', launcherHash: 'cafe', launcherPath,
      modules: [], builtinModules: [], createdAt: '',
    };
    await writeManifest(cache, m);
    assert.throws(() => findGuestArtifacts(cache), { code: 'Config' });
    for (const rel of [m.kernelPath, m.initrdPath, launcherPath]) {
      fs.mkdirSync(path.dirname(path.join(cache, rel)), { recursive: true });
      fs.writeFileSync(path.join(cache, rel), 'x');
    }
    assert.deepEqual(findGuestArtifacts(cache), {
      kernelPath: path.join(cache, m.kernelPath), initrdPath: path.join(cache, m.initrdPath),
      kernelVersion: '6.1.0-test', kernelFlavor: 'cloud', agentHash: 'deadbeef', launcherPath: path.join(cache, 'launcher/cafe/boxlite-launcher'),
    });
    const { launcherHash: _h, launcherPath: _p, ...beforeTheLauncher } = m;
    await writeManifest(cache, beforeTheLauncher);
    assert.throws(() => findGuestArtifacts(cache), { code: 'Config', message: /jailer \(launcher\) not found .*run `npx boxlite setup`/ }, 'a cache set up before the launcher existed is set up again');
    await writeManifest(cache, m);
    fs.rmSync(path.join(cache, m.initrdPath));
    assert.throws(() => findGuestArtifacts(cache), { code: 'Config' });
  });

  it('names the passt setup built, and wants setup again when that binary is gone', async () => {
    const m: GuestManifest = {
      formatVersion: 1, kernelVersion: '6.1.0-test', kernelPackage: 'linux-image-6.1.0-test', kernelPackageVersion: '1',
      kernelPath: 'kernel/6.1.0-test/vmlinux', initrdPath: 'initramfs/abc.cpio.gz', initramfsHash: 'abc',
      agentHash: 'deadbeef', agentPath: 'agent/deadbeef/boxlite-agent', launcherHash: 'cafe', launcherPath: 'launcher/cafe/boxlite-launcher',
      modules: [], builtinModules: [], passtPath: 'passt/0123/passt', passtReplaces: '0.0~git20230309.7c7625d-1', createdAt: '',
    };
    await writeManifest(cache, m);
    for (const rel of [m.kernelPath, m.initrdPath, m.launcherPath!]) {
      fs.mkdirSync(path.dirname(path.join(cache, rel)), { recursive: true });
      fs.writeFileSync(path.join(cache, rel), 'x');
    }
    assert.throws(() => findGuestArtifacts(cache), { code: 'Config', message: /run `npx boxlite setup`/ });
    const passt = path.join(cache, 'passt', '0123', 'passt');
    fs.mkdirSync(path.dirname(passt), { recursive: true });
    fs.writeFileSync(passt, 'x');
    assert.equal(findGuestArtifacts(cache).passtPath, passt);
  });
});

describe('parseQemuVersion', () => {
  for (const [text, want] of [
    ['QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright', [7, 2, 22]],
    ['QEMU emulator version 8.2.0\n', [8, 2, 0]],
    ['QEMU emulator version 9.1\n', [9, 1, 0]],
  ] as const) {
    it(JSON.stringify(text.split('\n')[0]), () => {
      const v = parseQemuVersion(text)!;
      assert.deepEqual([v.major, v.minor, v.micro], want);
    });
  }
  it('returns undefined for output without a version', () => {
    assert.equal(parseQemuVersion('something else'), undefined);
  });
});
