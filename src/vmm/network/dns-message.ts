// DNS messages as the box's DNS forwarder needs them (pure, bounded): a query's name, a response's addresses, NXDOMAIN.

/** The question of a query. */
export interface DnsQuestion {
  id: number;
  name: string;
  type: number;
  /** Where the question ends (header + question). */
  end: number;
}

/** An address record of a response. */
export interface DnsAddress {
  address: string;
  family: 4 | 6;
  ttl: number;
}

const MAX_LABELS = 127;

/** The name at `offset` (following compression pointers, bounded) and where it ends in place; undefined if malformed. */
function readName(msg: Buffer, offset: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let pos = offset;
  let end: number | undefined;
  for (let hops = 0; hops < MAX_LABELS; hops++) {
    if (pos >= msg.length) return undefined;
    const len = msg[pos]!;
    if (len === 0) return { name: labels.join('.').toLowerCase(), end: end ?? pos + 1 };
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= msg.length) return undefined;
      end ??= pos + 2;
      pos = ((len & 0x3f) << 8) | msg[pos + 1]!;
      continue;
    }
    if (len > 63 || pos + 1 + len > msg.length) return undefined;
    labels.push(msg.toString('latin1', pos + 1, pos + 1 + len));
    pos += 1 + len;
  }
  return undefined;
}

/** The first question of a DNS message, or undefined when it has none or is malformed. */
export function parseQuestion(msg: Buffer): DnsQuestion | undefined {
  if (msg.length < 12 || msg.readUInt16BE(4) < 1) return undefined;
  const n = readName(msg, 12);
  if (!n || n.end + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), name: n.name, type: msg.readUInt16BE(n.end), end: n.end + 4 };
}

/** The A and AAAA records in a response's answer section, with their TTLs (CNAMEs followed implicitly: all are kept). */
export function answerAddresses(msg: Buffer): DnsAddress[] {
  const q = parseQuestion(msg);
  if (!q || (msg[3]! & 0x0f) !== 0) return [];
  const out: DnsAddress[] = [];
  let pos = q.end;
  for (let i = 0; i < msg.readUInt16BE(6) && i < 256; i++) {
    const n = readName(msg, pos);
    if (!n || n.end + 10 > msg.length) break;
    const type = msg.readUInt16BE(n.end);
    const ttl = msg.readUInt32BE(n.end + 4);
    const len = msg.readUInt16BE(n.end + 8);
    const data = n.end + 10;
    if (data + len > msg.length) break;
    if (type === 1 && len === 4) out.push({ address: [...msg.subarray(data, data + 4)].join('.'), family: 4, ttl });
    if (type === 28 && len === 16) {
      const groups = Array.from({ length: 8 }, (_, g) => msg.readUInt16BE(data + 2 * g).toString(16));
      out.push({ address: groups.join(':'), family: 6, ttl });
    }
    pos = data + len;
  }
  return out;
}

/** An NXDOMAIN answer to `query` (its header and question, no records). */
export function nxdomain(query: Buffer, q: DnsQuestion): Buffer {
  const reply = Buffer.from(query.subarray(0, q.end));
  reply[2] = 0x80 | (query[2]! & 0x01); // QR, and the query's RD
  reply[3] = 0x80 | 3; // RA, NXDOMAIN
  reply.writeUInt16BE(1, 4);
  reply.writeUInt32BE(0, 6);
  reply.writeUInt16BE(0, 10);
  return reply;
}
