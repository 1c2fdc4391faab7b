// Enforces a box's egress policy on the host: an nftables table per box matching the uid its passt runs as.
//
// passt makes every connection of the box from the host, as the box's uid (the jailer gives each box its own), so
// one table per box, in the network namespace of the process that starts it, sees exactly that box's traffic in
// the output hook. What a box sends to its own gateway and DNS addresses, and to the host's loopback, never leaves;
// DNS to the resolvers passt forwards to stays open; then the policy. A refused TCP connection is reset at once, the
// rest answered with "administratively prohibited", so nothing in the box hangs; each refusal is counted.
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../../errors.js';
import { GUEST_NETWORK } from './passt.js';
import { domainRules, NON_PUBLIC_V4, NON_PUBLIC_V6, type DomainRule, type ParsedRule, type ResolvedEgress } from './policy.js';

/**
 * The sets of an allowed domain rule: the addresses the box's lookups of it returned, each for its TTL. Named by the
 * rule itself, so an update that keeps a rule keeps naming the same set, and a removed rule's set is gone.
 */
export const nameSet = (r: DomainRule, family: 4 | 6): string =>
  `name_${crypto.createHash('sha256').update(`${r.wildcard ? '*.' : ''}${r.name}:${r.port ?? ''}/${r.protocol ?? ''}`).digest('hex').slice(0, 12)}_${family}`;

/** The nftables table of a box: `boxlite_<home hash>_<box id>`. */
export function policyTable(homeDir: string, boxId: string): string {
  return `${tablePrefix(homeDir)}${boxId}`;
}

/** The prefix of this home's tables. */
export function tablePrefix(homeDir: string): string {
  return `boxlite_${crypto.createHash('sha256').update(path.resolve(homeDir)).digest('hex').slice(0, 12)}_`;
}

/** The nameservers passt forwards the box's DNS to (from /etc/resolv.conf, as passt reads them). */
export function hostResolvers(resolvConf = '/etc/resolv.conf'): string[] {
  let text = '';
  try { text = fs.readFileSync(resolvConf, 'utf8'); } catch { return []; }
  return [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]!.replace(/%.*$/, ''));
}

/**
 * The ruleset of a box's table (pure): `nft -f` input that replaces the table whole, atomically. Only packets of a
 * socket owned by the box's uid enter its policy chain; everything else (other boxes, the host's users, and the
 * kernel's own packets, which have no socket owner) leaves the table untouched.
 */
export function renderRuleset(table: string, uid: number, egress: ResolvedEgress, resolvers: readonly string[], viaForwarder = false): string {
  if (egress.mode === 'none') throw new Error('a box without a network has no ruleset');
  const lines: string[] = [
    'ct state established,related accept',
    `ip daddr { ${GUEST_NETWORK.gateway}, ${GUEST_NETWORK.dns} } jump refuse`,
    ...resolvers.map((r) => `${r.includes(':') ? 'ip6' : 'ip'} daddr ${r} meta l4proto { tcp, udp } th dport 53 accept`),
    // With a forwarder of ours, no other DNS server: a denied name cannot be looked up elsewhere.
    ...(viaForwarder ? ['meta l4proto { tcp, udp } th dport 53 jump refuse'] : []),
    'ip daddr 127.0.0.0/8 jump refuse',
    'ip6 daddr ::1 jump refuse',
  ];
  const nonPublic = [`ip daddr { ${NON_PUBLIC_V4.join(', ')} } jump refuse`, `ip6 daddr { ${NON_PUBLIC_V6.join(', ')} } jump refuse`];
  const hostOwn = 'fib daddr type local jump refuse';
  if (egress.mode === 'public') lines.push(...nonPublic, hostOwn);
  const names = domainRules(egress).allow;
  if (egress.mode === 'rules') {
    // A denied name never resolves in the box (its DNS forwarder answers NXDOMAIN): nothing to match here.
    lines.push(...egress.deny.filter(isAddress).map((r) => `${match(r)} jump refuse`), hostOwn);
    if (egress.allow) {
      lines.push(...egress.allow.filter(isAddress).map((r) => `${match(r)} accept`));
      // What a lookup returned opens only public addresses: an allowed zone cannot point the box at private ones.
      if (names.length) lines.push(...nonPublic);
      lines.push(...names.flatMap((r) => ([4, 6] as const).map((f) => `${f === 4 ? 'ip' : 'ip6'} daddr @${nameSet(r, f)}${portMatch(r, f)} accept`)), 'jump refuse');
    } else {
      lines.push(...nonPublic);
    }
  }
  return [
    `table inet ${table} {}`,
    `delete table inet ${table}`,
    `table inet ${table} {`,
    '  counter refused {}',
    ...[...new Set(names.flatMap((r) => ([4, 6] as const).map((f) => `  set ${nameSet(r, f)} { type ${f === 4 ? 'ipv4_addr' : 'ipv6_addr'}; flags timeout; }`)))],
    '  chain refuse {',
    '    counter name refused',
    '    meta l4proto tcp reject with tcp reset',
    '    reject with icmpx admin-prohibited',
    '  }',
    '  chain box {',
    ...lines.map((l) => `    ${l}`),
    '  }',
    '  chain out {',
    '    type filter hook output priority filter; policy accept;',
    `    meta skuid ${uid} jump box`,
    '  }',
    '}',
    '',
  ].join('\n');
}

const isAddress = (r: ParsedRule | DomainRule): r is ParsedRule => 'address' in r;

// The nftables match of one address rule.
function match(r: ParsedRule): string {
  return `${r.family === 4 ? 'ip' : 'ip6'} daddr ${r.address}/${r.prefix}${portMatch(r, r.family)}`;
}

// The protocol and port part of a rule's match (empty: any).
function portMatch(r: { port?: number; protocol?: string }, family: 4 | 6): string {
  if (r.protocol === 'icmp') return ` meta l4proto ${family === 4 ? 'icmp' : 'icmpv6'}`;
  if (r.port !== undefined) return ` meta l4proto ${r.protocol ?? '{ tcp, udp }'} th dport ${r.port}`;
  return r.protocol ? ` meta l4proto ${r.protocol}` : '';
}

/** Opens `addresses` (from a lookup the box made) in a name rule's sets for `ttlSeconds`. Throws nft's words. */
export function addNameAddresses(table: string, rule: DomainRule, addresses: ReadonlyArray<{ address: string; family: 4 | 6 }>, ttlSeconds: number): void {
  // add (a no-op when there), delete, add with the new timeout: one transaction that refreshes an address's time.
  const lines = addresses.flatMap((a) => {
    const set = `inet ${table} ${nameSet(rule, a.family)}`;
    // At least a minute: resolvers in the box (a JVM's, for one) keep answers longer than short TTLs say.
    return [`add element ${set} { ${a.address} }`, `delete element ${set} { ${a.address} }`, `add element ${set} { ${a.address} timeout ${Math.max(60, Math.min(ttlSeconds, 86_400))}s }`];
  });
  if (lines.length) execFileSync('nft', ['-f', '-'], { input: `${lines.join('\n')}\n`, stdio: ['pipe', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Installs (or replaces, atomically) a box's table. Network error naming nft's words if it cannot. */
export async function applyRuleset(table: string, ruleset: string): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      const nft = execFile('nft', ['-f', '-'], { timeout: 10_000, maxBuffer: 1024 * 1024 }, (err, _stdout, stderr) => (err ? reject(Object.assign(err, { stderr })) : resolve()));
      nft.stdin?.on('error', () => undefined); // an nft that is missing or exits early: its own error says why
      nft.stdin?.end(ruleset);
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') throw boxliteError('Config', 'the network policy is enforced with nftables, which is not installed; run `npx boxlite setup` (or apt-get install nftables)', err);
    throw boxliteError('Network', `could not install the network policy of ${table}: nft said: ${e.stderr?.trim() || e.message}`, err);
  }
}

/** Removes a box's table; a table already gone is fine. */
export function removeRuleset(table: string): void {
  try {
    execFileSync('nft', ['delete', 'table', 'inet', table], { stdio: 'ignore', timeout: 10_000 });
  } catch { /* gone, or no nftables: nothing of ours is there */ }
}

/** The connections a box's table refused so far (undefined when it has none). */
export function refusedCount(table: string): number | undefined {
  try {
    const out = execFileSync('nft', ['-j', 'list', 'counter', 'inet', table, 'refused'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    const found = (JSON.parse(out) as { nftables: Array<{ counter?: { packets: number } }> }).nftables.find((x) => x.counter);
    return found?.counter?.packets;
  } catch {
    return undefined;
  }
}

/** The tables of boxes of `homeDir` in this network namespace, by box id (for recovery). */
export function policyTables(homeDir: string): string[] {
  const prefix = tablePrefix(homeDir);
  try {
    const out = execFileSync('nft', ['-j', 'list', 'tables', 'inet'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], timeout: 10_000 });
    return (JSON.parse(out) as { nftables: Array<{ table?: { name: string } }> }).nftables
      .map((x) => x.table?.name).filter((n): n is string => n !== undefined && n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  } catch {
    return [];
  }
}
