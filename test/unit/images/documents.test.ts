// Manifest, index and config documents: parsing, media types, and the errors for unusable ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseImageConfig } from '../../../src/images/config.js';
import { MediaType, parseManifest } from '../../../src/images/manifest.js';

const D = `sha256:${'b'.repeat(64)}`;
const j = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

test('an OCI manifest, a Docker schema 2 manifest, an OCI index and a Docker list', () => {
  const m = parseManifest(j({ schemaVersion: 2, mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: D, size: 5 }, layers: [{ mediaType: MediaType.DockerLayerGzip, digest: D, size: 7 }] }), 'w');
  assert.equal(m.kind, 'manifest');
  assert.equal(m.mediaType, MediaType.DockerManifest);
  const noType = parseManifest(j({ schemaVersion: 2, config: { digest: D, size: 1 }, layers: [] }), 'w', `${MediaType.OciManifest}; charset=utf-8`);
  assert.equal(noType.mediaType, MediaType.OciManifest);
  const i = parseManifest(j({ schemaVersion: 2, manifests: [{ mediaType: MediaType.OciManifest, digest: D, size: 3, platform: { os: 'linux', architecture: 'amd64' } }] }), 'w');
  assert.equal(i.kind, 'index');
  const list = parseManifest(j({ schemaVersion: 2, mediaType: MediaType.DockerList, manifests: [] }), 'w');
  assert.deepEqual(list, { kind: 'index', mediaType: MediaType.DockerList, manifests: [] });
});

const bad: [string, Buffer, RegExp][] = [
  ['not JSON', Buffer.from('{'), /not JSON/],
  ['schema 1', j({ schemaVersion: 1, fsLayers: [] }), /schema 1/],
  ['a bad digest', j({ config: { digest: 'sha256:xyz', size: 1 }, layers: [] }), /config\.digest/],
  ['a negative size', j({ config: { digest: D, size: -1 }, layers: [] }), /config\.size/],
  ['neither', j({ schemaVersion: 2, mediaType: 'text/plain' }), /neither an image manifest nor an index/],
];
for (const [what, bytes, why] of bad) {
  test(`a manifest with ${what} is an Image error naming its source`, () => {
    assert.throws(() => parseManifest(bytes, 'http://reg/v2/x/manifests/y'), (e: unknown) => {
      assert.match(String((e as Error).message), why);
      assert.match(String((e as Error).message), /http:\/\/reg\/v2\/x\/manifests\/y/);
      return (e as { code?: string }).code === 'Image';
    });
  });
}

test('image config: Env split at the first =, WorkingDir, User, Entrypoint, Cmd, created, diff_ids', () => {
  const c = parseImageConfig(j({
    created: '2024-01-01T00:00:00Z',
    config: { Env: ['A=1', 'B=x=y', 'EMPTY=', 'BARE'], WorkingDir: '/app', User: 'nobody', Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo'] },
    rootfs: { type: 'layers', diff_ids: [D] },
  }), 'cfg');
  assert.deepEqual(c, { env: [['A', '1'], ['B', 'x=y'], ['EMPTY', ''], ['BARE', '']], workingDir: '/app', user: 'nobody', entrypoint: ['/bin/sh', '-c'], cmd: ['echo'], created: '2024-01-01T00:00:00Z', diffIds: [D] });
  assert.deepEqual(parseImageConfig(j({ config: null }), 'cfg'), { env: [], diffIds: [] });
  assert.deepEqual(parseImageConfig(j({ config: { Cmd: null, Entrypoint: 'not-a-list', WorkingDir: '' } }), 'cfg'), { env: [], diffIds: [] });
  assert.throws(() => parseImageConfig(Buffer.from('nope'), 'sha256:cfg'), /sha256:cfg is not JSON/);
});
