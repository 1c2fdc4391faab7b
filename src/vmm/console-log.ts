// Keeps a VM's serial console bounded: a size-capped file in the box dir plus an in-memory tail for errors.
import fs from 'node:fs';

/** Default cap of the console file: a hostile guest cannot fill the host disk through its console. */
export const CONSOLE_FILE_MAX_BYTES = 1024 * 1024;
/** How much of the latest console output is kept in memory for error messages. */
export const CONSOLE_TAIL_BYTES = 16 * 1024;

/** Appends console output to a capped file and remembers the last bytes. */
export class ConsoleLog {
  private fd: number | undefined;
  private written = 0;
  private tailChunks: Buffer[] = [];
  private tailBytes = 0;

  constructor(readonly path: string, private readonly maxFileBytes = CONSOLE_FILE_MAX_BYTES) {
    this.fd = fs.openSync(path, 'w', 0o600);
  }

  /** Records a chunk of console output. */
  append(chunk: Buffer): void {
    this.tailChunks.push(chunk);
    this.tailBytes += chunk.length;
    while (this.tailBytes - this.tailChunks[0]!.length >= CONSOLE_TAIL_BYTES) {
      this.tailBytes -= this.tailChunks.shift()!.length;
    }
    if (this.fd === undefined) return;
    const room = this.maxFileBytes - this.written;
    const part = chunk.subarray(0, Math.max(0, room));
    if (part.length > 0) fs.writeSync(this.fd, part);
    this.written += part.length;
    if (part.length < chunk.length) {
      fs.writeSync(this.fd, `\n[boxlite: console log truncated at ${this.maxFileBytes} bytes]\n`);
      this.close();
    }
  }

  /** The last `maxLines` lines of console output, as text with control characters removed. */
  tail(maxLines = 25): string {
    const text = Buffer.concat(this.tailChunks).toString('utf8');
    // eslint-disable-next-line no-control-regex
    const clean = text.replace(/\r/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
    return clean.split('\n').filter((l) => l.trim() !== '').slice(-maxLines).join('\n');
  }

  /** Closes the file; later output is kept only in memory. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
