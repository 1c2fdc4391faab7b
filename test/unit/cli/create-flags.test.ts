// `boxlite create` flags as BoxOptions, and a command handed to the keeper of `run -d` as plain data and back.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { createOptions, type CreateFlags } from '../../../src/cli/create.js';
import { commandFromData, commandToData } from '../../../src/cli/keep-command.js';
import { statsTable } from '../../../src/cli/stats.js';
import { BoxCommand } from '../../../src/runtime/command.js';
import type { BoxMetrics } from '../../../src/runtime/metrics.js';

const none: CreateFlags = { env: [], envFile: [], label: [], publish: [], volume: [], allow: [], deny: [] };
const isInvalid = (re: RegExp) => (e: Error & { code?: string }) => e.code === 'InvalidArgument' && re.test(e.message);

describe('boxlite create flags', () => {
  it('take the image as the argument or --image, or a --rootfs; the box is detached and kept unless --rm', () => {
    assert.deepEqual(createOptions('alpine:3.20', none).rootfs, { image: 'alpine:3.20' });
    assert.deepEqual(createOptions(undefined, { ...none, image: 'alpine' }).rootfs, { image: 'alpine' });
    assert.deepEqual(createOptions(undefined, { ...none, rootfs: 'dir' }).rootfs, { rootfsPath: 'dir' });
    const o = createOptions('alpine', none);
    assert.equal(o.detach, true);
    assert.equal(o.autoRemove, false);
    assert.equal(createOptions('alpine', { ...none, rm: true }).autoRemove, true);
  });

  it('refuse no image or two of them, naming the flags', () => {
    assert.throws(() => createOptions(undefined, none), isInvalid(/give exactly one image or root filesystem/));
    assert.throws(() => createOptions('alpine', { ...none, rootfs: 'dir' }), isInvalid(/give exactly one image or root filesystem/));
  });

  it('read env, labels, ports, volumes, network, security and the shape with the parsers `run` uses', () => {
    const o = createOptions('alpine', {
      ...none, env: ['A=1', 'B=x=y'], label: ['team=a'], publish: ['127.0.0.1:8080:80'], volume: ['/srv:/data:ro'], net: 'none',
      security: 'maximum', cpus: '1', memory: '256', workdir: '/app',
    });
    assert.deepEqual(o.env, [['A', '1'], ['B', 'x=y']]);
    assert.deepEqual(o.labels, { team: 'a' });
    assert.deepEqual(o.ports, [{ hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80 }]);
    assert.deepEqual(o.volumes, [{ hostPath: path.resolve('/srv'), guestPath: '/data', readOnly: true }]);
    assert.deepEqual(o.network, { egress: 'none' });
    assert.equal(o.security?.preset, 'maximum');
    assert.deepEqual([o.cpus, o.memoryMib, o.workingDir], [1, 256, '/app']);
    assert.equal(createOptions('alpine', { ...none, memory: '1g' }).memoryMib, 1024, 'Docker sizes, as `run` takes them');
    assert.throws(() => createOptions('alpine', { ...none, memory: 'lots' }), isInvalid(/--memory/));
    assert.throws(() => createOptions('alpine', { ...none, security: 'max' }), isInvalid(/--security must be one of/));
  });
});

describe('the command handed to a keeper', () => {
  it('survives the trip as plain data (it crosses IPC as JSON)', () => {
    const cmd = new BoxCommand('sh').args(['-c', 'echo $A']).env('A', '1').workingDir('/tmp').timeout(5000).user('nobody').tty(true);
    const back = commandFromData(JSON.parse(JSON.stringify(commandToData(cmd))) as ReturnType<typeof commandToData>);
    assert.deepEqual([back.argv, [...back.envVars], back.cwd, back.timeoutMs, back.userName, back.isTty], [['sh', '-c', 'echo $A'], [['A', '1']], '/tmp', 5000, 'nobody', true]);
    assert.deepEqual(commandToData(new BoxCommand('true')), { argv: ['true'], env: [], tty: false });
  });
});

describe('boxlite stats table', () => {
  it('shows what is known and a dash for what is not (a box not running)', () => {
    const m = { commandsRunTotal: 3, runErrorsTotal: 1, cpuPercent: 12.34, memoryBytes: 256_000_000, networkBytesReceived: 1500, networkBytesSent: 20, networkTcpConnections: 2, networkRefused: 0 } as BoxMetrics;
    const rows = statsTable([{ id: '01M8VFVVQ0TJG1HMGJK5CM8WGQ', name: 'web', status: 'running', metrics: m }, { id: '01M8VFWC8PTJEEFCMEFYB2J0V7', name: undefined, status: 'stopped', metrics: { commandsRunTotal: 0, runErrorsTotal: 0 } as BoxMetrics }]);
    assert.deepEqual(rows[1], ['01M8VFVV', 'web', 'running', '12.3%', '256.0 MB', '1.50 kB / 20 B', '2', '0', '3', '1']);
    assert.deepEqual(rows[2], ['01M8VFWC', '', 'stopped', '-', '-', '-', '-', '-', '0', '0']);
  });
});
