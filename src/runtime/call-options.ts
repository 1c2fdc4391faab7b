// The options of long calls that can be given up: each takes an AbortSignal, and rejects with an AbortError.

/** An AbortSignal for one call; aborting it rejects the call with a standard AbortError (a DOMException). */
export interface SignalOptions {
  /** Gives the call up when it aborts; the call rejects with an AbortError (the signal's reason when it is one). */
  signal?: AbortSignal;
}

/**
 * `runtime.create(options, name, { signal })`. Creating persists a row and returns at once, so only a signal
 * that already aborted has an effect: no box is created.
 */
export type CreateOptions = SignalOptions;

/**
 * `box.start({ signal })` (also `run()`'s, for the start it makes). Aborting gives the boot up: its VM and helpers
 * are ended, and a box that auto-removes is removed; the box is then as it was (Configured or Stopped).
 * Concurrent starts share one boot, which is given up only when every caller waiting on it has aborted.
 */
export type StartOptions = SignalOptions;

/**
 * `box.run(cmd, { signal })`. Aborting kills the command (its process group, SIGKILL): `run()` rejects with an
 * AbortError if it had not started yet, else its `wait()` does. A box this call was starting is given up too.
 */
export type RunOptions = SignalOptions;

/** `execution.wait({ signal })`. Aborting ends only this wait (AbortError); the command keeps running. */
export type WaitOptions = SignalOptions;

/** Options of `fork()`. */
export interface ForkOptions {
  /** How many boxes (1..16; default 1, or the number of names). */
  count?: number;
  /** Their names, in order (unique in the home dir); boxes past the names get none. */
  names?: readonly string[];
}
