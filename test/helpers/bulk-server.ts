// A server for network tests, run inside a test network namespace: `node bulk-server.js IP PORT`.
// On each connection it reads one line, a byte count N (or an HTTP `GET /N` request line), and sends N bytes of the
// bulk stream, then closes; as HTTP when the line was a GET. It prints "listening" once it accepts connections.
import net from 'node:net';
import { bulkChunks } from './bulk-bytes.js';

const MAX_BYTES = 1 << 30;
const [ip, port] = process.argv.slice(2);

// allowHalfOpen: a client that shut down its sending side still gets everything (the case under test).
const server = net.createServer({ allowHalfOpen: true }, (sock) => {
  let line = '';
  const onData = (d: Buffer): void => {
    line += d.toString('latin1');
    if (line.length > 4096) sock.destroy();
    const nl = line.indexOf('\n');
    if (nl < 0) return;
    sock.off('data', onData);
    const req = line.slice(0, nl).trim();
    const http = /^GET \/(\d+) HTTP\/1\.[01]$/.exec(req);
    const bytes = Number(http ? http[1] : req);
    if (!Number.isInteger(bytes) || bytes < 0 || bytes > MAX_BYTES) { sock.destroy(); return; }
    if (http) sock.write(`HTTP/1.0 200 OK\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n`);
    sock.on('error', () => undefined);
    const chunks = bulkChunks(bytes);
    const pump = (): void => {
      for (let c = chunks.next(); !c.done; c = chunks.next()) if (!sock.write(c.value)) { sock.once('drain', pump); return; }
      sock.end();
    };
    pump();
  };
  sock.on('data', onData);
  sock.on('error', () => undefined);
});
server.listen(Number(port), ip, () => console.log('listening'));
