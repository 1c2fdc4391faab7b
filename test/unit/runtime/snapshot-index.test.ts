// Snapshot names and the per-box index file: what names pass, and an index that round-trips or is refused when damaged.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { indexPath, readIndex, validateSnapshotName, writeIndex } from '../../../src/runtime/snapshot-index.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-snapidx-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('snapshot names: letters, digits, "_", "." and "-", 1-63, starting with a letter or digit', () => {
  for (const ok of ['a', 'before-upgrade', 'v1.2_3', 'A'.repeat(63)]) assert.equal(validateSnapshotName(ok), ok);
  for (const bad of ['', '-rf', '.hidden', 'a/b', '../x', 'a b', 'é', 'A'.repeat(64), 7, undefined]) {
    assert.throws(() => validateSnapshotName(bad), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /snapshot name must be/.test(e.message) && e.message.includes(JSON.stringify(bad)), String(bad));
  }
});

test('the index round-trips oldest first, is empty when absent, and is refused when damaged', async () => {
  assert.deepEqual(readIndex(dir), []);
  const entries = [{ name: 'b', layer: '0000000002abcdef0123.qcow2', createdAtMs: 2 }, { name: 'a', layer: '0000000001abcdef0123.raw', createdAtMs: 1 }];
  await writeIndex(dir, entries);
  assert.deepEqual(readIndex(dir).map((e) => e.name), ['a', 'b']);
  assert.deepEqual(fs.readdirSync(dir), ['snapshots.json'], 'no temp file left');
  fs.writeFileSync(indexPath(dir), JSON.stringify({ snapshots: [{ name: 'a', layer: '../../etc/passwd', createdAtMs: 1 }] }));
  assert.throws(() => readIndex(dir), (e: unknown) => BoxliteError.is(e) && e.code === 'Storage' && /damaged/.test(e.message));
});
