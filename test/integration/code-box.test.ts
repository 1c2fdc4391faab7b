// SimpleBox and CodeBox on real boxes: created on first use and removed on dispose; Python (from the project's
// Python image, through a loopback registry), bash and JavaScript (the host's node in a busybox root) code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CodeBox } from '../../src/boxes/code-box.js';
import { SimpleBox } from '../../src/boxes/simple-box.js';
import { BoxliteError } from '../../src/errors.js';
import { nodeRootfs, nodeRootfsUnavailable } from '../fixtures/node-rootfs.js';
import { pushPythonImage, pythonImageUnavailable } from '../fixtures/python-image.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { testRuntime } from '../helpers/boxes.js';
import { registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';

const isBoxliteError = (code: string, pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e), `a BoxliteError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  assert.match(e.message, pattern);
  return true;
};
const small = { cpus: 1, memoryMib: 256 };

describe('SimpleBox', () => {
  it('creates its box on first use, runs commands, and removes the box when disposed', async () => {
    const runtime = testRuntime();
    let id: string | undefined;
    {
      await using box = new SimpleBox({ ...small, rootfs: { rootfsPath: busyboxRootfs() }, runtime, autoRemove: false });
      assert.equal(box.id, undefined, 'no box before first use');
      const r = await box.exec('echo', ['hi']);
      assert.deepEqual(r, { exitCode: 0, stdout: 'hi\n', stderr: '', timedOut: false });
      assert.equal((await box.sh('echo $((6 * 7))')).stdout, '42\n');
      id = box.id;
      assert.ok(id && (await runtime.exists(id)));
      assert.ok((await box.info()).status.isRunning());
    }
    assert.equal(await runtime.exists(id), false, 'disposing removed the box, although autoRemove was false');
  });

  it('runs an agent\'s code in a handful of lines: a script and its inputs in, its output and files back', async () => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-runner-'));
    try {
      fs.mkdirSync(path.join(work, 'in'));
      fs.writeFileSync(path.join(work, 'in', 'job.sh'), 'wc -l < data.txt > out/lines.txt; echo ran\n');
      fs.writeFileSync(path.join(work, 'in', 'data.txt'), 'a\nb\nc\n');
      {
        await using box = new SimpleBox({ ...small, rootfs: { rootfsPath: busyboxRootfs() }, runtime: testRuntime() });
        await box.copyIn(path.join(work, 'in', '.'), '/job');
        const r = await box.sh('mkdir -p out && sh job.sh', { cwd: '/job' });
        assert.deepEqual([r.exitCode, r.stdout], [0, 'ran\n'], r.stderr);
        await box.copyOut('/job/out', path.join(work, 'out'));
        assert.equal(await (await box.fs()).readFile('/job/out/lines.txt', 'utf8'), '3\n');
      }
      assert.equal(fs.readFileSync(path.join(work, 'out', 'lines.txt'), 'utf8'), '3\n');
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });

  it('rejects use after close with InvalidState; close is idempotent; a failed start removes the box', async () => {
    const runtime = testRuntime();
    const box = new SimpleBox({ ...small, rootfs: { rootfsPath: busyboxRootfs() }, runtime });
    await box.close();
    await box.close();
    await assert.rejects(box.exec('true'), isBoxliteError('InvalidState', /this SimpleBox is closed/));
    assert.throws(() => new SimpleBox({ image: 'alpine', rootfs: { rootfsPath: '/' }, runtime }), isBoxliteError('InvalidArgument', /either image or rootfs/));
    const before = (await runtime.listInfo()).length;
    await assert.rejects(SimpleBox.start({ ...small, rootfs: { rootfsPath: '/no/such/dir' }, runtime }), BoxliteError.is);
    assert.equal((await runtime.listInfo()).length, before, 'the box of a failed start is removed');
  });
});

describe('CodeBox with Python', { skip: registryUnavailable() ?? pythonImageUnavailable() }, () => {
  let reg: TestRegistry;
  let box: CodeBox;
  before(async () => {
    reg = await startRegistry('none');
    box = new CodeBox({ image: await pushPythonImage(reg), cpus: 1, memoryMib: 512, runtime: testRuntime() });
  });
  after(async () => { await box?.close(); await reg?.close(); });

  it('runs Python code and returns its output; a clean exit has no error', { timeout: 900_000 }, async () => {
    const r = await box.runCode('import sys\nprint(sum(range(10)))\nprint("to stderr", file=sys.stderr)');
    assert.deepEqual(r, { exitCode: 0, stdout: '45\n', stderr: 'to stderr\n', timedOut: false });
    const exited = await box.runCode('import sys\nsys.exit(3)');
    assert.equal(exited.exitCode, 3);
    assert.equal(exited.error, undefined, 'sys.exit is not an uncaught error');
  });

  it('parses an uncaught exception: type, message and traceback', async () => {
    const r = await box.runCode('def divide(a, b):\n    return a / b\n\nprint("before")\ndivide(1, 0)\n');
    assert.equal(r.exitCode, 1);
    assert.equal(r.stdout, 'before\n');
    assert.equal(r.error?.name, 'ZeroDivisionError');
    assert.equal(r.error?.message, 'division by zero');
    assert.match(r.error!.traceback, /^Traceback \(most recent call last\):\n {2}File "<stdin>", line 5, in <module>\n[\s\S]*File "<stdin>", line 2, in divide\n[\s\S]*ZeroDivisionError: division by zero$/);
    const se = await box.runCode('x = (\n');
    assert.equal(se.error?.name, 'SyntaxError');
    assert.match(se.error!.traceback, /File "<stdin>", line 1/);
  });

  it('passes large code through stdin, not the command line', async () => {
    // 2 MiB, beyond the 1 MiB command frame and Linux's 128 KiB argument limit; comment lines, which Python skips
    // quickly even under emulation (one 3 MiB string literal takes it minutes to compile there).
    const code = `${`# ${'x'.repeat(97)}\n`.repeat(21_000)}print("the last line ran")\n`;
    assert.ok(code.length > 2 * 1024 * 1024);
    const r = await box.runCode(code);
    assert.deepEqual([r.exitCode, r.stdout], [0, 'the last line ran\n']);
  });

  it('stops code at timeoutMs (timedOut, no error), and aborts it on a signal', async () => {
    const r = await box.runCode('while True:\n    pass', { timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    assert.equal(r.error, undefined);
    const ac = new AbortController();
    const running = box.runCode('import time\ntime.sleep(300)', { signal: ac.signal });
    setImmediate(() => ac.abort());
    await assert.rejects(running, (e: unknown) => e instanceof DOMException && e.name === 'AbortError');
  });

  it('runs bash code from a file, so a command reading stdin cannot eat the rest of the script', async () => {
    const r = await box.runCode('echo $((6 * 7))\nread -r line || echo "stdin is closed"\necho still here', { language: 'bash' });
    assert.equal(r.stdout, '42\nstdin is closed\nstill here\n');
  });

  it('says so when the image lacks the interpreter or pip', async () => {
    await assert.rejects(box.runCode('console.log(1)', { language: 'javascript' }), isBoxliteError('Run', /runCode\(\) runs javascript with node, and this box has no node/));
    // The project's image is python3-minimal without pip, and these machines reach no package index: the success
    // path of installPackages is not tested here (see the report).
    await assert.rejects(box.installPackages('requests'), isBoxliteError('Run', /installing requests with pip .* failed: pip is not installed in the box/));
    await assert.rejects(box.installPackages('--index-url=http://evil/'), isBoxliteError('InvalidArgument', /not start with "-"/));
    await assert.rejects(box.installPackages(), isBoxliteError('InvalidArgument', /at least one package/));
    await assert.rejects(box.runCode('1', { language: 'cobol' as 'python' }), isBoxliteError('InvalidArgument', /language must be one of 'python', 'javascript', 'bash'/));
  });
});

describe('CodeBox with JavaScript', { skip: nodeRootfsUnavailable() }, () => {
  let box: CodeBox;
  before(() => { box = new CodeBox({ language: 'javascript', rootfs: { rootfsPath: nodeRootfs() }, cpus: 1, memoryMib: 512, runtime: testRuntime() }); });
  after(async () => { await box?.close(); });

  it('runs JavaScript and parses an uncaught error with its stack', { timeout: 900_000 }, async () => {
    const ok = await box.runCode('console.log([1, 2, 3].map((x) => x * 2).join(","))');
    assert.deepEqual(ok, { exitCode: 0, stdout: '2,4,6\n', stderr: '', timedOut: false });
    const r = await box.runCode('function parse() { throw new TypeError("bad input"); }\nparse();\n');
    assert.equal(r.exitCode, 1);
    assert.equal(r.error?.name, 'TypeError');
    assert.equal(r.error?.message, 'bad input');
    assert.match(r.error!.traceback, /^TypeError: bad input\n {4}at parse \(\[stdin\]:1:\d+\)\n {4}at \[stdin\]:2:1/);
  });

  it('installPackages says the box has no npm', async () => {
    await assert.rejects(box.installPackages('left-pad'), isBoxliteError('Run', /installPackages\(\) installs with npm, and this box has no npm/));
  });
});
