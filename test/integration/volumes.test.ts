// Volumes: host directories shared into a box (virtiofs), both ways when writable; read-only enforced on the
// host, so even root in the box remounting them read-write cannot write; bad volume options are refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { busyboxBox, sh, testRuntime } from '../helpers/boxes.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';

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
