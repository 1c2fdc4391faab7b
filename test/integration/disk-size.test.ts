// diskSizeGb counts GiB (Bug 9): the box's writable disk is exactly diskSizeGb * 2^30 bytes, and the guest's
// root filesystem has that room (less ext4's own overhead), more than a decimal 3 GB could hold.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { busyboxBox, sh, testRuntime } from '../helpers/boxes.js';

test('a box with diskSizeGb 3 has a 3 GiB writable disk', { timeout: 600_000 }, async () => {
  const box = await busyboxBox({ diskSizeGb: 3 });
  // Every box of one shape shows the guest the same (large) virtio devices so that snapshots fit any box;
  // the size that counts is the writable disk's file and the filesystem on it.
  const upper = path.join(testRuntime().homeDir, 'boxes', box.id.asStr(), 'upper.ext4');
  const r = await sh(box, 'stat -f -c "%b %S" /');
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(fs.statSync(upper).size, 3 * 1024 ** 3, `${upper} is 3 GiB`);
  const [blocks, blockSize] = r.stdout.trim().split(' ').map(Number);
  const rootBytes = blocks! * blockSize!;
  assert.ok(rootBytes <= 3 * 1024 ** 3 && rootBytes > 0.95 * 3 * 1024 ** 3, `the guest's root holds ${rootBytes} bytes, not about 3 GiB`);
  assert.ok(rootBytes > 3 * 1000 ** 3, 'a disk sized in decimal GB');
  await box.stop();
});
