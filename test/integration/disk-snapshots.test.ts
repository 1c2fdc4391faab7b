// Disk snapshots and clones on real VMs: a snapshot brings earlier files back, shares blocks with the disk it came
// from, survives the removal of the snapshots around it, and fails typed (wrong state, bad name, full disk) leaving
// the box as it was; a clone and its source keep their own writes.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxPaths } from '../../src/runtime/box-paths.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { busyboxBox, sh, testRuntime } from '../helpers/boxes.js';
import { fillDisk, smallDisk, smallDiskUnavailable } from '../helpers/small-disk.js';
import { reflinkDisk, reflinkDiskUnavailable } from '../helpers/reflink-disk.js';

const kept = { autoRemove: false, diskSizeGb: 1 } as const;
const clones: LiteBox[] = [];
after(async () => {
  for (const c of clones) await testRuntime().remove(c.id.asStr(), true).catch(() => undefined);
});

/** Starts the box, runs `script`, stops it again, and returns what the script printed. */
async function session(box: LiteBox, script: string): Promise<string> {
  const r = await sh(box, `${script}; sync`);
  assert.equal(r.exitCode, 0, r.stderr);
  await box.stop();
  return r.stdout;
}

const code = (c: string, ...patterns: RegExp[]) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e) && e.code === c, `expected a ${c} BoxliteError, got ${String(e)}`);
  for (const p of patterns) assert.match(e.message, p);
  return true;
};

test('snapshot, change, restore: the earlier file is back; a later snapshot holds only what changed', async () => {
  const box = await busyboxBox(kept);
  // Jailed in a chroot (the default): the chain's lower files must be bound into the jail for QEMU to open them.
  assert.ok(box.info().security.jailerEnabled && box.info().security.chrootEnabled);
  await session(box, 'echo one > /root/f; head -c 8388608 /dev/urandom > /root/big');
  const rawStart = box.stageTimings?.startMode;
  const a = await box.snapshots.create('a');
  assert.equal(a.name, 'a');
  assert.ok(a.sizeBytes > 8 * 1024 ** 2, `snapshot a holds the first 8 MiB written (${a.sizeBytes} bytes)`);
  assert.equal(a.virtualSizeBytes, 1024 ** 3);
  assert.equal(await session(box, 'cat /root/f; echo two > /root/f; echo small > /root/g'), 'one\n');
  const b = await box.snapshots.create('b');
  // Sharing: b's own file holds the second session's writes only; the 8 MiB stay in a's blocks, not copied.
  assert.ok(b.sizeBytes < 4 * 1024 ** 2, `snapshot b allocates ${b.sizeBytes} bytes, not a copy of the ${a.sizeBytes} under it`);
  const list = await box.snapshots.list();
  assert.deepEqual(list.map((s) => s.name), ['a', 'b']);
  assert.ok(list[0]!.createdAt instanceof Date && list[0]!.createdAt <= list[1]!.createdAt);
  await box.snapshots.restore('a');
  assert.equal((await sh(box, 'cat /root/f; ls /root')).stdout, 'one\nbig\nf\n');
  const mode = box.stageTimings?.startMode;
  await box.stop();
  await box.snapshots.restore('b');
  assert.equal(await session(box, 'cat /root/f /root/g'), 'two\nsmall\n');
  // The template key does not see the writable disk's format: a box on a qcow2 chain starts as it did on its raw disk.
  assert.deepEqual(mode, rawStart, 'a qcow2 disk starts from its shape\'s template as the raw disk did');
});

test('removing a snapshot in the middle of the chain, then the first, keeps the others restorable', async () => {
  const box = await busyboxBox(kept);
  for (const v of ['v1', 'v2', 'v3']) {
    await session(box, `echo ${v} > /root/v; head -c 65536 /dev/urandom > /root/${v}`);
    await box.snapshots.create(`s${v.slice(1)}`);
  }
  await session(box, 'echo v4 > /root/v');
  await box.snapshots.remove('s2');
  assert.deepEqual((await box.snapshots.list()).map((s) => s.name), ['s1', 's3']);
  await box.snapshots.restore('s3');
  assert.equal(await session(box, 'cat /root/v; ls /root'), 'v3\nv\nv1\nv2\nv3\n');
  await box.snapshots.remove('s1'); // the bottom layer: merged into s3's and the disk's files
  await box.snapshots.restore('s3');
  assert.equal(await session(box, 'cat /root/v; ls /root | wc -l'), 'v3\n4\n');
  const layers = fs.readdirSync(new BoxPaths(testRuntime().homeDir, box.id.asStr()).layersDir).sort();
  assert.equal(layers.filter((n) => /\.(raw|qcow2)$/.test(n) && n !== 'upper.qcow2').length, 1, `one layer left (s3's): ${layers.join(' ')}`);
  assert.ok(!layers.some((n) => n.includes('.tmp-')), `no temp files: ${layers.join(' ')}`);
});

test('a clone of a stopped box: both keep their own writes, and the clone outlives its source', async () => {
  const runtime = testRuntime();
  const source = await busyboxBox(kept);
  await session(source, 'echo source > /root/who');
  const clone = await runtime.clone(source.id.asStr(), `clone-${Date.now()}`);
  clones.push(clone);
  assert.notEqual(clone.id.asStr(), source.id.asStr());
  assert.equal(clone.info().status.name, 'configured');
  assert.equal(clone.info().memoryMib, source.info().memoryMib);
  assert.equal(await session(clone, 'cat /root/who; echo clone > /root/who'), 'source\n');
  assert.equal(await session(source, 'cat /root/who; echo source2 > /root/who'), 'source\n');
  assert.equal(await session(clone, 'cat /root/who'), 'clone\n');
  await runtime.remove(source.id.asStr());
  assert.equal(await session(clone, 'cat /root/who'), 'clone\n');
});

test('wrong states and bad names are typed errors', async () => {
  const runtime = testRuntime();
  const fresh = await busyboxBox(kept);
  await assert.rejects(fresh.snapshots.create('x'), code('InvalidState', /no disk yet/));
  await assert.rejects(fresh.snapshots.create('a/b'), code('InvalidArgument', /snapshot name must be/, /A-Za-z0-9/));
  await assert.rejects(fresh.snapshots.create(''), code('InvalidArgument'));
  await assert.rejects(fresh.snapshots.restore('-x'), code('InvalidArgument'));
  await sh(fresh, 'true'); // running now
  await assert.rejects(fresh.snapshots.create('x'), code('InvalidState', /running/, /stop it first/));
  await assert.rejects(fresh.snapshots.restore('x'), code('InvalidState', /running/));
  await assert.rejects(runtime.clone(fresh.id.asStr(), 'never'), code('InvalidState', /running/, /stop it first/));
  await fresh.stop();
  await fresh.snapshots.create('x');
  await assert.rejects(fresh.snapshots.create('x'), code('AlreadyExists', /"x"/));
  await assert.rejects(fresh.snapshots.restore('y'), code('NotFound', /"y"/, /"x"/));
  await assert.rejects(fresh.snapshots.remove('y'), code('NotFound'));
  await assert.rejects(runtime.clone('no-such-box'), code('NotFound'));
  await assert.rejects(runtime.clone(fresh.id.asStr(), 'bad name'), code('InvalidArgument'));
});

const noSmallDisk = smallDiskUnavailable();

test('on a full host disk, snapshot and restore fail with a Storage error and leave the box as it was', { skip: noSmallDisk }, async () => {
  const home = smallDisk(64);
  await using runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, ...kept });
  await session(box, 'echo before > /root/f');
  await box.snapshots.create('a');
  await session(box, 'echo after > /root/f');
  const layersDir = new BoxPaths(home, box.id.asStr()).layersDir;
  const before = fs.readdirSync(layersDir).sort();
  const filler = fillDisk(home);
  const full = code('Storage', /no space left/i, /free some space/);
  await assert.rejects(box.snapshots.restore('a'), (e) => full(e) && (e as Error).message.includes(home));
  await assert.rejects(box.snapshots.create('b'), full);
  assert.deepEqual(fs.readdirSync(layersDir).sort(), before, 'nothing made, nothing lost');
  assert.deepEqual((await box.snapshots.list()).map((s) => s.name), ['a']);
  fs.rmSync(filler);
  assert.equal(await session(box, 'cat /root/f'), 'after\n', 'the disk is the one before the failed restore');
  await box.snapshots.restore('a');
  assert.equal(await session(box, 'cat /root/f'), 'before\n');
  await runtime.remove(box.id.asStr());
});

test('on a filesystem with reflinks (XFS), snapshots and clones are reflinked raw disks', { skip: reflinkDiskUnavailable() }, async () => {
  const home = reflinkDisk();
  await using runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, ...kept });
  await session(box, 'echo one > /root/f');
  const a = await box.snapshots.create('a');
  assert.equal(a.virtualSizeBytes, 1024 ** 3);
  await session(box, 'echo two > /root/f');
  const paths = new BoxPaths(home, box.id.asStr());
  assert.ok(fs.existsSync(paths.upperDisk) && !fs.existsSync(paths.overlayUpperDisk), 'the disk is still one raw file');
  await box.snapshots.restore('a');
  assert.equal(await session(box, 'cat /root/f; echo three > /root/f'), 'one\n');
  const clone = await runtime.clone(box.id.asStr());
  assert.equal(await session(clone, 'cat /root/f; echo clone > /root/f'), 'three\n');
  assert.equal(await session(box, 'cat /root/f'), 'three\n');
  assert.equal(fs.existsSync(new BoxPaths(home, clone.id.asStr()).overlayUpperDisk), false, 'the clone\'s disk is a reflinked raw file');
  await box.snapshots.remove('a');
  assert.deepEqual(await box.snapshots.list(), []);
  for (const b of [box, clone]) await runtime.remove(b.id.asStr());
});
