// Published-port options: defaults and the errors for bad ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePublishFlag, resolvePorts } from '../../../src/runtime/ports.js';

test('defaults: tcp on 0.0.0.0, host port picked at start', () => {
  assert.deepEqual(resolvePorts([{ guestPort: 80 }, { guestPort: 53, hostPort: 5353, protocol: 'udp', hostIp: '127.0.0.1' }]), [
    { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 0, guestPort: 80 },
    { protocol: 'udp', hostIp: '127.0.0.1', hostPort: 5353, guestPort: 53 },
  ]);
  assert.deepEqual(resolvePorts(undefined), []);
});

test('bad ports are InvalidArgument naming the field', () => {
  const cases: Array<[unknown, RegExp]> = [
    [[{ guestPort: 0 }], /ports\[0\]\.guestPort must be an integer 1\.\.65535, got 0/],
    [[{ guestPort: 80, hostPort: 70000 }], /ports\[0\]\.hostPort must be an integer 0\.\.65535/],
    [[{ guestPort: 80, protocol: 'sctp' }], /ports\[0\]\.protocol must be "tcp" or "udp"/],
    [[{ guestPort: 80, hostIp: 'localhost' }], /ports\[0\]\.hostIp must be an IPv4 address/],
    [[{ guestPort: 80, hostPort: 8080 }, { guestPort: 81, hostPort: 8080 }], /host port 8080\/tcp is published twice/],
    ['80:80', /ports must be an array/],
  ];
  for (const [ports, message] of cases) {
    assert.throws(() => resolvePorts(ports as never), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && message.test(e.message), String(message));
  }
});

test('--publish flags as docker run -p writes them', () => {
  assert.deepEqual(parsePublishFlag('80'), { guestPort: 80 });
  assert.deepEqual(parsePublishFlag('8080:80'), { guestPort: 80, hostPort: 8080 });
  assert.deepEqual(parsePublishFlag(':80'), { guestPort: 80 });
  assert.deepEqual(parsePublishFlag('127.0.0.1:8080:80/udp'), { guestPort: 80, hostPort: 8080, hostIp: '127.0.0.1', protocol: 'udp' });
  assert.deepEqual(parsePublishFlag('127.0.0.1::80'), { guestPort: 80, hostIp: '127.0.0.1' });
  assert.throws(() => parsePublishFlag('localhost:80:80'), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && /must look like GUEST, HOST:GUEST or IP:HOST:GUEST/.test(e.message));
});
