// Export and import: a paused box with its memory and a stopped box with its disk, into a fresh home; damaged and
// truncated export files refused with typed errors naming them, leaving nothing behind.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { cleanUpChildren, freshHome } from '../helpers/box-children.js';
import { KEPT_SHAPE, runtimeOn as keptRuntime, shOk } from '../helpers/box-children.js';

const homes: string[] = [];
const runtimes: BoxliteRuntime[] = [];
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-export-'));
after(async () => {
  for (const r of runtimes) await r.close().catch(() => undefined);
  await cleanUpChildren([], homes);
  fs.rmSync(work, { recursive: true, force: true });
});

const shape = KEPT_SHAPE;
const runtimeOn = (home: string): BoxliteRuntime => keptRuntime(home, runtimes);
const out = shOk;
/** What is left of boxes in a home: rows, box directories, import staging. */
const leftovers = async (rt: BoxliteRuntime): Promise<number> => (await rt.listInfo()).length
  + fs.readdirSync(path.join(rt.homeDir, 'boxes')).length + (fs.existsSync(path.join(rt.homeDir, 'imports')) ? fs.readdirSync(path.join(rt.homeDir, 'imports')).length : 0);

let pausedExport: string | undefined;

test('a paused box exported, imported into a fresh home and resumed: its processes and files go on', async () => {
  const source = runtimeOn(freshHome('boxlite-export-src-', homes));
  const box = await source.create(shape, 'traveller');
  const counter = await out(box, "sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null 2>&1 & echo $!");
  await out(box, 'echo on-disk > /root/file; sleep 0.5');
  await box.pause();
  pausedExport = path.join(work, 'paused.boxlite');
  await box.export(pausedExport);
  assert.ok(fs.statSync(pausedExport).size < 256 * 1024 * 1024, 'compressed: well under the guest\'s RAM plus its 1 GiB+ disk');
  await box.stop();

  const target = runtimeOn(freshHome('boxlite-export-dst-', homes));
  const imported = await target.import(pausedExport);
  assert.equal(imported.name, 'traveller');
  assert.notEqual(imported.id.asStr(), box.id.asStr(), 'a new id');
  assert.equal(imported.info().status, BoxStatus.Paused);
  await imported.resume();
  assert.equal(await out(imported, `kill -0 ${counter} && cat /root/file`), 'on-disk', 'the same counter process, the same disk');
  const c1 = Number(await out(imported, 'cat /tmp/count'));
  await out(imported, 'sleep 0.5');
  assert.ok(Number(await out(imported, 'cat /tmp/count')) > c1, 'the counter goes on');
  await assert.rejects(target.import(pausedExport), (e: Error & { code?: string }) => e.code === 'AlreadyExists' && /traveller/.test(e.message));
  await imported.stop();
});

test('a stopped box exported and imported under another name starts with its files', async () => {
  const rt = runtimeOn(freshHome('boxlite-export-stopped-', homes));
  const box = await rt.create(shape);
  await out(box, 'echo kept > /root/kept');
  await box.stop();
  const file = path.join(work, 'stopped.boxlite');
  await box.export(file);
  const copy = await rt.import(file, 'copy');
  assert.equal(copy.info().status, BoxStatus.Stopped);
  assert.equal(await out(copy, 'cat /root/kept'), 'kept');
  await copy.stop();
});

test('damaged and truncated export files are refused naming the file; nothing is left', async () => {
  assert.ok(pausedExport, 'the first test made the export');
  const rt = runtimeOn(freshHome('boxlite-export-bad-', homes));
  await rt.listInfo();
  fs.mkdirSync(path.join(rt.homeDir, 'boxes'), { recursive: true });
  const flipped = path.join(work, 'flipped.boxlite');
  fs.copyFileSync(pausedExport, flipped);
  const fd = fs.openSync(flipped, 'r+');
  const at = Math.floor(fs.statSync(flipped).size / 2);
  const b = Buffer.alloc(1);
  fs.readSync(fd, b, 0, 1, at);
  fs.writeSync(fd, Buffer.from([b[0]! ^ 0xff]), 0, 1, at);
  fs.closeSync(fd);
  await assert.rejects(rt.import(flipped), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && e.message.includes(flipped) && /damaged/.test(e.message));
  const truncated = path.join(work, 'truncated.boxlite');
  fs.copyFileSync(pausedExport, truncated);
  fs.truncateSync(truncated, Math.floor(fs.statSync(truncated).size / 3));
  await assert.rejects(rt.import(truncated), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && e.message.includes(truncated));
  fs.writeFileSync(path.join(work, 'junk.boxlite'), 'not a tar at all');
  await assert.rejects(rt.import(path.join(work, 'junk.boxlite')), (e: Error & { code?: string }) => e.code === 'InvalidArgument');
  await assert.rejects(rt.import(path.join(work, 'missing.boxlite')), (e: Error & { code?: string }) => e.code === 'NotFound');
  assert.equal(await leftovers(rt), 0, 'no row, box directory or staging is left');
});

test('exporting a running box is InvalidState', async () => {
  const rt = runtimeOn(freshHome('boxlite-export-running-', homes));
  const box = await rt.create(shape);
  await out(box, 'true');
  await assert.rejects(box.export(path.join(work, 'running.boxlite')), (e: Error & { code?: string }) => e.code === 'InvalidState' && /stop or pause it first/.test(e.message));
  assert.equal(fs.existsSync(path.join(work, 'running.boxlite')), false);
  await box.stop();
});

test('a box whose disk has snapshots (a layered disk) forks and exports with its whole disk', async () => {
  const rt = runtimeOn(freshHome('boxlite-export-layers-', homes));
  const box = await rt.create(shape);
  await out(box, 'echo before-snapshot > /root/a');
  await box.stop();
  await box.snapshots.create('first');
  await out(box, 'echo after-snapshot > /root/b');
  const [fork] = await box.fork();
  assert.equal(await out(fork!, 'cat /root/a /root/b'), 'before-snapshot\nafter-snapshot', 'the fork reads through the snapshot\'s layer');
  await box.stop();
  const file = path.join(work, 'layered.boxlite');
  await box.export(file);
  const copy = await rt.import(file, 'layered-copy');
  assert.equal(await out(copy, 'cat /root/a /root/b'), 'before-snapshot\nafter-snapshot', 'the export holds the flattened chain');
  for (const b of [fork!, copy, box]) await rt.remove(b.id.asStr(), true);
});
