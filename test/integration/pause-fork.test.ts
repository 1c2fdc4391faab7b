// Pause and resume with memory kept (from another process, after every host process of ours died), and fork of a
// running box into several that continue from its state, each with its own disk, hostname and entropy.
import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxPaths } from '../../src/runtime/box-paths.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { processesNaming } from '../../src/state/process-identity.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { boxChild, cleanUpChildren, freshHome, recordedProcesses } from '../helpers/box-children.js';
import { KEPT_SHAPE, runtimeOn as keptRuntime, shOk } from '../helpers/box-children.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = promisify(execFile);
const homes: string[] = [];
const children: ChildProcess[] = [];
const runtimes: BoxliteRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close().catch(() => undefined);
  await cleanUpChildren(children, homes);
});

const shape = KEPT_SHAPE;
const runtimeOn = (home: string): BoxliteRuntime => keptRuntime(home, runtimes);
const out = shOk;
/** A counter whose value lives only in the shell's memory, written out every 100 ms; returns its pid. */
const startCounter = (box: LiteBox): Promise<string> =>
  out(box, "sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 0.1; done' >/dev/null 2>&1 & echo $!");
const count = async (box: LiteBox): Promise<number> => Number(await out(box, 'cat /tmp/count'));
/** True once `pid` is no more (a reaped or zombie process), waiting up to 5 s for its parent to reap it. */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    let stat: string;
    try { stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return true; }
    if (stat.slice(stat.lastIndexOf(') ') + 2).startsWith('Z')) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
const httpGet = async (port: number): Promise<string> => (await fetch(`http://127.0.0.1:${port}/`)).text();

test('a paused box keeps its processes, memory and listening server, and resumes from another process', async () => {
  const home = freshHome('boxlite-pause-', homes);
  const first = runtimeOn(home);
  const box = await first.create({ ...shape, detach: true, ports: [{ guestPort: 8000, hostIp: '127.0.0.1' }] });
  const counter = await startCounter(box);
  const server = await out(box, 'mkdir -p /www && echo "kept in memory: $$" > /www/index.html && (httpd -f -p 0.0.0.0:8000 -h /www >/dev/null 2>&1 & echo $!)');
  await out(box, 'for i in $(seq 100); do grep -q ":1F40 " /proc/net/tcp && exit 0; sleep 0.1; done; exit 1');
  const hostPort = box.hostPort(8000);
  const page = await httpGet(hostPort);
  await out(box, 'sleep 0.5');
  const vmmPid = box.info().pid!;

  await box.pause();
  assert.equal(box.info().status, BoxStatus.Paused);
  assert.ok(box.info().status.canResume() && box.info().status.isPaused());
  assert.equal(box.info().pid, undefined);
  assert.ok(await gone(vmmPid), `its QEMU (pid ${vmmPid}) is gone`);
  assert.deepEqual(recordedProcesses(home, box.id.asStr()), [], 'no process of the box is left');
  assert.deepEqual(processesNaming(new BoxPaths(home, box.id.asStr()).processMarkers), [], 'no QEMU, passt or helper names the box');
  await first.close();

  // Another process resumes it; the box is detached, so it runs on after that process exits.
  await run(process.execPath, [MAIN, '--home', home, 'resume', box.id.asStr()]);
  const second = runtimeOn(home);
  const again = (await second.get(box.id.asStr()))!;
  assert.equal(again.info().status, BoxStatus.Running);
  assert.deepEqual(again.stageTimings?.startMode, { restored: true, resumed: true });
  assert.equal(await out(again, `kill -0 ${counter} && kill -0 ${server} && echo alive`), 'alive', 'the same processes, not restarted');
  const c1 = await count(again);
  await out(again, 'sleep 1');
  const c2 = await count(again);
  assert.ok(c2 > c1, `the counter goes on (${c1} then ${c2})`);
  assert.ok(c1 < 200, `and it went on from where it was, not from a restart far later (${c1})`);
  assert.equal(again.hostPort(8000), hostPort, 'the same host port is bound again');
  assert.equal(await httpGet(hostPort), page, 'the server answers with its old state');
  assert.ok(!fs.existsSync(new BoxPaths(home, box.id.asStr()).savedVm), 'the saved VM is deleted once resumed');
  await again.stop();
});

test('pause, every host process of ours killed, resume: the box goes on', async () => {
  const home = freshHome('boxlite-pause-kill-', homes);
  const owner = boxChild(home, ['hold', 'held'], children);
  const { boxId } = await owner.next() as { boxId: string };
  const runtime = runtimeOn(home);
  const box = (await runtime.get(boxId))!;
  const counter = await startCounter(box);
  await out(box, 'echo before > /root/file; sleep 0.5');
  await box.pause();
  owner.proc.kill('SIGKILL');
  await new Promise((r) => owner.proc.once('exit', r));
  assert.deepEqual(processesNaming(new BoxPaths(home, boxId).processMarkers), []);
  const later = runtimeOn(home);
  const resumed = (await later.get(boxId))!;
  assert.equal(resumed.info().status, BoxStatus.Paused, 'the owner dying changes nothing of a paused box');
  await resumed.resume();
  assert.equal(await out(resumed, `kill -0 ${counter} && cat /root/file`), 'before');
  const c1 = await count(resumed);
  await out(resumed, 'sleep 0.5');
  assert.ok(await count(resumed) > c1);
  await resumed.stop();
});

test('fork into 3: each continues from the source, with its own disk, hostname and entropy; the source runs on', async () => {
  const home = freshHome('boxlite-fork-', homes);
  const runtime = runtimeOn(home);
  const source = await runtime.create(shape);
  const counter = await startCounter(source);
  await out(source, 'echo source > /root/who; sleep 0.5');
  const forks = await source.fork({ count: 3, names: ['fork-a', 'fork-b'] });
  assert.equal(forks.length, 3);
  assert.deepEqual(forks.map((f) => f.name), ['fork-a', 'fork-b', undefined]);
  assert.equal(source.info().status, BoxStatus.Running, 'the source keeps running');
  const hostnames = new Set<string>([await out(source, 'hostname')]);
  const entropy = new Set<string>();
  for (const [i, f] of forks.entries()) {
    assert.equal(f.info().status, BoxStatus.Running);
    assert.equal(await out(f, `kill -0 ${counter} && cat /root/who`), 'source', 'the processes and the disk of the source at the fork');
    const c1 = await count(f);
    await out(f, `sleep 0.4; echo fork-${i} > /root/who`);
    assert.ok(await count(f) > c1, 'its counter goes on');
    hostnames.add(await out(f, 'hostname'));
    entropy.add(await out(f, 'head -c 16 /dev/urandom | od -An -tx1'));
  }
  for (const [i, f] of forks.entries()) assert.equal(await out(f, 'cat /root/who'), `fork-${i}`, 'each keeps its own writes');
  assert.equal(await out(source, 'cat /root/who'), 'source');
  assert.equal(hostnames.size, 4, 'each box has its own hostname');
  assert.equal(entropy.size, 3, 'the forks read different random bytes');
  assert.equal(fs.readdirSync(`${home}/forks`).length, 0, 'nothing staged is left');
  for (const f of forks) await runtime.remove(f.id.asStr(), true);
  await runtime.remove(source.id.asStr(), true);
});

test('a paused box forks too, and stays paused', async () => {
  const home = freshHome('boxlite-fork-paused-', homes);
  const runtime = runtimeOn(home);
  const source = await runtime.create(shape);
  await out(source, 'echo kept > /root/f');
  await source.pause();
  const [fork] = await runtime.fork(source.id.asStr());
  assert.equal(await out(fork!, 'cat /root/f'), 'kept');
  assert.equal(source.info().status, BoxStatus.Paused);
  await source.resume();
  assert.equal(await out(source, 'cat /root/f'), 'kept');
  await runtime.remove(fork!.id.asStr(), true);
  await runtime.remove(source.id.asStr(), true);
});

test('a damaged saved state is refused naming the file; the box stays paused and stop keeps its disk', async () => {
  const home = freshHome('boxlite-pause-bad-', homes);
  const runtime = runtimeOn(home);
  const box = await runtime.create(shape);
  await out(box, 'echo flushed > /root/data');
  await box.pause();
  const state = `${new BoxPaths(home, box.id.asStr()).savedVm}/state`;
  fs.truncateSync(state, Math.floor(fs.statSync(state).size / 2));
  await assert.rejects(box.resume(), (e: Error & { code?: string }) => e.code === 'Storage' && e.message.includes(state) && /truncated|damaged/.test(e.message));
  assert.equal(box.info().status, BoxStatus.Paused, 'nothing lost: still paused');
  assert.match(box.info().lastError ?? '', /truncated|damaged/);
  await box.stop();
  assert.equal(box.info().status, BoxStatus.Stopped);
  assert.equal(await out(box, 'cat /root/data'), 'flushed', 'what was written before the pause is on the disk');
  await runtime.remove(box.id.asStr(), true);
});

test('a host port taken while paused: Network error, the box stays paused, and resumes once it is free', async () => {
  const home = freshHome('boxlite-pause-port-', homes);
  const runtime = runtimeOn(home);
  const box = await runtime.create({ ...shape, ports: [{ guestPort: 8000, hostIp: '127.0.0.1' }] });
  await out(box, 'true');
  const hostPort = box.hostPort(8000);
  await box.pause();
  const squatter = net.createServer().listen(hostPort, '127.0.0.1');
  await new Promise((r) => squatter.once('listening', r));
  try {
    await assert.rejects(box.resume(), (e: Error & { code?: string }) => e.code === 'Network' || /port|address in use/i.test(e.message));
    assert.equal(box.info().status, BoxStatus.Paused);
  } finally {
    await new Promise((r) => squatter.close(r));
  }
  await box.resume();
  assert.equal(box.hostPort(8000), hostPort);
  await runtime.remove(box.id.asStr(), true);
});

test('pause and fork in the wrong state, of a box with volumes, or with bad options: typed errors', async () => {
  const home = freshHome('boxlite-pause-errors-', homes);
  const runtime = runtimeOn(home);
  const box = await runtime.create(shape);
  await assert.rejects(box.pause(), (e: Error & { code?: string }) => e.code === 'InvalidState' && /configured/.test(e.message));
  await assert.rejects(box.resume(), (e: Error & { code?: string }) => e.code === 'InvalidState' && /configured, not paused/.test(e.message));
  await assert.rejects(box.fork(), (e: Error & { code?: string }) => e.code === 'InvalidState' && /only a running or paused box/.test(e.message));
  await assert.rejects(box.fork({ count: 0 }), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && /count/.test(e.message));
  await assert.rejects(box.fork({ count: 1, names: ['a', 'b'] }), (e: Error & { code?: string }) => e.code === 'InvalidArgument');
  await assert.rejects(runtime.fork('no-such-box'), (e: Error & { code?: string }) => e.code === 'NotFound');
  const dir = fs.mkdtempSync('/tmp/boxlite-pause-vol-');
  try {
    const withVolume = await runtime.create({ ...shape, volumes: [{ hostPath: dir, guestPath: '/vol' }] });
    await out(withVolume, 'true');
    await assert.rejects(withVolume.pause(), (e: Error & { code?: string }) => e.code === 'Unsupported' && /volumes/.test(e.message));
    await assert.rejects(withVolume.fork(), (e: Error & { code?: string }) => e.code === 'Unsupported');
    assert.equal(withVolume.info().status, BoxStatus.Running, 'it keeps running');
    await runtime.remove(withVolume.id.asStr(), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  await runtime.remove(box.id.asStr(), true);
});
