// A box's writable disk as layers, on plain files with the real qemu-img: freezing, restoring, merging a layer away,
// cheap copies and the sweep keep every disk reading what it read, byte for byte.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxPaths } from '../../../src/runtime/box-paths.js';
import { cheapDiskCopy, freezeUpper, overlayInPlace, reflinkSupported } from '../../../src/runtime/disk-copy.js';
import { chainOf, currentUpper, writableDiskOf } from '../../../src/runtime/disk-layers.js';
import { mergeIntoDependants, sweepLayers } from '../../../src/runtime/layer-upkeep.js';
import { reflinkDisk, reflinkDiskUnavailable } from '../../helpers/reflink-disk.js';

const noQemuImg = (() => {
  try { execFileSync('qemu-io', ['--version'], { stdio: 'ignore' }); return undefined; } catch { return 'qemu-img/qemu-io are not installed (qemu-utils; `npx boxlite setup` installs it)'; }
})();
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-layers-'));
after(() => fs.rmSync(home, { recursive: true, force: true }));
const KIB64 = 65536;

/** What the guest would read from the box's disk: its first 4 blocks of 64 KiB, as the fill byte of each. */
function view(paths: BoxPaths): number[] {
  const upper = currentUpper(paths)!;
  const out = path.join(home, 'view.raw');
  execFileSync('qemu-img', ['convert', '-f', upper.format, '-O', 'raw', upper.path, out]);
  const bytes = fs.readFileSync(out);
  fs.rmSync(out);
  return [0, 1, 2, 3].map((n) => bytes[n * KIB64]!);
}

/** Writes 64 KiB of `byte` at block `n` of the box's disk, as the guest would. */
function write(paths: BoxPaths, n: number, byte: number): void {
  const upper = currentUpper(paths)!;
  execFileSync('qemu-io', ['-f', upper.format, '-c', `write -P ${byte} ${n * KIB64} ${KIB64}`, upper.path], { stdio: 'ignore' });
}

function newBox(id: string, at = home): BoxPaths {
  const paths = new BoxPaths(at, id);
  fs.mkdirSync(paths.dir, { recursive: true });
  return paths;
}

test('freeze, write, restore, merge away, copy: each disk reads what it should', { skip: noQemuImg }, async () => {
  assert.equal(await reflinkSupported(home), false, 'this test is about overlays; the temp dir here has no reflinks');
  const box = newBox('BOX1');
  fs.writeFileSync(box.upperDisk, Buffer.alloc(4 * KIB64));
  write(box, 0, 0x11);
  const l1 = await freezeUpper(box);
  assert.equal(fs.existsSync(box.upperDisk), false, 'the raw disk became layer 1');
  assert.equal(fs.statSync(path.join(box.layersDir, l1)).mode & 0o777, 0o444);
  write(box, 1, 0x22);
  const l2 = await freezeUpper(box);
  write(box, 2, 0x33);
  assert.deepEqual(view(box), [0x11, 0x22, 0x33, 0]);
  assert.deepEqual((await writableDiskOf(box))!.backingFiles.map((p) => path.basename(p)), [l2, l1]);

  await mergeIntoDependants(box, l1); // the bottom layer: layer 2 gets its blocks and reads through nothing
  assert.deepEqual(await chainOf(box.layersDir, path.join(box.layersDir, l2)), []);
  assert.deepEqual(view(box), [0x11, 0x22, 0x33, 0], 'the disk reads the same after the merge');
  await sweepLayers(box);
  assert.equal(fs.existsSync(path.join(box.layersDir, l1)), false, 'layer 1, read by nothing now, is swept');

  await overlayInPlace(box, l2); // a restore
  assert.deepEqual(view(box), [0x11, 0x22, 0, 0]);

  const copy = newBox('BOX2');
  await cheapDiskCopy(box, copy);
  write(copy, 3, 0x44);
  write(box, 3, 0x55);
  assert.deepEqual(view(copy), [0x11, 0x22, 0, 0x44]);
  assert.deepEqual(view(box), [0x11, 0x22, 0, 0x55]);
  const shared = fs.readdirSync(copy.layersDir).filter((n) => n !== 'upper.qcow2');
  for (const n of shared) assert.equal(fs.statSync(path.join(copy.layersDir, n)).ino, fs.statSync(path.join(box.layersDir, n)).ino, `${n} is shared, not copied`);
  fs.rmSync(box.dir, { recursive: true });
  assert.deepEqual(view(copy), [0x11, 0x22, 0, 0x44], 'the copy outlives its source');
});

test('the sweep finishes an interrupted switch and drops temp files, but keeps every layer something reads', { skip: noQemuImg }, async () => {
  const box = newBox('BOX3');
  fs.writeFileSync(box.upperDisk, Buffer.alloc(4 * KIB64));
  write(box, 0, 0x11);
  const l1 = await freezeUpper(box);
  // As if a freeze died between its link and its rename, and a raw disk had been left beside the overlay.
  fs.writeFileSync(path.join(box.layersDir, 'upper.qcow2.tmp-1'), 'half made');
  fs.linkSync(box.overlayUpperDisk, path.join(box.layersDir, '0000000000deadbeef00.qcow2'));
  fs.writeFileSync(box.upperDisk, 'stale');
  await sweepLayers(box);
  assert.deepEqual(fs.readdirSync(box.layersDir).sort(), [l1, 'upper.qcow2'].sort());
  assert.equal(fs.existsSync(box.upperDisk), false);
  assert.deepEqual(view(box), [0x11, 0, 0, 0]);
});

test('with reflinks (XFS): snapshots and copies are reflinked raw files, no overlays', { skip: noQemuImg ?? reflinkDiskUnavailable() }, async () => {
  const xfs = reflinkDisk();
  const box = newBox('BOX4', xfs);
  assert.equal(await reflinkSupported(box.dir), true);
  fs.writeFileSync(box.upperDisk, Buffer.alloc(4 * KIB64));
  write(box, 0, 0x11);
  const l1 = await freezeUpper(box);
  assert.match(l1, /\.raw$/);
  assert.deepEqual(currentUpper(box), { path: box.upperDisk, format: 'raw' }, 'the disk stays the raw file');
  write(box, 1, 0x22);
  await overlayInPlace(box, l1);
  assert.deepEqual(currentUpper(box), { path: box.upperDisk, format: 'raw' });
  assert.deepEqual(view(box), [0x11, 0, 0, 0]);
  const copy = newBox('BOX5', xfs);
  await cheapDiskCopy(box, copy);
  write(copy, 2, 0x33);
  assert.deepEqual(view(copy), [0x11, 0, 0x33, 0]);
  assert.deepEqual(view(box), [0x11, 0, 0, 0]);
  assert.equal(fs.existsSync(copy.overlayUpperDisk), false);
});
