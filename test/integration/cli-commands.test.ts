// The docker-habit commands of the built CLI on real boxes: create, restart, ps, --json listings, inspect, stats, logs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { processesNaming } from '../../src/state/process-identity.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME } from '../helpers/boxes.js';
import { boxlite, ok } from '../helpers/cli.js';

const SMALL = ['--cpus', '1', '--memory', '256'];

const made: string[] = [];
after(async () => {
  for (const id of made) await boxlite('rm', '-f', id);
});

async function created(...args: string[]): Promise<string> {
  const id = (await ok(...args)).trim();
  assert.match(id, /^[0-9A-Z]{26}$/);
  made.push(id);
  return id;
}

const keepers = (id: string): number[] => processesNaming([`__keep\0${id}`]).map((p) => p.pid);

describe('boxlite create, start, exec, restart', () => {
  it('creates a box that runs nothing until started, then execs in it; restart keeps the box and its files', async () => {
    const id = await created('create', '--rootfs', busyboxRootfs(), ...SMALL, '--name', 'cmds-c1', '-e', 'GREETING=hello');
    const [listed] = (JSON.parse(await ok('ls', '-a', '--json')) as Array<{ id: string; status: string }>).filter((b) => b.id === id);
    assert.equal(listed?.status, 'configured');
    assert.equal((await ok('start', 'cmds-c1')).trim(), id);
    assert.equal(await ok('exec', 'cmds-c1', '--', 'sh', '-c', 'echo $GREETING > /root/kept; cat /root/kept'), 'hello\n');
    assert.equal((await ok('restart', id)).trim(), id);
    const info = JSON.parse(await ok('inspect', id)) as { status: string; pid: number };
    assert.equal(info.status, 'running');
    assert.equal(await ok('exec', id, '--', 'cat', '/root/kept'), 'hello\n', 'the file written before the restart is there');
  });

  it('refuses to restart a box that is removed when it stops, saying why', async () => {
    const id = await created('create', '--rm', '--rootfs', busyboxRootfs(), ...SMALL);
    const r = await boxlite('restart', id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /InvalidState: cannot restart box .*: it is removed when it stops/);
  });
});

describe('boxlite listings', () => {
  it('ps is ls, and every listing prints JSON with --json', async () => {
    const id = await created('create', '--rootfs', busyboxRootfs(), ...SMALL);
    const ids = (json: string): string[] => (JSON.parse(json) as Array<{ id: string }>).map((b) => b.id);
    assert.deepEqual(ids(await ok('ps', '-a', '--json')), ids(await ok('ls', '-a', '--json')));
    assert.ok(ids(await ok('ps', '-a', '--json')).includes(id));
    assert.match(await ok('ps', '-a'), new RegExp(`^ID +NAME +STATUS[^]*${id.slice(0, 8)} `, 'm'));
    for (const listing of [['ls', '--json'], ['ps', '--json'], ['images', 'ls', '--json'], ['stats', '--json']]) {
      assert.ok(Array.isArray(JSON.parse(await ok(...listing))), `${listing.join(' ')} prints a JSON array`);
    }
  });
});

describe('boxlite inspect and stats', () => {
  it('inspect shows the volumes, env and ports of a box created with -v, -e and -p; stats lists it while it runs', async () => {
    const shared = fs.mkdtempSync(path.join(os.tmpdir(), 'cmds-vol-'));
    try {
      const id = await created('create', '--rootfs', busyboxRootfs(), ...SMALL, '-v', `${shared}:/data:ro`, '-e', 'MODE=test', '-p', '127.0.0.1:0:8080', '-l', 'team=cli', '-w', '/tmp');
      type Inspected = { ports: Array<{ hostIp: string; hostPort: number; guestPort: number }>; labels: Record<string, string>; security: { preset: string }; config: { env: Record<string, string>; volumes: unknown[]; ports: unknown[]; workingDir: string; diskSizeGb: number; cpus: number; rootfs: unknown } };
      const before = JSON.parse(await ok('inspect', id)) as Inspected;
      assert.deepEqual(before.config.env, { MODE: 'test' });
      assert.deepEqual(before.config.volumes, [{ hostPath: fs.realpathSync(shared), guestPath: '/data', readOnly: true }]);
      assert.deepEqual(before.config.ports, [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 8080 }]);
      assert.deepEqual([before.config.workingDir, before.config.diskSizeGb, before.config.cpus, before.config.rootfs], ['/tmp', 10, 1, { rootfsPath: busyboxRootfs() }]);
      assert.deepEqual([before.labels, before.security.preset], [{ team: 'cli' }, 'standard']);

      await ok('start', id);
      const running = JSON.parse(await ok('inspect', id)) as Inspected;
      assert.ok(running.ports[0]!.hostPort > 0, 'a running box shows the host port it bound');
      assert.equal(await ok('exec', id, '--', 'sh', '-c', 'echo $MODE; pwd'), 'test\n/tmp\n');

      const table = await ok('stats');
      assert.match(table, new RegExp(`^${id.slice(0, 8)} +running +[\\d.]+% +[\\d.]+ MB `, 'm'));
      const [row] = JSON.parse(await ok('stats', '--json', id)) as Array<{ id: string; metrics: { commandsRunTotal: number; memoryBytes: number; networkBytesSent: number } }>;
      assert.equal(row?.id, id);
      assert.ok(row.metrics.commandsRunTotal >= 1 && row.metrics.memoryBytes > 0 && typeof row.metrics.networkBytesSent === 'number', JSON.stringify(row.metrics));
    } finally {
      fs.rmSync(shared, { recursive: true, force: true });
    }
  });
});

describe('boxlite logs', () => {
  it('keeps the output of `run -d`: both streams, `logs -f` ends with the command, and `rm -f` leaves no keeper and no files', async () => {
    const id = await created('run', '-d', '--rootfs', busyboxRootfs(), ...SMALL, '--', 'sh', '-c', 'echo hi; echo err >&2; sleep 1; echo bye');
    const followed = await boxlite('logs', '-f', id);
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, 'hi\nbye\n');
    assert.equal(followed.stderr, 'err\n');
    assert.ok(followed.ms < 30_000, `logs -f ended ${followed.ms} ms after it began`);
    const again = await boxlite('logs', id);
    assert.deepEqual([again.stdout, again.stderr], ['hi\nbye\n', 'err\n'], 'logs reads the same after the command ended');
    assert.deepEqual(keepers(id), [], 'the keeper exited with the command');
    await ok('rm', '-f', id);
    assert.equal(fs.existsSync(path.join(TEST_HOME, 'boxes', id)), false, 'the box directory, logs included, is gone');
  });

  it('ends the keeper of a command still running when the box is stopped, or removed, and `logs -f` with it', async () => {
    const id = await created('run', '-d', '--rootfs', busyboxRootfs(), ...SMALL, '--', 'sh', '-c', 'echo started; exec sleep 600');
    assert.equal(keepers(id).length, 1, 'a keeper runs while the command does');
    const following = boxlite('logs', '-f', id);
    await ok('stop', id);
    assert.deepEqual(keepers(id), [], 'stop returns once the keeper is gone');
    const followed = await following;
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(followed.stdout, 'started\n');

    const other = await created('run', '-d', '--rootfs', busyboxRootfs(), ...SMALL, '--', 'sleep', '600');
    assert.equal(keepers(other).length, 1);
    await ok('rm', '-f', other);
    assert.deepEqual(keepers(other), [], 'rm -f returns once the keeper is gone');
    assert.equal(fs.existsSync(path.join(TEST_HOME, 'boxes', other)), false);
  });

  it('says a box has no kept output when no `run -d` command ran in it', async () => {
    const id = await created('create', '--rootfs', busyboxRootfs(), ...SMALL);
    const r = await boxlite('logs', id);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /NotFound: box .* has no kept output: only the command of `boxlite run -d` keeps it/);
  });
});
