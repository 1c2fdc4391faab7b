// `npm run bench`: our cold start, exec latency and throughput, side by side with baselines from the same run.
// BENCH_JAILER=0 skips the jailer section (standard vs development starts, the launcher supervisors' memory);
// BENCH_ROOTFS=0 the rootfs-directory disk rows (BENCH_ROOTFS_MB sizes its tree, default 187); BENCH_FILES=0 the
// copyIn/copyOut rows (BENCH_FILES_MB sizes the file, default 256; BENCH_FILES_RSS_MB the RSS-watched copyOut, default 1024);
// BENCH_SNAPSHOTS=0 the disk snapshot rows (BENCH_SNAPSHOT_MB sizes the data written first, default 64);
// BENCH_MANY=0 the boxes-at-once rows (BENCH_MANY=N starts N, default 20); BENCH_CONTAINERS=0 the container baselines
// beside the snapshot start (`crun run` and, where podman is installed, `podman run --rm` of the same busybox rootfs);
// BENCH_PAUSE=0 the pause/resume/fork rows (BENCH_FORKS sizes the fork, default 3).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BoxPaths } from '../src/runtime/box-paths.js';
import { BoxCommand } from '../src/runtime/command.js';
import { BoxliteRuntime } from '../src/runtime/runtime.js';
import { SecurityOptions } from '../src/runtime/security.js';
import type { BoxStageTimings } from '../src/runtime/stage-timings.js';
import { GuestCache } from '../src/runtime/guest-cache.js';
import { chooseAccelerator } from '../src/vmm/accel.js';
import { busyboxRootfs } from '../test/fixtures/rootfs.js';
import { containerRows, containerStarts } from './containers.js';
import { bareBootMs, floorInitrd } from './floor.js';
import { downloadThroughput } from './network.js';
import { fileCopyRows } from './files.js';
import { manyBoxesRows } from './many.js';
import { rootfsDiskRows } from './rootfs-disk.js';
import { boxPss, pids, processesWith } from './procs.js';
import { pauseForkRows } from './pause.js';
import { diskSnapshotRows } from './disk-snapshots.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const EXECS = Number(process.env.BENCH_EXECS ?? 200);
/** How many idle boxes of each kind the memory row runs at once. */
const IDLE_BOXES = Number(process.env.BENCH_IDLE_BOXES ?? 3);
/** How many times the in-box spawn baseline runs /bin/true. */
const SPAWN_LOOPS = 200;
const THROUGHPUT_MB = Number(process.env.BENCH_MB ?? 200);
const NETWORK_MB = Number(process.env.BENCH_NET_MB ?? 100);
const JAILER = process.env.BENCH_JAILER !== '0';
const ROOTFS = process.env.BENCH_ROOTFS !== '0';
const FILES = process.env.BENCH_FILES !== '0';
const MANY_ROWS = process.env.BENCH_MANY !== '0';
const CONTAINERS = process.env.BENCH_CONTAINERS !== '0';
const PAUSE = process.env.BENCH_PAUSE !== '0';
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS !== '0';
const homeDir = process.env.BOXLITE_HOME ?? path.join(os.homedir(), '.boxlite');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const row = (name: string, ours: string, base: string, ratio: string): string => `${name.padEnd(34)} ${ours.padStart(14)} ${base.padStart(14)} ${ratio.padStart(8)}`;

async function main(): Promise<void> {
  const guest = await new GuestCache().artifacts(); // the shared cache, built first when missing
  // The issue's yardstick is the cloud kernel's floor, whichever kernel the boxes boot.
  const cloudKernel = guest.kernelFlavor === 'cloud' ? guest : await new GuestCache({ kernel: 'cloud' }).artifacts();
  const accel = chooseAccelerator('auto');
  const rootfs = busyboxRootfs();
  const shape = { cpus: 1, memoryMib: 256 };
  console.log(`accelerator: ${accel.accelerator} (${accel.reason}); kernel ${guest.kernelVersion}; ${ROUNDS} rounds; ${os.cpus().length} host cores\n`);

  const floor: number[] = [];
  const cloudFloor: number[] = [];
  const cold: number[] = [];
  const restored: number[] = [];
  const devCold: number[] = [];
  const devRestored: number[] = [];
  const stages: Record<string, number[]> = {};
  const coldStages: Record<string, number[]> = {};
  const initrd = floorInitrd();
  await using coldRuntime = new BoxliteRuntime({ homeDir, snapshots: false });
  await using runtime = new BoxliteRuntime({ homeDir, snapshots: true });
  // Every box but the jailer section's development ones runs under the default, standard security (jailed).
  const startOnce = async (rt: BoxliteRuntime, security = SecurityOptions.standard()): Promise<{ ms: number; box: Awaited<ReturnType<BoxliteRuntime['create']>> }> => {
    const t0 = performance.now();
    const box = await rt.create({ rootfs: { rootfsPath: rootfs }, ...shape, security });
    await (await box.run(new BoxCommand('true'))).wait();
    return { ms: performance.now() - t0, box };
  };
  const first = await startOnce(runtime); // makes the snapshot of this shape when there is none yet
  const firstRestored = first.box.stageTimings?.startMode?.restored;
  await first.box.stop();
  if (JAILER) await (await startOnce(runtime, SecurityOptions.development())).box.stop(); // the same warm-up, unjailed
  const restoredStages: Record<string, number[]> = {};
  const restoredStart = async (security: SecurityOptions): Promise<number> => {
    const r = await startOnce(runtime, security);
    if (!r.box.stageTimings?.startMode?.restored) throw new Error(`a box did not start from the snapshot: ${JSON.stringify(r.box.stageTimings?.startMode)}`);
    if (security.preset === 'standard') collectBreakdown(restoredStages, r.ms, r.box.stageTimings);
    await r.box.stop();
    return r.ms;
  };
  // The jailer section's development starts interleave with the standard ones (the rows above it), round by round.
  for (let i = 0; i < ROUNDS; i++) {
    floor.push(await bareBootMs(guest.kernelPath, initrd, accel.accelerator, shape.memoryMib, shape.cpus));
    cloudFloor.push(cloudKernel === guest ? floor.at(-1)! : await bareBootMs(cloudKernel.kernelPath, initrd, accel.accelerator, shape.memoryMib, shape.cpus));
    const c = await startOnce(coldRuntime);
    cold.push(c.ms);
    for (const [k, v] of Object.entries(c.box.stageTimings ?? {})) if (typeof v === 'number') (stages[k] ??= []).push(v);
    collectBreakdown(coldStages, c.ms, c.box.stageTimings);
    await c.box.stop();
    if (JAILER) {
      const d = await startOnce(coldRuntime, SecurityOptions.development());
      devCold.push(d.ms);
      await d.box.stop();
    }
    restored.push(await restoredStart(SecurityOptions.standard()));
    if (JAILER) devRestored.push(await restoredStart(SecurityOptions.development()));
  }
  // The same rootfs started as a container (crun, podman), while no box runs.
  const containers = CONTAINERS ? await containerStarts(rootfs, ROUNDS) : undefined;

  // egress 'all': the download row fetches from a test namespace on a private address, which 'public' refuses.
  const box = await runtime.create({ rootfs: { rootfsPath: rootfs }, ...shape, security: SecurityOptions.standard(), network: { egress: 'all' } });
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
  // The guest's own floor for a command: busybox sh starting /bin/true and waiting for it, inside the same box.
  const inBoxSpawnMs = await inBoxSpawn(box, SPAWN_LOOPS);
  const bytes = THROUGHPUT_MB * 1024 * 1024;
  // dd with 64 KiB blocks: busybox `head` is itself CPU-bound under emulation (~9 MB/s inside the guest). One short
  // round first: the first transfer in a box also pays TCG translating its code path; then the median of three.
  const stdoutMBs = async (n: number): Promise<number> => {
    const t0 = performance.now();
    const run = await box.run(new BoxCommand('dd').args(['if=/dev/zero', 'bs=65536', `count=${n / 65536}`]));
    let got = 0;
    for await (const c of run.stdout()!.bytes()) got += c.length;
    await run.wait();
    return got / 1e6 / ((performance.now() - t0) / 1000);
  };
  await stdoutMBs(16 * 1024 * 1024);
  const oursMBs = median([await stdoutMBs(bytes), await stdoutMBs(bytes), await stdoutMBs(bytes)]);
  const t = performance.now();
  const hostMBs = await hostPipe(bytes).then((n) => n / 1e6 / ((performance.now() - t) / 1000));
  const download = await downloadThroughput(box, NETWORK_MB * 1024 * 1024);
  // info().pid is QEMU itself; under the jailer (standard) its parent is the launcher supervising it, counted apart.
  const vmmPid = box.info().pid!;
  const launcher = fs.realpathSync(guest.launcherPath);
  const vmmTree = [...treeOf(vmmPid), ...[parentOf(vmmPid)].filter((p) => exeOf(p) === launcher)];
  const rssBytes = vmmTree.reduce((n, p) => n + rssOf(p), 0);
  // Likewise passt with its supervisor: the processes whose command line holds the socket path, but QEMU's.
  const passtBytes = processesWith(new BoxPaths(homeDir, box.id.asStr()).networkSocket).filter((p) => !vmmTree.includes(p)).reduce((n, p) => n + rssOf(p), 0);
  const supervisors = JAILER ? processesWith(box.id.asStr()).filter((p) => exeOf(p) === launcher) : [];
  const supervisorBytes = supervisors.reduce((n, p) => n + rssOf(p), 0);
  const qemuBytes = vmmTree.filter((p) => exeOf(p) !== launcher).reduce((n, p) => n + rssOf(p), 0);
  await box.stop();
  // Idle boxes side by side: restored ones map their snapshot's RAM file copy-on-write and share its untouched
  // pages, which PSS counts once across them; cold-booted ones each hold their own anonymous RAM.
  const idlePss = async (rt: BoxliteRuntime): Promise<number> => {
    const boxes = [];
    for (let i = 0; i < IDLE_BOXES; i++) boxes.push((await startOnce(rt)).box);
    await new Promise((r) => setTimeout(r, 2000));
    const per = boxes.map((b) => boxPss(homeDir, b.id.asStr()));
    for (const b of boxes) await b.stop();
    return per.reduce((a, b) => a + b, 0) / per.length;
  };
  const restoredPss = await idlePss(runtime);
  const coldPss = await idlePss(coldRuntime);
  const pauseRows = PAUSE ? await pauseForkRows(runtime, homeDir, shape, rootfs, ROUNDS, { restoredMs: median(restored), coldMs: median(cold), idlePssBytes: restoredPss }, row) : [];
  const rootfsRows = ROOTFS ? await rootfsDiskRows(runtime, shape, ROUNDS, row) : [];
  const snapshotRows = SNAPSHOTS ? await diskSnapshotRows(runtime, shape, rootfs, ROUNDS, row) : [];
  const filesRows = FILES ? await fileCopyRows(runtime, shape, rootfs, row) : [];
  const manyRows = MANY_ROWS ? await manyBoxesRows(runtime, shape, rootfs, row) : [];

  console.log(row('measure', 'boxlite', 'baseline', 'ratio'));
  console.log(row('cold start: create+run(true)+wait', ms(median(cold)), ms(median(floor)), `${(median(cold) / median(floor)).toFixed(2)}x`));
  console.log('   (baseline: bare QEMU boot of the same kernel + trivial init, to its first line; medians)');
  for (const [k, v] of Object.entries(stages)) console.log(`   ${k.padEnd(28)} ${ms(median(v)).padStart(12)}`);
  console.log(row('snapshot start: create+run+wait', ms(median(restored)), ms(median(floor)), `${(median(restored) / median(floor)).toFixed(2)}x`));
  console.log('   where a start goes (medians, ms):');
  console.log(`   ${'stage'.padEnd(44)} ${'restored'.padStart(10)} ${'cold'.padStart(10)} ${'ratio'.padStart(7)}`);
  for (const k of Object.keys(restoredStages)) {
    const r = median(restoredStages[k]!);
    const c = median(coldStages[k] ?? [NaN]);
    console.log(`   ${(BREAKDOWN_LABELS[k] ?? k).padEnd(44)} ${r.toFixed(1).padStart(10)} ${c.toFixed(1).padStart(10)} ${`${(r / c).toFixed(2)}x`.padStart(7)}`);
  }
  if (cloudKernel !== guest) {
    console.log(row('cold start vs cloud kernel floor', ms(median(cold)), ms(median(cloudFloor)), `${(median(cold) / median(cloudFloor)).toFixed(2)}x`));
    console.log(row('snapshot start vs cloud kernel floor', ms(median(restored)), ms(median(cloudFloor)), `${(median(restored) / median(cloudFloor)).toFixed(2)}x`));
    console.log(`   (baseline: bare QEMU boot of Debian's cloud kernel ${cloudKernel.kernelVersion}, same trivial init; boxes boot ${guest.kernelVersion})`);
  }
  console.log(row('snapshot start vs cold start', ms(median(restored)), ms(median(cold)), `${(median(restored) / median(cold)).toFixed(2)}x`));
  console.log(`   (first box of this shape in this run: ${ms(first.ms)}, ${firstRestored ? 'restored' : 'cold'}; it makes the snapshot when none exists)`);
  if (containers) for (const line of containerRows(containers, median(restored), row)) console.log(line);
  console.log(row('guest boot (spawn to agent ready)', ms(median(stages.guestBootMs ?? [NaN])), ms(median(floor)), `${(median(stages.guestBootMs ?? [NaN]) / median(floor)).toFixed(2)}x`));
  console.log(row('exec round trip p50', ms(median(execs)), ms(median(pings)), `${(median(execs) / median(pings)).toFixed(1)}x`));
  console.log(row('exec round trip p99', ms(pct(execs, 0.99)), ms(pct(pings, 0.99)), `${(pct(execs, 0.99) / pct(pings, 0.99)).toFixed(1)}x`));
  console.log('   (baseline: portal PING round trip on the same box)');
  console.log(row('exec round trip p50 vs in-box spawn', ms(median(execs)), ms(inBoxSpawnMs), `${(median(execs) / inBoxSpawnMs).toFixed(1)}x`));
  console.log(`   (baseline: busybox sh in the box running /bin/true ${SPAWN_LOOPS} times, mean: process creation inside the emulated guest)`);
  console.log(row('stdout throughput', `${oursMBs.toFixed(1)} MB/s`, `${hostMBs.toFixed(1)} MB/s`, `${(oursMBs / hostMBs).toFixed(3)}x`));
  console.log(`   (${THROUGHPUT_MB} MiB, median of 3 after a 16 MiB round; baseline: the same \`dd if=/dev/zero bs=64K\` on the host, through a pipe into Node)`);
  if ('skipped' in download) {
    console.log(`network download: not measured (${download.skipped})`);
  } else {
    console.log(row('network download into the box', `${download.boxMBs.toFixed(1)} MB/s`, `${download.hostMBs.toFixed(1)} MB/s`, `${(download.boxMBs / download.hostMBs).toFixed(3)}x`));
    console.log(`   (${NETWORK_MB} MiB over HTTP from a server in a test network namespace: busybox wget in the box through passt; baseline: the host fetching the same from the same server)`);
  }
  for (const line of rootfsRows) console.log(line);
  for (const line of snapshotRows) console.log(line);
  console.log(row(`idle box, PSS of all its processes`, `${(restoredPss / 1024 / 1024).toFixed(0)} MiB`, `${(coldPss / 1024 / 1024).toFixed(0)} MiB`, `${(restoredPss / coldPss).toFixed(2)}x`));
  console.log(`   (${IDLE_BOXES} boxes of ${shape.memoryMib} MiB at once, mean per box: restored from the snapshot, whose RAM file they share; baseline: booted cold, each with its own RAM)`);
  for (const line of pauseRows) console.log(line);
  for (const line of filesRows) console.log(line);
  for (const line of manyRows) console.log(line);
  console.log(`memory per running box: ${(rssBytes / 1024 / 1024).toFixed(0)} MiB RSS of its QEMU (${shape.memoryMib} MiB guest, restored from a snapshot, idle after the runs above) + ${(passtBytes / 1024 / 1024).toFixed(0)} MiB of its network process (passt); each with its launcher supervisor (standard security), no other process per box`);
  if (!JAILER) return;

  console.log('\njailer (security presets, same run)');
  console.log(row('measure', 'standard', 'development', 'ratio'));
  console.log(row('snapshot start: create+run+wait', ms(median(restored)), ms(median(devRestored)), `${(median(restored) / median(devRestored)).toFixed(2)}x`));
  console.log(row('cold start: create+run(true)+wait', ms(median(cold)), ms(median(devCold)), `${(median(cold) / median(devCold)).toFixed(2)}x`));
  console.log('   (standard: the rows above, jailed by the launcher; development: no jailer, QEMU and passt unconfined as root; medians, interleaved)');
  console.log(row('measure', 'supervisors', 'QEMU', 'ratio'));
  console.log(row('RSS of the launcher supervisors', `${(supervisorBytes / 1024).toFixed(0)} KiB`, `${(qemuBytes / 1024).toFixed(0)} KiB`, `${(supervisorBytes / qemuBytes).toFixed(4)}x`));
  console.log(`   (${supervisors.length} launcher processes that stay for one running standard box, pids ${supervisors.join(', ')}: QEMU's and passt's supervisors; baseline: its QEMU alone)`);
}

/** The VmRSS of a process in bytes (0 once it ended). */
/** What each row of the start breakdown measures. */
const BREAKDOWN_LABELS: Record<string, string> = {
  beforeVmMs: 'our work before the VM (state, disks, config)',
  helpersMs: 'helpers: network policy, passt (+ DNS, virtiofsd)',
  vmmLaunchMs: 'QEMU spawned (+ saved state loaded)',
  handshakeMs: 'to the agent\'s handshake',
  mountMs: 'MOUNT (clock, entropy, disks)',
  restMs: 'create, first command, bookkeeping',
};

/** Adds one start's breakdown (StageTimings.breakdown, and what the start's total leaves) to `into`. */
/** Mean ms for busybox sh inside `box` to fork, exec and wait for /bin/true (`time` of a loop of `loops`). */
async function inBoxSpawn(box: Awaited<ReturnType<BoxliteRuntime['create']>>, loops: number): Promise<number> {
  const r = await box.exec('sh', ['-c', `time sh -c 'seq ${loops} | while read i; do /bin/true; done'`]);
  const m = /real\s+(\d+)m\s*([\d.]+)s/.exec(r.stderr);
  if (r.exitCode !== 0 || !m) throw new Error(`the in-box spawn loop failed (exit ${r.exitCode}): ${r.stderr}`);
  return (Number(m[1]) * 60 + Number(m[2])) * 1000 / loops;
}

function collectBreakdown(into: Record<string, number[]>, startMs: number, t: BoxStageTimings | undefined): void {
  const b = t?.breakdown;
  if (!t || !b) return;
  const vmMs = b.helpersMs + b.vmmLaunchMs + b.handshakeMs + b.mountMs;
  const parts = { beforeVmMs: t.totalMs - vmMs, ...b, restMs: startMs - t.totalMs };
  for (const [k, v] of Object.entries(parts)) (into[k] ??= []).push(v);
}

function rssOf(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch { return 0; /* the process ended */ }
}

/** Where a process's /proc/<pid>/exe points (undefined when it cannot be read). */
function exeOf(pid: number): string | undefined {
  try { return fs.readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; }
}

/** The parent pid of `pid` (from /proc/<pid>/stat). */
function parentOf(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

/** `pid` and its descendants (by the parent pid of /proc/<pid>/stat). */
function treeOf(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const p of pids()) {
    try {
      const ppid = parentOf(p);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(p);
    } catch { /* the process ended */ }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
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
