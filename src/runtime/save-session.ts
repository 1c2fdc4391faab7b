// Saving a running box's VM: the guest's writes flushed, its memory and devices written to a state file.
import type { VmmDriver } from '../vmm/driver.js';
import type { BoxSession } from './lifecycle.js';
import { SAVED_VM_FORMAT, savedVmQemu, type SavedVmRecord } from './saved-vm.js';
import { PROTOCOL_VERSION } from '../portal/protocol.js';

/** What a saved state may hold beyond the guest's RAM: the devices' state and the stream's framing. */
const STATE_SLACK_MIB = 256;

/** How a session's VM is saved. */
export interface SaveSessionOptions {
  /** The uid its QEMU runs as (the box's jail), to let it reach the state socket. */
  uid: number | undefined;
  /** Continue the VM afterwards (a fork's source) or end it (a pause). */
  keepRunning: boolean;
  /** Runs while the VM is stopped, before its state is written (a fork copies the disk then). */
  whileStopped?: () => Promise<void>;
  shape: { cpus: number; memoryMib: number };
  /** Whether the VM has a network device: a VM restored from the state must have one too. */
  networkDevice: boolean;
  /** The VM's QMP socket (BoxPaths.controlSocket). */
  controlSocketPath: string;
}

/**
 * Flushes the guest's writes to its disks (so they survive even if the saved memory is later dropped), then saves
 * the VM of `session` to `statePath`; returns the record that describes it. A save that fails leaves the VM running.
 */
export async function saveSession(driver: VmmDriver, session: Pick<BoxSession, 'portal' | 'vm' | 'stopRequested'>, statePath: string, options: SaveSessionOptions): Promise<SavedVmRecord> {
  await session.portal.request({ kind: 'sync' }, 'Engine');
  const wasRequested = session.stopRequested;
  // A VM this save ends is not a crash: the session must not take its exit for one.
  if (!options.keepRunning) session.stopRequested = true;
  try {
    const state = await driver.saveState(session.vm, { controlSocketPath: options.controlSocketPath }, statePath, {
      keepRunning: options.keepRunning, maxBytes: (options.shape.memoryMib + STATE_SLACK_MIB) * 1024 * 1024, ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.whileStopped ? { whileStopped: options.whileStopped } : {}),
    });
    return {
      format: SAVED_VM_FORMAT, savedAtMs: Date.now(), cpus: options.shape.cpus, memoryMib: options.shape.memoryMib,
      state, ramFile: false, networkDevice: options.networkDevice, qemu: await savedVmQemu(), portal: PROTOCOL_VERSION, agentVersion: session.portal.agentVersion ?? '',
    };
  } catch (err) {
    session.stopRequested = wasRequested;
    throw err;
  }
}
