// The bench's container baselines: `crun run` of an OCI bundle whose root is the bench's busybox rootfs, and
// `podman run --rm` of an image imported from the same rootfs, each running `true`, beside our restored start.
// A tool that is not installed gives a "not installed" row; one that fails gives its stderr's tail.
//
// On this project's hosts cgroups are a v1/v2 hybrid whose v2 side holds a controller (hugetlb), and crun refuses
// any container there ("cgroups in hybrid mode not supported"), whatever its cgroup manager. So both tools run
// through nsenter in a private mount namespace of our own in which /sys/fs/cgroup/unified is unmounted (crun then
// sees plain v1 cgroups; the host's mounts are untouched), with no cgroups made (crun --cgroup-manager=disabled,
// podman --cgroups=disabled). Podman's mounts (its storage, under our temp dir) stay in that namespace and go with it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

type Row = (name: string, ours: string, base: string, ratio: string) => string;

/** One tool's result: the median of its timed runs, or why there is none. */
export type ContainerTiming =
  | { tool: 'crun' | 'podman'; medianMs: number; runs: number[] }
  | { tool: 'crun' | 'podman'; notInstalled: true }
  | { tool: 'crun' | 'podman'; failed: string };

/** What the container measurements give: each tool's timing, and nsenter's own cost (nsenter running `true`). */
export interface ContainerStarts {
  crun: ContainerTiming;
  podman: ContainerTiming;
  nsenterMs: number | undefined;
  /** Whether /sys/fs/cgroup/unified was unmounted in the namespace the tools ran in (a hybrid host with v2 controllers). */
  hybrid: boolean;
}

const IMAGE = 'localhost/boxlite-bench-busybox';
/** Podman's default rlimits (nofile and nproc 1048576) exceed this host's hard limits, and root here lacks CAP_SYS_RESOURCE. */
const PODMAN_ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The executable `tool` on PATH (or in /usr/sbin, /sbin), else undefined. */
function which(tool: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin']) {
    const file = path.join(dir, tool);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch { /* not here */ }
  }
  return undefined;
}

interface Ran { code: number | null; ms: number; stdout: string; stderr: string }

/** Runs `cmd args` to its end; `ms` is from spawn to exit (performance.now()). Never rejects. */
function run(cmd: string, args: string[], cwd?: string): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout = (stdout + s).slice(-65536); });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr = (stderr + s).slice(-4096); });
    child.on('error', (e) => resolve({ code: null, ms: performance.now() - t0, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (code) => resolve({ code, ms: performance.now() - t0, stdout, stderr }));
  });
}

/** The last lines of a failed run's stderr, on one line. */
function tail(r: Ran, what: string): string {
  const lines = r.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
  return `${what} exited ${r.code ?? 'without starting'}${lines ? `: ${lines}` : ''}`;
}

/** True when /sys/fs/cgroup/unified is a cgroup2 mount that holds controllers (the hybrid layout crun refuses). */
function hybridWithV2Controllers(): boolean {
  try { return fs.readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim() !== ''; } catch { return false; }
}

/** A process holding a private mount namespace (without /sys/fs/cgroup/unified when `hybrid`), until `close()`. */
async function privateMountNamespace(hybrid: boolean): Promise<{ pid: number; close: () => Promise<void> }> {
  // `read` keeps it alive until we close its stdin, or until this process dies and the pipe closes.
  const script = `${hybrid ? 'umount /sys/fs/cgroup/unified && ' : ''}echo ready && read _`;
  const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const closed = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => { if (s.includes('ready')) resolve(); });
    child.on('error', reject);
    void closed.then(() => reject(new Error(`unshare --mount exited: ${stderr.trim() || 'no output'}`)));
  });
  return { pid: child.pid!, close: async () => { child.stdin.end(); await closed; } };
}

/**
 * Measures, `rounds` times each after one untimed warm-up, `crun run` of a bundle of `rootfs` and `podman run --rm`
 * of an image imported from it, both running `true`. Everything it makes lives in a temp dir it removes.
 */
export async function containerStarts(rootfs: string, rounds: number): Promise<ContainerStarts> {
  const crun = which('crun');
  const podman = which('podman');
  const hybrid = hybridWithV2Controllers();
  const out: ContainerStarts = { crun: { tool: 'crun', notInstalled: true }, podman: { tool: 'podman', notInstalled: true }, nsenterMs: undefined, hybrid };
  if (!crun && !podman) return out;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-bench-containers-'));
  let ns: Awaited<ReturnType<typeof privateMountNamespace>> | undefined;
  try {
    try {
      ns = await privateMountNamespace(hybrid);
    } catch (e) {
      const why = `no private mount namespace: ${(e as Error).message}`;
      if (crun) out.crun = { tool: 'crun', failed: why };
      if (podman) out.podman = { tool: 'podman', failed: why };
      return out;
    }
    const inNs = (cmd: string, args: string[]): Promise<Ran> => run('nsenter', ['-t', String(ns!.pid), '-m', '--', cmd, ...args]);
    const floor: number[] = [];
    for (let i = 0; i <= rounds; i++) floor.push((await inNs('true', [])).ms);
    out.nsenterMs = median(floor.slice(1));
    if (crun) out.crun = await measureCrun(crun, rootfs, tmp, rounds, inNs);
    if (podman) out.podman = await measurePodman(podman, rootfs, tmp, rounds, inNs);
    return out;
  } finally {
    await ns?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

type InNs = (cmd: string, args: string[]) => Promise<Ran>;

async function measureCrun(crun: string, rootfs: string, tmp: string, rounds: number, inNs: InNs): Promise<ContainerTiming> {
  const bundle = path.join(tmp, 'bundle');
  fs.mkdirSync(bundle);
  const spec = await run(crun, ['spec'], bundle);
  if (spec.code !== 0) return { tool: 'crun', failed: tail(spec, 'crun spec') };
  const configFile = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(configFile, 'utf8')) as { process: { args: string[]; terminal: boolean }; root: { path: string; readonly: boolean } };
  config.process.args = ['true'];
  config.process.terminal = false;
  config.root = { path: path.resolve(rootfs), readonly: true };
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const runs: number[] = [];
  for (let i = 0; i <= rounds; i++) {
    const id = `boxlite-bench-${process.pid}-${i}`;
    // `crun run` (not detached) creates, starts, waits for and deletes the container: the whole life cycle.
    const r = await inNs(crun, ['--cgroup-manager=disabled', 'run', '--bundle', bundle, id]);
    if (r.code !== 0) {
      await inNs(crun, ['--cgroup-manager=disabled', 'delete', '--force', id]);
      return { tool: 'crun', failed: tail(r, 'crun run') };
    }
    if (i > 0) runs.push(r.ms);
  }
  return { tool: 'crun', medianMs: median(runs), runs };
}

async function measurePodman(podman: string, rootfs: string, tmp: string, rounds: number, inNs: InNs): Promise<ContainerTiming> {
  // Its own storage, run and temp dirs (under tmp): nothing is left in the host's podman state.
  const global = ['--root', path.join(tmp, 'podman-root'), '--runroot', path.join(tmp, 'podman-run'), '--tmpdir', path.join(tmp, 'podman-tmp'), '--cgroup-manager=cgroupfs'];
  const tarFile = path.join(tmp, 'rootfs.tar');
  const tar = await run('tar', ['-C', rootfs, '-cf', tarFile, '.']);
  if (tar.code !== 0) return { tool: 'podman', failed: tail(tar, 'tar') };
  const imported = await inNs(podman, [...global, 'import', tarFile, IMAGE]);
  if (imported.code !== 0) return { tool: 'podman', failed: tail(imported, 'podman import') };
  try {
    const runs: number[] = [];
    for (let i = 0; i <= rounds; i++) {
      const r = await inNs(podman, [...global, 'run', '--rm', '--network=none', '--cgroups=disabled', ...PODMAN_ULIMITS, IMAGE, 'true']);
      if (r.code !== 0) return { tool: 'podman', failed: tail(r, 'podman run') };
      if (i > 0) runs.push(r.ms);
    }
    return { tool: 'podman', medianMs: median(runs), runs };
  } finally {
    await inNs(podman, [...global, 'rm', '--all', '--force']);
    await inNs(podman, [...global, 'rmi', '--force', IMAGE]);
  }
}

/** The rows for `npm run bench`: each tool's median beside our restored start's median (`restoredMs`). */
export function containerRows(starts: ContainerStarts, restoredMs: number, row: Row): string[] {
  const ms = (x: number): string => `${x.toFixed(1)} ms`;
  const lines: string[] = [];
  const add = (name: string, t: ContainerTiming, note: string): void => {
    if ('medianMs' in t) {
      lines.push(row(name, ms(restoredMs), ms(t.medianMs), `${(restoredMs / t.medianMs).toFixed(2)}x`));
      lines.push(`   (${note}; ratio: restored start / ${t.tool})`);
    } else if ('notInstalled' in t) {
      lines.push(row(name, ms(restoredMs), 'not installed', ''));
    } else {
      lines.push(row(name, ms(restoredMs), 'failed', ''));
      lines.push(`   (${t.tool}: ${t.failed})`);
    }
  };
  add('crun run (same busybox rootfs)', starts.crun, 'baseline: crun --cgroup-manager=disabled run of an OCI bundle (crun spec, args true, read-only root) of the bench\'s busybox rootfs, to its exit and deletion; medians');
  add('podman run --rm (same rootfs)', starts.podman, 'baseline: podman run --rm --network=none --cgroups=disabled of an image podman-imported from a tar of the same rootfs, running true; medians');
  if (starts.nsenterMs !== undefined && lines.length) {
    const why = starts.hybrid ? ', without /sys/fs/cgroup/unified: crun refuses this host\'s hybrid cgroups' : '';
    lines.push(`   (both through nsenter into a private mount namespace${why}; nsenter running true alone: ${ms(starts.nsenterMs)})`);
  }
  return lines;
}
