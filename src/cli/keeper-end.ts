// Ends the keeper of a box's detached command once the box stopped or was removed, so no process of it stays behind.
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, type ProcessIdentity } from '../state/process-identity.js';
import { KeptFiles } from './kept-files.js';

/** How long a keeper gets to notice its box stopped and exit by itself before it is killed. */
export const KEEPER_EXIT_GRACE_MS = 5000;

/** The running keeper of the box, if any (read it before a removal deletes its state file). */
export function runningKeeper(homeDir: string, boxId: string): ProcessIdentity | undefined {
  const s = new KeptFiles(homeDir, boxId).readState();
  return s && s.exitCode === undefined && isAlive(s.keeper) ? s.keeper : undefined;
}

/** Waits for `keeper` to exit (it does when its box's VM ends), killing it after KEEPER_EXIT_GRACE_MS. */
export async function awaitKeeperEnd(keeper: ProcessIdentity | undefined, graceMs = KEEPER_EXIT_GRACE_MS): Promise<void> {
  if (!keeper) return;
  const deadline = Date.now() + graceMs;
  while (isAlive(keeper) && Date.now() < deadline) await sleep(50);
  if (!isAlive(keeper)) return;
  try { process.kill(keeper.pid, 'SIGKILL'); } catch { /* it just exited */ }
  while (isAlive(keeper)) await sleep(20); // a killed process is gone in moments (its zombie is reaped by init)
}
