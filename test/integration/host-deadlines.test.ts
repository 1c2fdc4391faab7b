// A real box whose guest stops answering, or breaks the protocol: host calls reject in bounded time with the cause.
import assert from 'node:assert/strict';
import type net from 'node:net';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { DEFAULT_DEADLINES } from '../../src/portal/deadlines.js';
import { busyboxBox, sh } from '../helpers/boxes.js';

describe('host-side deadlines on a real VM', () => {
  it('hostile review #5: a command with .timeout(2000) whose guest never answers rejects wait() after the timeout plus grace', async () => {
    const box = await busyboxBox();
    await box.start();
    const pid = box.info().pid!;
    const run = await box.run(new BoxCommand('sleep').arg('600').timeout(2000));
    // The whole VM stops (as QEMU does when the host disk fills): its agent cannot enforce the timeout or answer.
    process.kill(pid, 'SIGSTOP');
    const began = Date.now();
    try {
      await assert.rejects(run.wait(), (e: unknown) => {
        assert.ok(BoxliteError.is(e) && e.code === 'Portal', String(e));
        assert.match(e.message, /`sleep` did not exit within its timeout of 2 s plus 10 s \(the exit deadline\)/);
        assert.match(e.message, /asked it to kill the command/);
        return true;
      });
      assert.ok(Date.now() - began < 60_000, 'rejected within a bound, not after a hang');
      assert.ok(Date.now() - began >= 2000 + DEFAULT_DEADLINES.exitGraceMs - 1000, 'not before the timeout plus grace');
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    // The guest woke up: the box still works, the late EXIT of the abandoned command is dropped.
    assert.equal((await sh(box, 'echo awake')).stdout, 'awake\n');
    await box.stop();
  });

  it('hostile review #5: a killed command whose guest never answers rejects wait() within the grace period, and kill() within the request deadline', async () => {
    const box = await busyboxBox();
    await box.start();
    const pid = box.info().pid!;
    const run = await box.run(new BoxCommand('sleep').arg('600')); // no timeout: only the kill bounds it
    process.kill(pid, 'SIGSTOP');
    try {
      const killed = run.kill().then(() => undefined, (e: unknown) => e);
      await assert.rejects(run.wait(), (e: unknown) => BoxliteError.is(e) && e.code === 'Portal'
        && /did not exit within 10 s of SIGKILL \(the exit deadline\)/.test(e.message));
      const killError = await killed;
      assert.ok(BoxliteError.is(killError) && /did not answer SIGNAL within 30 s \(the request deadline\)/.test(killError.message), String(killError));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal((await sh(box, 'echo awake')).stdout, 'awake\n');
    await box.stop();
  });

  it('hostile review #11: after garbage frames, wait() says which frame broke the protocol, not only "VM exited (SIGKILL)"', async () => {
    const box = await busyboxBox();
    const run = await box.run(new BoxCommand('sleep').arg('600'));
    // Bytes arriving on the box's real portal socket as if the guest had sent them: a frame of unknown type 0x42.
    const socket = (box.session!.portal as unknown as { socket: net.Socket }).socket;
    socket.emit('data', Buffer.from([0, 0, 0, 1, 0x42]));
    await assert.rejects(run.wait(), (e: unknown) => {
      assert.ok(BoxliteError.is(e) && e.code === 'Portal', String(e));
      assert.match(e.message, /the guest sent a malformed frame: unknown frame type 0x42/);
      assert.match(e.message, /the box was stopped/);
      assert.doesNotMatch(e.message, /SIGKILL/);
      return true;
    });
    assert.match(box.info().lastError ?? '', /unknown frame type 0x42/);
  });
});
