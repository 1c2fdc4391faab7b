// Two processes pulling and preparing the same image into one home at once: both succeed, the store stays consistent.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ImageStore } from '../../../src/images/index.js';
import { busyboxImage } from '../../fixtures/images.js';
import { filesUnder, tempHome } from '../../helpers/image-homes.js';
import { sha256 } from '../../helpers/oci.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const CHILD = fileURLToPath(new URL('./pull-child.js', import.meta.url));
const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

interface ChildResult { ok: boolean; digest?: string; baseDiskPath?: string; error?: string; timings?: { convertMs: number } }

function runChild(home: string, ref: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(CHILD, [home, ref], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let result: ChildResult | undefined;
    child.on('message', (m) => { result = m as ChildResult; });
    child.on('error', reject);
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`child exited ${code} without a result`))));
  });
}

test('two processes pull and prepare the same image at once: both succeed, one consistent store, one disk build', { skip }, async () => {
  const img = await busyboxImage([[{ name: 'blob1', data: randomBytes(8 << 20) }], [{ name: 'blob2', data: randomBytes(8 << 20) }]]);
  await pushImage(reg, 'race/app', 'v1', img);
  const home = tempHome();
  const ref = `${reg.host}/race/app:v1`;
  const [a, b] = await Promise.all([runChild(home, ref), runChild(home, ref)]);
  assert.ok(a.ok, a.error);
  assert.ok(b.ok, b.error);
  assert.equal(a.digest, img.manifest.digest);
  assert.equal(b.digest, a.digest);
  assert.equal(a.baseDiskPath, b.baseDiskPath);
  assert.equal([a, b].filter((r) => (r.timings?.convertMs ?? 0) > 0).length, 1, 'the disk was built by exactly one of them');
  const images = path.join(home, 'images');
  for (const blob of [img.config, ...img.layers, img.manifest]) {
    const file = path.join(images, 'blobs/sha256', blob.digest.slice(7));
    assert.equal(sha256(fs.readFileSync(file)), blob.digest, `blob ${blob.digest} is intact`);
  }
  assert.deepEqual(filesUnder(path.join(images, 'ingest')), []);
  assert.deepEqual(filesUnder(path.join(images, 'tmp')), []);
  assert.deepEqual(filesUnder(path.join(images, 'disks')), [`${img.manifest.digest.slice(7)}.ext4`], 'one disk, no temp or lock files left');
  assert.equal(filesUnder(path.join(images, 'refs')).length, 1);
  const list = await new ImageStore({ homeDir: home }).list();
  assert.deepEqual(list.map((i) => [i.reference, i.digest]), [[ref, img.manifest.digest]]);
});
