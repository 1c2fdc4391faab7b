// Turning a box's overlay upper directory into OCI layer entries, and the committed image's config and manifest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import type { Header } from 'tar-stream';
import { BoxliteError } from '../../../src/errors.js';
import { checkCommitOptions, committedConfig, committedManifest } from '../../../src/images/commit/image-config.js';
import { LayerEntries, OPAQUE_PAX } from '../../../src/images/commit/layer-entries.js';
import { LayerWriter } from '../../../src/images/commit/layer-writer.js';
import { ContentStore } from '../../../src/images/store/content-store.js';
import { MediaType } from '../../../src/images/manifest.js';

const limits = { maxBytes: 1000, maxFiles: 20 };
const h = (name: string, type: Header['type'] = 'file', more: Partial<Header> = {}): Header =>
  ({ name, type, size: 0, mode: 0o644, mtime: new Date(0), linkname: '', uid: 0, gid: 0, uname: '', gname: '', devmajor: 0, devminor: 0, ...more });
const names = (entries: LayerEntries, headers: Header[]): string[] => headers.flatMap((x) => entries.convert(x).map((o) => `${o.type}:${o.name}`));

test('whiteouts (0/0 character devices) become .wh. files, opaque directories get .wh..wh..opq', () => {
  const e = new LayerEntries('box X', limits);
  assert.deepEqual(names(e, [
    h('./', 'directory'),
    h('./etc/', 'directory'),
    h('./etc/gone', 'character-device'),
    h('./gone-at-top', 'character-device'),
    h('./srv/old/', 'directory', { pax: { [OPAQUE_PAX]: 'y' } }),
    h('./srv/old/c', 'file', { size: 2 }),
    h('./srv/x/', 'directory', { pax: { [OPAQUE_PAX]: 'x' } }), // "x" (xwhiteouts inside) is not opaque
    h('./root/link', 'symlink', { linkname: '/etc/passwd' }),
    h('./root/fifo', 'fifo'),
  ]), [
    'directory:etc/', 'file:etc/.wh.gone', 'file:.wh.gone-at-top',
    'directory:srv/old/', 'file:srv/old/.wh..wh..opq', 'file:srv/old/c',
    'directory:srv/x/', 'symlink:root/link', 'fifo:root/fifo',
  ]);
  assert.equal(e.bytes, 2);
  assert.deepEqual(names(new LayerEntries('box X', limits), [h('./c', 'contiguous-file')]), ['file:c']);
});

test('all names of one commit together are bounded (the checker keeps them)', () => {
  const e = new LayerEntries('box X', { maxBytes: 1000, maxFiles: 1_000_000 });
  assert.throws(() => { for (let i = 0; i < 20_000; i++) e.convert(h(`./d/${String(i).padStart(4000, '0')}`, 'fifo')); },
    (err: unknown) => BoxliteError.is(err) && err.code === 'Portal' && /more than 64 MiB of entry names/.test(err.message));
});

test('device nodes other than whiteouts and the agent\'s empty resolv.conf are left out', () => {
  const e = new LayerEntries('box X', limits);
  assert.deepEqual(names(e, [
    h('./dev/null2', 'character-device', { devmajor: 1, devminor: 3 }),
    h('./dev/sda', 'block-device', { devmajor: 8, devminor: 0 }),
    h('./etc/resolv.conf', 'file', { size: 0 }),
  ]), []);
  assert.deepEqual(e.dropped, ['/dev/null2', '/dev/sda']);
  assert.deepEqual(names(new LayerEntries('box X', limits), [h('./etc/resolv.conf', 'file', { size: 5 })]), ['file:etc/resolv.conf']);
});

test('refuses what a hostile or odd box could use to change the image unseen', () => {
  const cases: Array<[Header[], string, RegExp]> = [
    [[h('./root/.wh.passwd')], 'InvalidArgument', /starts with "\.wh\."/],
    [[h('/etc/passwd')], 'Portal', /absolute name/],
    [[h('./../x')], 'Portal', /climbs out/],
    [[h('./a', 'link', { linkname: './b' })], 'Portal', /hard link/],
    [[h('./l', 'symlink', { linkname: '/etc' }), h('./l/shadow')], 'Portal', /a symlink of the same archive/],
    [[h('./big', 'file', { size: 1001 })], 'InvalidArgument', /maxBytes.*CommitOptions/],
    [[h(`./${'n'.repeat(5000)}`)], 'Portal', /longer than 4096 bytes/],
    [[h('./l', 'symlink', { linkname: 'x'.repeat(9000) })], 'Portal', /longer than 4096 bytes/],
  ];
  for (const [headers, code, re] of cases) {
    const e = new LayerEntries('box X', limits);
    assert.throws(() => { for (const x of headers) e.convert(x); }, (err: unknown) => BoxliteError.is(err) && err.code === code && re.test(err.message), re.source);
  }
});

test('the committed config keeps the base, appends the layer and history, and applies the options', () => {
  const base = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Env: ['A=1'], Cmd: ['/bin/sh'], WorkingDir: '/root', Labels: { l: 'v' } },
    rootfs: { type: 'layers', diff_ids: ['sha256:aa'] }, history: [{ created_by: 'base' }],
  }));
  const now = new Date('2026-01-02T03:04:05Z');
  const doc = JSON.parse(committedConfig(base, { diffId: 'sha256:bb' }, { cmd: ['/app'], author: 'me', message: 'why' }, now).toString()) as { rootfs: unknown; config: unknown; history: unknown; author: string; architecture: string };
  assert.deepEqual(doc.rootfs, { type: 'layers', diff_ids: ['sha256:aa', 'sha256:bb'] });
  assert.deepEqual(doc.config, { Env: ['A=1'], Cmd: ['/app'], WorkingDir: '/root', Labels: { l: 'v' } });
  assert.deepEqual(doc.history, [{ created_by: 'base' }, { created: now.toISOString(), created_by: 'boxlite commit', comment: 'why' }]);
  assert.equal(doc.author, 'me');
  assert.equal(doc.architecture, 'amd64');
  const noHistory = JSON.parse(committedConfig(Buffer.from('{"rootfs":{"diff_ids":["sha256:aa"]}}'), { diffId: 'sha256:bb' }, {}).toString()) as Record<string, unknown>;
  assert.equal('history' in noHistory, false, 'a base without history (but with layers) gets none: it would not line up with the layers');
});

test('the committed manifest is OCI, with the base layers (Docker gzip renamed) and the new one last', () => {
  const d = (n: string): string => `sha256:${n.repeat(64)}`;
  const { manifest, bytes } = committedManifest(
    { kind: 'manifest', mediaType: MediaType.DockerManifest, config: { mediaType: MediaType.DockerConfig, digest: d('1'), size: 1 }, layers: [{ mediaType: MediaType.DockerLayerGzip, digest: d('2'), size: 2 }] },
    { digest: d('3'), size: 3 }, { digest: d('4'), size: 4, diffId: d('5') });
  assert.deepEqual(manifest.layers.map((l) => [l.mediaType, l.digest]), [[MediaType.OciLayerGzip, d('2')], [MediaType.OciLayerGzip, d('4')]]);
  assert.deepEqual(JSON.parse(bytes.toString()), { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, digest: d('3'), size: 3 }, layers: manifest.layers });
});

test('commit options are checked at the edge', () => {
  for (const [o, re] of [[{ cmd: 'ls' }, /cmd must be an array/], [{ env: ['NOEQUALS'] }, /KEY=VALUE/], [{ maxBytes: 0 }, /maxBytes must be a positive integer/], [{ author: 1 }, /author must be a string/]] as const) {
    assert.throws(() => checkCommitOptions(o as never), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && re.test(e.message));
  }
});

test('LayerWriter stores the gzipped tar with its diff_id; an abort (even before the ingest opened its file) keeps nothing', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-layer-writer-'));
  try {
    const content = new ContentStore(root);
    const w = new LayerWriter(content, 'test');
    await w.add({ name: 'etc/', type: 'directory', mode: 0o755 });
    await w.add({ name: 'etc/.wh.gone', type: 'file', size: 0, mode: 0o644 });
    await w.add({ name: 'etc/hello', type: 'file', size: 5, mode: 0o644 }, (async function* body() { yield Buffer.from('he'); yield Buffer.from('llo'); })());
    const layer = await w.finish();
    const blob = fs.readFileSync(content.blobPath(layer.digest));
    assert.equal(blob.length, layer.size);
    const tarBytes = gunzipSync(blob);
    assert.equal(layer.diffId, `sha256:${createHash('sha256').update(tarBytes).digest('hex')}`);
    assert.ok(tarBytes.includes(Buffer.from('etc/.wh.gone')) && tarBytes.includes(Buffer.from('hello')));
    for (let i = 0; i < 20; i++) await new LayerWriter(content, 'test').abort(new Error('stop'));
    assert.deepEqual(fs.readdirSync(path.join(root, 'ingest')), []);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
