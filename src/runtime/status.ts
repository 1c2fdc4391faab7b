// BoxStatus (the lifecycle states of the spec, with its predicates) and BoxInfo.
import type { GuestKernel } from '../setup/kernel-flavor.js';
import type { BoxConfig } from './box-config.js';
import type { BoxID } from './ids.js';
import type { SecurityOptions } from './security.js';
import type { EgressPolicy } from '../vmm/network/policy.js';

/** A published port as a box's info shows it. */
export interface PortInfo {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  /** The host port bound (or configured: 0 until the box starts, when it picks a free one). */
  hostPort: number;
  guestPort: number;
}

/** The name of a BoxStatus. */
export type StatusName = 'unknown' | 'configured' | 'running' | 'stopping' | 'stopped' | 'paused';

/**
 * Lifecycle status of a box. The six values are singletons, so compare with `===`
 * (`info.status === BoxStatus.Running`) or use the predicates. Serialises to its name.
 *
 * State machine: `create()` → Configured (no VM) → `start()` → Running → `stop()` → Stopping → Stopped
 * → `start()` → Running ...; Running → `pause()` → Paused (memory saved to disk, no VM) → `resume()` (or `start()`,
 * `run()`) → Running, or → `stop()` → Stopped (the saved memory discarded); Unknown when the state could not be
 * determined.
 */
export class BoxStatus {
  static readonly Unknown = new BoxStatus('unknown');
  static readonly Configured = new BoxStatus('configured');
  static readonly Running = new BoxStatus('running');
  static readonly Stopping = new BoxStatus('stopping');
  static readonly Stopped = new BoxStatus('stopped');
  static readonly Paused = new BoxStatus('paused');

  private constructor(readonly name: StatusName) {}

  /** The status with this name; Unknown for anything else. */
  static fromName(name: string): BoxStatus {
    return [BoxStatus.Configured, BoxStatus.Running, BoxStatus.Stopping, BoxStatus.Stopped, BoxStatus.Paused].find((s) => s.name === name) ?? BoxStatus.Unknown;
  }

  /** True while a VM process exists (Running or Stopping). */
  isActive(): boolean { return this === BoxStatus.Running || this === BoxStatus.Stopping; }
  isRunning(): boolean { return this === BoxStatus.Running; }
  isConfigured(): boolean { return this === BoxStatus.Configured; }
  isStopped(): boolean { return this === BoxStatus.Stopped; }
  /** Paused: the VM's memory and devices saved in the box's directory, no process running. */
  isPaused(): boolean { return this === BoxStatus.Paused; }
  /** True for the transient Stopping state. */
  isTransient(): boolean { return this === BoxStatus.Stopping; }
  /** Configured, Stopped or Paused (start() resumes a paused box). */
  canStart(): boolean { return this === BoxStatus.Configured || this === BoxStatus.Stopped || this === BoxStatus.Paused; }
  /** Running or Paused (stopping a paused box discards its saved memory). */
  canStop(): boolean { return this === BoxStatus.Running || this === BoxStatus.Paused; }
  /** Running. */
  canPause(): boolean { return this === BoxStatus.Running; }
  /** Paused. */
  canResume(): boolean { return this === BoxStatus.Paused; }
  /** Running or Paused: fork() continues from the box's running state. */
  canFork(): boolean { return this === BoxStatus.Running || this === BoxStatus.Paused; }
  /** Configured, Stopped, Paused or Unknown. */
  canRemove(): boolean { return this === BoxStatus.Configured || this === BoxStatus.Stopped || this === BoxStatus.Paused || this === BoxStatus.Unknown; }
  /** Configured, Running, Stopped or Paused (run() starts or resumes the box if needed). */
  canRun(): boolean { return this === BoxStatus.Configured || this === BoxStatus.Running || this === BoxStatus.Stopped || this === BoxStatus.Paused; }

  toString(): string { return this.name; }
  toJSON(): string { return this.name; }
}

/** The dynamic part of a box's state (the spec's BoxState). */
export interface BoxState {
  readonly status: BoxStatus;
  /** PID of the VMM process (QEMU itself, not the jailer supervising it) while the box is active. */
  readonly pid: number | undefined;
  /** The box's container id (64 lowercase hex characters). */
  readonly containerId: string | undefined;
  readonly lastUpdated: Date;
  /** Which process holds the box's lifecycle lock ("pid:start-time"), while a start, stop or remove runs. */
  readonly lockId: string | undefined;
}

/** Public metadata of a box. */
export interface BoxInfo {
  readonly id: BoxID;
  readonly name: string | undefined;
  readonly status: BoxStatus;
  readonly createdAt: Date;
  /** When the status last changed. */
  readonly lastUpdated: Date;
  /** PID of the VMM process (QEMU itself, not the jailer supervising it) while the box is active. */
  readonly pid: number | undefined;
  /** Image reference or rootfs path. */
  readonly image: string;
  readonly cpus: number;
  readonly memoryMib: number;
  readonly labels: Readonly<Record<string, string>>;
  /** The accelerator of the last start (`kvm` or `tcg`), once started. */
  readonly accelerator: 'kvm' | 'tcg' | undefined;
  /** The guest kernel of the last start (release and `custom`/`cloud` flavor), once started. */
  readonly kernel: GuestKernel | undefined;
  /** Why the last start of the box failed or its VM ended unexpectedly, if it did. */
  readonly lastError: string | undefined;
  /** Whether the box outlives the process that started it. */
  readonly detach: boolean;
  /** Whether the box is removed when it stops. */
  readonly autoRemove: boolean;
  /**
   * Published ports. While the box is active, with the host ports actually bound; otherwise as configured
   * (host port 0: picked at the next start).
   */
  readonly ports: ReadonlyArray<Readonly<PortInfo>>;
  /** How the box's host processes are isolated (`SecurityOptions.standard()` for boxes made before the option existed). */
  readonly security: SecurityOptions;
  /** The box's current network policy (as created, or as `updateNetwork` last set it). */
  readonly network: Readonly<{ egress: EgressPolicy }>;
  /**
   * The jail of the box's last start (its jailer on): the uid and gid its QEMU and passt ran as (absent for an
   * ordinary user's boxes, which run as that user), its cgroup directories or why it had none, its jail directory.
   */
  readonly jail: Readonly<{ uid?: number; gid?: number; cgroups: readonly string[]; cgroupUnavailable?: string; root: string }> | undefined;
  /** What the box was created with: rootfs, shape, user, working directory, env, volumes, ports, network policy... */
  readonly config: BoxConfig;
}
