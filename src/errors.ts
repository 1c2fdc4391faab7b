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
 * `code` names the spec's variant (`NotFound`, `InvalidState`, `Image`, ...); the message says what failed,
 * with which input, and what to change; `cause` keeps the underlying error. `instanceof` works across
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

  override get name(): string {
    return `BoxliteError[${this.code}]`;
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
