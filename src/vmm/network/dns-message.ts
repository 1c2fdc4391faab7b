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

/** What a response says of the question's name: the names of its CNAME chain (the name first) and their addresses. */
export interface DnsAnswer {
  names: string[];
  addresses: DnsAddress[];
}

/**
 * The answer to `question` in a response: the CNAME chain from the question's name, and the A and AAAA records of
 * names on it only (a record of any other name in the answer opens nothing). Empty unless the response is NOERROR.
 */
export function answerOf(msg: Buffer, question: string): DnsAnswer {
  const names = [question];
  const q = parseQuestion(msg);
  if (!q || (msg[3]! & 0x0f) !== 0) return { names, addresses: [] };
  const records: Array<{ name: string; type: number; ttl: number; data: number; len: number }> = [];
  let pos = q.end;
  for (let i = 0; i < msg.readUInt16BE(6) && i < 256; i++) {
    const n = readName(msg, pos);
    if (!n || n.end + 10 > msg.length) break;
    const len = msg.readUInt16BE(n.end + 8);
    const data = n.end + 10;
    if (data + len > msg.length) break;
    records.push({ name: n.name, type: msg.readUInt16BE(n.end), ttl: msg.readUInt32BE(n.end + 4), data, len });
    pos = data + len;
  }
  // Follow CNAMEs from the question's name (in any order, bounded by the record count).
  for (let changed = true; changed;) {
    changed = false;
    for (const r of records) {
      if (r.type !== 5 || !names.includes(r.name)) continue;
      const target = readName(msg, r.data)?.name;
      if (target && !names.includes(target)) { names.push(target); changed = true; }
    }
  }
  const addresses: DnsAddress[] = [];
  for (const r of records) {
    if (!names.includes(r.name)) continue;
    if (r.type === 1 && r.len === 4) addresses.push({ address: [...msg.subarray(r.data, r.data + 4)].join('.'), family: 4, ttl: r.ttl });
    if (r.type === 28 && r.len === 16) {
      addresses.push({ address: Array.from({ length: 8 }, (_, g) => msg.readUInt16BE(r.data + 2 * g).toString(16)).join(':'), family: 6, ttl: r.ttl });
    }
  }
  return { names, addresses };
}

/** Whether a message is one plain query: opcode QUERY, one question, not a response. */
export function isPlainQuery(msg: Buffer): boolean {
  return msg.length >= 12 && (msg[2]! & 0xf8) === 0 && msg.readUInt16BE(4) === 1;
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
