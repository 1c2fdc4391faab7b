// The box's DNS forwarder (a helper process, one per box with domain rules): `node dns-forwarder.js IP READY RULES`.
//
// passt forwards the box's lookups (to 10.0.2.3:53) here, on a loopback address of the box's own (IP:53). A name a
// deny rule names gets NXDOMAIN; any other lookup goes to the host's resolvers, and the addresses it returns for a
// name an allow rule names are opened in that rule's nftables set for their TTL, before the box gets the answer.
// RULES is a file only root can write (the box directory), read at each lookup, so updateNetwork applies at once.
// Everything read from a lookup is bounded (message size, labels, records, concurrent lookups, a 2 s deadline).
import dgram from 'node:dgram';
import fs from 'node:fs';
import { answerAddresses, nxdomain, parseQuestion } from './dns-message.js';
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

// Asks one resolver; its answer to `query`, or undefined after the deadline.
function ask(upstream: string, query: Buffer, id: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(upstream.includes(':') ? 'udp6' : 'udp4');
    const done = (r: Buffer | undefined): void => { clearTimeout(timer); s.close(); resolve(r); };
    const timer = setTimeout(() => done(undefined), UPSTREAM_TIMEOUT_MS);
    s.on('error', () => done(undefined));
    s.on('message', (m) => { if (m.length >= 12 && m.readUInt16BE(0) === id) done(m); });
    s.send(query, 53, upstream);
  });
}

async function answer(query: Buffer, rulesFile: string): Promise<Buffer | undefined> {
  const q = parseQuestion(query);
  if (!q) return undefined;
  const rules = JSON.parse(fs.readFileSync(rulesFile, 'utf8')) as ForwarderRules;
  if (rules.deny.some((r) => nameMatches(r, q.name))) return nxdomain(query, q);
  for (const upstream of rules.upstreams) {
    const reply = await ask(upstream, query, q.id);
    if (!reply) continue;
    const addresses = answerAddresses(reply);
    const ttl = Math.min(...addresses.map((a) => a.ttl), 86_400);
    rules.allow.forEach((r, i) => { if (nameMatches(r, q.name) && addresses.length) addNameAddresses(rules.table, i, addresses, ttl); });
    return reply;
  }
  return undefined;
}

function main(): void {
  const [ip, ready, rulesFile] = process.argv.slice(2) as [string, string, string];
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
