// Issue 12, the CLI part: `boxlite run` and `boxlite exec` keep Docker's habits (stdin EOF without -i, size
// suffixes, signals forwarded to the command, -u, --env-file, the image as first argument), on real boxes.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { busyboxImage } from '../fixtures/images.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME, testRuntime } from '../helpers/boxes.js';
import { processesNaming } from '../../src/state/process-identity.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const ROOTFS = busyboxRootfs();
const LOOP = 'trap "echo got $SIG; exit $CODE" $SIG; echo ready; while :; do sleep 1; done';

interface Cli { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>; stdout(): string }

// Starts `boxlite args…` on the test home. Its stdin is a pipe left open (unless `input` is given, then written
// and closed): a command that reads stdin hangs unless boxlite closes it. `group`: it leads its own process
// group, as a terminal's foreground job does, so a signal can be sent to the whole group as Ctrl-C does.
function boxlite(args: string[], opts: { input?: string; group?: boolean; timeoutMs?: number } = {}): Cli {
  const child = spawn(process.execPath, [MAIN, '--home', TEST_HOME, ...args], { stdio: ['pipe', 'pipe', 'pipe'], detached: Boolean(opts.group) });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) => {
    child.once('exit', (code, signal) => { clearTimeout(timer); child.stdin!.destroy(); resolve({ code, signal, stdout, stderr }); });
  });
  return { child, done, stdout: () => stdout };
}

const run = (args: string[], opts?: Parameters<typeof boxlite>[1]) => boxlite(args, opts).done;

async function waitForReady(cli: Cli): Promise<void> {
  for (let i = 0; i < 1800 && !/ready\n/.test(cli.stdout()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.match(cli.stdout(), /ready\n/, 'the command printed ready');
}

// One detached box for the exec tests, made by the CLI with a Docker-style memory size.
let boxId = '';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-docker-'));
before(async () => {
  const r = await run(['run', '-d', '--rootfs', ROOTFS, '--cpus', '1', '--memory', '512m', '--name', 'cli-docker-exec', '--', 'sleep', '3600']);
  assert.equal(r.code, 0, r.stderr);
  boxId = r.stdout.trim();
});
after(async () => {
  if (boxId) await run(['rm', '-f', boxId]); // by the CLI: the fixture's runtime may be closed by now
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('boxlite run/exec: Docker habits (issue 12)', () => {
  it('bug 4: `boxlite run` without -i closes the command\'s stdin (cat ends), with -i forwards it', async () => {
    const eof = await run(['run', '--rootfs', ROOTFS, '--cpus', '1', '--memory', '256', '--', 'sh', '-c', 'cat; echo eof'], { timeoutMs: 120_000 });
    assert.equal(eof.code, 0, eof.stderr);
    assert.equal(eof.stdout, 'eof\n');
  });

  it('bug 4: `boxlite exec` without -i closes the command\'s stdin; -i forwards it to EOF', async () => {
    const eof = await run(['exec', boxId, '--', 'sh', '-c', 'cat; echo eof'], { timeoutMs: 60_000 });
    assert.equal(eof.code, 0, eof.stderr);
    assert.equal(eof.stdout, 'eof\n');
    const piped = await run(['exec', '-i', boxId, '--', 'cat'], { input: 'x\n', timeoutMs: 60_000 });
    assert.equal(piped.code, 0, piped.stderr);
    assert.equal(piped.stdout, 'x\n');
  });

  it('bug 5: `--memory 512m` gives a 512 MiB box', async () => {
    const r = await run(['inspect', boxId]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { memoryMib: number }).memoryMib, 512);
    const mem = await run(['exec', boxId, '--', 'grep', 'MemTotal', '/proc/meminfo']);
    const kib = Number(/(\d+) kB/.exec(mem.stdout)?.[1]);
    assert.ok(kib > 400 * 1024 && kib <= 512 * 1024, `MemTotal ${kib} kB is about 512 MiB`);
  });

  it('bug 5: a bad --memory or --disk names the flag, the value and the accepted forms, and makes no box', async () => {
    const before = (await testRuntime().listInfo()).length;
    const mem = await run(['run', '--rootfs', ROOTFS, '--memory', '512q', '--', 'true']);
    assert.equal(mem.code, 125);
    assert.match(mem.stderr, /InvalidArgument: --memory must be a size such as 512m, 2g .*suffixes b, k, m, g.*a bare number is MiB\), got "512q"/);
    const disk = await run(['run', '--rootfs', ROOTFS, '--disk', '512m', '--', 'true']);
    assert.equal(disk.code, 125);
    assert.match(disk.stderr, /InvalidArgument: --disk must be a positive whole number of GiB, got "512m"/);
    assert.equal((await testRuntime().listInfo()).length, before);
  });

  it('bug 12: Ctrl-C (SIGINT to the CLI\'s whole process group) reaches the command in `run`; the CLI exits with its code and the box is removed', async () => {
    const cli = boxlite(['run', '--rootfs', ROOTFS, '--cpus', '1', '--memory', '256', '--name', 'cli-docker-sigint', '--', 'sh', '-c', LOOP.replaceAll('$SIG', 'INT').replace('$CODE', '3')], { group: true });
    await waitForReady(cli);
    process.kill(-cli.child.pid!, 'SIGINT');
    const r = await cli.done;
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'ready\ngot INT\n');
    assert.equal(await testRuntime().exists('cli-docker-sigint'), false, 'the box was stopped and removed as after any run');
  });

  it('bug 12: SIGTERM to `boxlite exec` reaches the command; 128+N when it died of the signal; the box keeps running', async () => {
    const trapped = boxlite(['exec', boxId, '--', 'sh', '-c', LOOP.replaceAll('$SIG', 'TERM').replace('$CODE', '4')]);
    await waitForReady(trapped);
    trapped.child.kill('SIGTERM');
    const r = await trapped.done;
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'ready\ngot TERM\n');

    const plain = boxlite(['exec', boxId, '--', 'sh', '-c', 'echo ready; exec sleep 600']);
    await waitForReady(plain);
    plain.child.kill('SIGTERM');
    assert.equal((await plain.done).code, 128 + 15);

    const after = await run(['exec', boxId, '--', 'echo', 'still here']);
    assert.equal(after.stdout, 'still here\n', after.stderr);
  });

  it('-u, --env-file, -e and -w on `run` and `exec`', async () => {
    const envFile = path.join(tmp, 'app.env');
    fs.writeFileSync(envFile, '# settings\nA=from file\n\nB=overridden\nHOST_ONLY\n');
    const script = 'id -u; echo "$A|$B|$HOST_ONLY"; pwd';
    const flags = ['-u', 'nobody', '--env-file', envFile, '-e', 'B=flag', '-w', '/tmp'];
    process.env.HOST_ONLY = 'host value';
    try {
      const want = '65534\nfrom file|flag|host value\n/tmp\n';
      const ran = await run(['run', '--rootfs', ROOTFS, '--cpus', '1', '--memory', '256', ...flags, '--', 'sh', '-c', script]);
      assert.equal(ran.stdout, want, ran.stderr);
      const execd = await run(['exec', ...flags, boxId, '--', 'sh', '-c', script]);
      assert.equal(execd.stdout, want, execd.stderr);
    } finally {
      delete process.env.HOST_ONLY;
    }
    const bad = path.join(tmp, 'bad.env');
    fs.writeFileSync(bad, 'OK=1\nNOT OK=2\n');
    const r = await run(['exec', '--env-file', bad, boxId, '--', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`InvalidArgument: --env-file ${bad}:2: variable name "NOT OK" contains whitespace`));
  });

  it('-d --rm: the detached box is removed once its command ends, keeper and all', async () => {
    const r = await run(['run', '-d', '--rm', '--rootfs', ROOTFS, '--cpus', '1', '--memory', '256m', '--', 'sh', '-c', 'sleep 2; echo done']);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.ok((await testRuntime().getInfo(id))?.status.isActive(), 'running while its command runs');
    let info = await testRuntime().getInfo(id);
    for (const deadline = Date.now() + 120_000; info && Date.now() < deadline; info = await testRuntime().getInfo(id)) await new Promise((res) => setTimeout(res, 250));
    assert.equal(info, undefined, `box ${id} was removed when its command ended`);
    assert.deepEqual(processesNaming([`${path.join(TEST_HOME, 'boxes', id)}/`, `__keep\0${id}`]), [], 'no VM, helper or keeper is left');
  });
});

describe('boxlite run IMAGE -- CMD (issue 12)', { skip: registryUnavailable() }, () => {
  let reg: TestRegistry;
  before(async () => { reg = await startRegistry('none'); });
  after(async () => { await reg?.close(); });

  it('takes the image as the first argument, as docker run does', async () => {
    await pushImage(reg, 'test/cli-positional', 'v1', await busyboxImage([], { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin', 'FROM_IMAGE=yes'] }));
    const r = await run(['run', '--cpus', '1', '--memory', '256m', '--rm', `${reg.host}/test/cli-positional:v1`, '--', 'sh', '-c', 'echo "$FROM_IMAGE"']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'yes\n');
  });
});
