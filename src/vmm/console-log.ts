// Keeps a VM's serial console bounded: a size-capped file in the box dir, and a bounded read of its tail.
import fs from 'node:fs';

/** Default cap of the console file: a hostile guest cannot fill the host disk through its console. */
export const CONSOLE_FILE_MAX_BYTES = 1024 * 1024;
/** How much of the end of the console file is read for error messages. */
export const CONSOLE_TAIL_BYTES = 16 * 1024;

/** Appends console output to a file until it reaches its cap; later output is dropped. */
export class ConsoleLog {
  private fd: number | undefined;
  private written = 0;

  constructor(readonly path: string, private readonly maxFileBytes = CONSOLE_FILE_MAX_BYTES) {
    this.fd = fs.openSync(path, 'a', 0o600);
    this.written = fs.fstatSync(this.fd).size;
  }

  /** Records a chunk of console output. */
  append(chunk: Buffer): void {
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

  /** Closes the file. Idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    fs.closeSync(this.fd);
    this.fd = undefined;
  }
}

/** The last `maxLines` non-empty lines of a console log, control characters removed ("" if there is none). */
export function consoleTail(path: string, maxLines = 25): string {
  let text = '';
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const len = Math.min(size, CONSOLE_TAIL_BYTES);
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, size - len);
      text = buf.toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/\r/g, '').replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
  return clean.split('\n').filter((l) => l.trim() !== '').slice(-maxLines).join('\n');
}
