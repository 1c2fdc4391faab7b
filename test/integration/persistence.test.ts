// Boxes that persist: restarts, several processes on one home dir, owners that die, recovery, metrics.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BoxliteError } from '../../src/errors.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { BoxStatus } from '../../src/runtime/status.js';
import { BoxStore } from '../../src/state/box-store.js';
import { openStateDb } from '../../src/state/db.js';
import { isAlive, processStartTime } from '../../src/state/process-identity.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { boxChild, cleanUpChildren, freshHome as newHome, recordedProcesses, type BoxChild } from '../helpers/box-children.js';

const children: ChildProcess[] = [];
const homes: string[] = [];



// Each test gets its own home dir; its processes are box-process fixtures.
const freshHome = (): string => newHome('boxlite-persist-', homes);
const child = (home: string, ...args: string[]): BoxChild => boxChild(home, args, children);
const recorded = recordedProcesses;

// Every process whose command line names the box (its VM, passt, virtiofsd, or their launch wrapper).
function processesOf(boxId: string): string[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      return cmd.includes(boxId) && Number(d) !== process.pid ? [`${d}: ${cmd.replaceAll('\0', ' ').slice(0, 120)}`] : [];
    } catch { return []; }
  });
}

const exited = (p: ChildProcess): Promise<number | null> => (p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (c) => r(c))));

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (cond()) return true; await new Promise((r) => setTimeout(r, 50)); }
  return cond();
}

after(() => cleanUpChildren(children, homes));

describe('persistence and several processes', () => {
  it('keeps state across a runtime restart; a detached box keeps running and can be used again', async () => {
    const home = freshHome();
    let rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, detach: true, autoRemove: false, labels: { app: 'x' } }, 'keeper');
    await (await box.run(new BoxCommand('sh').args(['-c', 'echo persisted > /root/f']))).wait();
    const pid = box.info().pid;
    await rt.close();
    rt = new BoxliteRuntime({ homeDir: home });
    const infos = await rt.listInfo();
    assert.equal(infos.length, 1);
    assert.equal(infos[0]!.name, 'keeper');
    assert.equal(infos[0]!.status, BoxStatus.Running);
    assert.equal(infos[0]!.pid, pid);
    assert.deepEqual(infos[0]!.labels, { app: 'x' });
    const again = await rt.get('keeper');
    const run = await again!.run(new BoxCommand('cat').arg('/root/f'));
    assert.equal(await run.stdout()!.text(), 'persisted\n');
    await again!.stop();
    assert.equal((await rt.getInfo('keeper'))?.status, BoxStatus.Stopped);
    await rt.close();
  });

  it('hostile review #9: two runtimes in one process share one box; closing one keeps the other working', async () => {
    const home = freshHome();
    const a = new BoxliteRuntime({ homeDir: home });
    const b = new BoxliteRuntime({ homeDir: home });
    const echo = async (rt: BoxliteRuntime, word: string): Promise<string> => {
      const box = await rt.get('shared');
      const run = await box!.run(new BoxCommand('echo').arg(word));
      const out = await run.stdout()!.text();
      assert.equal((await run.wait()).exitCode, 0);
      return out;
    };
    try {
      await a.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, detach: true, autoRemove: false }, 'shared');
      assert.equal(await echo(a, 'from-a'), 'from-a\n');
      assert.equal(await echo(b, 'from-b'), 'from-b\n', 'the second runtime attaches on a port of its own');
      const [x, y] = await Promise.all([echo(a, 'both-a'), echo(b, 'both-b')]);
      assert.deepEqual([x, y], ['both-a\n', 'both-b\n']);
      await a.close(); // the launcher leaves; the detached box and the other runtime's session stay
      assert.equal(await echo(b, 'still-b'), 'still-b\n');
      const c = new BoxliteRuntime({ homeDir: home }); // a third one takes the port the first released
      assert.equal(await echo(c, 'from-c'), 'from-c\n');
      await c.close();
      await (await b.get('shared'))!.stop();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('kill -9 of the owner of a non-detached box leaves no VM behind, and the box is Stopped on the next open', async () => {
    const home = freshHome();
    const c = child(home, 'hold', 'owned');
    const { vmmPid } = await c.next() as { vmmPid: number };
    const vmm = { pid: vmmPid, start: processStartTime(vmmPid)! };
    assert.equal(isAlive(vmm), true);
    c.proc.kill('SIGKILL');
    assert.equal(await waitFor(() => !isAlive(vmm), 5000), true, 'the VM died with its owner');
    const rt = new BoxliteRuntime({ homeDir: home });
    const info = await rt.getInfo('owned');
    assert.equal(info?.status, BoxStatus.Stopped);
    assert.match(info?.lastError ?? '', /no longer running/);
    await rt.close();
  });

  it('a detached box keeps serving a second process while its creator is attached, and after it exits', async () => {
    const home = freshHome();
    const c = child(home, 'hold-detached', 'shared');
    const first = await c.next();
    assert.equal(first.out, 'started');
    const rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.get('shared');
    const run = await box!.run(new BoxCommand('cat').arg('/root/mark'));
    assert.equal(await run.stdout()!.text(), 'started\n');
    c.proc.kill('SIGTERM');
    await exited(c.proc);
    const later = await box!.run(new BoxCommand('echo').arg('still serving'));
    assert.equal(await later.stdout()!.text(), 'still serving\n');
    await box!.stop();
    await rt.close();
  });

  it('a box created detached by a process that exited is found and used by the next one', async () => {
    const home = freshHome();
    const c = child(home, 'detached', 'orphan');
    await c.next();
    assert.equal(await exited(c.proc), 0);
    const rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.get('orphan');
    assert.equal(box?.info().status, BoxStatus.Running);
    assert.equal(await (await box!.run(new BoxCommand('cat').arg('/root/mark'))).stdout()!.text(), 'started\n');
    await rt.remove('orphan', true);
    assert.equal(await rt.exists('orphan'), false);
    await rt.close();
  });

  it('two processes creating and removing 20 boxes each at once end with exactly the expected rows and files', async () => {
    const home = freshHome();
    const a = child(home, 'churn', 'a', '20');
    const b = child(home, 'churn', 'b', '20');
    const [ra, rb] = await Promise.all([a.next(), b.next()]);
    assert.deepEqual(await Promise.all([exited(a.proc), exited(b.proc)]), [0, 0]);
    const kept = [...(ra.kept as string[]), ...(rb.kept as string[])].sort();
    const rt = new BoxliteRuntime({ homeDir: home });
    const rows = (await rt.listInfo()).map((i) => i.id.asStr()).sort();
    assert.deepEqual(rows, kept);
    assert.equal(rows.length, 20);
    const names = new Set((await rt.listInfo()).map((i) => i.name));
    for (let i = 1; i < 20; i += 2) assert.ok(names.has(`a-${i}`) && names.has(`b-${i}`));
    assert.deepEqual(fs.readdirSync(path.join(home, 'boxes')), [], 'no files left of removed or never-started boxes');
    await rt.close();
  });

  it('does not mistake an unrelated process that reuses a VM pid for the VM', async () => {
    const home = freshHome();
    const rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, autoRemove: false });
    await rt.close();
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    await new Promise((r) => sleeper.once('spawn', r));
    const db = openStateDb(home);
    const store = new BoxStore(db);
    const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    store.update(box.id.asStr(), { status: 'running', vmm: { pid: sleeper.pid!, start: processStartTime(sleeper.pid!)! }, bootId });
    db.close();
    const reopened = new BoxliteRuntime({ homeDir: home });
    assert.equal((await reopened.getInfo(box.id.asStr()))?.status, BoxStatus.Stopped);
    assert.deepEqual(reopened.recovery.reconciled, [box.id.asStr()]);
    await reopened.close();
  });

  it('a box recorded as running under another host boot is Stopped, an auto-remove one is removed', async () => {
    const home = freshHome();
    const rt = new BoxliteRuntime({ homeDir: home });
    const kept = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, autoRemove: false });
    const gone = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() } });
    await rt.close();
    const db = openStateDb(home);
    const store = new BoxStore(db);
    for (const b of [kept, gone]) {
      store.update(b.id.asStr(), { status: 'running', vmm: { pid: process.pid, start: processStartTime(process.pid)! }, bootId: 'another-boot' });
    }
    db.close();
    fs.mkdirSync(path.join(home, 'boxes', gone.id.asStr()));
    const reopened = new BoxliteRuntime({ homeDir: home });
    assert.equal((await reopened.getInfo(kept.id.asStr()))?.lastError, 'the host rebooted while the box was running');
    assert.equal(await reopened.exists(gone.id.asStr()), false);
    assert.equal(fs.existsSync(path.join(home, 'boxes', gone.id.asStr())), false);
    await reopened.close();
  });

  it('rejects calls in the wrong state with InvalidState naming the state', async () => {
    const home = freshHome();
    const rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false });
    await box.start();
    const isInvalid = (state: string) => (e: unknown): boolean => BoxliteError.is(e) && e.code === 'InvalidState' && e.message.includes(state);
    await assert.rejects(rt.remove(box.id.asStr()), isInvalid('running'));
    const stopping = box.stop();
    assert.equal(box.info().status, BoxStatus.Stopping);
    await assert.rejects(box.start(), isInvalid('stopping'));
    await assert.rejects(box.run(new BoxCommand('true')), isInvalid('stopping'));
    await stopping;
    await assert.rejects(rt.remove('no-such-box'), (e: unknown) => BoxliteError.is(e) && e.code === 'NotFound');
    await rt.close();
    await assert.rejects(rt.create({}), isInvalid('closed'));
  });

  it('counts what happened: commands, errors, bytes, and stage timings that add up to the create duration', async () => {
    const home = freshHome();
    const rt = new BoxliteRuntime({ homeDir: home });
    const box = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, autoRemove: false });
    for (let i = 0; i < 3; i++) {
      const run = await box.run(new BoxCommand('cat'));
      const stdin = run.stdin()!;
      await stdin.write('12345');
      await stdin.close();
      await run.stdout()!.text();
      await run.wait();
    }
    await assert.rejects(box.run(new BoxCommand('no-such-program')));
    const m = await box.metrics();
    assert.equal(m.commandsRunTotal, 4);
    assert.equal(m.runErrorsTotal, 1);
    assert.equal(m.bytesSentTotal, 15);
    assert.equal(m.bytesReceivedTotal, 15);
    const stages = [m.stageFilesystemSetupMs, m.stageImagePrepareMs, m.stageGuestRootfsMs, m.stageBoxConfigMs, m.stageBoxSpawnMs, m.stageContainerInitMs];
    assert.ok(stages.every((s) => typeof s === 'number' && s >= 0), JSON.stringify(stages));
    const sum = stages.reduce((a, b) => a! + b!, 0)!;
    assert.ok(Math.abs(sum - m.totalCreateDurationMs!) < 50, `stages ${sum} ms vs total ${m.totalCreateDurationMs} ms`);
    assert.ok(m.guestBootDurationMs! > 0 && m.guestBootDurationMs! <= m.totalCreateDurationMs!);
    assert.ok(m.memoryBytes! > 10 * 1024 * 1024);
    assert.ok(m.cpuPercent! >= 0 && m.cpuPercent! <= 100);
    const rm = await rt.metrics();
    assert.equal(rm.boxesCreatedTotal, 1);
    assert.equal(rm.totalCommandsRun, 4);
    assert.equal(rm.totalRunErrors, 1);
    assert.equal(rm.numRunningBoxes, 1);
    await rt.close();
  });

  it('has one default runtime; initialising it twice is InvalidState', async () => {
    const home = freshHome();
    assert.equal(BoxliteRuntime.tryDefaultRuntime(), undefined);
    BoxliteRuntime.initDefaultRuntime({ homeDir: home });
    const rt = BoxliteRuntime.defaultRuntime();
    assert.equal(rt.homeDir, home);
    assert.equal(BoxliteRuntime.tryDefaultRuntime(), rt);
    assert.throws(() => BoxliteRuntime.initDefaultRuntime({ homeDir: home }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidState');
    await rt.close();
    assert.equal(BoxliteRuntime.tryDefaultRuntime(), undefined);
  });

  it('hostile review #6: SIGKILL of a process at any point of start() leaves no VM, passt, virtiofsd, row or directory once a runtime opens', async () => {
    const home = freshHome();
    const volume = fs.mkdtempSync(path.join(home, 'vol-'));
    // Killed as soon as its passt, its virtiofsd, or its VM existed; with the box detached (its processes outlive
    // their creator, so recovery must end them) and not.
    const points: Array<[string, boolean]> = [['network', false], ['network', true], ['volume:', true], ['vmm', false], ['vmm', true]];
    for (const [point, detached] of points) {
      const c = child(home, 'start', `killed-${point.replace(':', '')}-${detached}`, detached ? 'detached' : 'owned', volume);
      const { boxId } = await c.next() as { boxId: string };
      assert.ok(await waitFor(() => recorded(home, boxId).some((p) => p.kind.startsWith(point)), 60_000), `${point} was started`);
      c.proc.kill('SIGKILL');
      await exited(c.proc);
      const rt = new BoxliteRuntime({ homeDir: home });
      assert.equal(await rt.exists(boxId), false, `the auto-remove box killed at ${point} (detached: ${detached}) is gone`);
      await rt.close();
      assert.ok(await waitFor(() => processesOf(boxId).length === 0, 5000), `nothing of ${point}/${detached} runs: ${processesOf(boxId).join('; ')}`);
      assert.equal(fs.existsSync(path.join(home, 'boxes', boxId)), false, 'its box dir is gone');
      const runDir = path.join(os.tmpdir(), `boxlite-${process.getuid?.() ?? 0}`);
      assert.deepEqual(fs.readdirSync(runDir).filter((d) => d.includes(boxId)), [], 'its socket dirs are gone');
    }
  });

  it('hostile review #6: `boxlite run` with a bad --timeout or -w fails before making a box', async () => {
    const home = freshHome();
    const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    for (const bad of [['--timeout', '-1'], ['-w', 'relative']]) {
      const cli = spawn(process.execPath, [main, 'run', '--rootfs', busyboxRootfs(), ...bad, '--', 'true'], { env: { ...process.env, BOXLITE_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      cli.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
      assert.notEqual(await exited(cli), 0, `${bad.join(' ')} fails`);
      assert.match(stderr, bad[0] === '-w' ? /workingDir must be an absolute path/ : /timeout must be a whole number/);
    }
    const rt = new BoxliteRuntime({ homeDir: home });
    assert.deepEqual(await rt.listInfo(), [], 'no box was left behind');
    await rt.close();
  });
});
