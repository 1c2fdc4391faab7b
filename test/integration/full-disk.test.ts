// A full host disk (a small tmpfs as the home dir): pulls, image disks and boxes fail with a Storage error that
// says so and names the path, leave nothing half-made, and work again once space is freed. A full disk inside a
// box is the command's failure, not the box's.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { ImageStore, prepareImageRootfs } from '../../src/images/index.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxImage } from '../fixtures/images.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { busyboxBox, sh, TEST_HOME } from '../helpers/boxes.js';
import { filesUnder } from '../helpers/image-homes.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { fillDisk, smallDisk, smallDiskUnavailable } from '../helpers/small-disk.js';

const skip = smallDiskUnavailable() ?? registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

const diskFull = (home: string) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e) && e.code === 'Storage', String(e));
  assert.match(e.message, /no space left/i);
  assert.ok(e.message.includes(home), `names the full place: ${e.message}`);
  assert.match(e.message, /free (some )?space/);
  return true;
};

test('a pull into a full disk: Storage error naming the home dir; no partial blob, no record', { skip }, async () => {
  const big = await busyboxImage([[{ name: 'payload', data: randomBytes(6 * 1024 * 1024) }]]);
  await pushImage(reg, 'full/pull', 'v1', big);
  const home = smallDisk(4);
  await assert.rejects(new ImageStore({ homeDir: home }).pull(`${reg.host}/full/pull:v1`), diskFull(home));
  assert.deepEqual(filesUnder(path.join(home, 'images/ingest')), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/refs')), []);
  assert.equal(fs.existsSync(path.join(home, 'images/blobs/sha256', big.layers[1]!.digest.slice(7))), false);
});

test('an image disk built on a full disk: Storage error; no disk cached; once space is freed it builds', { skip }, async () => {
  await pushImage(reg, 'full/disk', 'v1', await busyboxImage());
  const home = smallDisk(64);
  const store = new ImageStore({ homeDir: home });
  await store.pull(`${reg.host}/full/disk:v1`);
  const filler = fillDisk(home);
  await assert.rejects(prepareImageRootfs(store, `${reg.host}/full/disk:v1`), diskFull(home));
  assert.deepEqual(filesUnder(path.join(home, 'images/disks')), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/tmp')), []);
  fs.rmSync(filler);
  const prepared = await prepareImageRootfs(store, `${reg.host}/full/disk:v1`);
  assert.ok(fs.statSync(prepared.baseDiskPath).size > 0);
});

test('a box started on a full disk: Storage error; its state is unchanged and it can start once space is freed', { skip }, async () => {
  const home = smallDisk(64);
  fs.symlinkSync(path.join(TEST_HOME, 'guest'), path.join(home, 'guest'));
  await using runtime = new BoxliteRuntime({ homeDir: home });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, diskSizeGb: 1, autoRemove: false }, 'full');
  const filler = fillDisk(home);
  await assert.rejects(box.start(), diskFull(home));
  assert.ok((await runtime.getInfo('full'))!.status.canStart(), 'not left starting or running');
  await assert.rejects(runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } }, 'second'), diskFull(home));
  assert.deepEqual((await runtime.listInfo()).map((i) => i.name), ['full'], 'no half-created box');

  // Room for the database but not for the box's writable disk: the failure is recorded on the box.
  fs.truncateSync(filler, fs.statSync(filler).size - 512 * 1024);
  await assert.rejects(box.start(), diskFull(home));
  const failed = (await runtime.getInfo('full'))!;
  assert.equal(failed.status.toString(), 'stopped');
  assert.match(failed.lastError ?? '', /no space left/i);
  assert.deepEqual(fs.readdirSync(path.join(home, 'boxes', box.id.asStr())).filter((f) => f.includes('.tmp')), [], 'no temp disk left');

  fs.rmSync(filler);
  const run = await box.run(new BoxCommand('echo').arg('space again'));
  assert.equal(await run.stdout()!.text(), 'space again\n');
  assert.equal((await run.wait()).exitCode, 0);
  assert.equal((await runtime.getInfo('full'))!.lastError, undefined);
  await box.stop();
});

test('a box whose own disk fills up: the writing command fails with ENOSPC; the box keeps working', async () => {
  const box = await busyboxBox({ diskSizeGb: 1 });
  const full = await sh(box, 'dd if=/dev/zero of=/root/big bs=1M count=1200');
  assert.notEqual(full.exitCode, 0);
  assert.match(full.stderr, /No space left on device/);
  const after = await sh(box, 'rm /root/big && echo freed > /root/note && cat /root/note');
  assert.deepEqual([after.exitCode, after.stdout], [0, 'freed\n']);
});
