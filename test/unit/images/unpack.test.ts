// Layer unpacking: file types, metadata, whiteouts, compression, and refusal of paths that escape the root.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { unpackLayers } from '../../../src/images/unpack/unpack-image.js';
import { layer, sha256, tarOf, type TarEntry } from '../../helpers/oci.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-unpack-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;

/** Writes each layer's blob to a file and unpacks them all into a fresh dir, checking each layer's diff id. */
async function unpack(layers: (TarEntry[] | Buffer)[], compress: boolean | 'zstd' = true): Promise<string> {
  const dir = path.join(work, `case-${++n}`);
  const files: { path: string; digest: string; diffId: string }[] = [];
  for (const [i, l] of layers.entries()) {
    const tarBytes = Buffer.isBuffer(l) ? l : await tarOf(l);
    const p = path.join(work, `layer-${n}-${i}`);
    if (compress === 'zstd') {
      fs.writeFileSync(`${p}.tar`, tarBytes);
      execFileSync('zstd', ['-q', '-f', '-o', p, `${p}.tar`]);
      files.push({ path: p, digest: `sha256:${String(i).repeat(64)}`, diffId: sha256(tarBytes) });
    } else {
      const blob = layer(tarBytes, compress);
      fs.writeFileSync(p, blob.data);
      files.push({ path: p, digest: blob.digest, diffId: sha256(tarBytes) });
    }
  }
  await unpackLayers(path.join(dir, 'root'), files);
  return path.join(dir, 'root');
}

async function refused(layers: TarEntry[][], pathPart: string): Promise<void> {
  await assert.rejects(unpack(layers), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
    assert.match(e.message, /layer sha256:[0-9a-f]{64}/, 'names the layer digest');
    assert.ok(e.message.includes(pathPart), `names the path ${pathPart}: ${e.message}`);
    return true;
  });
}

test('files, directories, symlinks, hard links, fifos and device nodes, with modes, owners and mtimes', async () => {
  const mtime = new Date('2020-05-06T07:08:09Z');
  const root = await unpack([[
    { name: './etc/', type: 'directory', mode: 0o755 },
    { name: './etc/hello', data: 'hi\n', mode: 0o640, uid: 1000, gid: 100, mtime },
    { name: './bin/', type: 'directory' },
    { name: './bin/su', data: 'x', mode: 0o4755 },
    { name: './tmp/', type: 'directory', mode: 0o1777 },
    { name: './etc/link', type: 'symlink', linkname: 'hello' },
    { name: './etc/abs', type: 'symlink', linkname: '/etc/hello' },
    { name: './etc/hard', type: 'link', linkname: './etc/hello' },
    { name: './run/fifo', type: 'fifo', mode: 0o600 },
    { name: './dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: './var/lib/deep/file', data: 'implicit parents' },
  ]]);
  const hello = fs.lstatSync(path.join(root, 'etc/hello'));
  assert.equal(fs.readFileSync(path.join(root, 'etc/hello'), 'utf8'), 'hi\n');
  assert.equal(hello.mode & 0o7777, 0o640);
  assert.equal(hello.mtime.getTime(), mtime.getTime());
  if (process.getuid?.() === 0) assert.deepEqual([hello.uid, hello.gid], [1000, 100]);
  assert.equal(fs.statSync(path.join(root, 'bin/su')).mode & 0o7777, 0o4755);
  assert.equal(fs.statSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
  assert.equal(fs.readlinkSync(path.join(root, 'etc/link')), 'hello');
  assert.equal(fs.readlinkSync(path.join(root, 'etc/abs')), '/etc/hello');
  assert.equal(fs.statSync(path.join(root, 'etc/hard')).ino, hello.ino);
  assert.equal(hello.nlink, 2);
  assert.ok(fs.lstatSync(path.join(root, 'run/fifo')).isFIFO());
  if (process.getuid?.() === 0) {
    const dev = fs.lstatSync(path.join(root, 'dev/null'));
    assert.ok(dev.isCharacterDevice());
    assert.equal(dev.rdev, 0x103);
  }
  assert.equal(fs.readFileSync(path.join(root, 'var/lib/deep/file'), 'utf8'), 'implicit parents');
  assert.equal(fs.statSync(path.join(root, 'etc')).mtime.getTime(), new Date('2024-01-02T03:04:05Z').getTime(), 'directory mtimes are set last');
});

test('whiteouts delete files and directories of lower layers; opaque directories hide their contents', async () => {
  const root = await unpack([
    [
      { name: 'a/keep', data: '1' }, { name: 'a/gone', data: '2' }, { name: 'b/sub/x', data: '3' },
      { name: 'opq/old1', data: 'o' }, { name: 'opq/olddir/f', data: 'o' }, { name: 'opq/kept-dir/lower', data: 'o' },
    ],
    [
      { name: 'a/.wh.gone', data: '' }, { name: '.wh.b', data: '' },
      { name: 'opq/new', data: 'n' },
      { name: 'opq/.wh..wh..opq', data: '' },
      { name: 'opq/kept-dir/upper', data: 'u' },
    ],
  ]);
  assert.deepEqual(fs.readdirSync(path.join(root, 'a')), ['keep']);
  assert.equal(fs.existsSync(path.join(root, 'b')), false);
  assert.deepEqual(fs.readdirSync(path.join(root, 'opq')).sort(), ['kept-dir', 'new']);
  assert.deepEqual(fs.readdirSync(path.join(root, 'opq/kept-dir')), ['upper']);
});

test('a later layer replaces a file with a directory, a directory with a symlink, and a symlink with a file (never writing through it)', async () => {
  const outside = path.join(work, 'outside-target');
  fs.writeFileSync(outside, 'untouched');
  const root = await unpack([
    [{ name: 'x', data: 'file' }, { name: 'd/f', data: '1' }, { name: 's', type: 'symlink', linkname: outside }],
    [{ name: 'x/', type: 'directory' }, { name: 'x/in', data: 'dir now' }, { name: 'd', type: 'symlink', linkname: '/tmp' }, { name: 's', data: 'replaced' }],
  ]);
  assert.equal(fs.readFileSync(path.join(root, 'x/in'), 'utf8'), 'dir now');
  assert.equal(fs.readlinkSync(path.join(root, 'd')), '/tmp');
  assert.ok(fs.lstatSync(path.join(root, 's')).isFile());
  assert.equal(fs.readFileSync(outside, 'utf8'), 'untouched');
});

test('plain tar and zstd layers unpack like gzip ones', async () => {
  const entries: TarEntry[] = [{ name: 'f', data: 'same' }];
  for (const mode of [false, 'zstd'] as const) {
    const root = await unpack([entries], mode);
    assert.equal(fs.readFileSync(path.join(root, 'f'), 'utf8'), 'same');
  }
});

test('refuses "../" paths', async () => {
  await refused([[{ name: '../evil', data: 'x' }]], '../evil');
  await refused([[{ name: 'a/../../evil', data: 'x' }]], 'a/../../evil');
});

test('refuses absolute paths', async () => {
  await refused([[{ name: '/etc/evil', data: 'x' }]], '/etc/evil');
});

test('refuses writing through a symlink made earlier in the same layer', async () => {
  await refused([[{ name: 'x', type: 'symlink', linkname: '../../..' }, { name: 'x/evil', data: 'x' }]], 'x/evil');
});

test('refuses writing through a symlink made by a lower layer (etc -> /)', async () => {
  await refused([[{ name: 'etc', type: 'symlink', linkname: '/' }], [{ name: 'etc/evil', data: 'x' }]], 'etc/evil');
  assert.equal(fs.existsSync('/evil'), false);
});

test('refuses a directory entry, hard link or whiteout through a symlink', async () => {
  await refused([[{ name: 'l', type: 'symlink', linkname: '/' }], [{ name: 'l/tmp/', type: 'directory' }]], 'l/tmp');
  await refused([[{ name: 'l', type: 'symlink', linkname: '/etc' }], [{ name: 'h', type: 'link', linkname: 'l/passwd' }]], 'l/passwd');
  await refused([[{ name: 'l', type: 'symlink', linkname: '/' }], [{ name: 'l/.wh.etc', data: '' }]], 'l/.wh.etc');
  await refused([[{ name: 'h', type: 'link', linkname: '../../etc/passwd' }]], '../../etc/passwd');
});

test('a damaged gzip layer is an Image error naming the layer', async () => {
  const dir = path.join(work, 'bad');
  const p = path.join(work, 'bad-layer');
  const good = layer(await tarOf([{ name: 'f', data: 'x'.repeat(10000) }]));
  const data = Buffer.from(good.data);
  data[data.length - 12]! ^= 0xff;
  fs.writeFileSync(p, data);
  await assert.rejects(unpackLayers(dir, [{ path: p, digest: good.digest }]), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(good.digest));
});

test('a layer whose uncompressed tar does not match its diff id is an Image error naming both digests', async () => {
  const tarBytes = await tarOf([{ name: 'f', data: 'real content' }]);
  const claimed = sha256(await tarOf([{ name: 'f', data: 'what the config promised' }]));
  for (const compress of [true, false]) {
    const blob = layer(tarBytes, compress);
    const p = path.join(work, `diffid-${String(compress)}`);
    fs.writeFileSync(p, blob.data);
    await assert.rejects(unpackLayers(path.join(work, `diffid-root-${String(compress)}`), [{ path: p, digest: blob.digest, diffId: claimed }]), (e: unknown) => {
      assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
      assert.ok(e.message.includes(blob.digest) && e.message.includes(claimed) && e.message.includes(sha256(tarBytes)), e.message);
      assert.match(e.message, /rootfs\.diff_ids/);
      return true;
    });
  }
});
