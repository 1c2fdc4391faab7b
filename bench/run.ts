// `npm run bench`: our cold start, exec latency and throughput, side by side with baselines from the same run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxPaths } from '../src/runtime/box-paths.js';
import { BoxCommand } from '../src/runtime/command.js';
import { BoxliteRuntime } from '../src/runtime/runtime.js';
import { findGuestArtifacts } from '../src/setup/index.js';
import { chooseAccelerator } from '../src/vmm/accel.js';
import { busyboxRootfs } from '../test/fixtures/rootfs.js';
import { bareBootMs, floorInitrd } from './floor.js';
import { downloadThroughput } from './network.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const EXECS = Number(process.env.BENCH_EXECS ?? 200);
const THROUGHPUT_MB = Number(process.env.BENCH_MB ?? 200);
const NETWORK_MB = Number(process.env.BENCH_NET_MB ?? 100);
const homeDir = process.env.BOXLITE_HOME ?? path.join(os.homedir(), '.boxlite');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const row = (name: string, ours: string, base: string, ratio: string): string => `${name.padEnd(34)} ${ours.padStart(14)} ${base.padStart(14)} ${ratio.padStart(8)}`;

async function main(): Promise<void> {
  const guest = findGuestArtifacts(homeDir);
  const accel = chooseAccelerator('auto');
  const rootfs = busyboxRootfs();
  const shape = { cpus: 1, memoryMib: 256 };
  console.log(`accelerator: ${accel.accelerator} (${accel.reason}); kernel ${guest.kernelVersion}; ${ROUNDS} rounds; ${os.cpus().length} host cores\n`);

  const floor: number[] = [];
  const cold: number[] = [];
  const restored: number[] = [];
  const stages: Record<string, number[]> = {};
  const initrd = floorInitrd();
  await using coldRuntime = new BoxliteRuntime({ homeDir, snapshots: false });
  await using runtime = new BoxliteRuntime({ homeDir, snapshots: true });
  const startOnce = async (rt: BoxliteRuntime): Promise<{ ms: number; box: Awaited<ReturnType<BoxliteRuntime['create']>> }> => {
    const t0 = performance.now();
    const box = await rt.create({ rootfs: { rootfsPath: rootfs }, ...shape });
    await (await box.run(new BoxCommand('true'))).wait();
    return { ms: performance.now() - t0, box };
  };
  const first = await startOnce(runtime); // makes the snapshot of this shape when there is none yet
  const firstRestored = first.box.stageTimings?.startMode?.restored;
  await first.box.stop();
  for (let i = 0; i < ROUNDS; i++) {
    floor.push(await bareBootMs(guest.kernelPath, initrd, accel.accelerator, shape.memoryMib, shape.cpus));
    const c = await startOnce(coldRuntime);
    cold.push(c.ms);
    for (const [k, v] of Object.entries(c.box.stageTimings ?? {})) if (typeof v === 'number') (stages[k] ??= []).push(v);
    await c.box.stop();
    const r = await startOnce(runtime);
    if (!r.box.stageTimings?.startMode?.restored) throw new Error(`a box did not start from the snapshot: ${JSON.stringify(r.box.stageTimings?.startMode)}`);
    restored.push(r.ms);
    await r.box.stop();
  }

  const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape });
  await box.start();
  const portal = box.session!.portal;
  const pings: number[] = [];
  const execs: number[] = [];
  for (let i = 0; i < EXECS; i++) {
    let t = performance.now();
    await portal.ping();
    pings.push(performance.now() - t);
    t = performance.now();
    await (await box.run(new BoxCommand('true'))).wait();
    execs.push(performance.now() - t);
  }
  const bytes = THROUGHPUT_MB * 1024 * 1024;
  let t = performance.now();
  // dd with 64 KiB blocks: busybox `head` is itself CPU-bound under emulation (~9 MB/s inside the guest).
  const run = await box.run(new BoxCommand('dd').args(['if=/dev/zero', 'bs=65536', `count=${bytes / 65536}`]));
  let got = 0;
  for await (const c of run.stdout()!.bytes()) got += c.length;
  await run.wait();
  const oursMBs = got / 1e6 / ((performance.now() - t) / 1000);
  t = performance.now();
  const hostMBs = await hostPipe(bytes).then((n) => n / 1e6 / ((performance.now() - t) / 1000));
  const download = await downloadThroughput(box, NETWORK_MB * 1024 * 1024);
  const rssBytes = (await box.metrics()).memoryBytes ?? NaN;
  const passtBytes = rssOfProcessWith(new BoxPaths(homeDir, box.id.asStr()).networkSocket);
  await box.stop();

  console.log(row('measure', 'boxlite', 'baseline', 'ratio'));
  console.log(row('cold start: create+run(true)+wait', ms(median(cold)), ms(median(floor)), `${(median(cold) / median(floor)).toFixed(2)}x`));
  console.log('   (baseline: bare QEMU boot of the same kernel + trivial init, to its first line; medians)');
  for (const [k, v] of Object.entries(stages)) console.log(`   ${k.padEnd(28)} ${ms(median(v)).padStart(12)}`);
  console.log(row('snapshot start: create+run+wait', ms(median(restored)), ms(median(floor)), `${(median(restored) / median(floor)).toFixed(2)}x`));
  console.log(row('snapshot start vs cold start', ms(median(restored)), ms(median(cold)), `${(median(restored) / median(cold)).toFixed(2)}x`));
  console.log(`   (first box of this shape in this run: ${ms(first.ms)}, ${firstRestored ? 'restored' : 'cold'}; it makes the snapshot when none exists)`);
  console.log(row('guest boot (spawn to agent ready)', ms(median(stages.guestBootMs ?? [NaN])), ms(median(floor)), `${(median(stages.guestBootMs ?? [NaN]) / median(floor)).toFixed(2)}x`));
  console.log(row('exec round trip p50', ms(median(execs)), ms(median(pings)), `${(median(execs) / median(pings)).toFixed(1)}x`));
  console.log(row('exec round trip p99', ms(pct(execs, 0.99)), ms(pct(pings, 0.99)), `${(pct(execs, 0.99) / pct(pings, 0.99)).toFixed(1)}x`));
  console.log('   (baseline: portal PING round trip on the same box)');
  console.log(row('stdout throughput', `${oursMBs.toFixed(1)} MB/s`, `${hostMBs.toFixed(1)} MB/s`, `${(oursMBs / hostMBs).toFixed(3)}x`));
  console.log('   (baseline: the same `dd if=/dev/zero bs=64K` on the host, through a pipe into Node)');
  if ('skipped' in download) {
    console.log(`network download: not measured (${download.skipped})`);
  } else {
    console.log(row('network download into the box', `${download.boxMBs.toFixed(1)} MB/s`, `${download.hostMBs.toFixed(1)} MB/s`, `${(download.boxMBs / download.hostMBs).toFixed(3)}x`));
    console.log(`   (${NETWORK_MB} MiB over HTTP from a server in a test network namespace: busybox wget in the box through passt; baseline: the host fetching the same from the same server)`);
  }
  console.log(`memory per running box: ${(rssBytes / 1024 / 1024).toFixed(0)} MiB RSS of its QEMU (${shape.memoryMib} MiB guest, restored from a snapshot, idle after the runs above) + ${(passtBytes / 1024 / 1024).toFixed(0)} MiB of its network process (passt); no other process per box`);
}

/** The RSS of the process whose command line mentions `marker` (0 when there is none). */
function rssOfProcessWith(marker: string): number {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      if (kb) return Number(kb) * 1024;
    } catch { /* the process ended */ }
  }
  return 0;
}

function hostPipe(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('dd', ['if=/dev/zero', 'bs=65536', `count=${bytes / 65536}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    let n = 0;
    child.stdout.on('data', (c: Buffer) => { n += c.length; });
    child.on('close', () => resolve(n));
    child.on('error', reject);
  });
}

await main();
