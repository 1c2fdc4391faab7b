// The one error type of the library: a BoxliteError with a stable `code` per variant of the spec.

/** Every error variant of the spec, as a stable string code. */
export const ErrorCode = {
  UnsupportedEngine: 'UnsupportedEngine',
  Engine: 'Engine',
  Config: 'Config',
  Storage: 'Storage',
  Image: 'Image',
  Portal: 'Portal',
  Network: 'Network',
  Rpc: 'Rpc',
  RpcTransport: 'RpcTransport',
  Internal: 'Internal',
  Run: 'Run',
  Unsupported: 'Unsupported',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  InvalidState: 'InvalidState',
  Database: 'Database',
  MetadataError: 'MetadataError',
  InvalidArgument: 'InvalidArgument',
} as const;

/** One of the spec's error variants. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const brand = Symbol.for('boxlite.BoxliteError');

/**
 * The error every BoxLite operation rejects with.
 *
 * `code` names the spec's variant (`NotFound`, `InvalidState`, `Image`, ...); `name` is always 'BoxliteError';
 * the message says what failed, with which input, and what to change; `cause` keeps the underlying error.
 * An operation aborted through its `signal` rejects with a standard AbortError instead (a DOMException named
 * 'AbortError', as Node's own APIs do), never with a BoxliteError. `instanceof` works across
 * duplicate installs of the package (the class is branded with `Symbol.for`).
 *
 * @example
 * ```ts
 * try { await runtime.create({ memoryMib: 1 }); }
 * catch (e) { if (BoxliteError.is(e) && e.code === 'InvalidArgument') console.error(e.message); }
 * ```
 */
export class BoxliteError extends Error {
  /** The spec's variant. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    Object.defineProperty(this, brand, { value: true });
  }

  /** Always 'BoxliteError' (the variant is in `code`), so `e.name === 'BoxliteError'` tells BoxLite's errors apart. */
  override get name(): string {
    return 'BoxliteError';
  }

  /** True for any BoxliteError, even one made by another copy of this package. */
  static is(value: unknown): value is BoxliteError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    return BoxliteError.is(value);
  }
}

/** Shorthand constructor: `boxliteError('NotFound', 'box "x" not found')`. */
export function boxliteError(code: ErrorCode, message: string, cause?: unknown): BoxliteError {
  return new BoxliteError(code, message, cause === undefined ? undefined : { cause });
}

/** The message of any thrown value, for wrapping into a new message. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when `err` says a disk is full: ENOSPC, EDQUOT, or SQLite's SQLITE_FULL. */
export function isDiskFull(err: unknown): boolean {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  }
  return false;
}

/** A Storage error for a full disk: what failed, on which path, and what to do. */
export function diskFullError(what: string, place: string, cause: unknown): BoxliteError {
  return boxliteError('Storage', `${what} failed: no space left on the disk holding ${place}; free some space there (or point BOXLITE_HOME at a larger disk) and try again (${messageOf(cause)})`, cause);
}

/**
 * `err` as a BoxliteError, for the edge of a public call: a BoxliteError (or an abort) passes through, a full disk becomes a
 * Storage error naming `place`, a SQLite failure a Database error, anything else an Internal error — each
 * saying `what` failed.
 */
export function asBoxliteError(err: unknown, what: string, place: string): BoxliteError {
  if (BoxliteError.is(err) || (err as { name?: unknown } | null)?.name === 'AbortError') return err as BoxliteError;
  if (isDiskFull(err)) return diskFullError(what, place, err);
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('SQLITE_')) {
    return boxliteError('Database', `${what} failed: the state database in ${place} answered ${code}: ${messageOf(err)}`, err);
  }
  return boxliteError('Internal', `${what} failed: ${messageOf(err)}`, err);
}

/** Runs `fn`; whatever it throws leaves as `asBoxliteError(err, what, place)`. */
export async function guarded<T>(what: string, place: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw asBoxliteError(err, what, place);
  }
}
