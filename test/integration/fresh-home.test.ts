// A new home just works: no set-up per home, guest artifacts from the shared cache (built there when missing or when
// their inputs changed), and a rootfs directory's base disk built once per content of the tree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { GuestCache } from '../../src/runtime/guest-cache.js';
import { RACY_WINDOW_MS } from '../../src/runtime/tree-identity.js';
import { DEFAULT_GUEST_SRC_DIR, resolveCacheDir, type ProgressEvent } from '../../src/setup/index.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { sh } from '../helpers/boxes.js';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-fresh-home-'));
const runtimes: BoxliteRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
  fs.rmSync(scratch, { recursive: true, force: true });
});

/** A runtime on a new, empty home dir (nothing set up for it), recording its progress events. */
function freshRuntime(name: string, cacheDir?: string): { runtime: BoxliteRuntime; events: ProgressEvent[]; home: string } {
  const home = path.join(scratch, name);
  const events: ProgressEvent[] = [];
  const runtime = new BoxliteRuntime({ homeDir: home, snapshots: false, onProgress: (e) => events.push(e), ...(cacheDir ? { cacheDir } : {}) });
  runtimes.push(runtime);
  return { runtime, events, home };
}

const built = (events: ProgressEvent[]): string[] => events.flatMap((e) => (e.type === 'build-start' ? [e.artifact] : []));
const diskEvents = (events: ProgressEvent[]): Extract<ProgressEvent, { type: 'rootfs-disk' }>[] => events.flatMap((e) => (e.type === 'rootfs-disk' ? [e] : []));

test('a fresh home with no set-up boots a box from the shared cache the suite filled, building nothing', async () => {
  const { runtime, events, home } = freshRuntime('fresh');
  assert.equal(runtime.cacheDir, resolveCacheDir());
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
  assert.equal((await sh(box, 'echo ok')).stdout, 'ok\n');
  assert.deepEqual(built(events), [], 'nothing was built');
  const ready = events.filter((e) => e.type === 'guest-ready');
  assert.deepEqual(ready.map((e) => e.type === 'guest-ready' && [e.cacheDir, e.built]), [[resolveCacheDir(), []]], 'one check of the cache, per runtime');
  assert.ok(!fs.existsSync(path.join(home, 'guest')), 'the home holds no guest artifacts');
  await box.stop();
});

test('a cache whose inputs changed is rebuilt (only what depends on them), once for concurrent builders, and switching back builds nothing', async () => {
  // A private copy of the shared cache (hard links: nothing in it is ever written in place), and changed agent sources.
  const cacheDir = path.join(scratch, 'cache-copy');
  const shared = fs.realpathSync(resolveCacheDir());
  if (spawnSync('cp', ['-al', shared, cacheDir]).status !== 0) assert.equal(spawnSync('cp', ['-a', shared, cacheDir]).status, 0);
  const guestSrcDir = path.join(scratch, 'guest-src');
  fs.cpSync(DEFAULT_GUEST_SRC_DIR, guestSrcDir, { recursive: true, filter: (src) => path.basename(src) !== 'build' });
  fs.appendFileSync(path.join(guestSrcDir, 'main.c'), '\n/* a change to the agent\'s sources */\n');

  const seen: ProgressEvent[][] = [[], []];
  const [a, b] = await Promise.all(seen.map((events) => new GuestCache({ cacheDir, guestSrcDir, onProgress: (e) => events.push(e) }).artifacts()));
  assert.deepEqual([a!.built, b!.built].sort((x, y) => y.length - x.length), [['agent', 'initramfs'], []], 'one builder made the agent and its initramfs; kernel, jailer and passt were reused');
  assert.equal(a!.initrdPath, b!.initrdPath);
  const original = new GuestCache({ cacheDir: shared });
  const before = await original.artifacts();
  assert.notEqual(a!.initrdPath, before.initrdPath, 'a new initramfs, named by its inputs');
  assert.equal(a!.kernelPath, path.join(cacheDir, path.relative(shared, before.kernelPath)));

  // The unchanged sources find their artifacts still in the copy: nothing is built, and a box boots from it.
  const { runtime, events } = freshRuntime('back', cacheDir);
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
  assert.equal((await sh(box, 'echo ok')).stdout, 'ok\n');
  assert.deepEqual(built(events), []);
  await box.stop();
});

test('boxes from one rootfs dir share its base disk; a changed file gives a new one', async () => {
  const rootfs = path.join(scratch, 'rootfs');
  assert.equal(spawnSync('cp', ['-a', busyboxRootfs(), rootfs]).status, 0);
  fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'first\n');
  await sleep(RACY_WINDOW_MS + 200); // a tree changed within the window is never shared (see tree-identity.ts)
  const { runtime, events, home } = freshRuntime('rootfs-disks');
  const start = async (): Promise<{ ino: number; motd: string }> => {
    const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, cpus: 1, memoryMib: 256, autoRemove: false });
    await box.start();
    const ino = fs.statSync(path.join(home, 'boxes', box.id.asStr(), 'base.ext4')).ino;
    const motd = (await sh(box, 'cat /etc/motd')).stdout;
    await box.stop();
    return { ino, motd };
  };
  const first = await start();
  const second = await start();
  assert.deepEqual(diskEvents(events).map((e) => e.status), ['built', 'reused']);
  assert.equal(second.ino, first.ino, 'the second box\'s base disk is the first one\'s file');
  assert.equal(second.motd, 'first\n');

  fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'later\n'); // same size, as a same-second edit could be
  const racy = await start();
  assert.notEqual(racy.ino, first.ino);
  assert.equal(racy.motd, 'later\n', 'a tree changed just now gets a disk of the box\'s own, with the change');
  await sleep(RACY_WINDOW_MS + 200);
  const third = await start();
  const fourth = await start();
  assert.deepEqual(diskEvents(events).map((e) => e.status), ['built', 'reused', 'built', 'built', 'reused']);
  assert.notEqual(third.ino, first.ino, 'a changed file gives a new base disk');
  assert.equal(fourth.ino, third.ino);
  assert.equal(third.motd, 'later\n');
  const cached = diskEvents(events).map((e) => e.diskPath);
  assert.ok(cached[0]!.startsWith(path.join(home, 'rootfs-disks')) && cached[3]!.startsWith(path.join(home, 'rootfs-disks')));
  assert.ok(!cached[2]!.startsWith(path.join(home, 'rootfs-disks')), 'the racy one is not cached');
  assert.equal(fs.statSync(cached[0]!).mode & 0o777, 0o644, 'readable by every box\'s jail uid; never given to one of them');
});
