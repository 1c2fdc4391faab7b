// The volume file server's command line, and the VM devices for volumes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQemuArgv } from '../../../src/vmm/qemu/argv.js';
import type { VmConfig } from '../../../src/vmm/config.js';
import { VIRTIOFSD_BINARY, virtiofsdCommand } from '../../../src/vmm/volumes/virtiofsd.js';

test('a writable share runs virtiofsd directly; a read-only one inside a mount namespace with the directory bound read-only', () => {
  const share = { tag: 'vol0', hostPath: "/home/me/it's here", socketPath: '/b/vol0.sock', readOnly: false };
  const [cmd, args] = virtiofsdCommand(share);
  assert.equal(cmd, VIRTIOFSD_BINARY);
  assert.ok(args.includes("source=/home/me/it's here") && args.includes('--socket-path=/b/vol0.sock'));
  const [ro, roArgs] = virtiofsdCommand({ ...share, readOnly: true });
  assert.equal(ro, 'unshare');
  assert.deepEqual(roArgs.slice(0, 4), ['--mount', '--propagation', 'private', '--']);
  const script = roArgs[roArgs.indexOf('-c') + 1]!;
  assert.match(script, /remount,bind,ro "\$1" "\$1"/);
  assert.ok(!script.includes('/home/me'), 'the path is an argument, never part of the script');
  assert.equal(roArgs[roArgs.indexOf('-c') + 3], "/home/me/it's here");
});

test('volumes add shared guest memory and one vhost-user-fs device each', () => {
  const config: VmConfig = {
    cpus: 1, memoryMib: 256, accelerator: 'tcg', kernelPath: '/k', initrdPath: '/i', kernelArgs: [], tscKhz: 1,
    portalSocketPaths: ['/b/p0'], consoleSocketPath: '/b/c', disks: [],
    volumes: [{ tag: 'vol0', socketPath: '/b/vol0.sock' }, { tag: 'vol1', socketPath: '/b/vol1.sock' }],
  };
  const argv = buildQemuArgv(config);
  assert.ok(argv.includes('memory-backend-memfd,id=mem,size=256M,share=on') && argv.includes('memory-backend=mem'));
  assert.ok(argv.includes('vhost-user-fs-device,chardev=vol0,tag=vol0') && argv.includes('socket,id=vol1,path=/b/vol1.sock'));
  assert.equal(buildQemuArgv({ ...config, volumes: [] }).includes('memory-backend=mem'), false);
});
