// Pulling from a real registry on loopback: pull + unpack + convert, search order, platform selection, layers, cache policy.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ImageStore, prepareImageRootfs, type ImageEvent, type PullProgress } from '../../../src/images/index.js';
import { busyboxImage, debugfs, diskLs } from '../../fixtures/images.js';
import { filesUnder, tempHome } from '../../helpers/image-homes.js';
import { index } from '../../helpers/oci.js';
import { pushImage, pushManifest, registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

test('pull + unpack + convert of a public-style repo; config returned; disk holds the files', { skip }, async () => {
  const img = await busyboxImage([], { Env: ['PATH=/bin:/usr/bin', 'GREETING=a=b'], Entrypoint: ['/bin/sh', '-c'], Cmd: ['echo hi'], User: '0:0' });
  await pushImage(reg, 'library/busybox', 'latest', img);
  const home = tempHome();
  const store = new ImageStore({ homeDir: home });
  const progress: PullProgress[] = [];
  const events: ImageEvent[] = [];
  const r = await prepareImageRootfs(store, `${reg.host}/library/busybox`, { onProgress: (p) => progress.push(p), onEvent: (e) => events.push(e) });
  assert.equal(r.digest, img.manifest.digest);
  assert.equal(r.reference, `${reg.host}/library/busybox:latest`);
  assert.equal(r.baseDiskPath, path.join(home, 'images/disks', `${img.manifest.digest.slice(7)}.ext4`));
  assert.deepEqual(r.config, { env: [['PATH', '/bin:/usr/bin'], ['GREETING', 'a=b']], workingDir: '/root', user: '0:0', entrypoint: ['/bin/sh', '-c'], cmd: ['echo hi'] });
  assert.ok(r.timings.pullMs > 0 && r.timings.unpackMs > 0 && r.timings.convertMs > 0);
  const layer = img.layers[0]!;
  const last = progress.filter((p) => p.layer === layer.digest).at(-1);
  assert.deepEqual(last, { layer: layer.digest, bytesDone: layer.data.length, bytesTotal: layer.data.length });
  assert.deepEqual(events.filter((e) => e.type === 'stage').map((e) => e.type === 'stage' && e.stage), ['pull', 'unpack', 'convert']);
  assert.match(debugfs(r.baseDiskPath, 'stat /bin/sh'), /Fast link dest: "\/bin\/busybox"/);
  const etc = diskLs(r.baseDiskPath, '/etc');
  assert.equal(etc.get('hostname.hard'), etc.get('hostname'), 'the hard link shares the inode');
  assert.deepEqual(filesUnder(path.join(home, 'images/ingest')), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/tmp')), [], 'the unpacked tree is deleted once the disk exists');
  const list = await store.list();
  assert.equal(list.length, 1);
  assert.equal(list[0]!.digest, img.manifest.digest);
  assert.equal(list[0]!.sizeBytes, img.config.data.length + layer.data.length);
  assert.ok((list[0]!.diskBytes ?? 0) > 0);
  assert.equal(list[0]!.created, '2024-01-02T03:04:05Z');
});

test('unqualified names are tried on imageRegistries in order', { skip }, async () => {
  const img = await busyboxImage([[{ name: 'which', data: 'ns' }]]);
  await pushImage(reg, 'team/tool', '1', img);
  const store = new ImageStore({ homeDir: tempHome(), imageRegistries: [`${reg.host}/nothing-here`, reg.host] });
  const pulled = await store.pull('team/tool:1');
  assert.equal(pulled.reference, `${reg.host}/team/tool:1`);
  assert.equal(pulled.digest, img.manifest.digest);
  const s2 = new ImageStore({ homeDir: tempHome(), imageRegistries: [`${reg.host}/team`] });
  assert.equal((await s2.pull('tool:1')).reference, `${reg.host}/team/tool:1`);
  await assert.rejects(s2.pull(`${reg.host}/team/absent:1`), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && /404/.test(e.message) && e.message.includes(`${reg.host}/team/absent`));
});

test('a multi-platform index: linux/amd64 is chosen; without it, the error lists the platforms', { skip }, async () => {
  const amd = await busyboxImage([[{ name: 'arch', data: 'amd64' }]]);
  const arm = await busyboxImage([[{ name: 'arch', data: 'arm64' }]], {}, { architecture: 'arm64' });
  const s390 = await busyboxImage([[{ name: 'arch', data: 's390x' }]], {}, { architecture: 's390x' });
  await pushImage(reg, 'multi/app', 'amd-sha', amd);
  await pushImage(reg, 'multi/app', 'arm-sha', arm);
  await pushImage(reg, 'multi/app', 's390-sha', s390);
  const idx = index([{ image: arm, architecture: 'arm64', variant: 'v8' }, { image: amd, architecture: 'amd64' }]);
  await pushManifest(reg, 'multi/app', 'latest', idx);
  const store = new ImageStore({ homeDir: tempHome() });
  const r = await prepareImageRootfs(store, `${reg.host}/multi/app:latest`);
  assert.equal(r.digest, amd.manifest.digest);
  assert.equal((await store.list())[0]!.digest, amd.manifest.digest);
  assert.equal(debugfs(r.baseDiskPath, 'cat /arch'), 'amd64');
  const noAmd = index([{ image: arm, architecture: 'arm64', variant: 'v8' }, { image: s390, architecture: 's390x' }], true);
  await pushManifest(reg, 'multi/app', 'no-amd64', noAmd);
  await assert.rejects(store.pull(`${reg.host}/multi/app:no-amd64`), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image');
    assert.match(e.message, /has no linux\/amd64 image \(it has: linux\/arm64\/v8, linux\/s390x\)/);
    return true;
  });
});

test('whiteouts, opaque directories, hard links and symlinks survive into the disk (Docker schema 2 media types)', { skip }, async () => {
  const img = await busyboxImage([
    [{ name: 'data/keep', data: 'k' }, { name: 'data/remove-me', data: 'r' }, { name: 'opq/lower1', data: '1' }, { name: 'opq/lower2/x', data: '2' },
      { name: 'data/target', data: 'target' }, { name: 'data/sym', type: 'symlink', linkname: 'target' }, { name: 'data/hard', type: 'link', linkname: 'data/target' }],
    [{ name: 'data/.wh.remove-me', data: '' }, { name: 'opq/.wh..wh..opq', data: '' }, { name: 'opq/upper', data: 'u' }, { name: 'etc/.wh.group', data: '' }],
  ], {}, { docker: true });
  await pushImage(reg, 'layers/test', 'v1', img);
  const r = await prepareImageRootfs(new ImageStore({ homeDir: tempHome() }), `${reg.host}/layers/test:v1`);
  const data = diskLs(r.baseDiskPath, '/data');
  assert.deepEqual([...data.keys()].filter((n) => !n.startsWith('.')).sort(), ['hard', 'keep', 'sym', 'target']);
  assert.equal(data.get('hard'), data.get('target'));
  assert.match(debugfs(r.baseDiskPath, 'stat /data/sym'), /Fast link dest: "target"/);
  assert.deepEqual([...diskLs(r.baseDiskPath, '/opq').keys()].filter((n) => !n.startsWith('.')), ['upper']);
  assert.equal(diskLs(r.baseDiskPath, '/etc').has('group'), false);
  assert.equal(diskLs(r.baseDiskPath, '/etc').has('passwd'), true);
});

test('a tag is re-resolved on pull; when the registry is down the stored copy is used with a warning; prepare reuses the disk without network', { skip }, async () => {
  const reg2 = await startRegistry('none');
  try {
    const v1 = await busyboxImage([[{ name: 'version', data: '1' }]]);
    const v2 = await busyboxImage([[{ name: 'version', data: '2' }]]);
    await pushImage(reg2, 'app/moving', 'latest', v1);
    const home = tempHome();
    const store = new ImageStore({ homeDir: home });
    const ref = `${reg2.host}/app/moving`;
    assert.equal((await store.pull(ref)).digest, v1.manifest.digest);
    await pushImage(reg2, 'app/moving', 'latest', v2);
    assert.equal((await store.pull(ref)).digest, v2.manifest.digest, 'the tag is re-resolved');
    const first = await prepareImageRootfs(store, ref);
    assert.equal(first.digest, v2.manifest.digest);
    const st1 = fs.statSync(first.baseDiskPath);

    await reg2.stop();
    const events: ImageEvent[] = [];
    const offline = await store.pull(ref, { onEvent: (e) => events.push(e) });
    assert.equal(offline.fromCache, true);
    assert.equal(offline.digest, v2.manifest.digest);
    const warning = events.find((e) => e.type === 'warning');
    assert.ok(warning && warning.type === 'warning' && warning.message.includes(reg2.host) && warning.message.includes('stored copy'), JSON.stringify(events));

    const fresh = new ImageStore({ homeDir: home }); // a new process's view: no clients, no tokens
    const again = await prepareImageRootfs(fresh, ref, { onEvent: (e) => events.push(e) });
    assert.equal(again.baseDiskPath, first.baseDiskPath);
    assert.deepEqual(again.timings, { pullMs: 0, unpackMs: 0, convertMs: 0 });
    const st2 = fs.statSync(again.baseDiskPath);
    assert.equal(st2.ino, st1.ino);
    assert.equal(st2.mtimeMs, st1.mtimeMs);

    await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(ref), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(reg2.host) && /ECONNREFUSED/.test(e.message));
  } finally {
    await reg2.close();
  }
});

test('remove forgets an image and frees blobs only it used; prune removes unused disks and blobs', { skip }, async () => {
  const a = await busyboxImage([[{ name: 'who', data: 'a' }]]);
  const b = await busyboxImage([[{ name: 'who', data: 'b' }]]);
  await pushImage(reg, 'gc/a', 'latest', a);
  await pushImage(reg, 'gc/b', 'latest', b);
  const home = tempHome();
  const store = new ImageStore({ homeDir: home });
  const ra = await prepareImageRootfs(store, `${reg.host}/gc/a`);
  const rb = await prepareImageRootfs(store, `${reg.host}/gc/b`);
  const removed = await store.remove(`${reg.host}/gc/a`);
  assert.equal(removed.reference, `${reg.host}/gc/a:latest`);
  assert.ok(removed.freedBytes >= a.layers[1]!.data.length);
  assert.ok(await store.content.has(a.layers[0]!.digest), 'the shared busybox layer stays (b uses it)');
  assert.equal(await store.content.has(a.layers[1]!.digest), false);
  await assert.rejects(store.remove(`${reg.host}/gc/a`), (e: unknown) => BoxliteError.is(e) && e.code === 'NotFound');
  assert.ok(fs.existsSync(ra.baseDiskPath), 'disks stay until prune');
  const pruned = await store.prune(new Set([ra.digest]), { graceMs: 0 });
  assert.ok(fs.existsSync(ra.baseDiskPath), 'in use: kept');
  assert.ok(fs.existsSync(rb.baseDiskPath), 'still recorded: kept');
  const all = await store.prune(new Set(), { all: true, graceMs: 0 });
  assert.ok(all.removed.includes(`${reg.host}/gc/b:latest`));
  assert.ok(all.freedBytes > 0 && pruned.freedBytes >= 0);
  assert.equal(fs.existsSync(ra.baseDiskPath) || fs.existsSync(rb.baseDiskPath), false);
  assert.deepEqual(await store.list(), []);
  assert.deepEqual(filesUnder(path.join(home, 'images/blobs')), []);
});

test('a reference by digest is served from the store without the registry', { skip }, async () => {
  const reg3 = await startRegistry('none');
  try {
    const img = await busyboxImage([[{ name: 'pinned', data: 'p' }]]);
    await pushImage(reg3, 'pin/app', 'v', img);
    const store = new ImageStore({ homeDir: tempHome() });
    const byDigest = `${reg3.host}/pin/app@${img.manifest.digest}`;
    assert.equal((await store.pull(byDigest)).digest, img.manifest.digest);
    await reg3.stop();
    const events: ImageEvent[] = [];
    const again = await store.pull(byDigest, { onEvent: (e) => events.push(e) });
    assert.equal(again.digest, img.manifest.digest);
    assert.equal(again.fromCache, false, 'content addressed: nothing to re-resolve, so no fallback was needed');
    assert.deepEqual(events.filter((e) => e.type === 'warning'), []);
  } finally {
    await reg3.close();
  }
});
