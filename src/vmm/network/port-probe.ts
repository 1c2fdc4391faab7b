// Why a host port cannot be published: binds it once the way passt would and names the kernel's refusal.
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';

/** A published port as far as binding it on the host goes. */
export interface HostPort {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
}

/** Binds `port` and releases it; resolves with the errno code of a refusal (EADDRINUSE, EACCES, …) or undefined. */
export function bindRefusal(port: HostPort): Promise<string | undefined> {
  return new Promise((resolve) => {
    const fail = (err: NodeJS.ErrnoException): void => resolve(err.code ?? err.message);
    if (port.protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', (e) => { s.close(); fail(e); });
      s.bind(port.hostPort, port.hostIp, () => s.close(() => resolve(undefined)));
      return;
    }
    const server = net.createServer();
    server.once('error', fail);
    server.listen(port.hostPort, port.hostIp, () => server.close(() => resolve(undefined)));
  });
}

/** The first port of the host's unprivileged range (net.ipv4.ip_unprivileged_port_start; 1024 when unreadable). */
export function unprivilegedPortStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8').trim()) || 1024;
  } catch {
    return 1024;
  }
}

/** Says, for a user, why the kernel refused `port` with `code` (pure). */
export function describeRefusal(port: HostPort, code: string, unprivilegedStart: number): string {
  const where = `host port ${port.hostIp}:${port.hostPort}/${port.protocol}`;
  switch (code) {
    case 'EADDRINUSE': return `${where} is already in use by another process; publish another host port, or 0 for any free one`;
    case 'EACCES': return port.hostPort < unprivilegedStart
      ? `${where} is a privileged port (below ${unprivilegedStart}, net.ipv4.ip_unprivileged_port_start) and this process may not bind it as `
        + `uid ${process.getuid?.() ?? '?'}; publish a port of ${unprivilegedStart} or above, or run as root (or with CAP_NET_BIND_SERVICE)`
      : `${where} may not be bound by this process (permission denied); publish another host port`;
    case 'EADDRNOTAVAIL': return `${where}: ${port.hostIp} is not an address of this host; publish on 127.0.0.1, 0.0.0.0 or one of the host's addresses`;
    default: return `${where} cannot be bound (${code})`;
  }
}

/** Why each of `ports` that the host refuses cannot be bound; empty when all bind now. */
export async function explainPortRefusals(ports: readonly HostPort[]): Promise<string[]> {
  const start = unprivilegedPortStart();
  const out: string[] = [];
  for (const p of ports) {
    const code = await bindRefusal(p);
    if (code) out.push(describeRefusal(p, code, start));
  }
  return out;
}
