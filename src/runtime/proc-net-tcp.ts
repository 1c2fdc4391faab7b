// Parses the guest's /proc/net/tcp and /proc/net/tcp6: which addresses listen on a TCP port.

/** A listening TCP socket: its local address (dotted IPv4, or IPv6 hex groups) and port. */
export interface TcpListener {
  address: string;
  port: number;
  /** True for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback): unreachable through a published port. */
  loopback: boolean;
}

const LISTEN = '0A';

/** @internal The listening sockets in the text of /proc/net/tcp and/or /proc/net/tcp6 (header lines are skipped). */
export function parseTcpListeners(text: string): TcpListener[] {
  const out: TcpListener[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[1] ?? '');
    if (!m || f[3]?.toUpperCase() !== LISTEN) continue;
    const hex = m[1]!;
    const address = hex.length === 8 ? ipv4(hex) : ipv6(hex);
    out.push({ address, port: parseInt(m[2]!, 16), loopback: isLoopback(address) });
  }
  return out;
}

// The kernel prints each 32-bit word of the address in host byte order (little-endian on x86).
function words(hex: string): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < hex.length; i += 8) out.push(Buffer.from(hex.slice(i, i + 8), 'hex').reverse());
  return out;
}

function ipv4(hex: string): string {
  return [...words(hex)[0]!].join('.');
}

function ipv6(hex: string): string {
  const b = Buffer.concat(words(hex));
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return `::ffff:${[...b.subarray(12)].join('.')}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

function isLoopback(address: string): boolean {
  return address.startsWith('127.') || address.startsWith('::ffff:127.') || address === '0:0:0:0:0:0:0:1';
}
