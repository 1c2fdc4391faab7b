// The bench's "many at once" rows: N boxes started together from one process, beside one box started alone.
import fs from 'node:fs';
import { BoxCommand } from '../src/runtime/command.js';
import type { BoxliteRuntime } from '../src/runtime/runtime.js';

const MANY = Number(process.env.BENCH_MANY ?? 20);

/** Bytes of host memory in use (MemTotal - MemAvailable). */
function hostUsedBytes(): number {
  const info = fs.readFileSync('/proc/meminfo', 'utf8');
  const kb = (k: string): number => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(info)?.[1] ?? 0);
  return (kb('MemTotal') - kb('MemAvailable')) * 1024;
}

/**
 * Rows: the time until MANY boxes started at once (create + run('true') + wait each) have all answered, and the
 * host memory they took at the peak (sampled every 50 ms), beside one box started alone in the same run.
 */
export async function manyBoxesRows(runtime: BoxliteRuntime, shape: { cpus: number; memoryMib: number }, rootfs: string, row: (n: string, a: string, b: string, r: string) => string): Promise<string[]> {
  const start = async (): Promise<Awaited<ReturnType<BoxliteRuntime['create']>>> => {
    const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape });
    await (await box.run(new BoxCommand('true'))).wait();
    return box;
  };
  let t0 = performance.now();
  const alone = await start();
  const aloneMs = performance.now() - t0;
  await alone.stop();

  const baseBytes = hostUsedBytes();
  let peakBytes = baseBytes;
  const sampler = setInterval(() => { peakBytes = Math.max(peakBytes, hostUsedBytes()); }, 50);
  t0 = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: MANY }, () => start()));
  const allMs = performance.now() - t0;
  peakBytes = Math.max(peakBytes, hostUsedBytes());
  clearInterval(sampler);
  const boxes = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [String((s.reason as Error).message ?? s.reason).split('\n')[0]] : []));
  await Promise.all(boxes.map((b) => b.stop()));
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  return [
    row(`${MANY} boxes at once: all answered`, `${allMs.toFixed(0)} ms`, `${aloneMs.toFixed(0)} ms`, `${(allMs / aloneMs).toFixed(2)}x`),
    `   (${boxes.length} of ${MANY} started${failures.length ? `; failed: ${[...new Set(failures)].join('; ')}` : ''}; baseline: one box alone, same shape; `
      + `host memory at the peak: +${mib(peakBytes - baseBytes)}, ${mib((peakBytes - baseBytes) / MANY)} per box)`,
  ];
}
