// Pull failures against a real registry: damaged blobs, wrong sizes, a registry dying mid-pull, hostile layers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ImageStore, prepareImageRootfs } from '../../../src/images/index.js';
import { partialPath } from '../../../src/images/store/resumable.js';
import { busyboxImage, busyboxLayer } from '../../fixtures/images.js';
import { filesUnder, tempHome } from '../../helpers/image-homes.js';
import { image, layer, sha256, tarOf } from '../../helpers/oci.js';
import { freePort, pushBlob, pushImage, pushManifest, registryBlobFile, registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

function assertNothingCached(home: string, digest: string): void {
  const images = path.join(home, 'images');
  // Other blobs of the pull, cancelled by the failure, may keep partial downloads to continue later; this one may not.
  assert.deepEqual(filesUnder(path.join(images, 'ingest')).filter((f) => f.includes(digest.slice(7)) || !f.endsWith('.partial')), [], 'no partial of the bad blob, no temp file, no lock');
  assert.equal(fs.existsSync(path.join(images, 'blobs/sha256', digest.slice(7))), false, 'the bad blob is not stored');
  assert.deepEqual(filesUnder(path.join(images, 'refs')), [], 'no ref recorded');
  assert.deepEqual(filesUnder(path.join(images, 'disks')), [], 'no disk built');
}

test('a blob damaged in the registry storage: Image error naming the digest and registry; nothing cached', { skip }, async () => {
  const img = await busyboxImage([[{ name: 'payload', data: randomBytes(4096) }]]);
  await pushImage(reg, 'bad/blob', 'v1', img);
  const victim = img.layers[1]!;
  const file = registryBlobFile(reg, victim.digest);
  const bytes = fs.readFileSync(file);
  bytes[100]! ^= 0xff;
  fs.writeFileSync(file, bytes);
  const home = tempHome();
  await assert.rejects(prepareImageRootfs(new ImageStore({ homeDir: home }), `${reg.host}/bad/blob:v1`), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
    assert.ok(e.message.includes(victim.digest) && e.message.includes(reg.host), e.message);
    assert.match(e.message, /wrong content.*nothing was kept/);
    return true;
  });
  assertNothingCached(home, victim.digest);
});

test('a manifest that declares the wrong size for a layer: Image error naming the digest', { skip }, async () => {
  const l = layer(await tarOf([{ name: 'f', data: 'size test' }]));
  const img = image([await busyboxLayer(), l]);
  for (const b of [img.config, ...img.layers]) await pushBlob(reg, 'bad/size', b);
  const doc = JSON.parse(img.manifest.data.toString()) as { layers: { size: number }[] };
  doc.layers[1]!.size -= 5;
  const data = Buffer.from(JSON.stringify(doc));
  await pushManifest(reg, 'bad/size', 'v1', { data, digest: sha256(data), mediaType: img.manifest.mediaType });
  const home = tempHome();
  await assert.rejects(new ImageStore({ homeDir: home }).pull(`${reg.host}/bad/size:v1`), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(l.digest) && /larger than/.test(e.message));
  assertNothingCached(home, l.digest);
});

test('the registry killed mid-pull: Image error naming the registry; nothing committed; the next pull continues where it stopped', { skip }, async () => {
  const reg2 = await startRegistry('none');
  try {
    const big = layer(await tarOf([{ name: 'big', data: randomBytes(96 * 1024 * 1024) }]), false);
    const img = image([await busyboxLayer(), big]);
    await pushImage(reg2, 'big/app', 'v1', img);
    const home = tempHome();
    // A short idle timeout: should the broken connection ever stall instead of erroring, it still fails fast.
    const store = new ImageStore({ homeDir: home, registryTimeoutMs: 10_000 });
    let killed = false;
    await assert.rejects(store.pull(`${reg2.host}/big/app:v1`, {
      onProgress: (p) => { if (p.layer === big.digest && p.bytesDone > 0 && !killed) { killed = true; reg2.kill(); } },
    }), (e: unknown) => {
      assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
      assert.ok(e.message.includes(reg2.host), e.message);
      return true;
    });
    assert.ok(killed, 'the registry was killed during the download');
    const images = path.join(home, 'images');
    assert.equal(fs.existsSync(path.join(images, 'blobs/sha256', big.digest.slice(7))), false, 'the layer is not committed');
    assert.deepEqual(filesUnder(path.join(images, 'refs')), [], 'no ref recorded');
    const kept = fs.statSync(partialPath(store.content, big.digest)).size;
    assert.ok(kept > 0 && kept < big.data.length, `a partial download is kept (${kept} bytes)`);

    await reg2.restart();
    const resumed: number[] = [];
    // Only the big layer's resume is counted: the small layer may have been cut off mid-download too, and resume as well.
    const pulled = await store.pull(`${reg2.host}/big/app:v1`, { onProgress: (p) => { if (p.layer === big.digest && p.resumedBytes) resumed.push(p.resumedBytes); } });
    assert.equal(pulled.digest, img.manifest.digest);
    assert.deepEqual(resumed, [kept], 'the second pull continued from the kept bytes');
    assert.equal(sha256(fs.readFileSync(store.content.blobPath(big.digest))), big.digest);
    assert.deepEqual(filesUnder(path.join(images, 'ingest')), [], 'the partial became the blob');
  } finally {
    await reg2.close();
  }
});

test('a damaged partial download is thrown away and the blob fetched again from the start', { skip }, async () => {
  const payload = layer(await tarOf([{ name: 'payload', data: randomBytes(2 * 1024 * 1024) }]), false);
  const img = image([await busyboxLayer(), payload]);
  await pushImage(reg, 'partial/damaged', 'v1', img);
  const store = new ImageStore({ homeDir: tempHome() });
  const partial = partialPath(store.content, payload.digest);
  const damaged = Buffer.from(payload.data.subarray(0, 1024 * 1024));
  damaged[1000]! ^= 0xff;
  fs.mkdirSync(path.dirname(partial), { recursive: true });
  fs.writeFileSync(partial, damaged);
  const seen: { resumed?: number; restartedAt?: number } = {};
  await store.pull(`${reg.host}/partial/damaged:v1`, {
    onProgress: (p) => {
      if (p.layer !== payload.digest) return;
      if (p.resumedBytes) seen.resumed = p.resumedBytes;
      else if (seen.resumed !== undefined && seen.restartedAt === undefined && p.bytesDone === 0) seen.restartedAt = 0;
    },
  });
  assert.deepEqual(seen, { resumed: damaged.length, restartedAt: 0 });
  assert.equal(sha256(fs.readFileSync(store.content.blobPath(payload.digest))), payload.digest);
  assert.equal(fs.existsSync(partial), false);
});

test('a layer with "../" paths is refused, naming the layer and the path', { skip }, async () => {
  const evil = layer(await tarOf([{ name: 'ok', data: 'fine' }, { name: '../../../../tmp/boxlite-escape', data: 'pwned' }]));
  await pushImage(reg, 'evil/dotdot', 'v1', image([await busyboxLayer(), evil]));
  const home = tempHome();
  await assert.rejects(prepareImageRootfs(new ImageStore({ homeDir: home }), `${reg.host}/evil/dotdot:v1`), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image');
    assert.ok(e.message.includes(evil.digest) && e.message.includes('../../../../tmp/boxlite-escape'), e.message);
    return true;
  });
  assert.equal(fs.existsSync('/tmp/boxlite-escape'), false);
  assert.deepEqual(filesUnder(path.join(home, 'images/disks')), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/tmp')), []);
});

test('a symlink escape across layers (x -> ../../.. then x/evil) is refused', { skip }, async () => {
  const l1 = layer(await tarOf([{ name: 'x', type: 'symlink', linkname: '../../..' }]));
  const l2 = layer(await tarOf([{ name: 'x/tmp/boxlite-symlink-escape', data: 'pwned' }]));
  await pushImage(reg, 'evil/symlink', 'v1', image([await busyboxLayer(), l1, l2]));
  await assert.rejects(prepareImageRootfs(new ImageStore({ homeDir: tempHome() }), `${reg.host}/evil/symlink:v1`), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image');
    assert.ok(e.message.includes(l2.digest) && e.message.includes('x/tmp/boxlite-symlink-escape') && /symlink "x"/.test(e.message), e.message);
    return true;
  });
  assert.equal(fs.existsSync('/tmp/boxlite-symlink-escape'), false);
});

test('a layer that does not match the config\'s diff_ids (a swapped layer) is refused before any disk is built', { skip }, async () => {
  const real = layer(await tarOf([{ name: 'etc/motd', data: 'swapped in' }]));
  const promised = layer(await tarOf([{ name: 'etc/motd', data: 'what the config promised' }]));
  await pushImage(reg, 'evil/diffid', 'v1', image([await busyboxLayer(), { ...real, diffId: promised.diffId! }]));
  const home = tempHome();
  await assert.rejects(prepareImageRootfs(new ImageStore({ homeDir: home }), `${reg.host}/evil/diffid:v1`), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
    assert.ok(e.message.includes(real.digest) && e.message.includes(promised.diffId!) && e.message.includes('diff_ids'), e.message);
    return true;
  });
  assert.deepEqual(filesUnder(path.join(home, 'images/disks')), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/tmp')), []);
});

test('an unreachable registry: Image error naming it', { skip }, async () => {
  const port = await freePort();
  await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(`127.0.0.1:${port}/nobody/home:v1`), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(`could not reach registry 127.0.0.1:${port}`) && /ECONNREFUSED/.test(e.message));
});
