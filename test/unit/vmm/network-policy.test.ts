// Egress policies as written (rules, presets, CLI flags) and the nftables ruleset each becomes (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { resolveBoxOptions } from '../../../src/runtime/options.js';
import { SecurityOptions } from '../../../src/runtime/security.js';
import { hostResolvers, nameSet, policyTable, renderRuleset } from '../../../src/vmm/network/nftables.js';
import { domainRules, egressPolicyOf, nameMatches, parseDomainRule, parseNetworkFlags, parseRule, resolveEgress } from '../../../src/vmm/network/policy.js';
import { answerOf, nxdomain, parseQuestion } from '../../../src/vmm/network/dns-message.js';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const invalid = (re: RegExp) => (e: unknown): boolean => BoxliteError.is(e) && e.code === 'InvalidArgument' && re.test(e.message);

describe('egress rules', () => {
  it('reads CIDRs and addresses, with a port and a protocol, in IPv4 and IPv6', () => {
    assert.deepEqual(parseRule('10.1.2.3/8', 'r'), { family: 4, address: '10.0.0.0', prefix: 8, text: '10.1.2.3/8' });
    assert.deepEqual(parseRule('192.168.1.10:443/tcp', 'r'), { family: 4, address: '192.168.1.10', prefix: 32, port: 443, protocol: 'tcp', text: '192.168.1.10:443/tcp' });
    assert.deepEqual(parseRule('[2001:db8::1]:53/udp', 'r'), { family: 6, address: '2001:db8::1', prefix: 128, port: 53, protocol: 'udp', text: '[2001:db8::1]:53/udp' });
    assert.deepEqual(parseRule('2001:db8:abcd::7/32', 'r'), { family: 6, address: '2001:db8::', prefix: 32, text: '2001:db8:abcd::7/32' });
    assert.equal(parseRule('203.0.113.7/icmp', 'r').protocol, 'icmp');
    assert.deepEqual(parseRule('[::ffff:10.0.0.1]:80', 'r'), { family: 4, address: '10.0.0.1', prefix: 32, port: 80, text: '[::ffff:10.0.0.1]:80' }, 'an IPv4-mapped address is its IPv4 address');
  });

  it('refuses what is not a rule, naming the field, the rule and the forms', () => {
    for (const [rule, why] of [['10.0.0.0/33', /prefix must be 0\.\.32/], ['1.2.3.4:0', /port must be 1\.\.65535/], ['1.2.3.4:80/icmp', /ICMP has no ports/],
      ['010.0.0.1', /dotted decimal/], ['0x0a000001', /dotted decimal/], ['3405803786', /dotted decimal/], ['fe80::zz', /neither IPv4 nor IPv6/],  ['exa_mple.com', /not a valid domain name/], ['', /non-empty/], ['1.2.3.4/8/9', /more than one/]] as const) {
      assert.throws(() => resolveEgress({ egress: { allow: ['10.0.0.0/8', '10.0.0.1', '10.0.0.2', rule] } }), invalid(new RegExp(`network\\.egress\\.allow\\[3\\] ${JSON.stringify(rule).replace(/[.[\]/]/g, '\\$&')} is not a rule: .*${why.source}.*e\\.g\\.`)), rule);
    }
  });

  it('domain rules: a name or *.name (its subdomains), with a port and protocol when allowed; a denied name takes none', () => {
    assert.deepEqual(parseDomainRule('API.Example.com:443/tcp', 'r'), { name: 'api.example.com', wildcard: false, port: 443, protocol: 'tcp', text: 'API.Example.com:443/tcp' });
    const wild = parseDomainRule('*.example.com', 'r')!;
    assert.ok(nameMatches(wild, 'a.b.example.com.') && !nameMatches(wild, 'example.com') && !nameMatches(wild, 'badexample.com'));
    assert.ok(nameMatches(parseDomainRule('example.com', 'r')!, 'EXAMPLE.com') && !nameMatches(parseDomainRule('example.com', 'r')!, 'x.example.com'));
    assert.equal(parseDomainRule('10.0.0.1', 'r'), undefined, 'an address is not a name');
    assert.deepEqual(domainRules(resolveEgress({ egress: { allow: ['a.test', '10.0.0.0/8'], deny: ['*.b.test'] } })).allow.map((r) => r.name), ['a.test']);
    assert.throws(() => resolveEgress({ egress: { deny: ['b.test:25/tcp'] } }), invalid(/network\.egress\.deny\[0\] "b\.test:25\/tcp": a denied name does not resolve/));
  });

  it('DNS messages: the question; the addresses of the asked name\'s CNAME chain only, with TTLs; NXDOMAIN', () => {
    const name = (labels: string[]): number[] => [...labels.flatMap((l) => [l.length, ...Buffer.from(l)]), 0];
    const query = Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...name(['a', 'test']), 0, 1, 0, 1]);
    assert.deepEqual(parseQuestion(query), { id: 0x1234, name: 'a.test', type: 1, end: 24 });
    const reply = Buffer.concat([Buffer.from([0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0]), query.subarray(12),
      Buffer.from([0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 30, 0, 7, ...name(['b', 'cdn'])]), // a.test CNAME b.cdn
      Buffer.from([...name(['b', 'cdn']), 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 203, 0, 113, 10]),
      Buffer.from([...name(['b', 'cdn']), 0, 28, 0, 1, 0, 0, 1, 0, 0, 16, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
      Buffer.from([...name(['evil', 'test']), 0, 1, 0, 1, 0, 0, 0, 20, 0, 4, 169, 254, 169, 254])]); // not on the chain
    assert.deepEqual(answerOf(reply, 'a.test'), {
      names: ['a.test', 'b.cdn'],
      addresses: [{ address: '203.0.113.10', family: 4, ttl: 20 }, { address: '2001:db8:0:0:0:0:0:1', family: 6, ttl: 256 }],
    });
    const nx = nxdomain(query, parseQuestion(query)!);
    assert.deepEqual([nx[2]! & 0x80, nx[3]! & 0x0f, nx.readUInt16BE(6)], [0x80, 3, 0]);
    assert.equal(parseQuestion(Buffer.from([1, 2, 3])), undefined, 'too short');
    assert.equal(parseQuestion(Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1])), undefined, 'a compression loop is bounded');
  });

  it('policies: presets, rules, isolated as the default; unknown fields named; kept as written', () => {
    assert.deepEqual(resolveEgress(undefined), { mode: 'public' });
    assert.deepEqual(resolveEgress('isolated'), { mode: 'public' });
    assert.deepEqual(resolveEgress({ egress: 'none' }), { mode: 'none' });
    const rules = resolveEgress({ egress: { allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] } });
    assert.deepEqual(egressPolicyOf(rules), { allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] });
    assert.throws(() => resolveEgress({ egress: 'open' as 'all' }), invalid(/network\.egress must be "none", "public", "all" or \{ allow, deny \}/));
    assert.throws(() => resolveEgress({ egress: { allows: [] } as never }), invalid(/network\.egress\.allows is not an option/));
    assert.throws(() => resolveEgress({ ingress: 'all' } as never), invalid(/network\.ingress is not an option/));
  });

  it('box options: public by default, persisted as written; no ports without a network', () => {
    assert.deepEqual(resolveBoxOptions({}).network, { egress: 'public' });
    assert.deepEqual(resolveBoxOptions({ network: { egress: { deny: ['1.2.3.4'] } } }).network, { egress: { deny: ['1.2.3.4'] } });
    assert.throws(() => resolveBoxOptions({ network: { egress: 'none' }, ports: [{ guestPort: 80 }] }), invalid(/ports cannot be published by a box with network egress "none"/));
    assert.throws(() => resolveBoxOptions({ network: { egress: { allow: ['a.test'] } }, security: SecurityOptions.development() }), invalid(/domain rules in network egress need the jailer's chroot/));
  });

  it('the CLI flags: --net MODE, --allow and --deny refining public', () => {
    assert.equal(parseNetworkFlags(undefined, [], []), undefined);
    assert.deepEqual(parseNetworkFlags('none', [], []), { egress: 'none' });
    assert.deepEqual(parseNetworkFlags(undefined, ['10.0.0.0/8'], ['10.1.0.0/16']), { egress: { allow: ['10.0.0.0/8'], deny: ['10.1.0.0/16'] } });
    assert.throws(() => parseNetworkFlags('open', [], []), invalid(/--net must be one of none, public, all/));
    assert.throws(() => parseNetworkFlags('all', [], ['1.2.3.4']), invalid(/do not go with --net all/));
    assert.throws(() => parseNetworkFlags(undefined, ['nope!'], []), invalid(/--allow\/--deny\.egress\.allow\[0\]/));
  });
});

describe('the ruleset of a box', () => {
  const lines = (r: string): string[] => r.split('\n').map((l) => l.trim());

  it('matches only the box\'s passt uid; keeps the gateway, DNS address and loopback in; lets DNS reach the resolvers', () => {
    const r = lines(renderRuleset('boxlite_x_B', 2013265999, { mode: 'all' }, ['10.9.0.2']));
    assert.equal(r[0], 'table inet boxlite_x_B {}');
    assert.equal(r[1], 'delete table inet boxlite_x_B', 'replaced whole, in one transaction');
    assert.equal(r[r.indexOf('type filter hook output priority filter; policy accept;') + 1], 'meta skuid 2013265999 jump box',
      'only the box\'s own sockets enter its policy (kernel packets have no owner and pass)');
    const out = r.slice(r.indexOf('chain box {') + 1);
    assert.deepEqual(out.slice(0, 5), [
      'ct state established,related accept', 'ip daddr { 10.0.2.2, 10.0.2.3 } jump refuse',
      'ip daddr 10.9.0.2 meta l4proto { tcp, udp } th dport 53 accept', 'ip daddr 127.0.0.0/8 jump refuse', 'ip6 daddr ::1 jump refuse',
    ]);
    assert.ok(r.includes('meta l4proto tcp reject with tcp reset') && r.includes('counter name refused'), 'refusals reset TCP and are counted');
  });

  it('public refuses the non-public ranges and the host\'s own addresses; rules: deny, then allow, then refuse', () => {
    const pub = lines(renderRuleset('t', 1, { mode: 'public' }, []));
    assert.ok(pub.some((l) => l.startsWith('ip daddr { 0.0.0.0/8, 10.0.0.0/8, 100.64.0.0/10, 127.0.0.0/8, 169.254.0.0/16')));
    assert.ok(pub.some((l) => l.includes('fc00::/7') && l.includes('fe80::/10')));
    assert.ok(pub.includes('fib daddr type local jump refuse'));
    const rules = lines(renderRuleset('t', 1, resolveEgress({ egress: { allow: ['10.0.0.0/8', '1.2.3.4:443/tcp', '5.6.7.8:53'], deny: ['10.1.0.0/16/icmp'] } }), []));
    const at = (s: string): number => rules.indexOf(s);
    assert.ok(at('ip daddr 10.1.0.0/16 meta l4proto icmp jump refuse') < at('ip daddr 10.0.0.0/8 accept'), 'deny comes first');
    assert.ok(at('ip daddr 1.2.3.4/32 meta l4proto tcp th dport 443 accept') > 0);
    assert.ok(at('ip daddr 5.6.7.8/32 meta l4proto { tcp, udp } th dport 53 accept') > 0);
    assert.equal(rules[rules.indexOf('ip daddr 5.6.7.8/32 meta l4proto { tcp, udp } th dport 53 accept') + 1], 'jump refuse', 'with allow: everything else is refused');
    assert.throws(() => renderRuleset('t', 1, { mode: 'none' }, []));
  });

  it('an allowed name becomes two timeout sets of the addresses its lookups returned', () => {
    const egress = resolveEgress({ egress: { allow: ['a.test:443/tcp', '10.0.0.0/8'], deny: ['*.b.test'] } });
    const rule = domainRules(egress).allow[0]!;
    const r = lines(renderRuleset('t', 1, egress, ['127.9.9.9'], true));
    assert.ok(r.includes(`set ${nameSet(rule, 4)} { type ipv4_addr; flags timeout; }`) && r.includes(`set ${nameSet(rule, 6)} { type ipv6_addr; flags timeout; }`));
    const at = (l: string): number => r.indexOf(l);
    assert.ok(at(`ip daddr @${nameSet(rule, 4)} meta l4proto tcp th dport 443 accept`) > at('ip daddr 10.0.0.0/8 accept'));
    assert.ok(at(`ip daddr @${nameSet(rule, 4)} meta l4proto tcp th dport 443 accept`) > r.findIndex((l) => l.startsWith('ip daddr { 0.0.0.0/8')), 'a lookup opens only public addresses');
    assert.ok(at('fib daddr type local jump refuse') < at('ip daddr 10.0.0.0/8 accept'), 'the host\'s own addresses, even inside an allowed CIDR');
    assert.ok(at('meta l4proto { tcp, udp } th dport 53 jump refuse') > at('ip daddr 127.9.9.9 meta l4proto { tcp, udp } th dport 53 accept'), 'DNS only through the forwarder');
    assert.ok(!r.some((l) => l.includes('b.test')), 'a denied name is the forwarder\'s (NXDOMAIN), not a rule');
  });

  it('tables are named by home and box; resolvers come from resolv.conf', () => {
    assert.match(policyTable('/h', '01ABC'), /^boxlite_[0-9a-f]{12}_01ABC$/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-resolv-'));
    fs.writeFileSync(path.join(dir, 'resolv.conf'), '# x\nnameserver 10.0.0.2\nsearch lan\nnameserver fe80::1%eth0\n');
    assert.deepEqual(hostResolvers(path.join(dir, 'resolv.conf')), ['10.0.0.2', 'fe80::1']);
    fs.rmSync(dir, { recursive: true });
  });
});
