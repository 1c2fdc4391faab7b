// diskSizeGb counts GiB (Bug 9): the guest sees a writable disk of exactly diskSizeGb * 2^30 bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { busyboxBox, sh } from '../helpers/boxes.js';

test('a box with diskSizeGb 3 has a 3 GiB writable disk', { timeout: 600_000 }, async () => {
  const box = await busyboxBox({ diskSizeGb: 3 });
  // Each virtio disk's size in 512-byte sectors; the base disk is the rootfs's own size, the writable one ours.
  const r = await sh(box, 'for d in /sys/block/vd*; do echo "$(cat $d/size)"; done');
  assert.equal(r.exitCode, 0, r.stderr);
  const bytes = r.stdout.trim().split('\n').map((s) => Number(s) * 512);
  assert.ok(bytes.includes(3 * 1024 ** 3), `no disk of ${3 * 1024 ** 3} bytes among ${JSON.stringify(bytes)}`);
  assert.ok(!bytes.includes(3 * 1000 ** 3), 'a disk sized in decimal GB');
  await box.stop();
});
