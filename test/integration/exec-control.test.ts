// Timeouts, kill, signals and TTYs in a real box.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxBox, sh } from '../helpers/boxes.js';

describe('controlling commands', () => {
  let box: LiteBox;
  before(async () => { box = await busyboxBox(); });

  it('kills a command at its timeout and reports that it timed out', async () => {
    const r = await sh(box, 'echo started; sleep 30; echo never', (c) => c.timeout(1500));
    assert.equal(r.stdout, 'started\n');
    assert.equal(r.timedOut, true);
    assert.equal(r.exitCode, -9);
  });

  it('kill() ends a running command with SIGKILL, including its children', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'sleep 100 & sleep 100; echo never']));
    await run.kill();
    const result = await run.wait();
    assert.equal(result.exitCode, -9);
    assert.equal(result.timedOut, false);
    assert.equal((await sh(box, 'ps | grep -c "[s]leep 100" || true')).stdout.trim(), '0');
  });

  it('signal() delivers a chosen signal the command can trap', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'trap "echo got-usr1; exit 7" USR1; echo ready; while :; do sleep 0.1; done']));
    const lines = run.stdout()![Symbol.asyncIterator]();
    assert.equal((await lines.next()).value, 'ready');
    await run.signal(10);
    assert.equal((await lines.next()).value, 'got-usr1');
    assert.equal((await run.wait()).exitCode, 7);
  });

  it('gives a tty command a terminal, and resizeTty() is seen by stty size', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'tty; stty size; read x; stty size']).tty(true));
    const lines = run.stdout()![Symbol.asyncIterator]();
    assert.match((await lines.next()).value as string, /^\/dev\/pts\/\d+$/);
    assert.equal((await lines.next()).value, '24 80');
    await run.resizeTty(40, 132);
    await run.stdin()!.write('go\n');
    const rest: string[] = [];
    for (let l = await lines.next(); !l.done; l = await lines.next()) rest.push(l.value);
    assert.ok(rest.includes('40 132'), `stty size after resize: ${JSON.stringify(rest)}`);
    assert.equal((await run.wait()).exitCode, 0);
  });

  it('without a tty, commands see no terminal', async () => {
    const r = await sh(box, 'tty');
    assert.equal(r.stdout.trim(), 'not a tty');
    assert.equal(r.exitCode, 1);
  });
});
