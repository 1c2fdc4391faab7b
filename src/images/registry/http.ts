// HTTP for registries: scheme choice (http for loopback and insecure registries), timeouts, and errors that keep method, URL, status and body.
import { boxliteError, messageOf, type BoxliteError } from '../../errors.js';

/** Most bytes of an error body kept in an error message. */
export const ERROR_BODY_BYTES = 2048;

/** Facts about a failed registry request, for callers deciding what to do next. */
export interface RequestFailure {
  registry: string;
  method: string;
  url: string;
  /** The HTTP status, when the registry answered. */
  status?: number;
  /** True when the registry could not be reached at all (refused, DNS, TLS, timeout). */
  unreachable: boolean;
}

const failures = new WeakMap<object, RequestFailure>();

/** The request facts attached to an error made here, or undefined. */
export function requestFailure(err: unknown): RequestFailure | undefined {
  return typeof err === 'object' && err !== null ? failures.get(err) : undefined;
}

/** An Image error carrying `failure`. */
export function registryError(message: string, failure: RequestFailure, cause?: unknown): BoxliteError {
  const err = boxliteError('Image', message, cause);
  failures.set(err, failure);
  return err;
}

/** True for 127.0.0.0/8, localhost and ::1, with or without a port. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(1, registry.indexOf(']')) : registry.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** `http` for loopback registries and those listed in `insecure` (host or host:port), else `https`. */
export function schemeFor(registry: string, insecure: readonly string[] = []): 'http' | 'https' {
  if (isLoopbackRegistry(registry)) return 'http';
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.replace(/:\d+$/, '');
  return insecure.includes(registry) || insecure.includes(host) ? 'http' : 'https';
}

/**
 * The chunks of a response body, each read raced against `signal`. undici 6 (Node 20's fetch) can leave a body
 * stream open forever when an abort lands just as the transfer completes (nodejs/undici#4089), so a read must
 * never wait on the stream once the signal has fired; and the stream is cancelled without waiting for that either.
 */
export async function* bodyChunks(res: Response, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('the request was aborted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) return;
      yield value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    reader.cancel().catch(() => undefined);
  }
}

/** Reads at most ERROR_BODY_BYTES of a response body as text (waiting at most 10 s), then drops the rest. */
export async function cappedBody(res: Response): Promise<string> {
  if (!res.body) return '';
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of bodyChunks(res, AbortSignal.timeout(10_000))) {
      chunks.push(Buffer.from(chunk));
      size += chunk.byteLength;
      if (size >= ERROR_BODY_BYTES) break;
    }
  } catch { /* a broken or slow body still gives what arrived */ }
  const text = Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES).toString('utf8').trim();
  return size > ERROR_BODY_BYTES ? `${text}…` : text;
}

/** A timer-backed abort signal joined with the caller's; `clear()` stops the timer, `touch()` restarts it. */
export class Deadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;
  readonly timeoutMs: number;

  constructor(timeoutMs: number, private readonly outer?: AbortSignal) {
    this.timeoutMs = timeoutMs;
    this.onAbort = () => this.controller.abort(outer?.reason);
    if (outer?.aborted) this.onAbort();
    outer?.addEventListener('abort', this.onAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** True when the timer (not the caller) aborted. */
  get timedOut(): boolean {
    return this.controller.signal.aborted && !this.outer?.aborted;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new Error(`no response within ${this.timeoutMs} ms`)), this.timeoutMs);
    this.timer.unref();
  }

  clear(): void {
    clearTimeout(this.timer);
    this.outer?.removeEventListener('abort', this.onAbort);
  }
}

/** Turns a fetch rejection into an Image error that says the registry could not be reached, and why. */
export function unreachableError(registry: string, method: string, url: string, err: unknown, deadline: Deadline, hint: string): BoxliteError {
  if (deadline.timedOut) {
    return registryError(`registry ${registry} did not answer ${method} ${url} within ${deadline.timeoutMs} ms; check that it is up, or raise registryTimeoutMs`, { registry, method, url, unreachable: true }, err);
  }
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if ((err as Error).name === 'AbortError' || deadline.signal.aborted) {
    return boxliteError('Image', `${method} ${url} was aborted`, err);
  }
  const why = cause?.code ?? cause?.message ?? messageOf(err);
  return registryError(`could not reach registry ${registry} (${method} ${url}): ${why}; ${hint}`, { registry, method, url, unreachable: true }, err);
}
