// Running commands in a real box: output, exit codes, signals, stdin, env, working dir and user.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxBox, sh } from '../helpers/boxes.js';

describe('running commands', () => {
  let box: LiteBox;
  before(async () => {
    box = await busyboxBox({ env: { BOX_LEVEL: 'from-box', SHARED: 'box' }, workingDir: '/tmp' });
  });

  it('echoes and reports exit code 0', async () => {
    const run = await box.run(new BoxCommand('echo').arg('Hello'));
    const lines: string[] = [];
    for await (const line of run.stdout()!) lines.push(line);
    const result = await run.wait();
    assert.deepEqual(lines, ['Hello']);
    assert.equal(result.exitCode, 0);
    assert.equal(result.success(), true);
  });

  it('reports non-zero exit codes', async () => {
    for (const code of [1, 3, 42, 255]) {
      const r = await sh(box, `exit ${code}`);
      assert.equal(r.exitCode, code);
    }
  });

  it('reports a command killed by a signal as a negative exit code', async () => {
    assert.equal((await sh(box, 'kill -TERM $$')).exitCode, -15);
    assert.equal((await sh(box, 'kill -KILL $$')).exitCode, -9);
  });

  it('round-trips stdin through cat, with an explicit close', async () => {
    const run = await box.run(new BoxCommand('cat'));
    const stdin = run.stdin()!;
    const out = run.stdout()!.text();
    await stdin.write('Hello from stdin!\n');
    await stdin.writeAll(Buffer.from('More data\n'));
    await stdin.close();
    assert.equal(await out, 'Hello from stdin!\nMore data\n');
    assert.equal((await run.wait()).exitCode, 0);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await sh(box, 'echo to-out; echo to-err >&2; echo more-out');
    assert.equal(r.stdout, 'to-out\nmore-out\n');
    assert.equal(r.stderr, 'to-err\n');
  });

  it('applies box env, command env (which wins) and the default PATH', async () => {
    const r = await sh(box, 'echo "$BOX_LEVEL $SHARED $CMD_LEVEL $PATH"', (c) => c.env('SHARED', 'cmd').env('CMD_LEVEL', 'x'));
    assert.equal(r.stdout.trim(), 'from-box cmd x /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });

  it('uses the box working dir by default and the command one when set', async () => {
    assert.equal((await sh(box, 'pwd')).stdout, '/tmp\n');
    assert.equal((await sh(box, 'pwd', (c) => c.workingDir('/etc'))).stdout, '/etc\n');
  });

  it('hostile review #11: too many or too large arguments are InvalidArgument naming the limit, and the box keeps working', async () => {
    const tooMany = new BoxCommand('true').args(Array.from({ length: 70_000 }, () => 'x'));
    await assert.rejects(box.run(tooMany), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'InvalidArgument' && /argv has 70001 entries, at most 65535/.test(e.message) && /1048576-byte \(1 MiB\) portal frame/.test(e.message));
    const tooLarge = new BoxCommand('echo').arg('y'.repeat(2 * 1024 * 1024));
    await assert.rejects(box.run(tooLarge), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'InvalidArgument' && /portal frame of \d+ bytes exceeds 1048576/.test(e.message) && /stdin or in a file/.test(e.message));
    assert.equal((await sh(box, 'echo still-here')).stdout, 'still-here\n');
  });

  it('rejects a program that does not exist with a Run error naming it', async () => {
    await assert.rejects(box.run(new BoxCommand('no-such-program')), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'Run' && /no-such-program/.test(e.message));
  });

  it('rejects a working dir that does not exist with a Run error naming it', async () => {
    await assert.rejects(box.run(new BoxCommand('pwd').workingDir('/no/such/dir')), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'Run' && /\/no\/such\/dir/.test(e.message));
  });

  it('runs commands as root in their own PID namespace: the agent is invisible and kill -9 1 harms nothing', async () => {
    const r = await sh(box, 'id -u; kill -9 1; echo still-here; ls /proc | grep -c "^[0-9]"');
    const [uid, still] = r.stdout.split('\n');
    assert.equal(uid, '0');
    assert.equal(still, 'still-here');
    assert.equal((await sh(box, 'echo alive')).stdout, 'alive\n');
  });
});

describe('running commands as a user', () => {
  let box: LiteBox;
  before(async () => {
    box = await busyboxBox({ workingDir: '/root' });
  });

  it('runs as a user from the box\'s /etc/passwd, with its primary group', async () => {
    const r = await sh(box, 'id -u; id -g', (c) => c.user('nobody'));
    assert.equal(r.stdout, '65534\n65534\n');
    assert.equal(r.exitCode, 0);
  });

  it('runs as numeric uid:gid that are not in /etc/passwd', async () => {
    const r = await sh(box, 'id -u; id -g; id -G', (c) => c.user('1234:5678'));
    assert.equal(r.stdout, '1234\n5678\n5678\n');
  });

  it('gives a uid not in /etc/passwd its own number as gid', async () => {
    assert.equal((await sh(box, 'id -u; id -g', (c) => c.user('4321'))).stdout, '4321\n4321\n');
  });

  it('drops root: nobody cannot write to /root (entered as root, as Docker does)', async () => {
    const r = await sh(box, 'pwd; echo x > /root/owned', (c) => c.user('nobody'));
    assert.equal(r.stdout, '/root\n');
    assert.notEqual(r.exitCode, 0);
    assert.match(r.stderr, /denied/i);
    assert.equal((await sh(box, 'test -e /root/owned')).exitCode, 1);
  });

  it('sets supplementary groups from /etc/group and resolves group names', async () => {
    assert.equal((await sh(box, 'echo "staff:x:50:daemon,nobody" >> /etc/group')).exitCode, 0);
    assert.equal((await sh(box, 'id -G', (c) => c.user('nobody'))).stdout.trim().split(' ').sort().join(' '), '50 65534');
    assert.equal((await sh(box, 'id -u; id -g', (c) => c.user('nobody:staff'))).stdout, '65534\n50\n');
    assert.equal((await sh(box, 'id -u; id -g', (c) => c.user('0:staff'))).stdout, '0\n50\n');
  });

  it('gives the user its tty', async () => {
    const run = await box.run(new BoxCommand('sh').args(['-c', 'stat -c %u "$(tty)"; stty size']).tty(true).user('nobody'));
    const out = await run.stdout()!.text();
    assert.equal((await run.wait()).exitCode, 0, out);
    assert.deepEqual(out.trim().split(/\r?\n/), ['65534', '24 80']);
  });

  it('rejects an unknown user or group with a Run error naming it', async () => {
    await assert.rejects(box.run(new BoxCommand('id').user('no-such-user')), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'Run' && /user "no-such-user" not found in the box's \/etc\/passwd/.test(e.message));
    await assert.rejects(box.run(new BoxCommand('id').user('nobody:no-such-group')), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'Run' && /group "no-such-group" not found/.test(e.message));
    await assert.rejects(box.run(new BoxCommand('id').user('99999999999')), (e: unknown) =>
      BoxliteError.is(e) && e.code === 'Run' && /user "99999999999" is not valid/.test(e.message));
  });

  it('applies the box-level user, which a command-level one overrides', async () => {
    const userBox = await busyboxBox({ user: 'nobody' });
    assert.equal((await sh(userBox, 'id -u; id -g')).stdout, '65534\n65534\n');
    assert.equal((await sh(userBox, 'id -u; id -g', (c) => c.user('root'))).stdout, '0\n0\n');
    assert.equal((await sh(userBox, 'id -u', (c) => c.user('1000:1000'))).stdout, '1000\n');
  });
});
