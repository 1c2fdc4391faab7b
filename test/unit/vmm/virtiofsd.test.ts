// The volume file server's command line and owner, and the VM devices for volumes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildQemuArgv } from '../../../src/vmm/qemu/argv.js';
import type { VmConfig } from '../../../src/vmm/config.js';
import { ownerFor, SQUASHED_ID } from '../../../src/vmm/volumes/owner.js';
import { VIRTIOFSD_BINARY, VIRTIOFSD_MODCAPS, virtiofsdCommand } from '../../../src/vmm/volumes/virtiofsd.js';

test('virtiofsd starts through the launcher as the owner, with chown/fsetid/mknod/setfcap/setuid/setgid dropped', () => {
  const share = { tag: 'vol0', hostPath: "/home/me/it's here", socketPath: '/b/vol0.sock', readOnly: false };
  const launch = { launcherPath: '/h/boxlite-launcher', owner: { uid: 1000, gid: 1001 }, detached: false };
  const [cmd, args] = virtiofsdCommand(share, launch);
  assert.equal(cmd, '/h/boxlite-launcher');
  const split = args.indexOf('--');
  const [mine, daemon] = [args.slice(0, split), args.slice(split + 1)];
  assert.deepEqual(mine, ['--uid', '1000', '--gid', '1001', '--caps', 'sys_admin,setpcap,dac_override,fowner', '--parent-pid', String(process.pid), '--seccomp', '--close-fds']);
  assert.equal(daemon[0], VIRTIOFSD_BINARY);
  assert.ok(daemon.includes("source=/home/me/it's here") && daemon.includes('--socket-path=/b/vol0.sock') && daemon.includes('no_xattr'));
  assert.ok(daemon.includes(`modcaps=${VIRTIOFSD_MODCAPS}`) && VIRTIOFSD_MODCAPS.split(':').length === 6);
  const [, roArgs] = virtiofsdCommand({ ...share, readOnly: true }, { ...launch, detached: true });
  const roMine = roArgs.slice(0, roArgs.indexOf('--'));
  assert.deepEqual(roMine.slice(-4, -2), ['--read-only', "/home/me/it's here"], 'read-only: the launcher binds the directory read-only');
  assert.ok(!roMine.includes('--parent-pid'), 'a detached box\'s file server outlives this process');
});

test('the owner is the directory\'s, except that root becomes nobody/nogroup', () => {
  assert.deepEqual(ownerFor({ uid: 1000, gid: 1000 }), { uid: 1000, gid: 1000 });
  assert.deepEqual(ownerFor({ uid: 0, gid: 0 }), { uid: SQUASHED_ID, gid: SQUASHED_ID });
  assert.deepEqual(ownerFor({ uid: 0, gid: 1000 }), { uid: SQUASHED_ID, gid: SQUASHED_ID });
  assert.deepEqual(ownerFor({ uid: 1000, gid: 0 }), { uid: 1000, gid: SQUASHED_ID });
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
  assert.ok(buildQemuArgv({ ...config, volumes: [] }).includes(`memory-backend-ram,id=mem,size=${config.memoryMib}M`), 'without volumes: plain RAM of the same name');
});
