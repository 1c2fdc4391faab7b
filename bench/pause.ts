// The bench's pause/resume/fork rows: each beside the nearest figure of ours from the same run.
import fs from 'node:fs';
import { BoxPaths } from '../src/runtime/box-paths.js';
import { BoxCommand } from '../src/runtime/command.js';
import type { BoxliteRuntime } from '../src/runtime/runtime.js';
import { boxPss } from './procs.js';

const FORKS = Number(process.env.BENCH_FORKS ?? 3);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** What the rows compare with: medians of the run's restored and cold starts, and an idle restored box's PSS. */
export interface PauseBaselines {
  restoredMs: number;
  coldMs: number;
  idlePssBytes: number;
}

/**
 * Rows: pause (beside stop), resume + run('true') + wait (beside a start from the shape's template), fork per
 * clone (beside a cold start), and the PSS of FORKS forks of one box (beside an idle box from the template).
 */
export async function pauseForkRows(runtime: BoxliteRuntime, homeDir: string, shape: { cpus: number; memoryMib: number }, rootfs: string, rounds: number,
  base: PauseBaselines, row: (n: string, a: string, b: string, r: string) => string): Promise<string[]> {
  const pauses: number[] = [];
  const resumes: number[] = [];
  const stops: number[] = [];
  const stateBytes: number[] = [];
  const answer = async (box: Awaited<ReturnType<BoxliteRuntime['create']>>): Promise<void> => { await (await box.run(new BoxCommand('true'))).wait(); };
  for (let i = 0; i < rounds; i++) {
    const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape });
    await answer(box);
    let t = performance.now();
    await box.pause();
    pauses.push(performance.now() - t);
    stateBytes.push(box.info().status.isPaused() ? await savedBytes(homeDir, box.id.asStr()) : NaN);
    t = performance.now();
    await box.resume();
    await answer(box);
    resumes.push(performance.now() - t);
    t = performance.now();
    await box.stop();
    stops.push(performance.now() - t);
  }
  const source = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape });
  await answer(source);
  const t = performance.now();
  const forks = await source.fork({ count: FORKS });
  for (const f of forks) await answer(f);
  const forkMs = (performance.now() - t) / FORKS;
  await new Promise((r) => setTimeout(r, 2000));
  const forkPss = forks.map((f) => boxPss(homeDir, f.id.asStr())).reduce((a, b) => a + b, 0) / FORKS;
  for (const b of [...forks, source]) await b.stop();
  const mib = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MiB`;
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  return [
    row('pause (memory saved, VM ended)', ms(median(pauses)), ms(median(stops)), `${(median(pauses) / median(stops)).toFixed(2)}x`),
    `   (baseline: stop() of the same box; its saved state: ${mib(median(stateBytes))} for a ${shape.memoryMib} MiB guest, medians of ${rounds})`,
    row('resume + run(true) + wait', ms(median(resumes)), ms(base.restoredMs), `${(median(resumes) / base.restoredMs).toFixed(2)}x`),
    '   (baseline: a new box of the shape restored from its template, create + run + wait, above)',
    row(`fork into ${FORKS}, per clone, to answered`, ms(forkMs), ms(base.coldMs), `${(forkMs / base.coldMs).toFixed(2)}x`),
    '   (baseline: a cold start, above; a fork saves the running source, makes one shared RAM file, copies the disk per clone)',
    row(`${FORKS} forks of one box, PSS each`, mib(forkPss), mib(base.idlePssBytes), `${(forkPss / base.idlePssBytes).toFixed(2)}x`),
    '   (all of a fork\'s host processes, mean; baseline: an idle box restored from the template, above)',
  ];
}

// The bytes a paused box's saved VM holds on disk.
async function savedBytes(homeDir: string, boxId: string): Promise<number> {
  const dir = new BoxPaths(homeDir, boxId).savedVm;
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(`${dir}/${f}`).blocks * 512, 0);
}
