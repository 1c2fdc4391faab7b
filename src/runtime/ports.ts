// Published ports: PortSpec validated at create, and host port 0 turned into a free port at each start.
import dgram from 'node:dgram';
import net from 'node:net';
import { boxliteError } from '../errors.js';
import type { PortForward } from '../vmm/network/passt.js';
import type { PortSpec } from './options.js';

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

/** Checks `specs` and applies the spec's defaults (tcp, host IP 0.0.0.0, host port 0 = pick one at start). */
export function resolvePorts(specs: readonly PortSpec[] | undefined): PortForward[] {
  if (specs === undefined) return [];
  if (!Array.isArray(specs)) invalid(`ports must be an array of { guestPort, hostPort?, protocol?, hostIp? }, got ${JSON.stringify(specs)}`);
  const out = specs.map((p, i): PortForward => {
    const where = `ports[${i}]`;
    if (typeof p !== 'object' || p === null) invalid(`${where} must be an object, got ${JSON.stringify(p)}`);
    const port = (name: string, v: unknown, min: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 65535) invalid(`${where}.${name} must be an integer ${min}..65535, got ${JSON.stringify(v)}`);
      return v as number;
    };
    const protocol = p.protocol ?? 'tcp';
    if (protocol !== 'tcp' && protocol !== 'udp') invalid(`${where}.protocol must be "tcp" or "udp", got ${JSON.stringify(protocol)}`);
    const hostIp = p.hostIp ?? '0.0.0.0';
    if (typeof hostIp !== 'string' || !net.isIPv4(hostIp)) invalid(`${where}.hostIp must be an IPv4 address such as "127.0.0.1", got ${JSON.stringify(hostIp)}`);
    return { protocol, hostIp, hostPort: port('hostPort', p.hostPort ?? 0, 0), guestPort: port('guestPort', p.guestPort, 1) };
  });
  const seen = new Set<string>();
  for (const p of out) {
    if (p.hostPort === 0) continue;
    const key = `${p.protocol}:${p.hostPort}`;
    if (seen.has(key)) invalid(`host port ${p.hostPort}/${p.protocol} is published twice; give each mapping its own host port`);
    seen.add(key);
  }
  return out;
}

/** `ports` with every host port 0 replaced by a port that is free on its host IP right now. */
export async function assignHostPorts(ports: readonly PortForward[]): Promise<PortForward[]> {
  return Promise.all(ports.map(async (p) => (p.hostPort !== 0 ? p : { ...p, hostPort: await freePort(p.protocol, p.hostIp) })));
}

/** A port the kernel picks for `ip` (bound, read, released; passt binds it a moment later). */
function freePort(protocol: 'tcp' | 'udp', ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => reject(boxliteError('Network', `no free ${protocol} port on ${ip} for a published port: ${e.message}; check hostIp`, e));
    if (protocol === 'udp') {
      const s = dgram.createSocket('udp4');
      s.once('error', fail);
      s.bind(0, ip, () => { const { port } = s.address(); s.close(() => resolve(port)); });
      return;
    }
    const server = net.createServer();
    server.once('error', fail);
    server.listen(0, ip, () => { const { port } = server.address() as net.AddressInfo; server.close(() => resolve(port)); });
  });
}

/**
 * A `docker run -p`-style flag as a PortSpec: `GUEST`, `HOST:GUEST` or `IP:HOST:GUEST`, each with an optional
 * `/tcp` or `/udp`; an empty or 0 host port is picked at start.
 */
export function parsePublishFlag(flag: string): PortSpec {
  const m = /^(?:(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d*):)?(\d+)(?:\/(tcp|udp))?$/.exec(flag);
  if (!m) invalid(`--publish ${JSON.stringify(flag)} must look like GUEST, HOST:GUEST or IP:HOST:GUEST, with an optional /tcp or /udp (e.g. 127.0.0.1:8080:80)`);
  const [, hostIp, hostPort, guestPort, protocol] = m!;
  return {
    guestPort: Number(guestPort), ...(hostPort ? { hostPort: Number(hostPort) } : {}),
    ...(hostIp ? { hostIp } : {}), ...(protocol ? { protocol: protocol as 'tcp' | 'udp' } : {}),
  };
}
