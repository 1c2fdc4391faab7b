// Local image sources: `docker save` archives and OCI image layout directories, loaded, tagged and booted into disks.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ImageStore, prepareImageRootfs } from '../../../src/images/index.js';
import { busyboxLayer, debugfs } from '../../fixtures/images.js';
import { tempHome } from '../../helpers/image-homes.js';
import { image, index, layer, tarOf, type TestImage } from '../../helpers/oci.js';

async function twoLayerImage(marker: string): Promise<TestImage> {
  const base = await busyboxLayer();
  return image([base, layer(await tarOf([{ name: 'marker', data: marker }]), false)], { Cmd: ['/bin/sh'], Env: ['FROM=archive'] });
}

/** A classic `docker save` tar: <hex>.json config, <id>/layer.tar per layer (the second as a symlink into blobs/), manifest.json. */
async function dockerSave(images: { img: TestImage; tags: string[] }[]): Promise<Buffer> {
  const entries: Parameters<typeof tarOf>[0] = [];
  const manifest = [];
  for (const { img, tags } of images) {
    const configName = `${img.config.digest.slice(7)}.json`;
    entries.push({ name: configName, data: img.config.data });
    const layers: string[] = [];
    for (const [i, l] of img.layers.entries()) {
      const id = l.digest.slice(7, 71);
      if (!entries.some((e) => e.name === `${id}/`)) {
        entries.push({ name: `${id}/`, type: 'directory' }, { name: `${id}/VERSION`, data: '1.0' });
        if (i === 1) {
          entries.push({ name: `blobs/sha256/${id}`, data: l.data }, { name: `${id}/layer.tar`, type: 'symlink', linkname: `../blobs/sha256/${id}` });
        } else {
          entries.push({ name: `${id}/layer.tar`, data: l.data });
        }
      }
      layers.push(`${id}/layer.tar`);
    }
    manifest.push({ Config: configName, RepoTags: tags, Layers: layers });
  }
  entries.push({ name: 'manifest.json', data: JSON.stringify(manifest) });
  return tarOf(entries);
}

/** An OCI image layout directory holding `img`, its index entry named `refName`. */
function ociLayout(dir: string, entries: { manifest: { data: Buffer; digest: string; mediaType: string }; refName?: string }[], blobs: { data: Buffer; digest: string }[]): void {
  fs.mkdirSync(path.join(dir, 'blobs/sha256'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  for (const b of blobs) fs.writeFileSync(path.join(dir, 'blobs/sha256', b.digest.slice(7)), b.data);
  fs.writeFileSync(path.join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: entries.map((e) => ({ mediaType: e.manifest.mediaType, digest: e.manifest.digest, size: e.manifest.data.length, ...(e.refName ? { annotations: { 'org.opencontainers.image.ref.name': e.refName } } : {}) })),
  }));
}

const allBlobs = (img: TestImage) => [img.manifest, img.config, ...img.layers];

test('a docker save archive loads under its RepoTag and prepares into a disk', async () => {
  const img = await twoLayerImage('from-archive');
  const home = tempHome();
  const file = path.join(home, 'saved.tar');
  fs.writeFileSync(file, await dockerSave([{ img, tags: ['example.com/team/saved:1.0'] }]));
  const store = new ImageStore({ homeDir: home });
  const loaded = await store.loadArchive(file);
  assert.equal(loaded.reference, 'example.com/team/saved:1.0');
  assert.deepEqual(loaded.layers.map((l) => l.digest), img.layers.map((l) => l.digest));
  assert.deepEqual(loaded.config.env.find(([k]) => k === 'FROM'), ['FROM', 'archive']);
  const r = await prepareImageRootfs(store, 'example.com/team/saved:1.0');
  assert.equal(r.digest, loaded.digest);
  assert.equal(debugfs(r.baseDiskPath, 'cat /marker'), 'from-archive');
});

test('a docker save archive with several images: the reference picks one and tags it; without one it is an InvalidArgument', async () => {
  const a = await twoLayerImage('a');
  const b = await twoLayerImage('b');
  const home = tempHome();
  const file = path.join(home, 'two.tar');
  fs.writeFileSync(file, await dockerSave([{ img: a, tags: ['app-a:latest'] }, { img: b, tags: ['app-b:v2'] }]));
  const store = new ImageStore({ homeDir: home });
  await assert.rejects(store.loadArchive(file), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && e.message.includes('app-b:v2'));
  const loaded = await store.loadArchive(file, 'app-b:v2');
  assert.equal(loaded.reference, 'docker.io/library/app-b:v2');
  const r = await prepareImageRootfs(store, 'app-b:v2');
  assert.equal(debugfs(r.baseDiskPath, 'cat /marker'), 'b');
  await assert.rejects(store.loadArchive(path.join(home, 'missing.tar')), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes('missing.tar'));
});

test('an OCI layout loads by its ref.name, or tagged by the caller; nested index selects linux/amd64', async () => {
  const img = await twoLayerImage('from-layout');
  const arm = image(img.layers, {}, { architecture: 'arm64' });
  const idx = index([{ image: arm, architecture: 'arm64' }, { image: img, architecture: 'amd64' }]);
  const home = tempHome();
  const dir = path.join(home, 'layout');
  ociLayout(dir, [{ manifest: img.manifest, refName: 'v1' }, { manifest: idx, refName: 'multi' }], [...allBlobs(img), ...allBlobs(arm), idx]);
  const store = new ImageStore({ homeDir: home });
  await assert.rejects(store.loadLayout(dir), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /holds 2 images/.test(e.message));
  const v1 = await store.loadLayout(dir, 'localhost/layout:v1');
  assert.equal(v1.reference, 'localhost/layout:v1');
  assert.equal(v1.digest, img.manifest.digest);
  const multi = await store.loadLayout(dir, 'localhost/layout:multi');
  assert.equal(multi.digest, img.manifest.digest, 'the amd64 entry of the nested index');
  assert.equal(multi.indexDigest, idx.digest);
  const r = await prepareImageRootfs(store, 'localhost/layout:v1');
  assert.equal(debugfs(r.baseDiskPath, 'cat /marker'), 'from-layout');
});

test('an OCI layout with a damaged blob is refused with the digest; a directory that is not a layout is an InvalidArgument', async () => {
  const img = await twoLayerImage('damaged');
  const home = tempHome();
  const dir = path.join(home, 'bad-layout');
  ociLayout(dir, [{ manifest: img.manifest, refName: 'registry.local/x:1' }], allBlobs(img));
  const victim = path.join(dir, 'blobs/sha256', img.layers[1]!.digest.slice(7));
  const bytes = fs.readFileSync(victim);
  bytes[10]! ^= 1;
  fs.writeFileSync(victim, bytes);
  const store = new ImageStore({ homeDir: home });
  await assert.rejects(store.loadLayout(dir), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(img.layers[1]!.digest));
  assert.equal(await store.content.has(img.layers[1]!.digest), false);
  await assert.rejects(store.loadLayout(home), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /not an OCI image layout/.test(e.message));
});
