// Boxes that start from a snapshot of a booted guest: made by the first box of a shape, restored by the next,
// renewed at MOUNT (clock, randomness), replaced when it cannot be restored, and off when asked.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxPaths } from '../../src/runtime/box-paths.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { GuestCache } from '../../src/runtime/guest-cache.js';
import { processesNaming } from '../../src/state/process-identity.js';
import { ensureDefaultTemplate, TemplateStore } from '../../src/runtime/templates.js';
import { findGuestArtifacts } from '../../src/setup/index.js';
import { QemuDriver } from '../../src/vmm/qemu/process.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { sh, TEST_HOME } from '../helpers/boxes.js';

const homes: string[] = [];
const runtimes: BoxliteRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
  for (const h of homes) fs.rmSync(h, { recursive: true, force: true });
});

/** A runtime on a fresh home dir that shares the test home's guest kernel. */
function freshRuntime(snapshots = true): BoxliteRuntime {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), "boxlite snap o'home-")); // a space and a quote: state paths go through a shell
  fs.symlinkSync(path.join(TEST_HOME, 'guest'), path.join(home, 'guest'));
  homes.push(home);
  const runtime = new BoxliteRuntime({ homeDir: home, snapshots });
  runtimes.push(runtime);
  return runtime;
}

const shape = { rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 };
/** Keys of the shapes that have a usable snapshot. */
const templatesOf = (runtime: BoxliteRuntime): string[] => fs.readdirSync(path.join(runtime.homeDir, 'templates'))
  .filter((n) => fs.existsSync(path.join(runtime.homeDir, 'templates', n, 'state')));
const mode = (box: LiteBox): { restored: boolean; coldReason?: string } | undefined => box.stageTimings?.startMode;

test('the first box of a shape makes its snapshot; later boxes restore it, each with its own disk', async () => {
  const runtime = freshRuntime();
  const first = await runtime.create(shape);
  assert.equal((await sh(first, 'echo first > /root/mine; cat /root/mine')).stdout, 'first\n');
  assert.deepEqual(mode(first), { restored: true });
  const [key] = templatesOf(runtime);
  assert.ok(key && fs.statSync(path.join(runtime.homeDir, 'templates', key, 'state')).size > 0, 'the snapshot is stored');
  const second = await runtime.create(shape);
  assert.equal((await sh(second, 'cat /root/mine 2>&1; echo second')).stdout, 'cat: can\'t open \'/root/mine\': No such file or directory\nsecond\n');
  assert.deepEqual(mode(second), { restored: true, afterMount: true }, 'the first box also saved itself just mounted (mounted-templates.test.ts)');
  assert.deepEqual(templatesOf(runtime), [key], 'one snapshot per shape');
  const bigger = await runtime.create({ ...shape, memoryMib: 320 });
  assert.equal((await sh(bigger, 'echo ok')).stdout, 'ok\n');
  assert.equal(templatesOf(runtime).length, 2, 'another shape, another snapshot');
  for (const b of [first, second, bigger]) await b.stop();
});

test('restored boxes do not share the clock or the random generator of their snapshot', async () => {
  const runtime = freshRuntime();
  const boxes = [await runtime.create(shape), await runtime.create(shape), await runtime.create(shape)];
  const seen = new Set<string>();
  for (const box of boxes) {
    const r = await sh(box, 'date +%s; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"');
    const [clock, random] = r.stdout.split('\n');
    assert.ok(Math.abs(Number(clock) - Date.now() / 1000) < 30, `guest clock ${clock} is the host's`);
    seen.add(random!);
    assert.equal(mode(box)?.restored, true);
    await box.stop();
  }
  assert.equal(seen.size, 3, 'every box draws different random bytes');
});

/** The QEMU process of a running box (found by its box directory on the command line). */
function qemuOf(runtime: BoxliteRuntime, box: LiteBox): number {
  const found = processesNaming([new BoxPaths(runtime.homeDir, box.id.asStr()).dir + '/'])
    .filter((p) => p.cmdline.split(/[\0 ]/)[0]!.endsWith('qemu-system-x86_64')); // not its launcher, which names it too
  assert.equal(found.length, 1, `one QEMU for box ${box.id}`);
  return found[0]!.pid;
}

/**
 * Deletes the mounted templates (saved after MOUNT, per root filesystem) of a home, so that its next box restores
 * its shape's template, which the tests below are about.
 */
function dropMounted(runtime: BoxliteRuntime): void {
  for (const key of fs.readdirSync(path.join(runtime.homeDir, 'templates'))) fs.rmSync(path.join(runtime.homeDir, 'templates', key, 'mounted'), { recursive: true, force: true });
}

/** A fresh runtime whose first box made the snapshot of `shape`: its key and memory file. */
async function madeTemplate(): Promise<{ runtime: BoxliteRuntime; key: string; ram: string }> {
  const runtime = freshRuntime();
  const maker = await runtime.create(shape);
  await maker.start();
  await maker.stop();
  const [key] = templatesOf(runtime);
  assert.ok(key, 'the first box made a snapshot');
  dropMounted(runtime);
  return { runtime, key, ram: path.join(runtime.homeDir, 'templates', key, 'ram') };
}

const sha256 = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

test('restored boxes map the snapshot\'s memory file copy-on-write, read-only: it never changes, however much they write', async () => {
  const { runtime, key, ram } = await madeTemplate();
  const st = fs.statSync(ram);
  assert.equal(st.size, shape.memoryMib * 1024 * 1024, 'the guest RAM is in the file');
  assert.ok(fs.statSync(path.join(runtime.homeDir, 'templates', key, 'state')).size < 4 * 1024 * 1024, 'the state holds the devices, not the RAM');
  if (process.getuid?.() === 0) assert.deepEqual({ uid: st.uid, mode: st.mode & 0o777 }, { uid: 0, mode: 0o444 }, 'root\'s, read-only');
  const before = sha256(ram);
  const boxes = [await runtime.create(shape), await runtime.create(shape)];
  for (const [n, box] of boxes.entries()) {
    dropMounted(runtime);
    // Dirty guest memory: a tmpfs file and a process's heap.
    const r = await sh(box, `dd if=/dev/urandom of=/dev/shm/fill bs=1M count=48 2>/dev/null && echo ${n} > /dev/shm/n && cat /dev/shm/n`);
    assert.equal(r.stdout, `${n}\n`, r.stderr);
    assert.equal(mode(box)?.restored, true);
    const pid = qemuOf(runtime, box);
    assert.ok(fs.readFileSync(`/proc/${pid}/maps`, 'utf8').includes(ram), 'QEMU maps the memory file');
    const fds = fs.readdirSync(`/proc/${pid}/fd`).filter((fd) => { try { return fs.readlinkSync(`/proc/${pid}/fd/${fd}`).endsWith('/ram'); } catch { return false; } });
    for (const fd of fds) {
      const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8);
      assert.equal(flags & 3, 0, `QEMU holds the memory file read-only (fd ${fd}, flags ${flags.toString(8)})`);
    }
  }
  for (const box of boxes) await box.stop();
  assert.equal(sha256(ram), before, 'the memory file is unchanged');
});

test('a damaged snapshot memory file: the box boots cold and says why; the next box makes the snapshot again', async () => {
  const { runtime, ram } = await madeTemplate();
  fs.truncateSync(ram, 4096);
  const box = await runtime.create(shape);
  assert.equal((await sh(box, 'echo cold')).stdout, 'cold\n');
  assert.equal(mode(box)?.restored, false);
  assert.match(mode(box)?.coldReason ?? '', /memory file .*ram is damaged: 4096 bytes, not 256 MiB; it is made again at the next start/);
  await box.stop();
  dropMounted(runtime);
  const next = await runtime.create(shape);
  assert.equal((await sh(next, 'echo again')).stdout, 'again\n');
  assert.equal(mode(next)?.restored, true);
  assert.equal(fs.statSync(ram).size, shape.memoryMib * 1024 * 1024);
  await next.stop();
});

test('a snapshot that cannot be restored is dropped: the box boots cold and says why; the next box makes a new one', async () => {
  const runtime = freshRuntime();
  const maker = await runtime.create(shape);
  await maker.start();
  await maker.stop();
  const [key] = templatesOf(runtime);
  dropMounted(runtime);
  fs.writeFileSync(path.join(runtime.homeDir, 'templates', key!, 'state'), 'not a VM state');
  const box = await runtime.create(shape);
  assert.equal((await sh(box, 'echo still works')).stdout, 'still works\n');
  assert.equal(mode(box)?.restored, false);
  assert.match(mode(box)?.coldReason ?? '', new RegExp(`restoring template ${key} failed`));
  assert.deepEqual(templatesOf(runtime), [], 'the bad snapshot is gone');
  await box.stop();
  const next = await runtime.create(shape);
  assert.equal((await sh(next, 'echo again')).stdout, 'again\n');
  assert.equal(mode(next)?.restored, true);
  await next.stop();
});

test('with snapshots off every box boots cold and no snapshot is made', async () => {
  const runtime = freshRuntime(false);
  const box = await runtime.create(shape);
  assert.equal((await sh(box, 'echo cold')).stdout, 'cold\n');
  assert.deepEqual(mode(box), { restored: false });
  assert.equal(fs.existsSync(path.join(runtime.homeDir, 'templates')), false);
  await box.stop();
});

test('`boxlite setup` makes the default shape\'s snapshot once, so a user\'s very first default box restores it', async () => {
  const runtime = freshRuntime();
  assert.deepEqual(await ensureDefaultTemplate(runtime.homeDir, new QemuDriver()), { ok: true, made: true });
  assert.deepEqual(await ensureDefaultTemplate(runtime.homeDir, new QemuDriver()), { ok: true, made: false });
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } }); // the spec's defaults: 2 CPUs, 512 MiB
  assert.equal((await sh(box, 'nproc')).stdout, '2\n');
  assert.deepEqual(mode(box), { restored: true });
  assert.equal(templatesOf(runtime).length, 1, 'no second snapshot was needed');
  await box.stop();
});

test('snapshots of an older kernel, agent or QEMU are pruned; current ones are kept', async () => {
  const runtime = freshRuntime();
  // A current snapshot, made without a box (so this test does not hang on a restore, which other tests cover).
  const made = await ensureDefaultTemplate(runtime.homeDir, new QemuDriver(), new GuestCache({ cacheDir: runtime.cacheDir }));
  assert.ok(made.ok, `the snapshot was made: ${JSON.stringify(made)}`);
  const [current] = templatesOf(runtime);
  const stale = path.join(runtime.homeDir, 'templates', '0'.repeat(32));
  fs.mkdirSync(stale);
  fs.writeFileSync(path.join(stale, 'state'), Buffer.alloc(4096));
  fs.writeFileSync(path.join(stale, 'inputs.json'), JSON.stringify({ files: ['/old/vmlinux:1:1', '/old/initrd:1:1', '/usr/bin/qemu:1:1'] }));
  const store = new TemplateStore(runtime.homeDir, new QemuDriver());
  const artifacts = findGuestArtifacts(runtime.cacheDir);
  assert.deepEqual(await store.pruneStale(artifacts), { removed: 1, freedBytes: 4096 });
  assert.deepEqual(templatesOf(runtime), [current]);
  assert.deepEqual(await store.pruneStale(artifacts), { removed: 0, freedBytes: 0 });
});
