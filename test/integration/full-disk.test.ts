// A full host disk (a small tmpfs as the home dir): pulls, image disks and boxes fail with a Storage error that
// says so and names the path, leave nothing half-made, and work again once space is freed. A full disk inside a
// box is the command's failure, not the box's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { BoxliteError } from '../../src/errors.js';
import { freeBytes, OVERCOMMIT_WARNING } from '../../src/runtime/disk-space.js';
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
  for (const d of ['guest', 'host']) fs.symlinkSync(path.join(TEST_HOME, d), path.join(home, d)); // the guest and the jailer it names
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
  assert.deepEqual(filesUnder(path.join(home, 'boxes', box.id.asStr())).filter((f) => f.includes('.tmp')), [], 'no temp disk left');

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

test('hostile review #7: on a full disk a box can still be locked and removed (the ballast), but no new box is recorded', { skip }, async () => {
  const home = smallDisk(16);
  await using runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
  await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } }, 'kept');
  const filler = fillDisk(home);
  await assert.rejects(runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } }, 'new'), diskFull(home));
  await using again = new BoxliteRuntime({ homeDir: home, snapshots: false });
  assert.deepEqual((await again.listInfo()).map((i) => i.name), ['kept'], 'a runtime opens and lists on the full disk');
  await again.remove('kept');
  assert.deepEqual(await again.listInfo(), []);
  fs.rmSync(filler);
});

test('hostile review #7: a box whose start cannot fit is refused with a Storage error naming the numbers, before boot', { skip }, async () => {
  const home = smallDisk(64);
  for (const d of ['guest', 'host']) fs.symlinkSync(path.join(TEST_HOME, d), path.join(home, d)); // the guest and the jailer it names
  await using runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, diskSizeGb: 4, autoRemove: false }, 'tight');
  const filler = fillDisk(home);
  fs.truncateSync(filler, fs.statSync(filler).size - 10 * 1024 * 1024);
  await assert.rejects(box.start(), (e: unknown) => {
    diskFull(home)(e);
    assert.match((e as Error).message, /\d+ MiB free, and a start needs about 24 MiB \(formatting its 4 GiB writable disk and 16 MiB for its first writes and logs\)/);
    return true;
  });
  const info = (await runtime.getInfo('tight'))!;
  assert.equal(info.status.toString(), 'stopped');
  assert.match(info.lastError ?? '', /no space left/);
  assert.deepEqual(filesUnder(path.join(home, 'boxes', box.id.asStr())), [], 'refused before any disk was made or VM launched');
  fs.rmSync(filler);
});

test('hostile review #7: a box that fills the host disk: its writes fail, it keeps answering; ls, list and remove(force) work on the full disk and free it', { skip }, async () => {
  const home = smallDisk(160);
  for (const d of ['guest', 'host']) fs.symlinkSync(path.join(TEST_HOME, d), path.join(home, d)); // the guest and the jailer it names
  const warnings: Array<Error & { code?: string }> = [];
  const onWarning = (w: Error): void => { warnings.push(w); };
  process.on('warning', onWarning);
  await using runtime = new BoxliteRuntime({ homeDir: home, snapshots: false });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, diskSizeGb: 1, autoRemove: false }, 'filler');
  await box.start();
  process.off('warning', onWarning);
  assert.ok(warnings.some((w) => w.code === OVERCOMMIT_WARNING && w.message.includes(home) && /may grow by 1024 MiB/.test(w.message)), 'the 1 GB disk on a 160 MiB home is warned about');

  // The guest writes until the host's disk is full; QEMU reports the failed writes to it instead of pausing the VM.
  const writer = await box.run(new BoxCommand('dd').args(['if=/dev/zero', 'of=/root/big', 'bs=1M', 'count=400', 'conv=fsync']));
  const deadline = Date.now() + 300_000;
  while (freeBytes(home)! > 1024 * 1024 && Date.now() < deadline) await sleep(250);
  assert.ok(freeBytes(home)! <= 1024 * 1024, `the box filled the host disk (${freeBytes(home)} bytes free)`);
  // The guest learns of it at its next writeback: its ext4 gets I/O errors, aborts its journal and turns read-only.
  // A probe write may be held up meanwhile (see below), so each one has a deadline and is tried again.
  let probe = { stdout: '', stderr: '', exitCode: 0, timedOut: false };
  for (let i = 0; (probe.exitCode === 0 || probe.timedOut) && Date.now() < deadline; i++) {
    if (i > 0) await sleep(500);
    probe = await sh(box, `echo alive; echo more > /root/probe-${i}`, (c) => c.timeout(10_000));
  }
  assert.equal(probe.stdout, 'alive\n', 'the box still answers');
  assert.notEqual(probe.exitCode, 0, 'a new write fails');
  assert.match(probe.stderr, /Read-only file system|I\/O error|No space left/);
  // Linux 6.1 keeps a writer whose dirty pages can no longer be written stalled (killably), so the writer is killed.
  await writer.kill().catch(() => undefined);
  assert.notEqual((await writer.wait()).exitCode, 0, 'the filling command did not succeed');

  // All of it on the still-full disk: a new runtime, list(), the CLI's ls, and remove(force), which frees the space.
  await using other = new BoxliteRuntime({ homeDir: home, snapshots: false });
  assert.deepEqual((await other.listInfo()).map((i) => [i.name, i.status.toString()]), [['filler', 'running']]);
  const ls = await promisify(execFile)(process.execPath, [path.resolve(import.meta.dirname, '../../src/cli/main.js'), 'ls'], { env: { ...process.env, BOXLITE_HOME: home } });
  assert.match(ls.stdout, /filler\s+running/);
  const pid = (await other.getInfo('filler'))!.pid!;
  await other.remove('filler', true);
  const cmdline = ((): string => { try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } })();
  assert.ok(!cmdline.includes(home), 'its VM is gone');
  assert.deepEqual(await other.listInfo(), []);
  assert.ok(freeBytes(home)! > 100 * 1024 * 1024, `the space is free again (${freeBytes(home)} bytes)`);
});
