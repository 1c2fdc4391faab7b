// The content store: verified ingest, nothing kept on mismatch or interruption, concurrent writers of one blob.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ContentStore } from '../../../src/images/store/content-store.js';
import { sha256 } from '../../helpers/oci.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-cs-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const store = new ContentStore(root);

async function* chunks(data: Buffer, size = 1000, failAt?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.length; i += size) {
    if (failAt !== undefined && i >= failAt) throw new Error('connection reset');
    yield data.subarray(i, i + size);
  }
}

const ingestEmpty = (): boolean => fs.readdirSync(path.join(root, 'ingest')).length === 0;

test('stores a blob under its digest, reporting progress', async () => {
  const data = Buffer.from('x'.repeat(5000));
  const seen: number[] = [];
  const info = await store.ingest(chunks(data), { expected: { digest: sha256(data), size: data.length }, source: 'test', onBytes: (b) => seen.push(b) });
  assert.deepEqual(info, { digest: sha256(data), size: 5000 });
  assert.deepEqual(seen, [1000, 2000, 3000, 4000, 5000]);
  assert.ok(await store.has(info.digest));
  assert.deepEqual(await store.read(info.digest), data);
  assert.ok(ingestEmpty());
});

test('a digest mismatch is an Image error naming digest and source, and keeps nothing', async () => {
  const data = Buffer.from('real content');
  const claimed = sha256(Buffer.from('other content'));
  await assert.rejects(store.ingest(chunks(data), { expected: { digest: claimed, size: data.length }, source: 'registry 127.0.0.1:1 (r)' }), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image');
    assert.ok(e.message.includes(claimed) && e.message.includes('registry 127.0.0.1:1'), e.message);
    return true;
  });
  assert.equal(await store.has(claimed), false);
  assert.equal(await store.has(sha256(data)), false);
  assert.ok(ingestEmpty());
});

test('too many or too few bytes are refused', async () => {
  const data = Buffer.alloc(3000, 1);
  await assert.rejects(store.ingest(chunks(data), { expected: { digest: sha256(data), size: 2000 }, source: 's' }), /larger than the 2000 bytes/);
  await assert.rejects(store.ingest(chunks(data), { expected: { digest: sha256(data), size: 4000 }, source: 's' }), /ended after 3000 of 4000 bytes/);
  assert.ok(ingestEmpty());
});

test('an interrupted stream leaves nothing, and a retry succeeds', async () => {
  const data = Buffer.alloc(10_000, 7);
  await assert.rejects(store.ingest(chunks(data, 1000, 5000), { expected: { digest: sha256(data), size: data.length }, source: 's' }), /connection reset/);
  assert.equal(await store.has(sha256(data)), false);
  assert.ok(ingestEmpty());
  await store.ingest(chunks(data), { expected: { digest: sha256(data), size: data.length }, source: 's' });
  assert.ok(await store.has(sha256(data)));
});

test('two writers of the same blob at once both succeed', async () => {
  const data = Buffer.alloc(200_000, 3);
  const opts = { expected: { digest: sha256(data), size: data.length }, source: 's' };
  const [a, b] = await Promise.all([store.ingest(chunks(data), opts), store.ingest(chunks(data), opts)]);
  assert.deepEqual(a, b);
  assert.deepEqual(await store.read(a.digest), data);
});

test('without an expected digest, the blob is stored under the digest it has', async () => {
  const data = Buffer.from('anything');
  assert.equal((await store.write(data, 's')).digest, sha256(data));
});
