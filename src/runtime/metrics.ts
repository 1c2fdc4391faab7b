// BoxMetrics: per-box counters from the state database, stage timings, and the VM's CPU and memory from /proc.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BoxRecord } from '../state/box-store.js';
import { timingsOf, type BoxSession } from './lifecycle.js';
import { confinedProgram } from '../jailer/supervisor.js';
import { policyTable, refusedCount } from '../vmm/network/nftables.js';

/** Per-box statistics (the spec's BoxMetrics). Durations in milliseconds; undefined where not known yet. */
export interface BoxMetrics {
  readonly commandsRunTotal: number;
  readonly runErrorsTotal: number;
  /** Bytes written to commands' stdin. */
  readonly bytesSentTotal: number;
  /** Bytes read from commands' stdout and stderr. */
  readonly bytesReceivedTotal: number;
  /** The whole start pipeline of the last start. */
  readonly totalCreateDurationMs: number | undefined;
  /** VMM spawn to the guest agent's handshake, at the last start. */
  readonly guestBootDurationMs: number | undefined;
  /** CPU use of the VM, as a percentage (0-100) of its vCPUs, sampled over 200 ms. */
  readonly cpuPercent: number | undefined;
  /** Resident memory of the VM process. */
  readonly memoryBytes: number | undefined;
  readonly networkBytesSent: number | undefined;
  readonly networkBytesReceived: number | undefined;
  readonly networkTcpConnections: number | undefined;
  readonly networkTcpErrors: number | undefined;
  /** Connections (and datagrams) the box's network policy refused, while it runs. */
  readonly networkRefused: number | undefined;
  readonly stageFilesystemSetupMs: number | undefined;
  readonly stageImagePrepareMs: number | undefined;
  readonly stageGuestRootfsMs: number | undefined;
  readonly stageBoxConfigMs: number | undefined;
  readonly stageBoxSpawnMs: number | undefined;
  readonly stageContainerInitMs: number | undefined;
}

const CLOCK_TICKS_PER_SECOND = 100;
const CPU_SAMPLE_MS = 200;

/** @internal Gathers the metrics of one box. */
export async function collectBoxMetrics(rec: BoxRecord, session: BoxSession | undefined, homeDir: string): Promise<BoxMetrics> {
  const t = timingsOf(rec);
  const active = rec.status === 'running' && rec.vmm !== undefined;
  const pid = active ? confinedProgram(rec.vmm!.pid) : undefined; // QEMU itself, not the jailer supervising it
  const [cpuPercent, network] = await Promise.all([
    pid === undefined ? undefined : sampleCpuPercent(pid, rec.cpus),
    session?.portal.isOpen ? session.portal.guestStats().catch(() => undefined) : undefined,
  ]);
  return {
    commandsRunTotal: rec.commandsRun,
    runErrorsTotal: rec.runErrors,
    bytesSentTotal: rec.bytesSent,
    bytesReceivedTotal: rec.bytesReceived,
    totalCreateDurationMs: t?.totalMs,
    guestBootDurationMs: t?.guestBootMs,
    cpuPercent,
    memoryBytes: pid === undefined ? undefined : residentBytes(pid),
    networkBytesSent: network?.netTxBytes,
    networkBytesReceived: network?.netRxBytes,
    networkTcpConnections: network?.tcpConnections,
    networkTcpErrors: network?.tcpErrors,
    networkRefused: active ? refusedCount(policyTable(homeDir, rec.id)) : undefined,
    stageFilesystemSetupMs: t?.filesystemSetupMs,
    stageImagePrepareMs: t?.imagePrepareMs,
    stageGuestRootfsMs: t?.guestRootfsMs,
    stageBoxConfigMs: t?.boxConfigMs,
    stageBoxSpawnMs: t?.boxSpawnMs,
    stageContainerInitMs: t?.containerInitMs,
  };
}

function cpuTicks(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return undefined;
  }
}

async function sampleCpuPercent(pid: number, cpus: number): Promise<number | undefined> {
  const a = cpuTicks(pid);
  const t0 = performance.now();
  await sleep(CPU_SAMPLE_MS);
  const b = cpuTicks(pid);
  if (a === undefined || b === undefined) return undefined;
  const busySeconds = (b - a) / CLOCK_TICKS_PER_SECOND;
  const wallSeconds = (performance.now() - t0) / 1000;
  return Math.min(100, Math.round((busySeconds / wallSeconds / cpus) * 1000) / 10);
}

function residentBytes(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
