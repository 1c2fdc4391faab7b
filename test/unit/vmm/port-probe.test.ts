// Why a host port is refused: the kernel's answer to a real bind, and the wording for each refusal.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { bindRefusal, describeRefusal } from '../../../src/vmm/network/port-probe.js';

describe('port refusals', () => {
  it('hostile review #11: a port held by a real server is EADDRINUSE; a free one binds', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      assert.equal(await bindRefusal({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }), 'EADDRINUSE');
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    assert.equal(await bindRefusal({ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: port }), undefined);
  });

  it('hostile review #11: each refusal says why and what to change', () => {
    const p = (hostPort: number): { protocol: 'tcp'; hostIp: string; hostPort: number } => ({ protocol: 'tcp', hostIp: '0.0.0.0', hostPort });
    const cases: Array<[number, string, RegExp]> = [
      [8080, 'EADDRINUSE', /host port 0\.0\.0\.0:8080\/tcp is already in use by another process; publish another host port, or 0/],
      [80, 'EACCES', /host port 0\.0\.0\.0:80\/tcp is a privileged port \(below 1024, net\.ipv4\.ip_unprivileged_port_start\).*publish a port of 1024 or above, or run as root/],
      [2000, 'EACCES', /may not be bound by this process \(permission denied\)/],
      [8080, 'EADDRNOTAVAIL', /0\.0\.0\.0 is not an address of this host/],
      [8080, 'EINVAL', /cannot be bound \(EINVAL\)/],
    ];
    for (const [port, code, re] of cases) assert.match(describeRefusal(p(port), code, 1024), re);
  });
});
