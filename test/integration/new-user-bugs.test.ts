// Regression tests for what a new user hit first (issue 12): failed starts that left boxes, stops that failed
// commands, a `cat` that never saw EOF, streams gone after wait(), aborts that were not AbortErrors, no signals.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BoxliteError } from '../../src/errors.js';
import { BoxPaths } from '../../src/runtime/box-paths.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { processesNaming } from '../../src/state/process-identity.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { busyboxBox, sh, TEST_HOME, testRuntime } from '../helpers/boxes.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
// A loopback port nothing listens on (discard): a pull from it fails at once, like a mistyped registry.
const NO_REGISTRY = '127.0.0.1:9';

const isAbort = (e: unknown): boolean => e instanceof DOMException && e.name === 'AbortError';

// The box is gone: no row, no directory, no process naming its paths.
async function assertGone(runtime: BoxliteRuntime, id: string, home = TEST_HOME): Promise<void> {
  assert.equal(await runtime.getInfo(id), undefined, `box ${id} is not listed`);
  const paths = new BoxPaths(home, id);
  assert.equal(fs.existsSync(paths.dir), false, `${paths.dir} was removed`);
  assert.deepEqual(processesNaming(paths.processMarkers), [], 'no process of the box is left');
}

function boxlite(...args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [MAIN, '--home', TEST_HOME, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.once('exit', (code) => resolve({ code, stderr }));
  });
}

describe('new user bugs: failed starts of auto-remove boxes', () => {
  it('a mistyped image: start() and run() reject saying why, and the box is removed', async () => {
    const runtime = testRuntime();
    for (const go of [(b: LiteBox) => b.start(), (b: LiteBox) => b.run(new BoxCommand('true'))]) {
      const box = await runtime.create({ rootfs: { image: `${NO_REGISTRY}/no/such-imag:typo` } });
      await assert.rejects(go(box), (e: unknown) => {
        assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
        assert.match(e.message, /127\.0\.0\.1:9/);
        assert.match(e.message, /was removed with its files .*autoRemove: false/);
        return true;
      });
      await assertGone(runtime, box.id.asStr());
    }
  });

  it('a shared guest cache that cannot be made: the start names the cacheDir option, and the box is removed', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-nocache-'));
    const cacheDir = path.join(home, 'not-a-dir');
    fs.writeFileSync(cacheDir, '');
    const runtime = new BoxliteRuntime({ homeDir: home, cacheDir });
    try {
      const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() } });
      await assert.rejects(box.run(new BoxCommand('true')), (e: unknown) => BoxliteError.is(e) && e.code === 'Config' && /cacheDir option/.test(e.message));
      await assertGone(runtime, box.id.asStr(), home);
      assert.deepEqual(fs.readdirSync(path.join(home, 'boxes')), []);
    } finally {
      await runtime.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it('`boxlite run` (also -d) of a mistyped image says why and leaves no box', async () => {
    for (const detach of [[], ['-d']]) {
      const name = `typo-${process.pid}-${detach.length}`;
      const r = await boxlite('run', ...detach, '--name', name, '--image', `${NO_REGISTRY}/no/such:1`, '--', 'true');
      assert.equal(r.code, 125, r.stderr);
      assert.match(r.stderr, /Image: .*127\.0\.0\.1:9/);
      assert.equal(await testRuntime().getInfo(name), undefined, `${name} was removed`);
    }
  });

  it('a box that keeps its failures (autoRemove: false) is still there, stopped, with the error', async () => {
    const box = await testRuntime().create({ rootfs: { image: `${NO_REGISTRY}/no/such:kept` }, autoRemove: false });
    try {
      await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Image' && !/was removed/.test(e.message));
      assert.equal(box.info().status, BoxStatus.Stopped);
      assert.match(box.info().lastError ?? '', /127\.0\.0\.1:9/);
    } finally {
      await testRuntime().remove(box.id.asStr(), true);
    }
  });
});

describe('new user bugs: stops', () => {
  it('a VM killed while stop() runs: the auto-remove box is still removed, and its command ends as stopped', async () => {
    const box = await busyboxBox();
    const run = await box.run(new BoxCommand('sleep').arg('1000'));
    const result = run.wait();
    const pid = box.info().pid!;
    const stopping = box.stop();
    process.kill(pid, 'SIGKILL');
    await stopping;
    await assertGone(testRuntime(), box.id.asStr());
    assert.equal((await result).boxStopped, true);
  });

  it('the program exits while stop() runs: the next runtime finds no trace of the auto-remove box', async () => {
    const index = fileURLToPath(new URL('../../src/index.js', import.meta.url));
    const script = `
      const { BoxliteRuntime } = await import(${JSON.stringify(index)});
      const rt = new BoxliteRuntime({ homeDir: ${JSON.stringify(TEST_HOME)} });
      const box = await rt.create({ rootfs: { rootfsPath: ${JSON.stringify(busyboxRootfs())} }, cpus: 1, memoryMib: 256 });
      await box.exec('true');
      process.stdout.write(box.id.asStr());
      void box.stop();
      setTimeout(() => process.exit(0), Number(process.argv[1]));`;
    for (const delayMs of [0, 50, 400]) {
      const id = await new Promise<string>((resolve, reject) => {
        const p = spawn(process.execPath, ['--input-type=module', '-e', script, String(delayMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
        p.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`the program exited with ${code}`))));
      });
      assert.match(id, /^[0-9A-Z]{26}$/);
      const runtime = new BoxliteRuntime({ homeDir: TEST_HOME });
      try {
        await assertGone(runtime, id);
      } finally {
        await runtime.close();
      }
    }
  });

  it('a deliberate stop ends running commands with a result (boxStopped), not a Portal error, also under `await using`', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown): void => { unhandled.push(e); };
    process.on('unhandledRejection', onUnhandled);
    let output: Promise<string>;
    let result: Promise<unknown>;
    let id: string;
    try {
      {
        await using box = await busyboxBox();
        id = box.id.asStr();
        const run = await box.run(new BoxCommand('sh').args(['-c', 'echo before; exec sleep 1000']));
        const out = run.stdout();
        for await (const line of out) { assert.equal(line, 'before'); break; }
        output = run.stderr().text(); // never awaited before the box goes
        result = run.wait();
      }
      const r = await result;
      assert.ok(r && typeof r === 'object');
      assert.deepEqual({ ...r }, { exitCode: -9, timedOut: false, boxStopped: true });
      assert.equal(await output, '');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
      await assertGone(testRuntime(), id);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('new user bugs: streams, stdin and signals on one running box', () => {
  let box: LiteBox;

  it('concurrent starts share one boot: one that aborts rejects with an AbortError, the other boots the box', async () => {
    box = await busyboxBox();
    const controller = new AbortController();
    const giving = box.start({ signal: controller.signal });
    const keeping = box.start();
    controller.abort();
    await assert.rejects(giving, isAbort);
    await keeping;
    assert.equal(box.info().status, BoxStatus.Running);
  });

  it('stdin nobody took is closed by wait(): `cat` ends', async () => {
    const run = await box.run(new BoxCommand('cat'));
    assert.equal((await run.wait()).exitCode, 0);
    assert.throws(() => run.stdin(), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidState' && /stdin of `cat` was closed by wait\(\).*call stdin\(\) before wait\(\)/.test(e.message));
  });

  it('streams are taken once, before wait(); otherwise an InvalidState error says why', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'echo out; echo err >&2']));
    const out = run.stdout();
    assert.throws(() => run.stdout(), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidState' && /stdout of `sh -c .*` was already taken; use what the first stdout\(\) call returned/.test(e.message));
    assert.equal((await run.wait()).exitCode, 0);
    assert.equal(await out.text(), 'out\n', 'a stream taken before wait() stays readable');
    assert.throws(() => run.stderr(), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidState' && /stderr of `sh -c .*` was discarded by wait\(\); call stderr\(\) before wait\(\)/.test(e.message));
  });

  it('run(cmd, { signal }): aborting kills the command, and wait() rejects with an AbortError', async () => {
    const controller = new AbortController();
    const run = await box.run(new BoxCommand('sleep').arg('4242'), { signal: controller.signal });
    controller.abort();
    await assert.rejects(run.wait(), isAbort);
    assert.doesNotMatch((await sh(box, 'ps')).stdout, /sleep 4242/);
    await assert.rejects(box.run(new BoxCommand('true'), { signal: AbortSignal.abort() }), isAbort);
  });

  it('wait({ signal }): aborting ends the wait with an AbortError; the command keeps running', async () => {
    const run = await box.run(new BoxCommand('sleep').arg('4343'));
    await assert.rejects(run.wait({ signal: AbortSignal.abort() }), isAbort);
    assert.match((await sh(box, 'ps')).stdout, /sleep 4343/);
    await run.kill();
    assert.equal((await run.wait()).exitCode, -9);
  });
});

describe('new user bugs: aborts', () => {
  const servers: http.Server[] = [];
  after(() => { for (const s of servers) s.closeAllConnections(); for (const s of servers) s.close(); });

  it('an aborted pull rejects with a standard AbortError; BoxliteError.name is plain', async () => {
    const controller = new AbortController();
    // A registry that accepts the request and never answers: the pull is aborted while it waits.
    const server = http.createServer(() => controller.abort());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const pulling = testRuntime().images.pull(`127.0.0.1:${port}/hangs/forever:1`, { signal: controller.signal });
    await assert.rejects(pulling, (e: unknown) => isAbort(e) && !BoxliteError.is(e));
    await assert.rejects(testRuntime().images.pull(`${NO_REGISTRY}/x:1`), (e: unknown) => e instanceof Error && e.name === 'BoxliteError');
  });

  it('create(options, name, { signal }) with an aborted signal creates nothing', async () => {
    const name = `aborted-${process.pid}`;
    await assert.rejects(testRuntime().create({ rootfs: { rootfsPath: busyboxRootfs() } }, name, { signal: AbortSignal.abort() }), isAbort);
    assert.equal(await testRuntime().getInfo(name), undefined);
  });

  it('start({ signal }) aborted at once, or once its VM runs, rejects with an AbortError and leaves nothing', async () => {
    // Cold boots (no snapshot): the VM runs for seconds before its agent answers, so the second abort lands in the boot.
    const runtime = new BoxliteRuntime({ homeDir: TEST_HOME, snapshots: false });
    try {
      for (const when of ['at once', 'once its VM runs'] as const) {
        const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
        const id = box.id.asStr();
        const controller = new AbortController();
        const starting = box.start({ signal: controller.signal });
        if (when === 'at once') controller.abort();
        else void vmOf(id, starting).then(() => controller.abort());
        await assert.rejects(starting, isAbort, when);
        await assertGone(runtime, id);
      }
    } finally {
      await runtime.close();
    }
  });
});

// Resolves once a QEMU of box `id` runs (or when `until` settles first).
async function vmOf(id: string, until: Promise<unknown>): Promise<void> {
  let settled = false;
  void until.catch(() => undefined).finally(() => { settled = true; });
  const markers = new BoxPaths(TEST_HOME, id).processMarkers;
  while (!settled && !processesNaming(markers).some((p) => p.cmdline.includes('qemu-system'))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
