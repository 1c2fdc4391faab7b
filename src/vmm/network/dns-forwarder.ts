// The box's DNS forwarder (a helper process, one per box with domain rules): `node dns-forwarder.js IP READY RULES`.
//
// passt forwards the box's lookups (to 10.0.2.3:53) here, on a loopback address of the box's own (IP:53). A name a
// deny rule names (asked, or an alias in the answer) gets NXDOMAIN; any other plain query goes to the host's
// resolvers, and the addresses of the asked name's CNAME chain are opened, when an allow rule names a name on it,
// in that rule's nftables set for their TTL (at least a minute), before the box gets the answer.
// RULES is a file only root can write (the box directory), read at each lookup, so updateNetwork applies at once.
// Everything read from a lookup is bounded (message size, labels, records, concurrent lookups, a 2 s deadline).
import dgram from 'node:dgram';
import fs from 'node:fs';
import crypto from 'node:crypto';
import { answerOf, isPlainQuery, nxdomain, parseQuestion, type DnsQuestion } from './dns-message.js';
import { addNameAddresses } from './nftables.js';
import { nameMatches, type DomainRule } from './policy.js';

/** What the forwarder follows: the box's table, its domain rules, and the resolvers to ask. */
export interface ForwarderRules {
  table: string;
  allow: DomainRule[];
  deny: DomainRule[];
  upstreams: string[];
}

const MAX_MESSAGE = 4096;
const MAX_INFLIGHT = 64;
const UPSTREAM_TIMEOUT_MS = 2000;

// Asks one resolver over a socket connected to it (only its answers are read), under an ID of our own and checking
// that the answer is to our question; the answer with the box's ID back, or undefined after the deadline.
function ask(upstream: string, query: Buffer, q: DnsQuestion): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(upstream.includes(':') ? 'udp6' : 'udp4');
    const id = crypto.randomInt(0, 0x10000);
    const done = (r: Buffer | undefined): void => { clearTimeout(timer); s.close(); resolve(r); };
    const timer = setTimeout(() => done(undefined), UPSTREAM_TIMEOUT_MS);
    s.on('error', () => done(undefined));
    s.on('message', (m) => {
      const a = parseQuestion(m);
      if (!a || a.id !== id || a.name !== q.name || a.type !== q.type || (m[2]! & 0x80) === 0) return;
      const reply = Buffer.from(m);
      reply.writeUInt16BE(q.id, 0);
      done(reply);
    });
    const ours = Buffer.from(query);
    ours.writeUInt16BE(id, 0);
    s.connect(53, upstream, () => s.send(ours));
  });
}

const readRules = (file: string): ForwarderRules => JSON.parse(fs.readFileSync(file, 'utf8')) as ForwarderRules;

async function answer(query: Buffer, rulesFile: string): Promise<Buffer | undefined> {
  const q = isPlainQuery(query) ? parseQuestion(query) : undefined;
  if (!q) return undefined;
  const denied = (names: readonly string[]): boolean => readRules(rulesFile).deny.some((r) => names.some((n) => nameMatches(r, n)));
  if (denied([q.name])) return nxdomain(query, q);
  for (const upstream of readRules(rulesFile).upstreams) {
    const reply = await ask(upstream, query, q);
    if (!reply) continue;
    const { names, addresses } = answerOf(reply, q.name);
    if (denied(names)) return nxdomain(query, q); // an alias into a denied zone
    // The rules as they are now: an update while the lookup was out counts.
    const now = readRules(rulesFile);
    const ttl = Math.min(...addresses.map((a) => a.ttl), 86_400);
    for (const r of now.allow) if (names.some((n) => nameMatches(r, n)) && addresses.length) addNameAddresses(now.table, r, addresses, ttl);
    return reply;
  }
  return undefined;
}

function main(): void {
  const [ip, ready, rulesFile] = process.argv.slice(2) as [string, string, string];
  // A detached box's forwarder outlives the process whose pipe its stderr is: a closed pipe must not end it.
  process.stderr.on('error', () => undefined);
  const sock = dgram.createSocket('udp4');
  let inflight = 0;
  sock.on('message', (query, from) => {
    if (query.length > MAX_MESSAGE || inflight >= MAX_INFLIGHT) return;
    inflight++;
    answer(query, rulesFile).then((reply) => { if (reply) sock.send(reply, from.port, from.address); }, (e: unknown) => {
      process.stderr.write(`boxlite dns: ${(e as Error).message}\n`);
    }).finally(() => { inflight--; });
  });
  sock.on('error', (e) => { process.stderr.write(`boxlite dns: ${e.message}\n`); process.exit(1); });
  sock.bind(53, ip, () => fs.writeFileSync(ready, `${process.pid}\n`));
}

if (process.argv[1]?.endsWith('dns-forwarder.js')) main();
