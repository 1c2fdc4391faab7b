// Host side of the portal: one connection to a guest agent, multiplexing requests and executions.
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollDelayMs } from '../util/poll-delay.js';
import { BoxliteError, boxliteError, messageOf } from '../errors.js';
import { ProtocolViolation, decodeGuestFrame, encodeHostMessage } from './codec.js';
import { DEFAULT_DEADLINES, DeadlinePassed, startDeadline, type PortalDeadlines } from './deadlines.js';
import { FrameSplitter } from './framer.js';
import {
  EXEC_FLAG_BUILTIN, EXEC_FLAG_TTY, INITIAL_OUTPUT_WINDOW_BYTES, INITIAL_STDIN_WINDOW_BYTES, MAX_FRAME_BYTES, PROTOCOL_VERSION,
  type GuestMessage, type HostMessage,
} from './protocol.js';

/** What to run, as sent in an EXEC frame. */
export interface ExecRequest {
  argv: string[];
  env: string[];
  workingDir: string;
  tty: boolean;
  /** argv[0] names one of the agent's file operations, run in place of a program (protocol v5). */
  builtin?: boolean;
  rows: number;
  cols: number;
  timeoutMs: number;
  /** `name`, `uid`, `name:group`, `uid:gid`… looked up in the box's /etc/passwd and /etc/group; "" = root. */
  user: string;
}

/** Receives the events of one execution. Exactly one of onExit / onFailed ends it. */
export interface ExecSink {
  onStarted(pid: number): void;
  onOutput(stream: 'stdout' | 'stderr', data: Buffer): void;
  onStdinCredit(bytes: number): void;
  onExit(status: number, timedOut: boolean): void;
  /** `closedByHost` when this side closed the session (the command keeps running, unobserved). */
  onFailed(err: BoxliteError, closedByHost?: boolean): void;
}

interface ExecState {
  sink: ExecSink;
  unackedOutputBytes: number;
  /** Cancels the pending deadline (start, then exit). */
  cancelDeadline: () => void;
  started: boolean;
  /** When EXIT is due (epoch ms), and what to say if it does not come: set by a timeout or by SIGKILL. */
  exit?: { dueAt: number; why: string };
}

// `expired` waiters stay queued until their late reply comes, so replies still meet their requests in order.
type Pending = { resolve: (m: GuestMessage) => void; reject: (e: BoxliteError) => void; expired?: boolean };

/**
 * One portal session. Lifecycle: `connect()` → `handshake()` → requests and execs → `close()` (graceful,
 * idempotent) or `destroy(err)` (a protocol violation, a dead guest). After it ends, `closed` resolves with the
 * reason and every pending request and execution fails with that error; nothing waits forever.
 */
export class PortalClient {
  private readonly splitter = new FrameSplitter(MAX_FRAME_BYTES);
  private readonly pending = new Map<number, Pending[]>();
  private readonly execs = new Map<number, ExecState>();
  private nextId = 1;
  private endError: BoxliteError | undefined;
  private resolveClosed!: (reason: BoxliteError | undefined) => void;
  private helloWaiter: Pending | undefined;
  private partialFrame: { cancel: () => void; frame: number } | undefined;

  /** Resolves when the connection ends: undefined after `close()`, the error otherwise. */
  readonly closed = new Promise<BoxliteError | undefined>((resolve) => { this.resolveClosed = resolve; });

  private constructor(private readonly socket: net.Socket, private readonly label: string, private readonly deadlines: PortalDeadlines) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.destroy(boxliteError('Portal', `${label}: connection error: ${err.message}`, err)));
    socket.on('close', () => this.destroy(boxliteError('Portal', `${label}: the guest closed the connection`)));
    this.updateRef();
  }

  // The socket keeps the process alive only while something waits on it.
  private updateRef(): void {
    if (this.endError) return;
    const waiting = [...this.pending.values()].some((q) => q.some((p) => !p.expired));
    if (waiting || this.execs.size > 0 || this.helloWaiter) this.socket.ref();
    else this.socket.unref();
  }

  /**
   * Connects to a portal socket, retrying until it exists or `deadline` (epoch ms) passes. `deadlines` are the
   * bounds the guest is held to (tests shorten them).
   */
  static async connect(socketPath: string, label: string, deadlineMs: number, abort?: AbortSignal, deadlines = DEFAULT_DEADLINES): Promise<PortalClient> {
    for (let attempt = 0; ; attempt++) {
      try {
        const socket = await openSocket(socketPath);
        return new PortalClient(socket, label, deadlines);
      } catch (err) {
        abort?.throwIfAborted();
        if (Date.now() > deadlineMs) {
          throw boxliteError('Portal', `${label}: could not connect to the portal socket ${socketPath}: ${messageOf(err)}`, err);
        }
        await sleep(pollDelayMs(attempt, 10));
      }
    }
  }

  /** The agent's version, once the handshake is done. */
  agentVersion: string | undefined;

  /** Sends HELLO and waits for the agent's HELLO_ACK; checks the protocol version. */
  async handshake(): Promise<{ agentVersion: string }> {
    const ack = new Promise<GuestMessage>((resolve, reject) => { this.helloWaiter = { resolve, reject }; });
    this.updateRef();
    this.send({ kind: 'hello', version: PROTOCOL_VERSION, maxFrame: MAX_FRAME_BYTES });
    const msg = await ack;
    this.updateRef();
    if (msg.kind !== 'helloAck') throw boxliteError('Internal', 'unexpected handshake reply');
    if (msg.version !== PROTOCOL_VERSION) {
      const err = boxliteError('Portal', `${this.label}: guest agent speaks portal v${msg.version}, this host speaks v${PROTOCOL_VERSION}; rebuild the guest with \`npx boxlite setup\``);
      this.destroy(err);
      throw err;
    }
    this.agentVersion = msg.agentVersion;
    return { agentVersion: msg.agentVersion };
  }

  /**
   * Sends a request that the agent answers with OK (resolves) or ERROR (rejects with `errorCode`).
   * Requests about an execution (SIGNAL, RESIZE) carry its id; others get a fresh one. Without an answer within
   * `timeoutMs` (default: the request deadline) it rejects with a Portal error naming that deadline.
   */
  request(msg: DistributiveOmit<Extract<HostMessage, { id: number }>, 'id'> & { id?: number }, errorCode: BoxliteError['code'] = 'Portal', timeoutMs = this.deadlines.requestMs): Promise<void> {
    const id = msg.id ?? this.allocateId();
    const reply = this.awaitReply(id, msg.kind, timeoutMs);
    if (msg.kind === 'signal' && msg.signal === 9) this.expectExitAfterKill(id);
    this.send({ ...msg, id } as HostMessage);
    return reply.then((m) => {
      if (m.kind === 'error') throw boxliteError(errorCode, `${this.label}: ${msg.kind} failed in the guest: ${m.message}`);
    });
  }

  /** Round trip to the agent. */
  async ping(): Promise<void> {
    const id = this.allocateId();
    const reply = this.awaitReply(id, 'ping');
    this.send({ kind: 'ping', id });
    await reply;
  }

  /** Network counters of the guest (STATS). */
  async guestStats(): Promise<{ netRxBytes: number; netTxBytes: number; tcpConnections: number; tcpErrors: number }> {
    const id = this.allocateId();
    const reply = this.awaitReply(id, 'stats');
    this.send({ kind: 'stats', id });
    const m = await reply;
    if (m.kind !== 'statsReply') throw boxliteError('Portal', `${this.label}: the guest answered STATS with ${m.kind}`);
    return m;
  }

  // Replies to one id come back in request order, so waiters queue per id. Each waits at most `timeoutMs`.
  private awaitReply(id: number, what: string, timeoutMs = this.deadlines.requestMs): Promise<GuestMessage> {
    if (this.endError) return Promise.reject(this.endError);
    return new Promise<GuestMessage>((resolve, reject) => {
      let cancel = (): void => undefined;
      const waiter: Pending = {
        resolve: (m) => { cancel(); resolve(m); },
        reject: (e) => { cancel(); reject(e); },
      };
      if (timeoutMs > 0) {
        cancel = startDeadline(timeoutMs, () => {
          waiter.expired = true;
          this.updateRef();
          const why = `the guest agent did not answer ${what.toUpperCase()} within ${timeoutMs / 1000} s (the request deadline)`;
          reject(boxliteError('Portal', `${this.label}: ${why}`, new DeadlinePassed(why)));
        });
      }
      const queue = this.pending.get(id);
      if (queue) queue.push(waiter);
      else this.pending.set(id, [waiter]);
      this.updateRef();
    });
  }

  /**
   * Starts an execution; its events go to `sink`. Returns the exec id. The guest must report STARTED (or ERROR)
   * within the exec-start deadline; a command with a timeout must EXIT within it plus the exit grace, a killed
   * one within the grace after SIGKILL (counted while the host holds none of its output). Otherwise the host
   * asks the agent to kill it and the execution fails with a Portal error naming the deadline.
   */
  exec(req: ExecRequest, sink: ExecSink): number {
    const id = this.allocateId();
    if (this.endError) {
      queueMicrotask(() => sink.onFailed(this.endError!));
      return id;
    }
    const frame = encodeExec(id, req);
    const sentAt = Date.now();
    const state: ExecState = { sink, unackedOutputBytes: 0, cancelDeadline: () => undefined, started: false };
    const ms = this.deadlines.execStartMs;
    state.cancelDeadline = startDeadline(ms, () => this.abandon(id, `the guest agent did not report \`${req.argv[0]}\` started within ${ms / 1000} s (the exec-start deadline)`));
    this.execs.set(id, state);
    this.updateRef();
    this.socket.write(frame);
    if (req.timeoutMs > 0) {
      state.exit = {
        dueAt: sentAt + req.timeoutMs + this.deadlines.exitGraceMs,
        why: `\`${req.argv[0]}\` did not exit within its timeout of ${req.timeoutMs / 1000} s plus ${this.deadlines.exitGraceMs / 1000} s `
          + '(the exit deadline): the guest agent stopped answering; the host asked it to kill the command',
      };
    }
    return id;
  }

  // A killed command must exit within the grace period too (sooner than its timeout's deadline, if that is later).
  private expectExitAfterKill(id: number): void {
    const state = this.execs.get(id);
    if (!state) return;
    const dueAt = Date.now() + this.deadlines.exitGraceMs;
    if (state.exit && state.exit.dueAt <= dueAt) return;
    state.exit = { dueAt, why: `the command did not exit within ${this.deadlines.exitGraceMs / 1000} s of SIGKILL (the exit deadline): the guest agent stopped answering` };
    if (state.started) this.armExitDeadline(id, state);
  }

  // The exit deadline replaces the start deadline once STARTED arrives (see `dispatch`).
  private armExitDeadline(id: number, state: ExecState): void {
    const exit = state.exit;
    if (!exit) return;
    const arm = (at: number): () => void => startDeadline(Math.max(0, at - Date.now()), () => {
      // Output the host has not taken may be what holds the guest back (no credit): wait another grace period.
      if (state.unackedOutputBytes > 0) { state.cancelDeadline = arm(Date.now() + this.deadlines.exitGraceMs); return; }
      this.abandon(id, exit.why);
    });
    state.cancelDeadline();
    state.cancelDeadline = arm(exit.dueAt);
  }

  // Gives up on an execution the guest does not answer for: asks the agent to kill it, fails it, forgets its id.
  private abandon(id: number, why: string): void {
    const exec = this.execs.get(id);
    if (!exec) return;
    this.execs.delete(id);
    this.send({ kind: 'signal', id, signal: 9 }); // its OK, if it ever comes, meets no waiter and is dropped
    this.updateRef();
    exec.sink.onFailed(boxliteError('Portal', `${this.label}: ${why}`, new DeadlinePassed(why)));
  }

  /** Sends stdin bytes; the caller keeps within the stdin window (see INITIAL_STDIN_WINDOW_BYTES). */
  async writeStdin(id: number, data: Uint8Array): Promise<void> {
    this.throwIfEnded();
    if (!this.socket.write(encodeHostMessage({ kind: 'stdin', id, data }))) await this.drained();
  }

  /** Fire-and-forget control messages for an execution. */
  closeStdin(id: number): void { this.send({ kind: 'stdinClose', id }); }

  /** Returns output credit for bytes the consumer has taken. */
  returnCredit(id: number, bytes: number): void {
    const exec = this.execs.get(id);
    if (!exec || bytes <= 0) return;
    exec.unackedOutputBytes -= bytes;
    this.send({ kind: 'outputCredit', id, bytes });
  }

  /** Asks the agent to power the VM off; resolves once it has accepted. */
  shutdown(): Promise<void> {
    return this.request({ kind: 'shutdown' });
  }

  /** True until the connection ends. */
  get isOpen(): boolean {
    return this.endError === undefined;
  }

  /** The error that ended the connection, if any. */
  get error(): BoxliteError | undefined {
    return this.endError;
  }

  /** Graceful close: ends the session; idempotent. */
  close(): void {
    this.destroy(boxliteError('Portal', `${this.label}: the portal connection was closed`), true);
  }

  /** Ends the session with `err`: fails every pending request and execution. Idempotent. */
  destroy(err: BoxliteError, graceful = false): void {
    if (this.endError) return;
    this.endError = err;
    this.partialFrame?.cancel();
    for (const e of this.execs.values()) e.cancelDeadline();
    this.socket.destroy();
    this.helloWaiter?.reject(err);
    for (const queue of this.pending.values()) for (const p of queue) p.reject(err);
    this.pending.clear();
    const execs = [...this.execs.values()];
    this.execs.clear();
    for (const e of execs) e.sink.onFailed(err, graceful);
    this.resolveClosed(graceful ? undefined : err);
  }

  private onData(chunk: Buffer): void {
    if (this.endError) return;
    try {
      for (const body of this.splitter.push(chunk)) this.dispatch(decodeGuestFrame(body));
      this.watchPartialFrame();
    } catch (err) {
      const what = err instanceof ProtocolViolation ? 'sent a malformed frame' : 'broke the protocol';
      this.destroy(boxliteError('Portal', `${this.label}: the guest ${what}: ${messageOf(err)}; the connection was closed`, err));
    }
  }

  // A frame begun must be finished within the partial-frame deadline; a guest that stalls mid-frame is broken.
  private watchPartialFrame(): void {
    const held = this.splitter.pendingBytes;
    const frame = this.splitter.framesCompleted;
    if (held > 0 && this.partialFrame?.frame === frame) return;
    this.partialFrame?.cancel();
    this.partialFrame = undefined;
    if (held === 0 || this.endError) return;
    const ms = this.deadlines.partialFrameMs;
    this.partialFrame = {
      frame,
      cancel: startDeadline(ms, () => {
        if (this.endError) return;
        const why = new ProtocolViolation(`${this.splitter.pendingBytes} bytes of a frame arrived and not the rest within ${ms / 1000} s (the partial-frame deadline)`);
        this.destroy(boxliteError('Portal', `${this.label}: the guest stalled mid-frame: ${why.message}; the connection was closed`, why));
      }),
    };
  }

  private dispatch(msg: GuestMessage): void {
    switch (msg.kind) {
      case 'helloAck': {
        const w = this.helloWaiter;
        this.helloWaiter = undefined;
        w?.resolve(msg);
        return;
      }
      case 'ok': case 'pong': case 'statsReply': return this.settle(msg.id, msg);
      case 'error': {
        if (this.pending.has(msg.id)) return this.settle(msg.id, msg);
        const exec = this.execs.get(msg.id);
        if (exec) {
          this.execs.delete(msg.id);
          exec.cancelDeadline();
          this.updateRef();
          exec.sink.onFailed(boxliteError('Run', msg.message));
          return;
        }
        return this.settle(msg.id, msg);
      }
      case 'started': {
        const exec = this.execs.get(msg.id);
        if (!exec) return;
        exec.cancelDeadline();
        exec.cancelDeadline = () => undefined;
        exec.started = true;
        this.armExitDeadline(msg.id, exec);
        return exec.sink.onStarted(msg.pid);
      }
      case 'stdout': case 'stderr': {
        const exec = this.execs.get(msg.id);
        if (!exec) return;
        exec.unackedOutputBytes += msg.data.length;
        if (exec.unackedOutputBytes > INITIAL_OUTPUT_WINDOW_BYTES) {
          throw new ProtocolViolation(`exec ${msg.id} sent ${exec.unackedOutputBytes} unacknowledged output bytes, the window is ${INITIAL_OUTPUT_WINDOW_BYTES}`);
        }
        return exec.sink.onOutput(msg.kind, Buffer.from(msg.data));
      }
      case 'stdinCredit': {
        if (msg.bytes > INITIAL_STDIN_WINDOW_BYTES) throw new ProtocolViolation(`stdin credit of ${msg.bytes} bytes exceeds the window`);
        return this.execs.get(msg.id)?.sink.onStdinCredit(msg.bytes);
      }
      case 'exit': {
        const exec = this.execs.get(msg.id);
        if (!exec) return;
        this.execs.delete(msg.id);
        exec.cancelDeadline();
        this.updateRef();
        return exec.sink.onExit(msg.status, msg.timedOut);
      }
    }
  }

  private settle(id: number, msg: GuestMessage): void {
    const queue = this.pending.get(id);
    const p = queue?.shift();
    if (!p) return;
    if (queue!.length === 0) this.pending.delete(id);
    this.updateRef();
    if (!p.expired) p.resolve(msg);
  }

  private send(msg: HostMessage): void {
    if (this.endError) return;
    this.socket.write(encodeHostMessage(msg));
  }

  private throwIfEnded(): void {
    if (this.endError) throw this.endError;
  }

  private drained(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => { this.socket.off('drain', done); this.socket.off('close', done); resolve(); };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private allocateId(): number {
    const id = this.nextId;
    this.nextId = this.nextId >= 0xffff_fff0 ? 1 : this.nextId + 1;
    return id;
  }
}

// The EXEC frame of `req`; InvalidArgument naming the limit when its argv and env do not fit in one frame.
function encodeExec(id: number, req: ExecRequest): Buffer {
  try {
    const { tty, builtin, ...rest } = req;
    return encodeHostMessage({ kind: 'exec', id, ...rest, flags: (tty ? EXEC_FLAG_TTY : 0) | (builtin ? EXEC_FLAG_BUILTIN : 0) });
  } catch (err) {
    if (!(err instanceof RangeError)) throw err;
    throw boxliteError('InvalidArgument', `\`${req.argv[0]}\` cannot be sent to the box: ${err.message}. A command's arguments, environment, `
      + `working directory and user must fit in one ${MAX_FRAME_BYTES}-byte (1 MiB) portal frame, with at most 65535 arguments and 65535 `
      + `environment entries; pass large data on stdin or in a file instead`, err);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

function openSocket(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path });
    socket.once('connect', () => { socket.off('error', reject); resolve(socket); });
    socket.once('error', reject);
  });
}
