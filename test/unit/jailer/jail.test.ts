// The jailer's pure parts: its command line, what each process of a box gets, cgroup limits, environments, uid claims.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { jailerArgv } from '../../../src/jailer/jail-spec.js';
import { childEnvironment, networkJail, vmmJail, volumeJail, type BoxJail } from '../../../src/jailer/plan.js';
import { boxCgroupLimits } from '../../../src/jailer/cgroups.js';
import { CLAIMS_DIR, claimJailUid, isJailUid, releaseJailUid } from '../../../src/jailer/uids.js';
import { SecurityOptions } from '../../../src/runtime/security.js';

const box = (policy = SecurityOptions.standard()): BoxJail => ({ policy, uid: 2013265999, gid: 2013265999, root: '/j/box', cgroups: ['/sys/fs/cgroup/memory/boxlite/x'] });
const files = { readOnly: ['/g/vmlinux', '/g/initrd', '/i/base.ext4'], readWrite: ['/b/upper.ext4'], socketDirs: ['/b/sock'], connectDirs: ['/r/net'], devices: [] };

describe('the jailer\'s command line', () => {
  it('names every protection, then the program after --', () => {
    assert.deepEqual(jailerArgv({
      program: '/usr/bin/qemu', args: ['-m', '256'], uid: 5, gid: 6, groups: [7], caps: ['fowner'], parentPid: 42,
      namespaces: ['mnt', 'net'], hostname: 'h', jail: { root: '/j', paths: [{ path: '/usr', kind: 'ro' }, { path: '/proc', kind: 'proc' }] },
      rlimits: { nofile: 1024, core: 0 }, cgroups: ['/c'], seccomp: true, keepEnv: ['PATH'], keepFds: [3],
    }), ['--uid', '5', '--gid', '6', '--groups', '7', '--caps', 'fowner', '--parent-pid', '42', '--namespaces', 'mnt,net', '--hostname', 'h',
      '--jail', '/j', '--ro-bind', '/usr', '--proc', '/proc', '--rlimit', 'nofile=1024', '--rlimit', 'core=0', '--cgroup', '/c', '--seccomp',
      '--clear-env', '--keep-env', 'PATH', '--close-fds', '--keep-fd', '3', '--', '/usr/bin/qemu', '-m', '256']);
  });

  it('an empty spec only starts the program', () => {
    assert.deepEqual(jailerArgv({ program: '/bin/true', args: [] }), ['--', '/bin/true']);
  });
});

describe('what each process of a box gets', () => {
  it('QEMU (standard): the box uid, every namespace incl. net, a jail of its files only, no core dumps, its cgroup, the allowlist, descriptor 3 kept', () => {
    const spec = vmmJail(box(), '/usr/bin/qemu-system-x86_64', ['-m', '256'], files, [3]);
    assert.equal(spec.uid, 2013265999);
    assert.deepEqual(spec.namespaces, ['mnt', 'ipc', 'uts', 'pid', 'net']);
    const paths = new Map(spec.jail!.paths.map((p) => [p.path, p.kind]));
    assert.equal(paths.get('/usr'), 'ro');
    assert.equal(paths.get('/g/vmlinux'), 'ro');
    assert.equal(paths.get('/i/base.ext4'), 'ro');
    assert.equal(paths.get('/b/upper.ext4'), 'rw');
    assert.equal(paths.get('/b/sock'), 'rw');
    assert.equal(paths.get('/r/net'), 'ro', 'it only connects to passt');
    assert.equal(paths.get('/dev/null'), 'dev');
    assert.equal(paths.has('/dev/kvm'), false, 'no /dev/kvm under TCG');
    assert.equal(spec.rlimits?.core, 0);
    assert.deepEqual(spec.cgroups, ['/sys/fs/cgroup/memory/boxlite/x']);
    assert.deepEqual(spec.keepEnv, ['PATH', 'LANG', 'LC_ALL', 'TZ']);
    assert.deepEqual(spec.keepFds, [3]);
    assert.equal(spec.caps, undefined, 'no capability kept');
  });

  it('QEMU under KVM gets /dev/kvm and the group that may open it', { skip: fs.existsSync('/dev/kvm') ? false : 'this host has no /dev/kvm' }, () => {
    const spec = vmmJail(box(), '/usr/bin/qemu', [], { ...files, devices: ['/dev/kvm'] }, []);
    assert.equal(spec.jail!.paths.find((p) => p.path === '/dev/kvm')?.kind, 'dev');
    assert.deepEqual(spec.groups, [fs.statSync('/dev/kvm').gid]);
  });

  it('maximum\'s limits become rlimits; newPidNs/newNetNs/chrootEnabled off leave those out', () => {
    const max = vmmJail(box(SecurityOptions.maximum()), '/usr/bin/qemu', [], files, []);
    assert.deepEqual([max.rlimits?.nofile, max.rlimits?.nproc], [1024, 512]);
    const loose = SecurityOptions.builder().newPidNs(false).newNetNs(false).chrootEnabled(false).closeFds(false).sanitizeEnv(false).build();
    const spec = vmmJail(box(loose), '/usr/bin/qemu', [], files, [3]);
    assert.deepEqual(spec.namespaces, ['mnt', 'ipc', 'uts']);
    assert.equal(spec.jail, undefined);
    assert.equal(spec.keepFds, undefined);
    assert.equal(spec.keepEnv, undefined);
  });

  it('passt: the host\'s network (no net namespace), a jail with its socket dir and a procfs of its own', () => {
    const spec = networkJail(box(), '/usr/bin/passt', ['--foreground'], '/r/net');
    assert.ok(!spec.namespaces!.includes('net'));
    const paths = new Map(spec.jail!.paths.map((p) => [p.path, p.kind]));
    assert.equal(paths.get('/r/net'), 'rw');
    assert.equal(paths.get('/proc'), 'proc');
    assert.equal(spec.jail!.root, '/j/box.net');
  });

  it('virtiofsd: namespaces (not pid: it makes its own), limits but its own descriptor limit', () => {
    const spec = volumeJail(box(SecurityOptions.maximum()));
    assert.deepEqual(spec.namespaces, ['mnt', 'ipc', 'uts']);
    assert.equal(spec.rlimits?.nofile, undefined);
    assert.equal(spec.rlimits?.nproc, 512);
  });
});

describe('cgroup limits and environments', () => {
  it('memory is the guest\'s plus the stated overhead (more under TCG); CPU by vCPUs', () => {
    assert.deepEqual(boxCgroupLimits(512, 2, false), { memoryBytes: (512 + 384) * 2 ** 20, pids: 1024, cpus: 2 });
    assert.equal(boxCgroupLimits(512, 2, true).memoryBytes, (512 + 384 + 1024) * 2 ** 20);
  });

  it('children get the allowlist when sanitized, PATH only without a jailer, everything only when asked', () => {
    process.env.BOXLITE_UNIT_SECRET = 'x';
    try {
      assert.equal(childEnvironment(SecurityOptions.standard()).BOXLITE_UNIT_SECRET, undefined);
      assert.deepEqual(Object.keys(childEnvironment(SecurityOptions.development())), ['PATH']);
      assert.equal(childEnvironment(SecurityOptions.builder().sanitizeEnv(false).build()).BOXLITE_UNIT_SECRET, 'x');
    } finally {
      delete process.env.BOXLITE_UNIT_SECRET;
    }
  });
});

describe('per-box uids', { skip: process.getuid?.() === 0 ? false : `claims live in ${CLAIMS_DIR}, writable by root only` }, () => {
  it('two boxes get two uids; a box gets its uid again; a released or stale claim is free again', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-uids-'));
    try {
      for (const id of ['A', 'B']) fs.mkdirSync(path.join(home, 'boxes', id), { recursive: true });
      const a = await claimJailUid(home, 'A');
      const b = await claimJailUid(home, 'B', a);
      assert.ok(isJailUid(a) && isJailUid(b) && a !== b, 'B may not take A\'s uid');
      assert.equal(await claimJailUid(home, 'A', a), a, 'A gets its uid again');
      releaseJailUid(home, 'A', a);
      assert.equal(fs.existsSync(path.join(CLAIMS_DIR, String(a))), false);
      fs.rmSync(path.join(home, 'boxes', 'B'), { recursive: true });
      fs.mkdirSync(path.join(home, 'boxes', 'C'));
      assert.equal(await claimJailUid(home, 'C', b), b, 'a claim whose box directory is gone is stale');
      releaseJailUid(home, 'C', b);
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
