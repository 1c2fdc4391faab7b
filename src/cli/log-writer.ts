// Writes a command's output as log records, bounded: a full log file is rotated to `.1` (replacing the older one).
import fs from 'node:fs';
import { encodeRecords, type LogStream } from './log-format.js';

/**
 * Appends output records to `current`; once it holds `maxBytes`, it is renamed to `previous` and a new `current`
 * begun, so the kept output never takes more than about twice `maxBytes` (the newest output is what survives).
 * Writes are synchronous, so records of stdout and stderr never interleave within one another. Once the
 * directory is gone (the box was removed), output is dropped: nothing is re-created.
 */
export class LogWriter {
  private fd: number | undefined;
  private size = 0;

  constructor(private readonly current: string, private readonly previous: string, private readonly maxBytes: number) {
    this.fd = fs.openSync(current, 'a', 0o600);
    this.size = fs.fstatSync(this.fd).size;
  }

  /** Appends `data` of `stream`. */
  write(stream: LogStream, data: Buffer): void {
    for (const record of encodeRecords(stream, data)) {
      if (this.size > 0 && this.size + record.length > this.maxBytes) this.rotate();
      if (this.fd === undefined) return;
      try {
        fs.writeSync(this.fd, record);
        this.size += record.length;
      } catch {
        this.close(); // a full or vanished disk: keeping stops, the command goes on
      }
    }
  }

  /** Closes the file; idempotent. */
  close(): void {
    if (this.fd === undefined) return;
    try { fs.closeSync(this.fd); } catch { /* already gone */ }
    this.fd = undefined;
  }

  private rotate(): void {
    this.close();
    try {
      fs.renameSync(this.current, this.previous);
      this.fd = fs.openSync(this.current, 'wx', 0o600);
      this.size = 0;
    } catch {
      this.fd = undefined; // the box's directory was removed
    }
  }
}
