// waitForPort: polls, with backoff, until a published guest port is reachable from the host and listened on in the box.
import net from 'node:net';
import { boxliteError, BoxliteError } from '../errors.js';
import { abortError } from './exec-options.js';
import { parseTcpListeners, type TcpListener } from './proc-net-tcp.js';
import type { PublishedPort } from './published-port.js';

const DEFAULT_WAIT_MS = 30_000;
const FIRST_DELAY_MS = 50;
const MAX_DELAY_MS = 1000;

/** Options of `box.waitForPort()`. */
export interface WaitForPortOptions {
  /** Give up after this many milliseconds (default 30 000): rejects with a `Network` error saying what was missing. */
  timeoutMs?: number;
  /** Aborting rejects with a DOMException named `AbortError`. */
  signal?: AbortSignal;
}

/** @internal What waitForPort needs from its box. */
export interface PortProbe {
  /** Which box, for messages. */
  readonly label: string;
  /** The published host address of the guest port (throws when it is not published). */
  published(): PublishedPort;
  /** The text of the box's /proc/net/tcp and /proc/net/tcp6. */
  readProcNetTcp(): Promise<string>;
}

/** The least time a connection attempt gets, even past the deadline (which it may overrun by that much). */
const MIN_ATTEMPT_MS = 250;

/**
 * @internal Resolves once a TCP connection to the published host port succeeds and the box's /proc/net/tcp shows a
 * listener on `guestPort` that a published port reaches (not loopback-only). Both are needed: passt accepts host
 * connections while nothing in the box listens.
 */
export async function waitForPort(probe: PortProbe, guestPort: number, options: WaitForPortOptions = {}): Promise<void> {
  const { timeoutMs = DEFAULT_WAIT_MS, signal } = options;
  if (!(timeoutMs > 0)) throw boxliteError('InvalidArgument', `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  const what = `waiting for port ${guestPort} of ${probe.label}`;
  const deadline = Date.now() + timeoutMs;
  let delay = FIRST_DELAY_MS;
  let missing = 'nothing was tried yet';
  for (;;) {
    if (signal?.aborted) throw abortError(what, signal);
    const { host, hostPort } = probe.published();
    // Each attempt gets a fair chance, the last one too (a busy host may take more than the few ms left).
    const connected = await canConnect(host, hostPort, Math.max(MIN_ATTEMPT_MS, Math.min(2000, deadline - Date.now())));
    if (connected !== true) {
      missing = `connecting to ${host}:${hostPort} failed (${connected})`;
    } else {
      const listeners = parseTcpListeners(await probe.readProcNetTcp()).filter((l) => l.port === guestPort);
      if (listeners.some((l) => !l.loopback)) return;
      missing = describeMissing(host, hostPort, guestPort, listeners);
    }
    const left = deadline - Date.now();
    if (left <= 0) throw boxliteError('Network', `port ${guestPort} of ${probe.label} was not ready within ${timeoutMs} ms: ${missing}`);
    await sleep(Math.min(delay, left), signal, what);
    delay = Math.min(MAX_DELAY_MS, delay * 1.5);
  }
}

function describeMissing(host: string, hostPort: number, guestPort: number, listeners: TcpListener[]): string {
  const seen = `${host}:${hostPort} accepts connections (the box's network does), but `;
  if (listeners.length === 0) return `${seen}nothing in the box listens on port ${guestPort}`;
  return `${seen}port ${guestPort} in the box listens only on ${listeners.map((l) => l.address).join(', ')}, which a published port `
    + 'cannot reach; listen on 0.0.0.0 (all addresses) instead';
}

/** True when a TCP connection opens (then closed at once), else the error's code. */
function canConnect(host: string, port: number, timeoutMs: number): Promise<true | string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const end = (r: true | string): void => { socket.destroy(); resolve(r); };
    socket.setTimeout(timeoutMs, () => end(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => end(true));
    socket.once('error', (e: NodeJS.ErrnoException) => end(e.code ?? e.message));
  });
}

function sleep(ms: number, signal: AbortSignal | undefined, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => { clearTimeout(timer); reject(abortError(what, signal!)); };
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** @internal Turns a box without `cat` into an error that says why waitForPort needs it. */
export function explainProbeFailure(err: unknown): never {
  if (BoxliteError.is(err) && err.code === 'Run' && /could not start .*cat: No such file or directory/.test(err.message)) {
    throw boxliteError('Run', 'waitForPort reads the box\'s /proc/net/tcp with `cat`, and this box has no cat; use an image with coreutils or busybox', err);
  }
  throw err;
}
