// The kept-output log format: records of [stream byte, uint32 length, data], so stdout and stderr stay in order and bytes intact.
import { boxliteError } from '../errors.js';

/** Which stream a record holds. */
export type LogStream = 'stdout' | 'stderr';

/** One chunk of a command's output. */
export interface LogRecord {
  stream: LogStream;
  data: Buffer;
}

/** The header of a record: its stream (1 = stdout, 2 = stderr) and the data's length, big-endian. */
export const RECORD_HEADER_BYTES = 5;
/** The most data one record holds; longer chunks are split. */
export const MAX_RECORD_DATA_BYTES = 64 * 1024;

const STREAM_BYTE: Record<LogStream, number> = { stdout: 1, stderr: 2 };

/** The records holding `data` of `stream`, split at MAX_RECORD_DATA_BYTES. */
export function encodeRecords(stream: LogStream, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += MAX_RECORD_DATA_BYTES) {
    const part = data.subarray(at, at + MAX_RECORD_DATA_BYTES);
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    header[0] = STREAM_BYTE[stream];
    header.writeUInt32BE(part.length, 1);
    out.push(Buffer.concat([header, part]));
  }
  return out;
}

/**
 * Decodes records from chunks of a log file. A record cut short (the writer was killed mid-write, or it is being
 * written) is held until more arrives, so the decoder keeps at most one record's bytes. A header naming no stream
 * or a longer record than any writer makes is a Storage error naming `file`.
 */
export class LogDecoder {
  private pending = Buffer.alloc(0);

  constructor(private readonly file: string) {}

  /** The whole records `chunk` completes. */
  push(chunk: Buffer): LogRecord[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const records: LogRecord[] = [];
    while (buf.length >= RECORD_HEADER_BYTES) {
      const kind = buf[0];
      const length = buf.readUInt32BE(1);
      if ((kind !== 1 && kind !== 2) || length > MAX_RECORD_DATA_BYTES) {
        throw boxliteError('Storage', `the kept output ${this.file} is damaged (a record of stream ${kind} and ${length} bytes); delete it, or remove the box`);
      }
      if (buf.length < RECORD_HEADER_BYTES + length) break;
      records.push({ stream: kind === 1 ? 'stdout' : 'stderr', data: Buffer.from(buf.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + length)) });
      buf = buf.subarray(RECORD_HEADER_BYTES + length);
    }
    this.pending = Buffer.from(buf);
    return records;
  }

  /** Bytes of a record not yet complete. */
  get pendingBytes(): number {
    return this.pending.length;
  }
}
