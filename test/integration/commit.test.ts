// box.commit() and images.push() on real VMs and a real registry on loopback: a box's changes (new files, deleted
// files, a directory replaced) become a layer; a box from the committed image sees them; pushed and pulled back too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BoxliteError } from '../../src/errors.js';
import { ImageStore, type PullProgress } from '../../src/images/index.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { busyboxImage } from '../fixtures/images.js';
import { busyboxBox, sh, testRuntime, TEST_HOME } from '../helpers/boxes.js';
import { tempHome } from '../helpers/image-homes.js';
import { freePort, pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => {
  if (reg) { // the images this file pulled from its registry (the committed ones are removed by each test)
    const store = new ImageStore({ homeDir: TEST_HOME });
    for (const i of await store.list()) if (i.reference.startsWith(`${reg.host}/`)) await store.remove(i.reference).catch(() => undefined);
  }
  await reg?.close();
});

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const boxlite = (...args: string[]): { code: number | null; stdout: string; stderr: string } => {
  const r = spawnSync(process.execPath, [MAIN, '--home', TEST_HOME, ...args], { encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

const CHECK = 'cat /root/new.txt; test -e /etc/doomed && echo doomed-still-there; ls /srv/old; cat /srv/keep';

describe('commit and push', { skip }, () => {
  it('commits an image box: new files, a deleted file and a replaced directory reach a new box; push and pull it back', async () => {
    await pushImage(reg, 'test/base', 'v1', await busyboxImage([[
      { name: 'etc/doomed', data: 'delete me' }, { name: 'srv/', type: 'directory' }, { name: 'srv/keep', data: 'kept\n' },
      { name: 'srv/old/', type: 'directory' }, { name: 'srv/old/a', data: 'a' }, { name: 'srv/old/b', data: 'b' },
    ]]));
    const runtime = testRuntime();
    const ref = `${reg.host}/test/committed:v1`;
    const box = await runtime.create({ rootfs: { image: `${reg.host}/test/base:v1` }, cpus: 1, memoryMib: 256 });
    try {
      const made = await sh(box, 'echo hello > /root/new.txt && rm /etc/doomed && rm -rf /srv/old && mkdir /srv/old && echo c > /srv/old/c');
      assert.equal(made.exitCode, 0, made.stderr);
      const t0 = performance.now();
      const image = await box.commit(ref, { message: 'from the test', cmd: ['/bin/sh', '-c', 'echo committed'] });
      console.log(`commit: ${Math.round(performance.now() - t0)} ms`);
      assert.equal(image.reference, ref);
      assert.equal(image.layers.length, 3);
      assert.deepEqual(image.config.cmd, ['/bin/sh', '-c', 'echo committed']);
      assert.equal(image.config.workingDir, '/root', 'the base image\'s process defaults are kept');
      assert.ok((await runtime.images.list()).some((i) => i.reference === ref && i.digest === image.digest), 'the image listing shows it');
    } finally {
      await box.stop();
    }
    const again = await runtime.create({ rootfs: { image: ref }, cpus: 1, memoryMib: 256 });
    try {
      assert.equal((await sh(again, CHECK)).stdout, 'hello\nc\nkept\n');
    } finally {
      await again.stop();
    }

    const t1 = performance.now();
    const pushed = await runtime.images.push(ref);
    console.log(`push: ${Math.round(performance.now() - t1)} ms`);
    assert.equal(pushed.digest, (await runtime.images.get(ref))!.digest);
    const fresh = new BoxliteRuntime({ homeDir: tempHome(), snapshots: false });
    try {
      const pulled = await fresh.images.pull(ref);
      assert.equal(pulled.digest, pushed.digest, 'the registry serves the manifest pushed');
      const third = await fresh.create({ rootfs: { image: ref }, cpus: 1, memoryMib: 256 });
      try {
        assert.equal((await sh(third, CHECK)).stdout, 'hello\nc\nkept\n');
      } finally {
        await third.stop();
      }
    } finally {
      await fresh.close();
      await runtime.images.remove(ref).catch(() => undefined);
    }
  });

  it('refuses a rootfs-directory box, a missing box, a missing ref and an unreachable registry with typed errors', async () => {
    const runtime = testRuntime();
    const dirBox = await busyboxBox();
    await assert.rejects(dirBox.commit('test/nope:v1'), (e: unknown) => BoxliteError.is(e) && e.code === 'Unsupported' && /only image boxes/.test(e.message));
    await runtime.remove(dirBox.id.asStr(), true);
    await assert.rejects(dirBox.commit('test/nope:v1'), (e: unknown) => BoxliteError.is(e) && e.code === 'NotFound' && e.message.includes(dirBox.id.asStr()));
    await assert.rejects(runtime.images.push(`${reg.host}/test/never-made:v1`), (e: unknown) => BoxliteError.is(e) && e.code === 'NotFound' && e.message.includes('test/never-made:v1'));
    const closed = `127.0.0.1:${await freePort()}`;
    const img = await busyboxImage([[{ name: 'x', data: 'x' }]]);
    await pushImage(reg, 'test/tiny', 'v1', img);
    await runtime.images.pull(`${reg.host}/test/tiny:v1`);
    const home = tempHome();
    const other = new BoxliteRuntime({ homeDir: home, snapshots: false });
    try {
      await other.images.pull(`${reg.host}/test/tiny:v1`);
      await other.images.tag(`${reg.host}/test/tiny:v1`, `${closed}/test/tiny:v1`);
      await assert.rejects(other.images.push(`${closed}/test/tiny:v1`), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(closed) && /could not reach/.test(e.message));
    } finally {
      await other.close();
      await runtime.images.remove(`${reg.host}/test/tiny:v1`).catch(() => undefined);
    }
  });

  it('pushes with the credentials option to a token-auth registry (blobs it has are skipped), and says so when refused', async () => {
    const tokenReg = await startRegistry('token');
    try {
      const img = await busyboxImage([[{ name: 'big', data: randomBytes(6 * 1024 * 1024) }]]);
      await pushImage(reg, 'test/auth-src', 'v1', img);
      const home = tempHome();
      const { username, password } = tokenReg.user;
      const store = new ImageStore({ homeDir: home, credentials: { [tokenReg.host]: { username, password } } });
      await store.pull(`${reg.host}/test/auth-src:v1`);
      const target = `${tokenReg.host}/team/app:v1`;
      await store.tag(`${reg.host}/test/auth-src:v1`, target);
      const progress: PullProgress[] = [];
      const first = await store.push(target, { onProgress: (p) => progress.push(p) });
      assert.deepEqual([first.uploaded, first.mounted, first.skipped, first.digest], [3, 0, 0, img.manifest.digest], 'another registry: nothing to mount');
      const big = img.layers[1]!;
      assert.deepEqual(progress.filter((p) => p.layer === big.digest).at(-1), { layer: big.digest, bytesDone: big.data.length, bytesTotal: big.data.length });
      const second = await store.push(target);
      assert.deepEqual([second.uploaded, second.mounted, second.skipped], [0, 0, 3], 'a second push only checks (HEAD) every blob');
      // Another repository of the same registry: a mount is asked for; this token server grants only the first scope
      // of a request, so the registry refuses the mount (401) and the blobs are uploaded instead.
      await store.tag(target, `${tokenReg.host}/team/other:v1`);
      const other = await store.push(`${tokenReg.host}/team/other:v1`);
      assert.equal(other.uploaded + other.mounted, 3);
      const back = new ImageStore({ homeDir: tempHome(), credentials: { [tokenReg.host]: { username, password } } });
      assert.equal((await back.pull(target)).digest, img.manifest.digest);
      const wrong = new ImageStore({ homeDir: home, credentials: { [tokenReg.host]: { username, password: 'wrong' } } });
      await assert.rejects(wrong.push(target), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && /refused a token as user "tester"/.test(e.message));
      const anonymous = new ImageStore({ homeDir: home });
      await assert.rejects(anonymous.push(target), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && /401/.test(e.message) && /check the credentials/.test(e.message));
    } finally {
      await tokenReg.close();
    }
  });

  it('`boxlite commit BOX REF` and `boxlite push REF` drive a running box and the store; bad input is a typed error', async () => {
    await pushImage(reg, 'test/cli-base', 'v1', await busyboxImage());
    const runtime = testRuntime();
    const ref = `${reg.host}/test/cli-committed:v1`;
    const box = await runtime.create({ rootfs: { image: `${reg.host}/test/cli-base:v1` }, cpus: 1, memoryMib: 256 });
    try {
      assert.equal((await sh(box, 'echo from-cli > /root/cli.txt')).exitCode, 0);
      const c = boxlite('commit', '-m', 'cli', '--cmd', '["/bin/cat","/root/cli.txt"]', box.id.asStr(), ref);
      assert.equal(c.code, 0, c.stderr);
      assert.match(c.stdout, new RegExp(`^${ref.replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64} \\(new layer `));
      assert.deepEqual((await runtime.images.get(ref))!.config.cmd, ['/bin/cat', '/root/cli.txt']);
      const p = boxlite('push', ref);
      assert.equal(p.code, 0, p.stderr);
      assert.match(p.stdout, /\(2 blobs uploaded, 1 mounted from another repository, 0 already there\)/, 'the new config and layer are uploaded, the base layer is mounted from its repository');
    } finally {
      await box.stop();
      await runtime.images.remove(ref).catch(() => undefined);
    }
    const missing = boxlite('commit', 'no-such-box', 'x:v1');
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /NotFound: no box with id or name "no-such-box"/);
    const badCmd = boxlite('commit', '--cmd', 'ls -l', 'no-such-box', 'x:v1');
    assert.match(badCmd.stderr, /InvalidArgument: --cmd must be a JSON array/);
    assert.match(boxlite('push', `${reg.host}/test/never:v1`).stderr, /NotFound: cannot push/);
  });

  it('commits a stopped box (starting it, as copyOut does); limits and the deadline cut a commit and keep nothing', async () => {
    await pushImage(reg, 'test/bounds-base', 'v1', await busyboxImage([[{ name: 'unique', data: randomBytes(8).toString('hex') }]])); // its own manifest, removed below
    const runtime = testRuntime();
    const box = await runtime.create({ rootfs: { image: `${reg.host}/test/bounds-base:v1` }, cpus: 1, memoryMib: 256, autoRemove: false });
    const ref = `${reg.host}/test/bounds:v1`;
    try {
      assert.equal((await sh(box, 'mkdir /many && for i in $(seq 1 50); do echo $i > /many/f$i; done')).exitCode, 0);
      await box.stop();
      const ingest = path.join(runtime.images.root, 'ingest');
      const ingestFiles = (): number => (fs.existsSync(ingest) ? fs.readdirSync(ingest).length : 0);
      const before = ingestFiles();
      await assert.rejects(box.commit(ref, { maxFiles: 10 }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /maxFiles \(10\)/.test(e.message) && /CommitOptions/.test(e.message));
      await assert.rejects(box.commit(ref, { maxBytes: 20 }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && /maxBytes \(20\)/.test(e.message));
      await assert.rejects(box.commit(ref, { timeoutMs: 1 }), (e: unknown) => BoxliteError.is(e) && e.code === 'Run' && /timeoutMs/.test(e.message));
      const aborted = AbortSignal.abort();
      await assert.rejects(box.commit(ref, { signal: aborted }), (e: unknown) => (e as Error).name === 'AbortError');
      assert.equal(await runtime.images.get(ref), undefined, 'a failed commit records no image');
      assert.equal(ingestFiles(), before, 'and leaves no ingest file');
      const image = await box.commit(ref);
      assert.equal(image.reference, ref);
      assert.equal((await sh(box, 'head -c 4194304 /dev/urandom > /big')).exitCode, 0); // more than the exec's output window and pipe
      await runtime.images.remove(`${reg.host}/test/bounds-base:v1`);
      await assert.rejects(box.commit(`${ref}-2`), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && /is no longer in the image store/.test(e.message) && /pull the box's image again/.test(e.message));
      const left = await sh(box, 'cat /proc/[0-9]*/comm');
      assert.doesNotMatch(left.stdout, /^init$/m, 'the agent\'s fs.changes child (the agent is /init) was ended');
      assert.equal(box.info().status.toString(), 'running', 'the commit started the box');
    } finally {
      await runtime.remove(box.id.asStr(), true);
      await runtime.images.remove(ref).catch(() => undefined);
    }
  });
});
