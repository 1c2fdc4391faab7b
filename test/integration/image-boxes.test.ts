// Boxes from OCI images on real VMs: pulled from a loopback registry, image config applied, base disk shared.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxImage } from '../fixtures/images.js';
import { pushPythonImage, pythonImageUnavailable } from '../fixtures/python-image.js';
import { sh, testRuntime, TEST_HOME } from '../helpers/boxes.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

describe('boxes from images', { skip }, () => {
  it('pulls an image, applies its Env, WorkingDir and User, and lets box and command settings override them', async () => {
    const img = await busyboxImage([], { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=yes', 'SHARED=image'], WorkingDir: '/tmp', User: 'nobody' });
    await pushImage(reg, 'test/config', 'v1', img);
    const runtime = testRuntime();
    const box = await runtime.create({ rootfs: { image: `${reg.host}/test/config:v1` }, cpus: 1, memoryMib: 256, env: { SHARED: 'box' } });
    const r = await sh(box, 'echo "$FROM_IMAGE $SHARED"; pwd; id -u');
    assert.equal(r.stdout, 'yes box\n/tmp\n65534\n');
    const root = await sh(box, 'id -u; pwd', (c) => c.user('root').workingDir('/'));
    assert.equal(root.stdout, '0\n/\n');
    assert.equal(box.info().image, `${reg.host}/test/config:v1`);
    await box.stop();
  });

  it('creates a second box of a cached image without the registry and without copying the base disk', async () => {
    await pushImage(reg, 'test/shared', 'v1', await busyboxImage());
    const runtime = testRuntime();
    const ref = `${reg.host}/test/shared:v1`;
    const first = await runtime.create({ rootfs: { image: ref }, cpus: 1, memoryMib: 256, autoRemove: false });
    await first.start();
    await reg.stop();
    try {
      const second = await runtime.create({ rootfs: { image: ref }, cpus: 1, memoryMib: 256, autoRemove: false });
      assert.equal((await sh(second, 'echo from-cache')).stdout, 'from-cache\n');
      for (const b of [first, second]) {
        const files = fs.readdirSync(path.join(TEST_HOME, 'boxes', b.id.asStr()));
        assert.ok(!files.includes('base.ext4'), `box ${b.id} has no base disk of its own: ${files.join(' ')}`);
      }
      const m = await second.metrics();
      assert.ok(m.stageImagePrepareMs! < 1000, `image prepare served from the cache (${m.stageImagePrepareMs} ms)`);
      await runtime.remove(first.id.asStr(), true);
      await runtime.remove(second.id.asStr(), true);
    } finally {
      await reg.restart();
    }
  });

  it('fails to start with an Image error naming the registry when the image cannot be pulled', async () => {
    const box = await testRuntime().create({ rootfs: { image: `${reg.host}/test/missing:v1` }, cpus: 1, memoryMib: 256, autoRemove: false });
    await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && e.message.includes(reg.host));
    assert.match(box.info().lastError ?? '', /test\/missing/);
    await testRuntime().remove(box.id.asStr());
  });

  it('rejects a malformed image reference at create with InvalidArgument', async () => {
    await assert.rejects(testRuntime().create({ rootfs: { image: 'UPPER/Case:tag' } }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument');
  });

  it('runs Python in a box from the project Python image', { skip: pythonImageUnavailable(), timeout: 900_000 }, async () => {
    const ref = await pushPythonImage(reg);
    const box = await testRuntime().create({ rootfs: { image: ref }, cpus: 1, memoryMib: 512 });
    const run = await box.run(new BoxCommand('python3').args(['-c', 'import sys, platform; print(f"Python {sys.version_info.major}.{sys.version_info.minor} on {platform.system()}"); print(sum(range(10)))']));
    assert.match(await run.stdout()!.text(), /^Python 3\.\d+ on Linux\n45\n$/);
    assert.equal((await run.wait()).exitCode, 0);
    await box.stop();
  });
});
