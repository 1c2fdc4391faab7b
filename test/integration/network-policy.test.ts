// Egress policies on real boxes, in a closed network the test makes (test/helpers/policy-net.ts): boxes run in a
// runner namespace whose only route leads to test hosts, so nothing can leave the machine even if a policy fails.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { BoxInfo } from '../../src/runtime/status.js';
import { cleanUpChildren, freshHome } from '../helpers/box-children.js';
import { netnsUnavailable } from '../helpers/netns.js';
import { ADDR, policyNet, type BoxDriver, type PolicyNet } from '../helpers/policy-net.js';

const skip = netnsUnavailable() ?? (process.getuid?.() !== 0 ? 'policies are nftables tables, which need root' : false);
const homes: string[] = [];
let net: PolicyNet;
before(() => { if (!skip) net = policyNet(); });
after(async () => { net?.remove(); await cleanUpChildren([], homes); });

type Sh = { stdout: string; stderr: string; exitCode: number };
const tcp = (ip: string, port = 8080): string => `echo "tcp ${ip}:${port} $(nc -w 3 ${ip} ${port} </dev/null 2>&1 | tr '\\n' ' ')"`;
// UDP: a DNS query to the address (every test host answers DNS on all its addresses); busybox nc has no -u.
const udp = (ip: string): string => `echo "udp ${ip} $(timeout 4 nslookup probe.test ${ip} 2>&1 | grep -q 203.0.113.10 && echo udp || echo none)"`;
const icmp = (ip: string): string => `echo "icmp ${ip} $(ping -c 1 -W 2 ${ip} >/dev/null 2>&1 && echo up || echo down)"`;

/** Runs the probes in the box; each answer by its probe ("tcp 1.2.3.4:8080" → what came back). */
async function probe(box: BoxDriver, probes: string[]): Promise<Map<string, string>> {
  const r = await box.call<Sh>({ op: 'sh', script: probes.join('; ') });
  return new Map(r.stdout.trim().split('\n').map((l) => {
    const [kind, target, ...rest] = l.split(' ');
    return [`${kind} ${target}`, rest.join(' ').trim()];
  }));
}

const reached = (answer: string | undefined, what: string): void => assert.match(answer ?? '', /^(tcp:\S+|udp|up)$/, `${what} is reachable (got ${JSON.stringify(answer)})`);
const refusedTcp = (answer: string | undefined, what: string): void => assert.match(answer ?? '', /Connection refused/, `${what} is refused at once, not left to hang (got ${JSON.stringify(answer)})`);
const unreachable = (answer: string | undefined, what: string): void => assert.match(answer ?? '', /^(down|none|.*(refused|unreachable|prohibited|not permitted).*)$/i, `${what} is not reachable (got ${JSON.stringify(answer)})`);

test('public (the default): the internet yes; private, link-local (metadata), the host\'s own and the box\'s gateway addresses no, over TCP, UDP and ICMP; DNS works', { skip }, async () => {
  const box = net.driver(freshHome('boxlite-policy-', homes));
  await box.call({ op: 'create', options: {} });
  const info = await box.call<BoxInfo>({ op: 'info' });
  assert.equal(info.network.egress, 'public');
  const a = await probe(box, [
    tcp(ADDR.public), udp(ADDR.public), icmp(ADDR.public),
    tcp(ADDR.private), udp(ADDR.private), icmp(ADDR.private),
    tcp(ADDR.metadata), tcp(ADDR.metadata, 80), udp(ADDR.metadata), icmp(ADDR.metadata),
    ...ADDR.runner.map((r) => tcp(r)), ...ADDR.runner.map((r) => udp(r)),
    tcp('10.0.2.2'), tcp('10.0.2.3'), udp('10.0.2.2'),
  ]);
  assert.equal(a.get(`tcp ${ADDR.public}:8080`), `tcp:${ADDR.public}`);
  reached(a.get(`udp ${ADDR.public}`), 'UDP to the public host');
  reached(a.get(`icmp ${ADDR.public}`), 'ping of the public host');
  refusedTcp(a.get(`tcp ${ADDR.private}:8080`), 'TCP to the private host');
  unreachable(a.get(`udp ${ADDR.private}`), 'UDP to the private host');
  unreachable(a.get(`icmp ${ADDR.private}`), 'ping of the private host');
  refusedTcp(a.get(`tcp ${ADDR.metadata}:8080`), 'the metadata server');
  refusedTcp(a.get(`tcp ${ADDR.metadata}:80`), 'the metadata server on port 80');
  unreachable(a.get(`udp ${ADDR.metadata}`), 'UDP to the metadata server');
  unreachable(a.get(`icmp ${ADDR.metadata}`), 'ping of the metadata server');
  for (const r of ADDR.runner) {
    refusedTcp(a.get(`tcp ${r}:8080`), `the host's own address ${r}`);
    unreachable(a.get(`udp ${r}`), `UDP to the host's own address ${r}`);
  }
  refusedTcp(a.get('tcp 10.0.2.2:8080'), 'the gateway address');
  refusedTcp(a.get('tcp 10.0.2.3:8080'), 'the DNS server address (but DNS)');
  unreachable(a.get('udp 10.0.2.2'), 'UDP to the gateway address');
  // DNS goes through the box's forwarder to the host's resolver (a private test host): the policy lets DNS through.
  const dns = await box.call<Sh>({ op: 'sh', script: 'nslookup anything.test 10.0.2.3' });
  assert.match(dns.stdout, /203\.0\.113\.10/, `DNS works under public: ${dns.stdout}${dns.stderr}`);
  const m = await box.call<{ networkRefused: number }>({ op: 'metrics' });
  assert.ok(m.networkRefused >= 10, `refusals are counted: ${m.networkRefused}`);
  await box.call({ op: 'remove' });
  assert.doesNotMatch(net.tables(), /boxlite_/, 'no rule outlives its box');
});

test('an allow-list: the allowed CIDR yes, everything else no, whatever the address is written as; deny beats allow', { skip }, async () => {
  const box = net.driver(freshHome('boxlite-policy-', homes));
  await box.call({ op: 'create', options: { network: { egress: { allow: [`${ADDR.private}/32`, `${ADDR.public}:53/udp`] } } } });
  // 203.0.113.10 is 3405803786 in decimal and 0313.0.0161.012 in octal; 10.251.200.2 is 0x0afbc802.
  const a = await probe(box, [
    tcp(ADDR.private), udp(ADDR.private), tcp('0x0afbc802'),
    tcp(ADDR.public), tcp('3405803786'), tcp('0313.0.0161.012'), udp(ADDR.public), icmp(ADDR.public),
    tcp(ADDR.metadata), tcp('10.0.2.2'), tcp(ADDR.runner[0]),
  ]);
  assert.equal(a.get(`tcp ${ADDR.private}:8080`), `tcp:${ADDR.private}`);
  reached(a.get(`udp ${ADDR.private}`), 'UDP to the allowed host');
  assert.equal(a.get('tcp 0x0afbc802:8080'), `tcp:${ADDR.private}`, 'the allowed host by another spelling is still it');
  for (const spelled of [ADDR.public, '3405803786', '0313.0.0161.012']) refusedTcp(a.get(`tcp ${spelled}:8080`), `TCP to ${spelled} (the public host)`);
  reached(a.get(`udp ${ADDR.public}`), 'the one allowed port of the public host');
  unreachable(a.get(`icmp ${ADDR.public}`), 'ping of a host only one UDP port of which is allowed');
  refusedTcp(a.get(`tcp ${ADDR.metadata}:8080`), 'the metadata server');
  refusedTcp(a.get('tcp 10.0.2.2:8080'), 'the gateway address');
  refusedTcp(a.get(`tcp ${ADDR.runner[0]}:8080`), 'the host itself');

  // Live, on the next connection: deny beats allow.
  await box.call({ op: 'update', policy: { egress: { allow: ['10.251.200.0/30'], deny: [`${ADDR.private}:8080/tcp`] } } });
  const b = await probe(box, [tcp(ADDR.private), udp(ADDR.private), tcp(ADDR.runner[1])]);
  refusedTcp(b.get(`tcp ${ADDR.private}:8080`), 'a denied port of an allowed network');
  reached(b.get(`udp ${ADDR.private}`), 'the rest of the allowed network');
  refusedTcp(b.get(`tcp ${ADDR.runner[1]}:8080`), 'the host\'s own address inside an allowed network');
  assert.deepEqual((await box.call<BoxInfo>({ op: 'info' })).network.egress, { allow: ['10.251.200.0/30'], deny: [`${ADDR.private}:8080/tcp`] });
  await box.call({ op: 'remove' });
});

test('updateNetwork from another process takes effect on the next connection; the policy survives a restart (snapshot start)', { skip }, async () => {
  const home = freshHome('boxlite-policy-', homes);
  const owner = net.driver(home);
  const id = await owner.call<string>({ op: 'create', options: { detach: true } });
  refusedTcp((await probe(owner, [tcp(ADDR.private)])).get(`tcp ${ADDR.private}:8080`), 'the private host under public');
  const other = net.driver(home);
  await other.call({ op: 'attach', id });
  await other.call({ op: 'update', policy: { egress: { allow: [ADDR.private] } } });
  const a = await probe(owner, [tcp(ADDR.private), tcp(ADDR.public)]);
  assert.equal(a.get(`tcp ${ADDR.private}:8080`), `tcp:${ADDR.private}`, 'opened by the other process');
  refusedTcp(a.get(`tcp ${ADDR.public}:8080`), 'closed by the other process');
  await owner.call({ op: 'stop' });
  const mode = await owner.call<{ restored: boolean }>({ op: 'start' });
  assert.equal(mode.restored, true, 'restarted from a snapshot');
  const b = await probe(owner, [tcp(ADDR.private), tcp(ADDR.public)]);
  assert.equal(b.get(`tcp ${ADDR.private}:8080`), `tcp:${ADDR.private}`);
  refusedTcp(b.get(`tcp ${ADDR.public}:8080`), 'still closed after the restart');
  // Crossing "none" needs a restart: InvalidState, nothing changed.
  assert.equal((await other.fail({ op: 'update', policy: { egress: 'none' } })).code, 'InvalidState');
  await owner.call({ op: 'remove' });
  assert.doesNotMatch(net.tables(), /boxlite_/);
});

test('domain rules: an allowed name is reachable at the addresses its lookup returned; another name of the same server is not; a denied name does not resolve', { skip }, async () => {
  const box = net.driver(freshHome('boxlite-policy-', homes));
  await box.call({ op: 'create', options: { network: { egress: { allow: ['public.test:8080/tcp'], deny: ['*.denied.test'] } } } });
  refusedTcp((await probe(box, [tcp(ADDR.public)])).get(`tcp ${ADDR.public}:8080`), 'the allowed name\'s address before any lookup');
  const r = await box.call<Sh>({ op: 'sh', script: `${tcp('public.test')}; ${tcp('other.test')}; nslookup x.denied.test 2>&1 | tail -n 2 | tr '\\n' ' '; echo; nslookup other.test 2>&1 | grep -q ${ADDR.publicOther} && echo resolves` });
  const [allowed, other, denied, otherResolves] = r.stdout.trim().split('\n').map((l) => l.trim());
  unreachable((await probe(box, [udp(ADDR.public)])).get(`udp ${ADDR.public}`), 'DNS to any server but the box\'s forwarder');
  assert.equal(allowed, `tcp public.test:8080 tcp:${ADDR.public}`, 'the allowed name, at the address its lookup returned');
  assert.match(other ?? '', /^tcp other\.test:8080 .*Connection refused/, `the same server by another name (${ADDR.publicOther}) is refused: ${other}`);
  assert.match(denied ?? '', /NXDOMAIN|can't find/i, `a denied name does not resolve: ${denied}`);
  assert.equal(otherResolves, 'resolves', 'names the rules do not name still resolve');
  // Live: the forwarder follows an update at once.
  await box.call({ op: 'update', policy: { egress: { allow: ['other.test'] } } });
  assert.match((await probe(box, [tcp('other.test')])).get('tcp other.test:8080') ?? '', new RegExp(`^tcp:${ADDR.publicOther.replace(/\./g, '\\.')}$`));
  await box.call({ op: 'remove' });
  assert.doesNotMatch(net.tables(), /boxlite_/);
});

test('none: no network device at all, only the portal; bad rules are InvalidArgument naming the rule', { skip }, async () => {
  const box = net.driver(freshHome('boxlite-policy-', homes));
  await box.call({ op: 'create', options: { network: { egress: 'none' } } });
  const r = await box.call<Sh>({ op: 'sh', script: 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "' });
  assert.equal(r.stdout.trim(), 'lo', 'only the loopback interface');
  assert.doesNotMatch(net.tables(), /boxlite_/, 'nothing to enforce: no table');
  await box.call({ op: 'remove' });
  for (const [rule, field] of [['10.0.0.0/33', /allow\[0\]/], ['example..com', /allow\[0\]/], ['1.2.3.4:0', /allow\[0\]/], ['1.2.3.4:80/icmp', /ICMP has no ports/]] as const) {
    const e = await box.fail({ op: 'create', options: { network: { egress: { allow: [rule] } } } });
    assert.equal(e.code, 'InvalidArgument', rule);
    assert.match(e.message, field, rule);
    assert.ok(e.message.includes(JSON.stringify(rule)), `the message names the rule: ${e.message}`);
  }
});

test('a host process killed with SIGKILL leaves no rule a later box could inherit: the next runtime on the home removes it', { skip }, async () => {
  const home = freshHome('boxlite-policy-', homes);
  const owner = net.driver(home);
  await owner.call({ op: 'create', options: { network: { egress: { allow: ['public.test'] } } } });
  assert.match(net.tables(), /boxlite_/, 'the running box has its table');
  owner.proc.kill('SIGKILL'); // its box dies with it (not detached); nothing removes the table
  await new Promise((resolve) => owner.proc.once('exit', resolve));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const next = net.driver(home); // its runtime opens on this home, which runs recovery
  assert.match((await next.fail({ op: 'info' })).message, /no box yet/, 'the second process is up');
  assert.doesNotMatch(net.tables(), /boxlite_/, 'recovery removed the table of the box that is gone');
});
