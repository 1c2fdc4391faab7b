// Parsers for what the agent's file operations print: stat records and watch records, checked field by field.
import { boxliteError, type BoxliteError } from '../errors.js';
import { BoxStats, type BoxFileType, type WatchEventType } from './types.js';

const KINDS: Record<string, BoxFileType> = {
  f: 'file', d: 'directory', l: 'symlink', c: 'char-device', b: 'block-device', p: 'fifo', s: 'socket',
};
const WATCH_KINDS: Record<string, WatchEventType | 'ready'> = {
  R: 'ready', c: 'create', m: 'modify', w: 'write', d: 'delete', f: 'rename-from', t: 'rename-to', a: 'attrib', o: 'overflow', x: 'gone',
};
const STAT_HEADER = 43;
const MAX_NAME = 4096;

/** A record that does not parse: the guest is broken or hostile. */
function garbage(what: string): BoxliteError {
  return boxliteError('Portal', `the box's agent sent a malformed ${what}; the guest is broken or hostile`);
}

/** Parses the stat records of `fs.stat` / `fs.list` (see docs/portal-protocol.md, "Files"). */
export function parseStatRecords(buf: Buffer): BoxStats[] {
  const out: BoxStats[] = [];
  let off = 0;
  while (off < buf.length) {
    if (buf.length - off < STAT_HEADER) throw garbage('stat record (truncated)');
    const kind = KINDS[String.fromCharCode(buf[off]!)];
    if (!kind) throw garbage(`stat record (kind ${buf[off]})`);
    const nameLen = buf.readUInt16BE(off + 41);
    if (nameLen > MAX_NAME || buf.length - off < STAT_HEADER + nameLen + 2) throw garbage('stat record (name)');
    const name = buf.subarray(off + STAT_HEADER, off + STAT_HEADER + nameLen).toString('utf8');
    const linkAt = off + STAT_HEADER + nameLen;
    const linkLen = buf.readUInt16BE(linkAt);
    if (linkLen > MAX_NAME || buf.length - linkAt - 2 < linkLen) throw garbage('stat record (link)');
    const link = buf.subarray(linkAt + 2, linkAt + 2 + linkLen).toString('utf8');
    if (name.includes('\0') || link.includes('\0')) throw garbage('stat record (NUL in a name)');
    out.push(new BoxStats(
      name, kind, buf.readUInt32BE(off + 1), buf.readUInt32BE(off + 5), buf.readUInt32BE(off + 9),
      Number(buf.readBigUInt64BE(off + 13)), buf.readBigInt64BE(off + 21), Number(buf.readBigUInt64BE(off + 29)),
      buf.readUInt32BE(off + 37), kind === 'symlink' ? link : undefined,
    ));
    off = linkAt + 2 + linkLen;
  }
  return out;
}

/** One parsed watch record. */
export interface WatchRecord { type: WatchEventType | 'ready'; name: string; isDirectory: boolean }

/** Splits a byte stream of watch records; keeps a partial record for the next chunk. */
export class WatchRecordSplitter {
  private pending: Buffer = Buffer.alloc(0);

  /** Records completed by `chunk`. */
  push(chunk: Buffer): WatchRecord[] {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const out: WatchRecord[] = [];
    let off = 0;
    while (this.pending.length - off >= 4) {
      const type = WATCH_KINDS[String.fromCharCode(this.pending[off]!)];
      const flag = this.pending[off + 1]!;
      const len = this.pending.readUInt16BE(off + 2);
      if (!type || flag > 1 || len > MAX_NAME) throw garbage('watch record');
      if (this.pending.length - off - 4 < len) break;
      const name = this.pending.subarray(off + 4, off + 4 + len).toString('utf8');
      if (name.includes('\0')) throw garbage('watch record (NUL in a name)');
      out.push({ type, name, isDirectory: flag === 1 });
      off += 4 + len;
    }
    this.pending = this.pending.subarray(off);
    return out;
  }
}
