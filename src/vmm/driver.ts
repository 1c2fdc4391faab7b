// The VMM driver interface: what the runtime may ask of a hypervisor backend, with no backend flags in it.
import type { VmConfig } from './config.js';

/**
 * How a VM process ended. `code`/`signal` as Node reports them; `stderr` is the tail of the VMM's own
 * diagnostics (not the guest console).
 */
export interface VmExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * A launched VM. Lifecycle: launched (process running, guest booting) → exited (the `exited` promise
 * resolves, whether the guest powered off, crashed, or was killed). `kill()` forces the exit; idempotent.
 */
export interface RunningVm {
  readonly pid: number;
  readonly exited: Promise<VmExit>;
  readonly hasExited: boolean;
  readonly consoleLogPath: string;
  /** The last lines the guest printed on its console. */
  consoleTail(maxLines?: number): string;
  kill(): Promise<VmExit>;
}

/** A hypervisor backend. */
export interface VmmDriver {
  readonly name: string;
  launch(config: VmConfig, consoleLogPath: string): Promise<RunningVm>;
}
