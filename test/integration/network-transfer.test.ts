// Bulk transfers through the box network, both ways, checked byte for byte with sha256 on both sides.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import { test } from 'node:test';
import { busyboxBox, sh } from '../helpers/boxes.js';
import { bulkSha256 } from '../helpers/bulk-bytes.js';
import { netnsUnavailable, testNetns } from '../helpers/netns.js';

const BYTES = 100 * 1024 * 1024;
const PORT = 9000;
/** A bound on a hung transfer (they take seconds; the stall this guards against waited forever). */
const TRANSFER_TIMEOUT_S = 300;

/** GETs `url` and hashes the body as it streams; resolves with its sha256 and length. */
function fetchSha256(url: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      const h = crypto.createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => { h.update(c); bytes += c.length; });
      res.on('end', () => resolve({ sha256: h.digest('hex'), bytes }));
      res.on('error', reject);
    }).on('error', reject).setTimeout(TRANSFER_TIMEOUT_S * 1000, function (this: http.ClientRequest) { this.destroy(new Error(`no data from ${url} for ${TRANSFER_TIMEOUT_S} s`)); });
  });
}

test('hostile review #1: a box downloads 100 MB from a server in a test network namespace (also after its client half-closed, as `printf | nc` does) and sends 100 MB out through a published port, byte-identical (sha256 on both sides)', { skip: netnsUnavailable() }, async (t) => {
  const ns = testNetns();
  t.after(() => ns.remove());
  await ns.startBulkServer(PORT);
  const expected = bulkSha256(BYTES);
  // The test namespace is a private address: the box's policy allows it (and nothing else).
  const box = await busyboxBox({ ports: [{ guestPort: 8080, hostIp: '127.0.0.1' }], network: { egress: { allow: [`${ns.nsIp}/32`] } } });
  const bounded = (c: Parameters<NonNullable<Parameters<typeof sh>[2]>>[0]) => c.timeout((TRANSFER_TIMEOUT_S + 30) * 1000);

  // The review's case: nc sends the request, its stdin ends, so it shuts down its sending side (a FIN to passt)
  // before the 100 MB come back. Debian 12's passt stalled here after a socket buffer and replayed bytes.
  const halfClosed = await sh(box, `printf '${BYTES}\\n' | timeout ${TRANSFER_TIMEOUT_S} nc ${ns.nsIp} ${PORT} | sha256sum`, bounded);
  assert.equal(halfClosed.stdout, `${expected}  -\n`, `nc after a half-close got other bytes (stderr: ${halfClosed.stderr})`);

  // A client that keeps both directions open (HTTP with busybox wget).
  const viaHttp = await sh(box, `timeout ${TRANSFER_TIMEOUT_S} wget -q -O - http://${ns.nsIp}:${PORT}/${BYTES} | sha256sum`, bounded);
  assert.equal(viaHttp.stdout, `${expected}  -\n`, `wget got other bytes (stderr: ${viaHttp.stderr})`);

  // Out of the box: 100 MB made in the guest, hashed there, fetched by the host through the published port.
  const made = await sh(box, `mkdir -p /srv && dd if=/dev/urandom of=/srv/blob bs=1048576 count=${BYTES / 1048576} 2>/dev/null && sha256sum /srv/blob && httpd -p 8080 -h /srv`, bounded);
  assert.equal(made.exitCode, 0, made.stderr);
  const guestSha = made.stdout.split(' ')[0]!;
  const [published] = box.info().ports;
  const got = await fetchSha256(`http://127.0.0.1:${published!.hostPort}/blob`);
  assert.deepEqual(got, { sha256: guestSha, bytes: BYTES });
  await box.stop();
});
