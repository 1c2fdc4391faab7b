// Boxes that start mounted: the first box of a shape and root filesystem saves itself just after MOUNT, and later
// boxes of the same restore that, each with a copy of its disk, its own hostname, clock and entropy.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { cleanUpChildren, freshHome } from '../helpers/box-children.js';

const homes: string[] = [];
const runtimes: BoxliteRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close().catch(() => undefined);
  await cleanUpChildren([], homes);
});
const shape = { rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false };
const out = async (box: LiteBox, script: string): Promise<string> => String((await box.sh(script)).stdout).trim();
const sha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');
/** The mounted templates of a home: their directories. */
const mountedOf = (home: string): string[] => fs.readdirSync(path.join(home, 'templates'))
  .flatMap((k) => fs.existsSync(path.join(home, 'templates', k, 'mounted')) ? fs.readdirSync(path.join(home, 'templates', k, 'mounted')).map((m) => path.join(home, 'templates', k, 'mounted', m)) : [])
  .filter((d) => fs.existsSync(path.join(d, 'record.json')));

test('later boxes of a shape and rootfs start mounted, each with its own disk, hostname and entropy; the template never changes', async () => {
  const home = freshHome('boxlite-mounted-', homes);
  const runtime = new BoxliteRuntime({ homeDir: home });
  runtimes.push(runtime);
  const first = await runtime.create(shape);
  assert.equal(await out(first, 'echo first > /root/mine; cat /root/mine'), 'first');
  assert.equal(first.stageTimings?.startMode?.afterMount, undefined, 'the first box mounts, then becomes the template');
  const [tpl] = mountedOf(home);
  assert.ok(tpl, 'a mounted template was saved');
  const ram = path.join(tpl, 'ram');
  const upper = path.join(tpl, 'upper.ext4');
  assert.equal(fs.statSync(ram).mode & 0o777, 0o444, 'its RAM file is read-only');
  assert.equal(fs.statSync(upper).mode & 0o777, 0o400, 'its disk is read-only');
  const stamp = (f: string): string => { const st = fs.statSync(f); return `${st.size}:${st.mtimeMs}:${st.ctimeMs}`; }; // a 10 GiB sparse disk: any write or chmod shows
  const before = { ram: sha(ram), upper: stamp(upper) };

  const boxes = [await runtime.create(shape), await runtime.create(shape)];
  const hostnames = new Set([await out(first, 'hostname')]);
  const random = new Set<string>();
  for (const [i, b] of boxes.entries()) {
    assert.equal(await out(b, 'cat /root/mine 2>/dev/null || echo none'), 'none', 'not the first box\'s later writes');
    assert.deepEqual(b.stageTimings?.startMode, { restored: true, afterMount: true });
    await out(b, `echo box-${i} > /root/mine; dd if=/dev/urandom of=/dev/shm/fill bs=1M count=24 2>/dev/null`);
    hostnames.add(await out(b, 'hostname'));
    random.add(await out(b, 'head -c 16 /dev/urandom | od -An -tx1'));
    assert.ok(Math.abs(Number(await out(b, 'date +%s')) - Date.now() / 1000) < 30, 'the clock is the host\'s');
  }
  for (const [i, b] of boxes.entries()) assert.equal(await out(b, 'cat /root/mine'), `box-${i}`, 'each keeps its own writes');
  assert.equal(hostnames.size, 3);
  assert.equal(random.size, 2, 'two boxes read different random bytes');
  for (const b of [first, ...boxes]) await b.stop();
  assert.deepEqual({ ram: sha(ram), upper: stamp(upper) }, before, 'neither the RAM file nor the disk of the template changed');
});

test('a damaged mounted template is dropped: the box starts from its shape\'s template and mounts, and a new one is made', async () => {
  const home = freshHome('boxlite-mounted-bad-', homes);
  const runtime = new BoxliteRuntime({ homeDir: home });
  runtimes.push(runtime);
  const first = await runtime.create(shape);
  assert.equal(await out(first, 'echo ok'), 'ok');
  const [tpl] = mountedOf(home);
  assert.ok(tpl);
  fs.chmodSync(path.join(tpl, 'ram'), 0o644);
  fs.truncateSync(path.join(tpl, 'ram'), 4096);
  const box = await runtime.create(shape);
  assert.equal(await out(box, 'echo still works'), 'still works');
  assert.equal(box.stageTimings?.startMode?.afterMount, undefined, 'it mounted on its own');
  assert.equal(box.stageTimings?.startMode?.restored, true, 'from its shape\'s template');
  assert.equal(mountedOf(home).length, 1, 'and saved a new mounted template');
  assert.equal(fs.statSync(path.join(mountedOf(home)[0]!, 'ram')).size, 256 * 1024 * 1024);
  await first.stop();
  await box.stop();
});
