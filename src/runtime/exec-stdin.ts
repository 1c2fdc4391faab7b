// ExecStdin: writes to a running command's standard input, within the guest's flow-control window.
import { boxliteError, type BoxliteError } from '../errors.js';
import { INITIAL_STDIN_WINDOW_BYTES, MAX_DATA_BYTES } from '../portal/protocol.js';

/** @internal What ExecStdin needs from the portal. */
export interface StdinTransport {
  write(data: Uint8Array): Promise<void>;
  close(): void;
}

/**
 * Standard input of an execution. `write()` resolves once the bytes are on their way (it waits while the guest's
 * buffer is full); `close()` signals end of input (EOF; on a TTY, ^D). Disposing closes it.
 */
export class ExecStdin implements AsyncDisposable {
  private credit = INITIAL_STDIN_WINDOW_BYTES;
  private closed = false;
  private finished: BoxliteError | undefined;
  private wake: (() => void) | undefined;
  private queue: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(private readonly transport: StdinTransport, private readonly label: string) {}

  /** Writes bytes (or a string, as UTF-8). Writes are sent in call order. */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (this.closed) return Promise.reject(boxliteError('InvalidState', `stdin of ${this.label} is already closed`));
    const next = this.queue.then(() => this.send(bytes));
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Same as `write()`: resolves when every byte has been handed to the box. */
  writeAll(data: Uint8Array | string): Promise<void> {
    return this.write(data);
  }

  /** Ends input: the process reads EOF after the bytes already written. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    if (!this.finished) this.transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal The guest accepted `bytes` more. */
  addCredit(bytes: number): void {
    this.credit = Math.min(INITIAL_STDIN_WINDOW_BYTES, this.credit + bytes);
    this.wakeWriter();
  }

  /** @internal The execution ended; pending and later writes fail with `err`. */
  finish(err: BoxliteError): void {
    this.finished ??= err;
    this.wakeWriter();
  }

  private async send(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      if (this.finished) throw this.finished;
      if (this.credit === 0) {
        await new Promise<void>((resolve) => { this.wake = resolve; });
        continue;
      }
      const n = Math.min(this.credit, MAX_DATA_BYTES, bytes.length - offset);
      this.credit -= n;
      await this.transport.write(bytes.subarray(offset, offset + n));
      offset += n;
    }
  }

  private wakeWriter(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}
