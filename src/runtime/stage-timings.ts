// The public record of how a box's last start went: the time of each stage, and whether it came from a snapshot.
import type { GuestKernel } from '../setup/kernel-flavor.js';

/** Milliseconds spent in each stage of the start pipeline (the spec's six stages). */
export interface StageTimings {
  filesystemSetupMs: number;
  imagePrepareMs: number;
  guestRootfsMs: number;
  boxConfigMs: number;
  boxSpawnMs: number;
  containerInitMs: number;
  /** VMM spawn to the agent's handshake. */
  guestBootMs: number;
  /** The whole pipeline. */
  totalMs: number;
  /** Where boxSpawnMs, guestBootMs and containerInitMs went, for finding what a start waits on. */
  breakdown?: StartBreakdown;
}

/** The VM stages of a start, one after another (their sum is the time from the box's config to its mounted root). */
export interface StartBreakdown {
  /** The box's helpers started and ready: network policy, DNS forwarder, passt, virtiofsd. */
  helpersMs: number;
  /** QEMU spawned (through the jailer) and, for a restored box, its saved state loaded. */
  vmmLaunchMs: number;
  /** Until the agent's handshake: the guest booting, or a restored guest resuming. */
  handshakeMs: number;
  /** MOUNT: clock and entropy renewed, the box's disks and volumes mounted (a resumed box: FRESHEN, clock and entropy only). */
  mountMs: number;
}

/** How a box's VM started: restored from its shape's template, or booted (with why, when a template was wanted). */
export interface StartMode {
  restored: boolean;
  /** True when it was restored mounted: from the template of its shape and root filesystem, saved after MOUNT. */
  afterMount?: boolean;
  /** True when the box resumed its own saved VM (after `pause()`, or a fork's first start): processes continued. */
  resumed?: boolean;
  /** Why no template was used, when templates are on. */
  coldReason?: string;
}

/** What `box.stageTimings` holds after a start: the stage timings, why KVM or TCG, the guest kernel, and the start mode. */
export type BoxStageTimings = StageTimings & { acceleratorReason?: string; kernel?: GuestKernel; startMode?: StartMode };
