// The egress policy of a box network: what a box may reach, parsed and checked (pure); enforced by nftables.ts.
import net from 'node:net';
import { boxliteError } from '../../errors.js';

/**
 * One egress rule: a CIDR or address (IPv4, or IPv6 in brackets when a port follows), optionally `:PORT` and
 * `/tcp`, `/udp` or `/icmp`: `10.0.0.0/8`, `192.168.1.10:443/tcp`, `[2001:db8::1]:53/udp`, `2001:db8::/32`,
 * `203.0.113.7/icmp`.
 */
export type EgressRule = string;

/**
 * What a box may reach: `none` (no network device at all), `public` (the default: the internet, but no loopback,
 * link-local (169.254.169.254 among them), private, CGNAT, ULA, multicast or host address), `all` (everything
 * the host reaches but its loopback), or rules: `deny` wins over `allow`; with `allow`, everything not allowed is
 * refused; with `deny` alone, `public` less the denied.
 */
export type EgressPolicy = 'none' | 'public' | 'all' | { readonly allow?: readonly EgressRule[]; readonly deny?: readonly EgressRule[] };

/** A box network's policy (`BoxOptions.network`, `box.updateNetwork()`). */
export interface NetworkPolicy {
  /** Default `public`. */
  readonly egress?: EgressPolicy;
}

/** A rule as the enforcer takes it. */
export interface ParsedRule {
  family: 4 | 6;
  /** Network address with its host bits cleared, and the prefix length. */
  address: string;
  prefix: number;
  port?: number;
  protocol?: 'tcp' | 'udp' | 'icmp';
  /** As written, for messages. */
  text: string;
}

/**
 * A rule naming a domain (`example.com`, or `*.example.com` for its subdomains): it applies to the addresses the
 * box's own lookups of that name returned, for their TTL; a denied name does not resolve in the box at all.
 */
export interface DomainRule {
  name: string;
  wildcard: boolean;
  port?: number;
  protocol?: 'tcp' | 'udp' | 'icmp';
  text: string;
}

/** A checked policy: its mode, and for `rules` the parsed allow (undefined: none given) and deny lists. */
export type ResolvedEgress =
  | { mode: 'none' | 'public' | 'all' }
  | { mode: 'rules'; allow: Array<ParsedRule | DomainRule> | undefined; deny: Array<ParsedRule | DomainRule> };

/** The domain rules of a policy (they need the box's DNS forwarder). */
export function domainRules(e: ResolvedEgress): { allow: DomainRule[]; deny: DomainRule[] } {
  if (e.mode !== 'rules') return { allow: [], deny: [] };
  const names = (rules: ReadonlyArray<ParsedRule | DomainRule>): DomainRule[] => rules.filter((r): r is DomainRule => 'name' in r);
  return { allow: names(e.allow ?? []), deny: names(e.deny) };
}

/** Whether `qname` (a looked-up name) is what `rule` names. */
export function nameMatches(rule: DomainRule, qname: string): boolean {
  const q = qname.toLowerCase().replace(/\.$/, '');
  return rule.wildcard ? q.endsWith(`.${rule.name}`) : q === rule.name;
}

/** Ranges `public` refuses: loopback, this-network, private, CGNAT, link-local, IETF, benchmarking, multicast, reserved. */
export const NON_PUBLIC_V4 = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24',
  '192.168.0.0/16', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4',
] as const;
/** The same for IPv6: unspecified, loopback, IPv4-mapped, NAT64, ULA (fd00:ec2::254 among them), link-local, multicast. */
export const NON_PUBLIC_V6 = ['::/128', '::1/128', '::ffff:0:0/96', '64:ff9b::/96', '64:ff9b:1::/48', 'fc00::/7', 'fe80::/10', 'ff00::/8'] as const;

const invalid = (msg: string): never => { throw boxliteError('InvalidArgument', msg); };

/** Checks a policy (as given, or as persisted); InvalidArgument naming `field` and the rule. */
export function resolveEgress(policy: NetworkPolicy | 'isolated' | undefined, field = 'network'): ResolvedEgress {
  if (policy === undefined || policy === 'isolated') return { mode: 'public' };
  if (typeof policy !== 'object' || policy === null) invalid(`${field} must be "isolated" or { egress }, got ${JSON.stringify(policy)}`);
  for (const k of Object.keys(policy)) if (k !== 'egress') invalid(`${field}.${k} is not an option (${field} has egress only)`);
  const e = policy.egress ?? 'public';
  if (e === 'none' || e === 'public' || e === 'all') return { mode: e };
  if (typeof e !== 'object' || e === null || Array.isArray(e)) invalid(`${field}.egress must be "none", "public", "all" or { allow, deny }, got ${JSON.stringify(e)}`);
  for (const k of Object.keys(e)) if (k !== 'allow' && k !== 'deny') invalid(`${field}.egress.${k} is not an option (allow and deny are)`);
  const list = (name: 'allow' | 'deny'): Array<ParsedRule | DomainRule> | undefined => {
    const rules = (e as Record<string, unknown>)[name];
    if (rules === undefined) return undefined;
    if (!Array.isArray(rules)) return invalid(`${field}.egress.${name} must be an array of rules, got ${JSON.stringify(rules)}`);
    return rules.map((r, i) => {
      const where = `${field}.egress.${name}[${i}]`;
      const parsed = parseDomainRule(r, where) ?? parseRule(r, where);
      if ('name' in parsed && name === 'deny' && (parsed.port !== undefined || parsed.protocol)) {
        invalid(`${where} ${JSON.stringify(r)}: a denied name does not resolve in the box at all, so it takes no port or protocol; deny ports by address`);
      }
      return parsed;
    });
  };
  return { mode: 'rules', allow: list('allow'), deny: list('deny') ?? [] };
}

/** The policy in its plain form (as persisted, and shown by info()). */
export function egressPolicyOf(e: ResolvedEgress): EgressPolicy {
  if (e.mode !== 'rules') return e.mode;
  return { ...(e.allow ? { allow: e.allow.map((r) => r.text) } : {}), deny: e.deny.map((r) => r.text) };
}

/** A domain rule (`example.com[:PORT][/PROTO]`, `*.example.com`), or undefined when `rule` is not one. */
export function parseDomainRule(rule: unknown, field: string): DomainRule | undefined {
  if (typeof rule !== 'string') return undefined;
  const m = /^(\*\.)?((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?)\.?(?::(\d+))?(?:\/(tcp|udp|icmp))?$/i.exec(rule.trim());
  if (!m) return undefined;
  const port = m[3] === undefined ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) invalid(`${field} ${JSON.stringify(rule)} is not a rule: the port must be 1..65535`);
  const protocol = m[4]?.toLowerCase() as DomainRule['protocol'];
  if (port !== undefined && protocol === 'icmp') invalid(`${field} ${JSON.stringify(rule)} is not a rule: ICMP has no ports`);
  if (m[2]!.length > 253) invalid(`${field} ${JSON.stringify(rule)} is not a rule: a name has at most 253 characters`);
  return { name: m[2]!.toLowerCase(), wildcard: m[1] !== undefined, ...(port !== undefined ? { port } : {}), ...(protocol ? { protocol } : {}), text: rule.trim() };
}

/** Parses one address rule; InvalidArgument naming `field`, the rule and the forms a rule takes. */
export function parseRule(rule: unknown, field: string): ParsedRule {
  const bad = (why: string): never => invalid(`${field} ${JSON.stringify(rule)} is not a rule: ${why}; write a CIDR, an address or a domain name (*.name for its subdomains) with an optional :PORT and /tcp, /udp or /icmp, e.g. "10.0.0.0/8", "192.168.1.10:443/tcp", "[2001:db8::1]:53/udp", "*.example.com:443"`);
  if (typeof rule !== 'string' || rule.trim() === '') return bad('it must be a non-empty string');
  let rest = rule.trim();
  let protocol: ParsedRule['protocol'];
  const proto = /\/(tcp|udp|icmp)$/i.exec(rest);
  if (proto) {
    protocol = proto[1]!.toLowerCase() as ParsedRule['protocol'];
    rest = rest.slice(0, -proto[0].length);
  }
  let target = rest;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (bracket) {
    target = bracket[1]!;
    if (bracket[2] !== undefined) port = Number(bracket[2]);
  } else if ((rest.match(/:/g) ?? []).length === 1) {
    const i = rest.lastIndexOf(':');
    target = rest.slice(0, i);
    if (!/^\d+$/.test(rest.slice(i + 1))) bad('the port must be a number');
    port = Number(rest.slice(i + 1));
  }
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) bad('the port must be 1..65535');
  if (port !== undefined && protocol === 'icmp') bad('ICMP has no ports');
  const [addr, prefixText, extra] = target.split('/');
  if (extra !== undefined) bad('it has more than one "/"');
  const family = net.isIPv4(addr!) && /^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(addr!) ? 4 : net.isIPv6(addr!) ? 6 : 0;
  if (family === 0) {
    bad(/^(0x[0-9a-f]+|[0-9.]+)$/i.test(addr!) ? 'an IPv4 address is written in dotted decimal here (no octal, hex or single-number forms)'
      : /[a-z]/i.test(addr!) && !addr!.includes(':') ? 'it is not a valid domain name' : 'the address is neither IPv4 nor IPv6');
  }
  const max = family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : -1;
  if (prefix < 0 || prefix > max) bad(`the prefix must be 0..${max}`);
  // An IPv4-mapped IPv6 rule is the IPv4 rule it names (the traffic it would match is IPv4).
  const mapped = family === 6 && prefix >= 96 ? /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(networkAddress(addr!, 6, 128)) : null;
  if (mapped) return { family: 4, address: networkAddress(mapped[1]!, 4, prefix - 96), prefix: prefix - 96, ...(port !== undefined ? { port } : {}), ...(protocol ? { protocol } : {}), text: rule.trim() };
  return { family: family as 4 | 6, address: networkAddress(addr!, family as 4 | 6, prefix), prefix, ...(port !== undefined ? { port } : {}), ...(protocol ? { protocol } : {}), text: rule.trim() };
}

/** `addr` with the bits past `prefix` cleared, in canonical form. */
function networkAddress(addr: string, family: 4 | 6, prefix: number): string {
  const bytes = family === 4 ? addr.split('.').map(Number) : v6Bytes(addr);
  for (let bit = prefix; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  if (family === 4) return bytes.join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  return new net.SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

function v6Bytes(addr: string): number[] {
  let text = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => { const n = parseInt(g, 16); return [n >> 8, n & 0xff]; });
}

/**
 * `boxlite run --net MODE --allow RULE --deny RULE` as a policy (undefined: none given, the default). Rules go with
 * `--net public` or no `--net`; InvalidArgument naming the flag otherwise.
 */
export function parseNetworkFlags(mode: string | undefined, allow: readonly string[], deny: readonly string[]): NetworkPolicy | undefined {
  if (mode !== undefined && !['none', 'public', 'all'].includes(mode)) invalid(`--net must be one of none, public, all, got ${JSON.stringify(mode)}`);
  if (allow.length === 0 && deny.length === 0) return mode === undefined ? undefined : { egress: mode as 'none' | 'public' | 'all' };
  if (mode !== undefined && mode !== 'public') invalid(`--allow and --deny refine --net public (the default); they do not go with --net ${mode}`);
  const policy: NetworkPolicy = { egress: { ...(allow.length ? { allow } : {}), ...(deny.length ? { deny } : {}) } };
  resolveEgress(policy, '--allow/--deny');
  return policy;
}
