// The VMM driver interface: what the runtime may ask of a hypervisor backend, with no backend flags in it.
import type { BoxJail } from '../jailer/plan.js';
import type { ProcessIdentity } from '../state/process-identity.js';
import type { VmConfig } from './config.js';

/**
 * How a VM process ended. `code`/`signal` when this process launched it (undefined otherwise); `stderr` is the
 * tail of the VMM's own diagnostics (not the guest console).
 */
export interface VmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Options of one launch. */
export interface LaunchOptions {
  /** The capped file the console is copied to while this process runs. */
  readonly consoleLogPath: string;
  /** When false (the default) the VM dies with this process, even on SIGKILL; when true it outlives it. */
  readonly detached: boolean;
  /** Called as soon as the VM's process exists (before it is ready), so that it can be recorded and found again. */
  readonly onSpawn?: (process: ProcessIdentity) => void;
  /** Confine the VMM: the jailer built by setup (GuestArtifacts.launcherPath) and the box's jail. */
  readonly jail?: { readonly launcherPath: string; readonly box: BoxJail };
}

/**
 * A VM process. Lifecycle: launched or adopted (process running) → exited (the `exited` promise resolves,
 * whether the guest powered off, crashed, or was killed). `kill()` forces the exit; idempotent.
 * A VM launched by another process can be adopted by pid: it is then watched by polling.
 */
export interface RunningVm {
  readonly pid: number;
  /** The process start time (clock ticks since boot), with pid the identity that survives pid reuse. */
  readonly pidStart: number;
  readonly exited: Promise<VmExit>;
  readonly hasExited: boolean;
  readonly consoleLogPath: string;
  /** The last lines the guest printed on its console (from the capped console log). */
  consoleTail(maxLines?: number): string;
  kill(): Promise<VmExit>;
}

/** A hypervisor backend. */
export interface VmmDriver {
  readonly name: string;
  launch(config: VmConfig, options: LaunchOptions): Promise<RunningVm>;
  /** A handle on a VM another process launched, or undefined if that process is not (any more) this box's VMM. */
  adopt(pid: number, pidStart: number, marker: string, consoleLogPath: string): RunningVm | undefined;
  /**
   * Pauses `vm` (launched with `control.controlSocketPath`), writes its whole state to `statePath` (a VM of the
   * same shape can then start from it with `restoreFrom`), and ends it, or lets it run on (`keepRunning`). A save
   * that fails leaves the VM running as it was and no state file.
   */
  saveState(vm: RunningVm, control: SaveTarget, statePath: string, options?: SaveOptions): Promise<SavedStream>;
}

/** The VM to save: its control socket, and whether its RAM is a shared file left out of the state. */
export interface SaveTarget {
  readonly controlSocketPath: string | undefined;
  readonly ramInSharedFile?: boolean;
}

/** How a VM's state is saved. */
export interface SaveOptions {
  /** Continue the VM once saved (a fork's source), instead of ending it. */
  readonly keepRunning?: boolean;
  /** Runs while the VM is stopped, before its state is written: its disks are then as its memory expects them. */
  readonly whileStopped?: () => Promise<void>;
  /** The uid the VMM runs as (its jail's), for a VM another process launched. */
  readonly uid?: number;
  /** The most bytes the state may take (the VMM is not trusted to stop): more fails the save. */
  readonly maxBytes?: number;
}

/** A state written by saveState: its size and SHA-256 (hex), to check it before it is loaded again. */
export interface SavedStream {
  readonly bytes: number;
  readonly sha256: string;
}
