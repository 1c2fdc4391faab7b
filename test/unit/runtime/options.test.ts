import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { BoxCommand } from '../../../src/runtime/command.js';
import { BoxID, ContainerID } from '../../../src/runtime/ids.js';
import { resolveBoxOptions, resolveHomeDir, validateBoxName, type BoxOptions } from '../../../src/runtime/options.js';
import { BoxliteRuntime } from '../../../src/runtime/runtime.js';
import { BoxStatus } from '../../../src/runtime/status.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-opts-'));
const withRootfs = (o: BoxOptions): BoxOptions => ({ rootfs: { rootfsPath: dir }, ...o });
const isError = (code: string, re: RegExp) => (e: unknown): boolean => BoxliteError.is(e) && e.code === code && re.test(e.message);

describe('box options', () => {
  it('applies the spec defaults: 2 CPUs, 512 MiB, auto-remove, not detached', () => {
    const r = resolveBoxOptions(withRootfs({}));
    assert.equal(r.cpus, 2);
    assert.equal(r.memoryMib, 512);
    assert.equal(r.autoRemove, true);
    assert.equal(r.detach, false);
    assert.equal(r.workingDir, undefined, 'the image or / decides');
  });

  const bad: Array<[string, BoxOptions, string, RegExp]> = [
    ['fractional memory', { memoryMib: 12.5 }, 'InvalidArgument', /memoryMib must be an integer between 64 and 65536 \(MiB\), got 12.5/],
    ['zero cpus', { cpus: 0 }, 'InvalidArgument', /cpus must be an integer between 1 and/],
    ['a relative workingDir', { workingDir: 'tmp' }, 'InvalidArgument', /workingDir must be an absolute path/],
    ['an env name with =', { env: { 'A=B': '1' } }, 'InvalidArgument', /env names must be non-empty/],
    ['a missing rootfs path', { rootfs: { rootfsPath: '/no/such/dir' } }, 'InvalidArgument', /rootfs.rootfsPath "\/no\/such\/dir" is not a directory/],
    ['a volume whose host directory is missing', { volumes: [{ hostPath: '/no/such/dir', guestPath: '/b' }] }, 'InvalidArgument', /volumes\[0\]\.hostPath \/no\/such\/dir does not exist/],
    ['a published port out of range', { ports: [{ guestPort: 70000 }] }, 'InvalidArgument', /ports\[0\]\.guestPort must be an integer 1\.\.65535/],
    ['a user with whitespace', { user: 'a b' }, 'InvalidArgument', /user must be a non-empty name or id/],
    ['an unknown accelerator', { accelerator: 'xen' as never }, 'InvalidArgument', /accelerator must be/],
  ];
  for (const [what, o, code, re] of bad) {
    it(`rejects ${what} with ${code}`, () => assert.throws(() => resolveBoxOptions(withRootfs(o)), isError(code, re)));
  }

  it('accepts env as a record or as pairs', () => {
    assert.deepEqual(resolveBoxOptions(withRootfs({ env: { A: '1' } })).env, [['A', '1']]);
    assert.deepEqual(resolveBoxOptions(withRootfs({ env: [['B', '2']] })).env, [['B', '2']]);
  });

  it('validates box names', () => {
    assert.equal(validateBoxName('my-box.1'), 'my-box.1');
    assert.throws(() => validateBoxName('-bad'), isError('InvalidArgument', /box name must be/));
    assert.throws(() => validateBoxName('a'.repeat(64)), isError('InvalidArgument', /box name/));
  });

  it('finds the home dir from the option, then BOXLITE_HOME, then ~/.boxlite', () => {
    const saved = process.env.BOXLITE_HOME;
    try {
      process.env.BOXLITE_HOME = '/srv/bl';
      assert.equal(resolveHomeDir('/x/y'), '/x/y');
      assert.equal(resolveHomeDir(), '/srv/bl');
      delete process.env.BOXLITE_HOME;
      assert.equal(resolveHomeDir(), path.join(os.homedir(), '.boxlite'));
    } finally {
      if (saved === undefined) delete process.env.BOXLITE_HOME; else process.env.BOXLITE_HOME = saved;
    }
  });
});

describe('BoxCommand', () => {
  it('builds argv, env, timeout, working dir and tty', () => {
    const c = new BoxCommand('python3').args(['-c', 'print(1)']).arg('x').env('PYTHONPATH', '/app').timeout(30_000).workingDir('/workspace').tty(true);
    assert.deepEqual(c.argv, ['python3', '-c', 'print(1)', 'x']);
    assert.deepEqual([...c.envVars], [['PYTHONPATH', '/app']]);
    assert.equal(c.timeoutMs, 30_000);
    assert.equal(c.cwd, '/workspace');
    assert.equal(c.isTty, true);
    assert.equal(c.toString(), 'python3 -c "print(1)" x');
  });
  it('rejects bad input', () => {
    assert.throws(() => new BoxCommand(''), isError('InvalidArgument', /command must be a non-empty string/));
    assert.throws(() => new BoxCommand('a').timeout(1.5), isError('InvalidArgument', /timeout must be a whole number of milliseconds/));
    assert.throws(() => new BoxCommand('a').workingDir('rel'), isError('InvalidArgument', /workingDir must be an absolute path/));
    assert.throws(() => new BoxCommand('a').arg('x\0y'), isError('InvalidArgument', /without NUL/));
    assert.throws(() => new BoxCommand('a').user(''), isError('InvalidArgument', /user must be a non-empty name or id/));
    assert.throws(() => new BoxCommand('a').user('a\0'), isError('InvalidArgument', /user must be/));
    assert.equal(new BoxCommand('a').user('1000:1000').userName, '1000:1000');
    assert.equal(new BoxCommand('a').userName, undefined);
  });
});

describe('ids and status', () => {
  it('BoxID is a 26-character ULID with an 8-character short form, sortable by time', () => {
    const a = BoxID.generate(1_700_000_000_000);
    const b = BoxID.generate(1_700_000_000_001);
    assert.match(a.asStr(), /^[0-9A-HJKMNP-TV-Z]{26}$/);
    assert.equal(a.short(), a.asStr().slice(0, 8));
    assert.ok(a.asStr() < b.asStr());
    assert.equal(BoxID.parse(a.asStr().toLowerCase())?.asStr(), a.asStr());
    for (const bad of ['too-short', 'U'.repeat(26), '8' + '0'.repeat(25), '']) assert.equal(BoxID.parse(bad), undefined);
  });
  it('ContainerID is 64 lowercase hex characters', () => {
    const c = ContainerID.generate();
    assert.ok(ContainerID.isValid(c.asStr()));
    assert.equal(c.short().length, 12);
    assert.equal(ContainerID.isValid('a'.repeat(64)), true);
    assert.equal(ContainerID.isValid('A'.repeat(64)), false);
  });
  it('BoxStatus predicates follow the spec table', () => {
    const table: Array<[BoxStatus, boolean[]]> = [
      // isActive isRunning isConfigured isStopped isTransient canStart canStop canRemove canRun isPaused canPause canResume canFork
      [BoxStatus.Unknown, [false, false, false, false, false, false, false, true, false, false, false, false, false]],
      [BoxStatus.Configured, [false, false, true, false, false, true, false, true, true, false, false, false, false]],
      [BoxStatus.Running, [true, true, false, false, false, false, true, false, true, false, true, false, true]],
      [BoxStatus.Stopping, [true, false, false, false, true, false, false, false, false, false, false, false, false]],
      [BoxStatus.Stopped, [false, false, false, true, false, true, false, true, true, false, false, false, false]],
      [BoxStatus.Paused, [false, false, false, false, false, true, true, true, true, true, false, true, true]],
    ];
    for (const [s, want] of table) {
      const got = [s.isActive(), s.isRunning(), s.isConfigured(), s.isStopped(), s.isTransient(), s.canStart(), s.canStop(), s.canRemove(), s.canRun(),
        s.isPaused(), s.canPause(), s.canResume(), s.canFork()];
      assert.deepEqual(got, want, s.name);
    }
    assert.equal(BoxStatus.fromName('paused'), BoxStatus.Paused);
    assert.equal(JSON.stringify({ s: BoxStatus.Running }), '{"s":"running"}');
  });
});

describe('numbers that are not numbers', () => {
  it('hostile review #11: cpus NaN says "got NaN", not "got null"', () => {
    assert.throws(() => resolveBoxOptions(withRootfs({ cpus: Number('abc') })), isError('InvalidArgument', /cpus must be an integer between 1 and \d+, got NaN/));
  });
});

describe('create() of a box that could never start', () => {
  it('hostile review #13: malformed image references are InvalidArgument at create(), and no row is made', async () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-create-'));
    const runtime = new BoxliteRuntime({ homeDir: home });
    try {
      const before = await runtime.listInfo();
      for (const image of ['UPPER/case', 'a:b:c']) {
        await assert.rejects(runtime.create({ rootfs: { image } }, `bad-${before.length}`),
          isError('InvalidArgument', new RegExp(`invalid image reference ${JSON.stringify(image)}`)));
      }
      assert.deepEqual(await runtime.listInfo(), before);
    } finally {
      await runtime.close();
      fs.rmSync(home, { recursive: true, force: true });
    }
  });
});
