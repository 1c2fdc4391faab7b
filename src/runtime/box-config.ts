// BoxConfig: what a box was created with (its options after defaults), as `info().config` shows it; no secrets are stored there.
import type { AcceleratorPreference } from '../vmm/accel.js';
import type { EgressPolicy } from '../vmm/network/policy.js';
import { createdEgress, type ResolvedBoxOptions, type RootfsSpec } from './options.js';
import type { PortInfo } from './status.js';

/** A host directory shared into a box, as its config shows it. */
export interface VolumeInfo {
  /** The host directory (symlinks resolved). */
  readonly hostPath: string;
  readonly guestPath: string;
  readonly readOnly: boolean;
}

/**
 * The options a box was created with, after defaults (`info().config`). It changes only with the box: the current
 * network policy and bound ports are `info().network` and `info().ports`, the security options `info().security`.
 */
export interface BoxConfig {
  readonly rootfs: Readonly<RootfsSpec>;
  readonly cpus: number;
  readonly memoryMib: number;
  readonly diskSizeGb: number;
  /** Undefined: the image's user, else root. */
  readonly user: string | undefined;
  /** Undefined: the image's working directory, else `/`. */
  readonly workingDir: string | undefined;
  /** The environment every command gets (over the image's). */
  readonly env: Readonly<Record<string, string>>;
  readonly volumes: ReadonlyArray<VolumeInfo>;
  /** Published ports as configured (host port 0: a free one picked at each start). */
  readonly ports: ReadonlyArray<Readonly<PortInfo>>;
  readonly labels: Readonly<Record<string, string>>;
  /** The network policy the box was created with. */
  readonly network: Readonly<{ egress: EgressPolicy }>;
  readonly accelerator: AcceleratorPreference;
  readonly autoRemove: boolean;
  readonly detach: boolean;
}

/** @internal The config view of a box's stored options (a whitelist: nothing else of them is shown). */
export function configOf(o: ResolvedBoxOptions): BoxConfig {
  return {
    rootfs: 'image' in o.rootfs ? { image: o.rootfs.image } : { rootfsPath: o.rootfs.rootfsPath },
    cpus: o.cpus, memoryMib: o.memoryMib, diskSizeGb: o.diskSizeGb, user: o.user, workingDir: o.workingDir,
    env: Object.fromEntries(o.env), volumes: (o.volumes ?? []).map((v) => ({ hostPath: v.hostPath, guestPath: v.guestPath, readOnly: v.readOnly })),
    ports: (o.ports ?? []).map((p) => ({ protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, guestPort: p.guestPort })),
    labels: { ...o.labels }, network: { egress: createdEgress(o) }, accelerator: o.accelerator, autoRemove: o.autoRemove, detach: o.detach,
  };
}
