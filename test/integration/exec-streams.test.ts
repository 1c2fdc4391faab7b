// Binary output, flow control and concurrency in a real box.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxBox, sh } from '../helpers/boxes.js';

describe('output streams', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox(); });

  it('delivers 10 MB of random binary output byte-identical', async () => {
    const made = await sh(box, 'head -c 10485760 /dev/urandom > /tmp/random.bin && sha256sum /tmp/random.bin');
    const guestSha = made.stdout.split(' ')[0];
    const run = await box.run(new BoxCommand('cat').arg('/tmp/random.bin'));
    const hash = createHash('sha256');
    let bytes = 0;
    for await (const chunk of run.stdout()!.bytes()) { hash.update(chunk); bytes += chunk.length; }
    assert.equal((await run.wait()).exitCode, 0);
    assert.equal(bytes, 10 * 1024 * 1024);
    assert.equal(hash.digest('hex'), guestSha);
  });

  it('keeps big binary stdout and stderr of three executions at once apart and intact, one stream read slowly', async () => {
    const made = await sh(box, 'head -c 3145728 /dev/urandom > /tmp/out.bin && head -c 2097152 /dev/urandom > /tmp/err.bin && sha256sum /tmp/out.bin && { cat /tmp/err.bin; echo tail; } | sha256sum');
    const [outSha, errSha] = made.stdout.trim().split('\n').map((l) => l.split(' ')[0]);
    const digest = async (chunks: AsyncIterable<Buffer>, slow: boolean): Promise<string> => {
      const hash = createHash('sha256');
      for await (const c of chunks) {
        hash.update(c);
        if (slow) await new Promise((r) => setTimeout(r, 2));
      }
      return hash.digest('hex');
    };
    // Both streams at once, with small writes of the shell between them: frames of both kinds interleave.
    const runs = await Promise.all([0, 1, 2].map(() => box.run(new BoxCommand('sh').args(['-c', 'cat /tmp/out.bin & cat /tmp/err.bin >&2; echo tail >&2; wait']))));
    const sums = await Promise.all(runs.map((r, i) => Promise.all([digest(r.stdout()!.bytes(), i === 0), digest(r.stderr()!.bytes(), i === 1)])));
    const exits = await Promise.all(runs.map((r) => r.wait()));
    assert.ok(exits.every((e) => e.exitCode === 0));
    for (const [o, e] of sums) {
      assert.equal(o, outSha);
      assert.equal(e, errSha);
    }
  });

  it('does not block a command whose output nobody reads once wait() is called', async () => {
    const run = await box.run(new BoxCommand('head').args(['-c', '3000000', '/dev/zero']));
    assert.equal((await run.wait()).exitCode, 0);
  });

  it('runs 8 executions at once in one box, each with its own output', async () => {
    const runs = await Promise.all(Array.from({ length: 8 }, (_, i) =>
      box.run(new BoxCommand('sh').args(['-c', `sleep 0.5; for n in 1 2 3; do echo exec-${i}-$n; done`]))));
    const outputs = await Promise.all(runs.map((r) => r.stdout()!.text()));
    const results = await Promise.all(runs.map((r) => r.wait()));
    outputs.forEach((o, i) => assert.equal(o, `exec-${i}-1\nexec-${i}-2\nexec-${i}-3\n`));
    assert.ok(results.every((r) => r.exitCode === 0));
  });

  it('streams lines while the command is still running', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'echo first; read x; echo "got $x"']));
    const lines = run.stdout()![Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'first');
    const stdin = run.stdin()!;
    await stdin.write('reply\n');
    assert.equal((await lines.next()).value, 'got reply');
    assert.equal((await run.wait()).exitCode, 0);
  });
});
