// The box network's download throughput: a box fetching from a server in a test network namespace, beside the host
// fetching the same bytes from the same server (no VM), both in MB/s.
import http from 'node:http';
import { BoxCommand } from '../src/runtime/command.js';
import type { LiteBox } from '../src/runtime/box.js';
import { netnsUnavailable, testNetns } from '../test/helpers/netns.js';

const PORT = 9000;

/** Download MB/s into `box` and onto the host, or the reason it cannot be measured here. */
export async function downloadThroughput(box: LiteBox, bytes: number): Promise<{ boxMBs: number; hostMBs: number } | { skipped: string }> {
  const why = netnsUnavailable();
  if (why) return { skipped: why };
  const ns = testNetns();
  try {
    await ns.startBulkServer(PORT);
    const url = `http://${ns.nsIp}:${PORT}/${bytes}`;
    let t = performance.now();
    const run = await box.run(new BoxCommand('sh').args(['-c', `wget -q -O - ${url} | wc -c`]).timeout(600_000));
    const got = Number((await run.stdout()!.text()).trim());
    await run.wait();
    if (got !== bytes) throw new Error(`the box downloaded ${got} of ${bytes} bytes from ${url}`);
    const boxMBs = bytes / 1e6 / ((performance.now() - t) / 1000);
    t = performance.now();
    const hostGot = await new Promise<number>((resolve, reject) => {
      http.get(url, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => { n += c.length; });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      }).on('error', reject);
    });
    if (hostGot !== bytes) throw new Error(`the host downloaded ${hostGot} of ${bytes} bytes from ${url}`);
    return { boxMBs, hostMBs: bytes / 1e6 / ((performance.now() - t) / 1000) };
  } finally {
    ns.remove();
  }
}
