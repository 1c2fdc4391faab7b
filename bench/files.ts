// The bench's files section: copyIn/copyOut of one N MiB file beside today's way (`cat` through a command's stdin or
// stdout), both in MiB/s in the same box; and the host's RSS growth during a large copyOut.
// BENCH_FILES_MB sizes the file (default 256); BENCH_FILES_RSS_MB the copyOut whose RSS is watched (default 1024, 0 skips).
import fs, { createReadStream, createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { BoxCommand } from '../src/runtime/command.js';
import type { LiteBox } from '../src/runtime/box.js';
import type { BoxliteRuntime } from '../src/runtime/runtime.js';
import { SecurityOptions } from '../src/runtime/security.js';

const FILE_MB = Number(process.env.BENCH_FILES_MB ?? 256);
const RSS_MB = Number(process.env.BENCH_FILES_RSS_MB ?? 1024);
const MiB = 1024 * 1024;

type Row = (name: string, ours: string, base: string, ratio: string) => string;

/** Seconds `fn` takes. */
async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/** A host file of `mib` MiB of random bytes. */
async function randomFile(file: string, mib: number): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < mib; i++) if (!out.write(randomBytes(MiB))) await once(out, 'drain');
  out.end();
  await once(out, 'close');
}

/** The size in bytes of a box file. */
async function boxSize(box: LiteBox, file: string): Promise<number> {
  return (await box.fs.stat(file)).size;
}

/** Today's way in: `cat > FILE` in the box, the host file written to its stdin. */
async function catIn(box: LiteBox, hostFile: string, guestFile: string): Promise<void> {
  const run = await box.run(new BoxCommand('sh').args(['-c', `cat > ${guestFile}`]));
  const stdin = run.stdin()!;
  for await (const chunk of createReadStream(hostFile)) await stdin.write(chunk as Buffer);
  await stdin.close();
  const r = await run.wait();
  if (r.exitCode !== 0) throw new Error(`cat > ${guestFile} exited ${r.exitCode}`);
}

/** Today's way out: `cat FILE` in the box, its stdout written to a host file. */
async function catOut(box: LiteBox, guestFile: string, hostFile: string): Promise<void> {
  const run = await box.run(new BoxCommand('cat').arg(guestFile));
  const out = createWriteStream(hostFile);
  for await (const chunk of run.stdout()!.bytes()) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'close');
  const r = await run.wait();
  if (r.exitCode !== 0) throw new Error(`cat ${guestFile} exited ${r.exitCode}`);
}

/** Peak growth of this process's RSS (bytes) while `fn` runs, sampled every 20 ms. */
async function rssGrowth(fn: () => Promise<unknown>): Promise<number> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()); }, 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, process.memoryUsage.rss()) - before;
}

/** The rows of the files section, formatted with `row`. */
export async function fileCopyRows(runtime: BoxliteRuntime, shape: { cpus: number; memoryMib: number }, rootfs: string, row: Row): Promise<string[]> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-bench-files-'));
  const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape, security: SecurityOptions.standard() });
  try {
    await box.start();
    const src = path.join(work, 'src.bin');
    await randomFile(src, FILE_MB);
    const bytes = FILE_MB * MiB;
    const rate = (s: number): number => FILE_MB / s;
    // Each transfer starts from the same state: the target gone, the box's dirty pages written, and its page cache
    // filled with a file of more than its memory (else the file written last is read from memory: /proc/sys is
    // read-only in a box, so no drop_caches); two rounds in alternating order, the best of each kept.
    const filler = await box.sh(`dd if=/dev/zero of=/root/filler bs=${MiB} count=${shape.memoryMib + 64} 2>&1`);
    if (filler.exitCode !== 0) throw new Error(`making /root/filler failed: ${filler.stdout}`);
    const settle = async (rm: string): Promise<void> => {
      const r = await box.sh(`rm -f ${rm || '/nonexistent'} && sync && cat /root/filler > /dev/null`);
      if (r.exitCode !== 0) throw new Error(`settling the box failed: ${r.stderr}`);
    };
    const best = { inOurs: Infinity, inBase: Infinity, outOurs: Infinity, outBase: Infinity };
    const timed = async (k: keyof typeof best, rm: string, fn: () => Promise<unknown>): Promise<void> => {
      await settle(rm);
      best[k] = Math.min(best[k], await seconds(fn));
    };
    for (const order of [['ours', 'base'], ['base', 'ours']]) {
      for (const who of order) {
        if (who === 'ours') await timed('inOurs', '/root/ours.bin', () => box.copyIn(src, '/root/ours.bin'));
        else await timed('inBase', '/root/base.bin', () => catIn(box, src, '/root/base.bin'));
      }
      for (const f of ['/root/ours.bin', '/root/base.bin']) if (await boxSize(box, f) !== bytes) throw new Error(`${f} in the box is not ${bytes} bytes`);
      for (const who of order) {
        fs.rmSync(path.join(work, `${who}.bin`), { force: true });
        if (who === 'ours') await timed('outOurs', '', () => box.copyOut('/root/ours.bin', path.join(work, 'ours.bin')));
        else await timed('outBase', '', () => catOut(box, '/root/base.bin', path.join(work, 'base.bin')));
      }
      for (const f of ['ours.bin', 'base.bin']) if (fs.statSync(path.join(work, f)).size !== bytes) throw new Error(`${f} on the host is not ${bytes} bytes`);
    }
    const { inOurs, inBase, outOurs, outBase } = best;
    await box.sh('rm -f /root/ours.bin /root/base.bin /root/filler');
    fs.rmSync(path.join(work, 'ours.bin'));
    fs.rmSync(path.join(work, 'base.bin'));
    const mibs = (s: number): string => `${rate(s).toFixed(1)} MiB/s`;
    const lines = [
      row(`copyIn ${FILE_MB} MiB file`, mibs(inOurs), mibs(inBase), `${(inBase / inOurs).toFixed(2)}x`),
      row(`copyOut ${FILE_MB} MiB file`, mibs(outOurs), mibs(outBase), `${(outBase / outOurs).toFixed(2)}x`),
      `   (baseline: \`sh -c 'cat > FILE'\` fed through the command's stdin, and \`cat FILE\` read from its stdout, in the same box, 64 KiB reads; each after \`sync\` and reading a file larger than the box's memory (its page cache evicted), best of 2 rounds in alternating order; ratio = boxlite's MiB/s over the baseline's)`,
    ];
    if (RSS_MB > 0) {
      await box.sh(`dd if=/dev/zero of=/root/big.bin bs=${MiB} count=${RSS_MB} 2>/dev/null && sync`);
      const big = path.join(work, 'big.bin');
      let s = 0;
      const grown = await rssGrowth(async () => { s = await seconds(() => box.copyOut('/root/big.bin', big)); });
      if (fs.statSync(big).size !== RSS_MB * MiB) throw new Error(`big.bin on the host is not ${RSS_MB} MiB`);
      lines.push(`host RSS growth during a ${RSS_MB} MiB copyOut: ${(grown / MiB).toFixed(1)} MiB peak (${(RSS_MB / s).toFixed(1)} MiB/s; sampled every 20 ms)`);
    }
    return lines;
  } finally {
    await box.stop().catch(() => undefined);
    await runtime.remove(box.id.asStr(), true).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
}
