// `node dist/bench/images.js`: cold pull+unpack+convert and warm prepare of the test images, side by side with
// `skopeo copy` + `umoci unpack` of the same images from the same loopback registry, printed as ratios.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ImageStore, prepareImageRootfs } from '../src/images/index.js';
import { busyboxImage } from '../test/fixtures/images.js';
import { pushPythonImage, pythonImageUnavailable } from '../test/fixtures/python-image.js';
import { pushImage, registryUnavailable, startRegistry } from '../test/helpers/registry.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);

/** Installs skopeo and umoci (the baseline's tools) when missing; they are only needed here. */
function ensureBaselineTools(): void {
  const missing = ['skopeo', 'umoci'].filter((t) => {
    try { execFileSync('which', [t], { stdio: 'ignore' }); return false; } catch { return true; }
  });
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}: apt-get install -y --no-install-recommends skopeo umoci`);
  process.stderr.write(`bench: installing ${missing.join(' ')}\n`);
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'skopeo', 'umoci'], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const time = (fn: () => void): number => { const t0 = performance.now(); fn(); return performance.now() - t0; };

interface Row { name: string; ours: Record<string, number[]>; base: Record<string, number[]> }

async function benchImage(name: string, ref: string, registry: string): Promise<Row> {
  const row: Row = { name, ours: { pull: [], unpack: [], convert: [], cold: [], warm: [] }, base: { copy: [], unpack: [], cold: [], warm: [] } };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-bench-images-'));
  try {
    for (let i = 0; i < RUNS; i++) {
      const home = path.join(work, `home-${i}`);
      const t0 = performance.now();
      const r = await prepareImageRootfs(new ImageStore({ homeDir: home }), ref);
      row.ours.cold!.push(performance.now() - t0);
      row.ours.pull!.push(r.timings.pullMs);
      row.ours.unpack!.push(r.timings.unpackMs);
      row.ours.convert!.push(r.timings.convertMs);
      const t1 = performance.now();
      await prepareImageRootfs(new ImageStore({ homeDir: home }), ref); // a new process's view of the same home
      row.ours.warm!.push(performance.now() - t1);
      fs.rmSync(home, { recursive: true, force: true });

      const layout = path.join(work, `oci-${i}`);
      const tag = 'bench';
      const copy = time(() => execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:${tag}`], { stdio: 'ignore' }));
      const unpack = time(() => execFileSync('umoci', ['unpack', '--image', `${layout}:${tag}`, path.join(work, `bundle-${i}`)], { stdio: 'ignore' }));
      row.base.copy!.push(copy);
      row.base.unpack!.push(unpack);
      row.base.cold!.push(copy + unpack);
      // Their second container of the same image: the blobs are in the layout, but every container unpacks again.
      const warm = time(() => {
        execFileSync('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${layout}:${tag}`], { stdio: 'ignore' });
        execFileSync('umoci', ['unpack', '--image', `${layout}:${tag}`, path.join(work, `bundle-${i}-2`)], { stdio: 'ignore' });
      });
      row.base.warm!.push(warm);
      fs.rmSync(path.join(work, `bundle-${i}`), { recursive: true, force: true });
      fs.rmSync(path.join(work, `bundle-${i}-2`), { recursive: true, force: true });
      fs.rmSync(layout, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  void registry;
  return row;
}

function print(rows: Row[]): void {
  const ms = (v: number): string => `${v.toFixed(v < 10 ? 1 : 0)} ms`.padStart(10);
  const ratio = (a: number, b: number): string => `${a / b >= 0.1 ? (a / b).toFixed(2) : (a / b).toPrecision(2)}×`.padStart(9);
  process.stdout.write(`\nimages benchmark (median of ${RUNS}; loopback registry; ours = BoxLite, base = skopeo copy + umoci unpack)\n`);
  process.stdout.write(`${'image'.padEnd(10)} ${'stage'.padEnd(34)} ${'ours'.padStart(10)} ${'base'.padStart(10)} ${'ours/base'.padStart(9)}\n`);
  for (const r of rows) {
    const o = (k: string): number => median(r.ours[k]!);
    const b = (k: string): number => median(r.base[k]!);
    const lines: [string, number, number | undefined][] = [
      ['pull (download+verify) vs copy', o('pull'), b('copy')],
      ['unpack vs umoci unpack', o('unpack'), b('unpack')],
      ['convert (mke2fs -d)', o('convert'), undefined],
      ['pull+unpack vs copy+unpack', o('pull') + o('unpack'), b('cold')],
      ['cold prepare (incl. disk) vs cold', o('cold'), b('cold')],
      ['warm prepare vs 2nd container', o('warm'), b('warm')],
    ];
    for (const [label, ours, base] of lines) {
      process.stdout.write(`${r.name.padEnd(10)} ${label.padEnd(34)} ${ms(ours)} ${base === undefined ? ''.padStart(10) : ms(base)} ${base === undefined ? '' : ratio(ours, base)}\n`);
    }
  }
}

const why = registryUnavailable();
if (why) throw new Error(why);
ensureBaselineTools();
const reg = await startRegistry('none');
try {
  const rows: Row[] = [];
  await pushImage(reg, 'bench/busybox', 'latest', await busyboxImage());
  rows.push(await benchImage('busybox', `${reg.host}/bench/busybox:latest`, reg.host));
  const noPython = pythonImageUnavailable();
  if (noPython) process.stderr.write(`bench: skipping the Python image: ${noPython}\n`);
  else rows.push(await benchImage('python', await pushPythonImage(reg), reg.host));
  print(rows);
} finally {
  await reg.close();
}
