// One-call commands on a real box: box.exec / box.sh (output, input, options, timeout, abort, maxBuffer),
// execution.waitForOutput, box.hostPort and box.waitForPort.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxBox } from '../helpers/boxes.js';

const isBoxliteError = (code: string, pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e), `a BoxliteError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};
const isAbortError = (e: unknown): boolean => {
  assert.ok(e instanceof DOMException, `a DOMException, got ${String(e)}`);
  assert.equal(e.name, 'AbortError');
  return true;
};

describe('box.exec and box.sh', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox({ env: { FROM_BOX: 'box' } }); });

  it('returns exit code, stdout and stderr as text; a non-zero exit is a result', async () => {
    const r = await box.exec('sh', ['-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual(r, { exitCode: 3, stdout: 'out\n', stderr: 'err\n', timedOut: false });
    assert.deepEqual(await box.exec('pwd', { cwd: '/tmp' }), { exitCode: 0, stdout: '/tmp\n', stderr: '', timedOut: false }, 'options in place of args');
  });

  it('gives raw bytes with encoding "buffer", byte-identical', async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const r = await box.exec('cat', [], { input: all, encoding: 'buffer' });
    assert.ok(Buffer.isBuffer(r.stdout));
    assert.ok(r.stdout.equals(all));
    assert.equal((await box.exec('printf', ['\\377\\376'], { encoding: 'hex' })).stdout, 'fffe');
  });

  it('applies env, cwd and user over the box settings', async () => {
    const r = await box.sh('echo "$FROM_BOX $ONLY_HERE"; pwd; id -u', { env: { ONLY_HERE: 'cmd' }, cwd: '/proc', user: 'nobody' });
    assert.equal(r.stdout, 'box cmd\n/proc\n65534\n');
  });

  it('feeds input from a string, bytes, an async iterable and a Readable, then closes stdin', async () => {
    assert.equal((await box.exec('cat', [], { input: 'text in' })).stdout, 'text in');
    assert.equal((await box.exec('cat', [], { input: new TextEncoder().encode('bytes in') })).stdout, 'bytes in');
    async function* parts(): AsyncGenerator<string | Uint8Array> { yield 'a'; yield Buffer.from('b'); yield 'c'; }
    assert.equal((await box.exec('cat', [], { input: parts() })).stdout, 'abc');
    const big = Buffer.alloc(3 * 1024 * 1024, 'x');
    const r = await box.exec('wc', ['-c'], { input: Readable.from([big.subarray(0, 1 << 20), big.subarray(1 << 20)]) });
    assert.equal(r.stdout.trim(), String(big.length));
    assert.equal((await box.exec('cat')).stdout, '', 'no input: stdin is closed at once, so cat ends');
  });

  it('resolves when the command exits without reading its input', async () => {
    const r = await box.exec('true', [], { input: Readable.from((function* () { for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024); })()) });
    assert.equal(r.exitCode, 0);
  });

  it('rejects with InvalidArgument when the input stream fails, and kills the command', async () => {
    async function* failing(): AsyncGenerator<string> { yield 'first\n'; throw new Error('disk gone'); }
    await assert.rejects(box.exec('cat', [], { input: failing() }), isBoxliteError('InvalidArgument', /reading the input of `cat` failed: disk gone/));
  });

  it('reports a timeout as timedOut with the SIGKILL exit code', async () => {
    const r = await box.exec('sleep', ['30'], { timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, -9);
  });

  it('aborting kills the command and rejects with an AbortError; an aborted signal runs nothing', async () => {
    const ac = new AbortController();
    const running = box.exec('sh', ['-c', 'echo $$ > /tmp/aborted.pid; exec sleep 300'], { signal: ac.signal });
    // Abort once the command is known to run (its pid file holds its pid: the shell creates the file before it writes it).
    while (!/^\d+$/.test(String((await box.exec('cat', ['/tmp/aborted.pid'])).stdout).trim())) { /* poll */ }
    ac.abort(new Error('user gave up'));
    await assert.rejects(running, (e: unknown) => isAbortError(e) && (e as DOMException & { cause?: Error }).cause?.message === 'user gave up');
    const pid = (await box.exec('cat', ['/tmp/aborted.pid'])).stdout.trim();
    assert.notEqual((await box.exec('kill', ['-0', pid])).exitCode, 0, `process ${pid} is gone`);

    await assert.rejects(box.exec('touch', ['/tmp/never'], { signal: AbortSignal.abort() }), isAbortError);
    assert.notEqual((await box.exec('test', ['-e', '/tmp/never'])).exitCode, 0, 'nothing ran');
  });

  it('kills a command whose output exceeds maxBuffer, with a Run error naming the stream', async () => {
    // `yes` never ends by itself: the call resolving at all shows the command was killed.
    await assert.rejects(box.exec('yes', [], { maxBuffer: 100_000 }), (e: unknown) => isBoxliteError('Run', /stdout of `yes` exceeded maxBuffer \(100000 bytes\), so the command was killed/)(e)
      && (e as Error & { cause: { code: string } }).cause.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER');
    await assert.rejects(box.sh('yes >&2', { maxBuffer: 1000 }), isBoxliteError('Run', /stderr of .* exceeded maxBuffer/));
    const exact = await box.exec('head', ['-c', '1000', '/dev/zero'], { maxBuffer: 1000, encoding: 'buffer' });
    assert.equal(exact.stdout.length, 1000, 'output of exactly maxBuffer bytes is kept');
  });

  it('sh runs a /bin/sh script with pipes', async () => {
    const r = await box.sh('printf "a\\nb\\nc\\n" | wc -l; exit 4');
    assert.equal(r.stdout.trim(), '3');
    assert.equal(r.exitCode, 4);
  });

  it('rejects bad options with InvalidArgument before running anything', async () => {
    await assert.rejects(box.exec('ls', [], { maxBuffer: -1 }), isBoxliteError('InvalidArgument', /maxBuffer/));
    await assert.rejects(box.exec('ls', [], { cwd: 'relative' }), isBoxliteError('InvalidArgument', /workingDir must be an absolute path/));
    await assert.rejects(box.exec('ls', [], { encoding: 'nope' as BufferEncoding }), isBoxliteError('InvalidArgument', /encoding/));
    await assert.rejects(box.exec('ls', [], { input: 42 as unknown as string }), isBoxliteError('InvalidArgument', /input must be/));
    await assert.rejects(box.sh(''), isBoxliteError('InvalidArgument', /non-empty shell script/));
  });
});

describe('sh() in a box without /bin/sh', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-noshell-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('says the box has no /bin/sh and what to use instead; exec still works', async () => {
    for (const d of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root']) fs.mkdirSync(path.join(root, d));
    fs.copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
    fs.chmodSync(path.join(root, 'bin/busybox'), 0o755);
    fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/busybox\n');
    const box = await busyboxBox({ rootfs: { rootfsPath: root } });
    assert.equal((await box.exec('/bin/busybox', ['echo', 'no shell needed'])).stdout, 'no shell needed\n');
    await assert.rejects(box.sh('echo hi'), isBoxliteError('Run', /this box has no \/bin\/sh .* box\.exec\(program, args\)/));
    await box.stop();
  });
});

describe('execution.waitForOutput', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox(); });

  it('resolves with the matching line while the stream still gives every byte to its reader', async () => {
    await using run = await box.run(new BoxCommand('sh').args(['-c', 'echo starting; echo "listening on port 8123"; exec cat']));
    const m = await run.waitForOutput(/listening on port (\d+)/);
    assert.equal(m.stream, 'stdout');
    assert.equal(m.line, 'listening on port 8123');
    assert.equal(m.match[1], '8123');
    // Output written before a call counts too (it is kept in a bounded window), so a second wait resolves at once.
    assert.equal((await run.waitForOutput('starting')).line, 'starting');
    await run.stdin()!.close();
    assert.equal(await run.stdout()!.text(), 'starting\nlistening on port 8123\n');
    assert.equal((await run.wait()).exitCode, 0);
  });

  it('watches one stream when asked, and matches an unterminated last line at exit', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'echo ready; echo ready >&2; printf "no newline"']));
    assert.equal((await run.waitForOutput(/ready/, { stream: 'stderr' })).stream, 'stderr');
    assert.equal((await run.waitForOutput(/newline$/)).line, 'no newline');
    await run.wait();
  });

  it('rejects with a Run error showing the last lines when the command exits first', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'echo "boot failed: no config" >&2; exit 2']));
    await assert.rejects(run.waitForOutput(/listening/), isBoxliteError('Run', /exited with code 2 before a line of its output matched \/listening\/; its last lines:\n {2}stderr\| boot failed: no config/));
    await run.wait();
  });

  it('rejects on timeout and on abort, leaving the command running', async () => {
    await using run = await box.run(new BoxCommand('sh').args(['-c', 'echo quiet; exec sleep 300']));
    await assert.rejects(run.waitForOutput(/never/, { timeoutMs: 200 }), isBoxliteError('Run', /matched \/never\/ within 200 ms; its last lines:\n {2}stdout\| quiet/));
    const ac = new AbortController();
    const waiting = run.waitForOutput(/never/, { signal: ac.signal });
    ac.abort();
    await assert.rejects(waiting, isAbortError);
    assert.equal((await run.waitForOutput('quiet')).line, 'quiet', 'still running, output still there');
  });
});

describe('box.hostPort and box.waitForPort', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox({ ports: [{ guestPort: 8000, hostIp: '127.0.0.1' }] }); });

  it('hostPort names the published host port; an unpublished one is InvalidArgument naming what is published', async () => {
    await assert.rejects(async () => box.hostPort(8000), isBoxliteError('InvalidState', /gets its host port when the box starts/));
    await box.start();
    assert.equal(box.hostPort(8000), box.info().ports[0]!.hostPort);
    assert.throws(() => box.hostPort(9999), isBoxliteError('InvalidArgument', /guest port 9999\/tcp is not published .*published: 8000\/tcp/));
    assert.throws(() => box.hostPort(8000, 'udp'), isBoxliteError('InvalidArgument', /8000\/udp is not published/));
  });

  it('waitForPort checks the box: a host connection alone (passt accepts it) is not enough', async () => {
    await assert.rejects(box.waitForPort(8000, { timeoutMs: 1500 }), isBoxliteError('Network', /accepts connections .*but nothing in the box listens on port 8000/));
  });

  it('waitForPort names a loopback-only listener, which a published port cannot reach', async () => {
    await using server = await box.run(new BoxCommand('httpd').args(['-f', '-p', '127.0.0.1:8000', '-h', '/tmp']));
    // Listening first (port 8000 is 1F40 in /proc/net/tcp): the short wait below must see the listener, on a slow host too.
    assert.equal((await box.sh('for i in $(seq 600); do grep -q ":1F40 " /proc/net/tcp && exit 0; sleep 0.1; done; exit 1')).exitCode, 0, 'httpd listens');
    await assert.rejects(box.waitForPort(8000, { timeoutMs: 3000 }), isBoxliteError('Network', /listens only on 127\.0\.0\.1.*listen on 0\.0\.0\.0/));
    await server.kill();
  });

  it('waitForPort resolves once a server listens, and the port then serves', async () => {
    assert.equal((await box.sh('mkdir -p /www && echo served > /www/index.html')).exitCode, 0);
    await using server = await box.run(new BoxCommand('sh').args(['-c', 'sleep 1; exec httpd -f -p 8000 -h /www']));
    await box.waitForPort(8000, { timeoutMs: 60_000 });
    const res = await fetch(`http://127.0.0.1:${box.hostPort(8000)}/index.html`);
    assert.equal(await res.text(), 'served\n');
    await server.kill();
    await assert.rejects(box.waitForPort(8000, { signal: AbortSignal.abort() }), isAbortError);
  });
});
