// The passt command line: fixed guest addresses, no way to the host loopback, one-off, published ports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { passtArgv } from '../../../src/vmm/network/passt.js';

const value = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));

test('passt serves one VM on its socket, keeps the gateway away from the host loopback, and publishes the ports', () => {
  const argv = passtArgv({
    socketPath: '/t/net.sock', detached: false,
    ports: [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 8080, guestPort: 80 }, { protocol: 'udp', hostIp: '0.0.0.0', hostPort: 5353, guestPort: 53 }],
  });
  assert.ok(argv.includes('--one-off') && argv.includes('--foreground') && argv.includes('--no-map-gw'));
  assert.deepEqual(value(argv, '--socket'), ['/t/net.sock']);
  assert.deepEqual([value(argv, '--address'), value(argv, '--netmask'), value(argv, '--gateway')], [['10.0.2.15'], ['24'], ['10.0.2.2']]);
  assert.deepEqual(value(argv, '--dns-forward'), ['10.0.2.3']);
  assert.deepEqual(value(argv, '--tcp-ports'), ['127.0.0.1/8080:80']);
  assert.deepEqual(value(argv, '--udp-ports'), ['0.0.0.0/5353:53']);
  assert.deepEqual(value(argv, '--log-file'), ['/t/network.log'], 'the log is beside the socket, where passt\'s uid may write');
  assert.deepEqual(value(argv, '--runas'), [], 'the uid is set before passt starts (a uid change inside passt would clear its death signal)');
});

test('no published ports: none forwarded in either protocol', () => {
  const argv = passtArgv({ socketPath: '/t/net.sock', detached: true, ports: [] });
  assert.deepEqual([value(argv, '--tcp-ports'), value(argv, '--udp-ports')], [['none'], ['none']]);
});
