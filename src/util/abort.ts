// Standard AbortErrors for aborted signals, and racing a promise against a signal, as Node's own APIs do.

/**
 * The error an operation aborted by `signal` rejects with: a standard AbortError, as Node's own APIs use. The
 * signal's reason when that already is one (a DOMException or Error named 'AbortError'), else a DOMException
 * named 'AbortError' saying what was aborted, with the reason (e.g. a TimeoutError) as its `cause`.
 */
export function abortError(signal: AbortSignal | undefined, what: string): Error {
  const reason: unknown = signal?.reason;
  if (isAbortError(reason)) return reason as Error;
  return new DOMException(`${what} was aborted`, { name: 'AbortError', cause: reason });
}

/** True for a standard AbortError (a DOMException or Error whose name is 'AbortError'). */
export function isAbortError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { name?: unknown }).name === 'AbortError';
}

/** Throws `abortError(signal, what)` when `signal` has aborted. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(signal, what);
}

/**
 * Settles as `promise` does, or rejects with `abortError(signal, what)` as soon as `signal` aborts, whichever
 * comes first. The promise itself goes on (its rejection is then handled here); the listener is always removed.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(abortError(signal, what));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      promise.catch(() => undefined);
      reject(abortError(signal, what));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e); },
    );
  });
}

/**
 * One abort signal shared by the callers of one operation (concurrent `start()` calls share one boot): it aborts
 * only once every caller that joined has aborted; a caller without a signal keeps it from ever aborting.
 */
export class SharedAbort {
  private readonly controller = new AbortController();
  private waiting = 0;
  private unabortable = false;
  private readonly listeners: Array<() => void> = [];

  /** The signal the shared operation watches. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Adds a caller; its `signal` (none: it never gives up) counts toward aborting the operation. */
  join(signal: AbortSignal | undefined): void {
    if (!signal) {
      this.unabortable = true;
      return;
    }
    if (signal.aborted) {
      this.check(signal);
      return;
    }
    this.waiting++;
    const onAbort = (): void => {
      this.waiting--;
      this.check(signal);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    this.listeners.push(() => signal.removeEventListener('abort', onAbort));
  }

  /** The operation ended: stops listening to the callers' signals. */
  dispose(): void {
    for (const remove of this.listeners.splice(0)) remove();
  }

  private check(last: AbortSignal): void {
    if (!this.unabortable && this.waiting === 0 && !this.controller.signal.aborted) this.controller.abort(last.reason);
  }
}
