// Test hosts' servers for network policy tests, run in a test namespace: `node policy-hosts.js [ADDRESS]`. On that
// address (default every address):
// TCP 8080 answers "tcp:<address reached>", UDP 53 answers any DNS query with one A record: 203.0.113.11 for
// other.test, 203.0.113.10 for every other name.
// Prints "listening" once both listen.
import dgram from 'node:dgram';
import net from 'node:net';

const tcp = net.createServer((s) => { s.on('error', () => undefined); s.end(`tcp:${s.localAddress}\n`); });
const dns = dgram.createSocket('udp4');
dns.on('message', (q, from) => {
  if (q.length < 12) return;
  let end = 12;
  while (end < q.length && q[end] !== 0) end += q[end]! + 1;
  const question = q.subarray(12, end + 5);
  const name = q.subarray(12, end).toString('latin1');
  const last = name.endsWith('other' + String.fromCharCode(4) + 'test') ? 11 : 10; // labels: length-prefixed
  const header = Buffer.from([q[0]!, q[1]!, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const answer = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 203, 0, 113, last]);
  dns.send(Buffer.concat([header, question, answer]), from.port, from.address);
});
const at = process.argv[2] ?? '0.0.0.0';
let ready = 0;
const up = (): void => { if (++ready === 2) process.stdout.write('listening\n'); };
tcp.listen(8080, at, up);
dns.bind(53, at, up);
