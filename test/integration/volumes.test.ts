// Volumes: host directories shared into a box (virtiofs), both ways when writable; read-only enforced on the
// host, so even root in the box remounting them read-write cannot write; what the box creates belongs to the
// directory's owner (nobody for root's) with no setuid/setgid bit and no device nodes; bad volume options are refused.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { busyboxBox, sh, testRuntime } from '../helpers/boxes.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { parseAttacks, volumeProbe } from '../fixtures/volume-probe.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
function hostDir(files: Record<string, string> = {}): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-volume-'));
  dirs.push(d);
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(d, name), text);
  return d;
}

test('a writable volume: the box sees the host\'s files and the host sees the box\'s, at a path made for it', async () => {
  const shared = hostDir({ 'from-host.txt': 'written on the host\n' });
  const box = await busyboxBox({ volumes: [{ hostPath: shared, guestPath: '/srv/data/project' }] });
  const r = await sh(box, 'cat /srv/data/project/from-host.txt; echo written in the box > /srv/data/project/from-box.txt');
  assert.deepEqual([r.exitCode, r.stdout], [0, 'written on the host\n']);
  assert.equal(fs.readFileSync(path.join(shared, 'from-box.txt'), 'utf8'), 'written in the box\n');
  assert.match(box.stageTimings?.startMode?.coldReason ?? '', /a box with volumes cannot start from a snapshot/);
  await box.stop();
});

test('a read-only volume stays read-only even after root in the box remounts it read-write', async () => {
  const shared = hostDir({ 'keep.txt': 'original\n' });
  const box = await busyboxBox({ volumes: [{ hostPath: shared, guestPath: '/ro', readOnly: true }] });
  const first = await sh(box, 'cat /ro/keep.txt; echo changed > /ro/keep.txt');
  assert.equal(first.stdout, 'original\n');
  assert.match(first.stderr, /Read-only file system/);
  const again = await sh(box, 'mount -o remount,rw /ro 2>&1; echo changed > /ro/keep.txt; touch /ro/new.txt; rm /ro/keep.txt');
  assert.notEqual(again.exitCode, 0);
  assert.equal(fs.readFileSync(path.join(shared, 'keep.txt'), 'utf8'), 'original\n', 'the host file is untouched');
  assert.deepEqual(fs.readdirSync(shared), ['keep.txt'], 'nothing was created or removed');
  await box.stop();
});

/** What root in the box gets for each attack of volume-probe.c on a writable volume. */
const ATTACKS_REFUSED = {
  'create file': 'ok',
  'chmod 4755 file': 'EPERM', 'chmod 2755 file': 'EPERM', 'chmod 6755 file': 'EPERM', 'chmod 0755 file': 'ok',
  'create 4755 born-setuid': 'EPERM',
  'mknod c 1 3 null': 'EPERM', 'mknod c 10 232 kvm': 'EPERM', 'mknod b 7 0 loop': 'EPERM', 'mkfifo fifo': 'ok',
  'mkdir dir': 'ok', 'chmod 2755 dir': 'EPERM',
  'setxattr security.capability file': 'EOPNOTSUPP',
  'chown 0:0 file': 'EPERM', 'chown 1000:1000 file': 'EPERM',
  'copy probe': 'ok', 'chmod 4755 suid-probe': 'EPERM',
};

test('hostile review #2: root in a box makes no setuid/setgid file, device node, file capability or root-owned file on the host', async () => {
  const probeDir = hostDir();
  fs.chmodSync(probeDir, 0o755);
  fs.copyFileSync(volumeProbe(), path.join(probeDir, 'volume-probe'));
  fs.chmodSync(path.join(probeDir, 'volume-probe'), 0o755);
  const owned = hostDir();
  const owner = { uid: 23456, gid: 23457 }; // a user's directory: the box's files become that user's
  fs.chownSync(owned, owner.uid, owner.gid);
  const rootOwned = hostDir(); // root's directory: the box's files become nobody's, never root's
  for (const d of [owned, rootOwned]) fs.chmodSync(d, 0o755);
  const hostSetuid = path.join(rootOwned, 'host-setuid'); // the host's own setuid file: a write from the box clears the bit
  fs.copyFileSync(volumeProbe(), hostSetuid);
  fs.chmodSync(hostSetuid, 0o6755);
  const box = await busyboxBox({
    volumes: [
      { hostPath: probeDir, guestPath: '/probe', readOnly: true },
      { hostPath: owned, guestPath: '/owned' },
      { hostPath: rootOwned, guestPath: '/rootdir' },
    ],
  });
  const append = await sh(box, 'echo >> /rootdir/host-setuid');
  assert.equal(append.exitCode, 0, append.stderr);
  assert.equal(fs.statSync(hostSetuid).mode & 0o7777, 0o755, 'writing to a setuid file from the box clears setuid and setgid');
  fs.rmSync(hostSetuid);
  const cases: Array<[string, string, { uid: number; gid: number }]> = [['/owned', owned, owner], ['/rootdir', rootOwned, { uid: 65534, gid: 65534 }]];
  for (const [guestPath, hostPath, expected] of cases) {
    const r = await sh(box, `/probe/volume-probe attack ${guestPath} && stat -c %u:%g ${guestPath}/file`);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.deepEqual(Object.fromEntries(parseAttacks(r.stdout)), ATTACKS_REFUSED, `${guestPath}: each attack fails with a clean errno`);
    assert.match(r.stdout, new RegExp(`^${expected.uid}:${expected.gid}$`, 'm'), 'the box sees the owner the host gave the file');
    const made = fs.readdirSync(hostPath, { recursive: true }).map(String).sort();
    assert.deepEqual(made, ['dir', 'fifo', 'file', 'suid-probe'], `${guestPath}: no device node, no born-setuid file`);
    for (const name of made) {
      const st = fs.lstatSync(path.join(hostPath, name));
      assert.deepEqual({ uid: st.uid, gid: st.gid }, expected, `${guestPath}/${name} belongs to the directory's owner (nobody for root's)`);
      assert.equal(st.mode & 0o6000, 0, `${guestPath}/${name} has no setuid/setgid bit`);
      assert.ok(!st.isCharacterDevice() && !st.isBlockDevice(), `${guestPath}/${name} is no device`);
    }
    // The attack the review ran: an unprivileged host user runs the box's "setuid" copy and must not get root.
    const run = execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', path.join(hostPath, 'suid-probe'), 'euid'], { encoding: 'utf8' });
    assert.equal(run, 'euid=65534\n');
  }
  assert.deepEqual(fs.readdirSync(probeDir), ['volume-probe'], 'the read-only volume is untouched');
  await box.stop();
});

test('bad volumes are InvalidArgument naming the field; a symlink in the box path is refused at start', async () => {
  const runtime = testRuntime();
  const rootfs = { rootfsPath: busyboxRootfs() };
  const cases: Array<[unknown, RegExp]> = [
    [[{ hostPath: '/nonexistent/boxlite', guestPath: '/x' }], /volumes\[0\]\.hostPath \/nonexistent\/boxlite does not exist/],
    [[{ hostPath: 'relative', guestPath: '/x' }], /volumes\[0\]\.hostPath must be an absolute host path/],
    [[{ hostPath: hostDir(), guestPath: 'x' }], /volumes\[0\]\.guestPath must be an absolute path/],
    [[{ hostPath: hostDir(), guestPath: '/a/../etc' }], /without "\." or "\.\."/],
    [[{ hostPath: hostDir(), guestPath: '/' }], /cannot be "\/"/],
    [[{ hostPath: hostDir(), guestPath: '/x' }, { hostPath: hostDir(), guestPath: '/x/' }], /volumes\[1\]\.guestPath \/x is used by another volume/],
  ];
  const file = path.join(hostDir({ f: '' }), 'f');
  cases.push([[{ hostPath: file, guestPath: '/x' }], /is not a directory/]);
  for (const [volumes, message] of cases) {
    await assert.rejects(runtime.create({ rootfs, volumes: volumes as never }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && message.test(e.message), String(message));
  }
  // busybox's /bin/sh is a symlink to busybox: a volume there would go through it.
  const box = await busyboxBox({ volumes: [{ hostPath: hostDir(), guestPath: '/bin/sh/inside' }], autoRemove: false });
  await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && /volume path \/bin\/sh\/inside/.test(e.message) && /symlink or non-directory/.test(e.message));
});
