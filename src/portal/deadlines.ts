// Host-side deadlines of the portal: how long the guest may take, so a stalled guest cannot hang a host call.

/** The bounds the host holds the guest to (docs/portal-protocol.md, "Deadlines"). */
export interface PortalDeadlines {
  /** A frame whose first byte has arrived must be complete within this many milliseconds. */
  readonly partialFrameMs: number;
  /** An EXEC must be answered with STARTED or ERROR within this many milliseconds. */
  readonly execStartMs: number;
  /** A command with a timeout must report EXIT within its timeout plus this many milliseconds. */
  readonly exitGraceMs: number;
  /** A control request (PING, STATS, SIGNAL, RESIZE, SHUTDOWN) must be answered within this many milliseconds. */
  readonly requestMs: number;
}

/**
 * The product's bounds. Generous for a loaded host running guests under emulation (a frame is one write by
 * the agent; a program starts in well under a second), tight enough that a stalled guest fails calls in seconds.
 */
export const DEFAULT_DEADLINES: PortalDeadlines = {
  partialFrameMs: 10_000,
  execStartMs: 30_000,
  exitGraceMs: 10_000,
  requestMs: 30_000,
};

/** The cause of an error for a deadline the guest missed (the session itself may still be fine). */
export class DeadlinePassed extends Error {
  override readonly name = 'DeadlinePassed';
}

/**
 * Runs `onExpired` once `ms` have passed, unless cancelled first. The check runs after the event loop has read
 * the I/O that is ready, so a host that was busy (its loop blocked) does not blame the guest for bytes that had
 * already arrived. Returns the cancel function. The timer does not keep the process alive on its own.
 */
export function startDeadline(ms: number, onExpired: () => void): () => void {
  let cancelled = false;
  let immediate: NodeJS.Immediate | undefined;
  const timer = setTimeout(() => {
    // Not unref'd: an unref'd immediate may wait for the next I/O to run at all.
    immediate = setImmediate(() => { if (!cancelled) onExpired(); });
  }, ms);
  timer.unref();
  return () => {
    cancelled = true;
    clearTimeout(timer);
    if (immediate) clearImmediate(immediate);
  };
}
