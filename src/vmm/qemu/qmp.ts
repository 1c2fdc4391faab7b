// A small QMP (QEMU Machine Protocol) client over a unix socket: greeting, capabilities, commands; bounded reads.
import net from 'node:net';
import { pollDelayMs } from '../../util/poll-delay.js';
import { boxliteError } from '../../errors.js';

/** Longest line QEMU may send before the connection is dropped. */
const MAX_LINE_BYTES = 1024 * 1024;

type Reply = { return?: unknown; error?: { class?: string; desc?: string } };

/** One QMP session. Lifecycle: `connect()` (greeting read, capabilities negotiated) → `execute()`… → `close()`. */
export class QmpClient {
  private buffer = '';
  private readonly waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  private greeted!: () => void;
  private readonly greeting = new Promise<void>((resolve) => { this.greeted = resolve; });

  private constructor(private readonly socket: net.Socket, private readonly label: string) {
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => this.onData(text));
    socket.on('error', (e) => this.fail(boxliteError('Engine', `${label}: QMP connection error: ${e.message}`, e)));
    socket.on('close', () => this.fail(boxliteError('Engine', `${label}: QEMU closed its QMP connection`)));
  }

  /** Connects to `socketPath` (retrying until it exists, up to `timeoutMs`) and negotiates capabilities. */
  static async connect(socketPath: string, label: string, timeoutMs = 10_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      const socket = net.connect(socketPath);
      const ok = await new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
      });
      if (ok) {
        const client = new QmpClient(socket, label);
        await client.withTimeout(client.greeting, deadline, 'the QMP greeting');
        await client.execute('qmp_capabilities', undefined, Math.max(1000, deadline - Date.now()));
        return client;
      }
      socket.destroy();
      if (Date.now() > deadline) throw boxliteError('Engine', `${label}: could not connect to QEMU's QMP socket ${socketPath} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollDelayMs(attempt, 20)));
    }
  }

  /** Runs a QMP command and returns its `return` value; an Engine error carries QEMU's description. */
  async execute(command: string, args?: Record<string, unknown>, timeoutMs = 10_000): Promise<unknown> {
    if (this.failure) throw this.failure;
    const reply = new Promise<Reply>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}) })}\n`);
    const r = await this.withTimeout(reply, Date.now() + timeoutMs, `the answer to ${command}`);
    if (r.error) throw boxliteError('Engine', `${this.label}: QEMU refused ${command}: ${r.error.desc ?? r.error.class ?? 'unknown error'}`);
    return r.return;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(text: string): void {
    this.buffer += text;
    if (this.buffer.length > MAX_LINE_BYTES) {
      this.fail(boxliteError('Engine', `${this.label}: QEMU sent a QMP line over ${MAX_LINE_BYTES} bytes`));
      this.socket.destroy();
      return;
    }
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      let msg: Reply & { QMP?: unknown; event?: unknown };
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        this.fail(boxliteError('Engine', `${this.label}: QEMU sent a QMP line that is not JSON`));
        return;
      }
      if (msg.QMP) this.greeted();
      else if (msg.event === undefined) this.waiting.shift()?.resolve(msg);
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  private async withTimeout<T>(p: Promise<T>, deadline: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(boxliteError('Engine', `${this.label}: QEMU did not send ${what} in time`)), Math.max(0, deadline - Date.now()));
    });
    try {
      return await Promise.race([p, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}
