// A pass-through check of a tar stream from a box: follows its block structure so that no extended header
// (pax, GNU long name) larger than 1 MiB reaches the tar parser, which would buffer it whole.
import { Transform, type TransformCallback } from 'node:stream';
import { boxliteError } from '../errors.js';

const BLOCK = 512;
export const MAX_META_BYTES = 1024 * 1024;

/** The size field of a ustar header (octal, or GNU base-256); undefined when malformed. */
export function headerSize(block: Buffer): number | undefined {
  const f = block.subarray(124, 136);
  if (f[0]! & 0x80) {
    let v = f[0]! & 0x7f;
    for (let i = 1; i < f.length; i++) {
      v = v * 256 + f[i]!;
      if (v > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return v;
  }
  const text = f.toString('latin1').replace(/[\0 ]+$/, '').replace(/^[ ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  return parseInt(text, 8);
}

/** Fails the stream when an extended header is too large or a header is unreadable. */
export class TarGuard extends Transform {
  private header = Buffer.alloc(0);
  private bodyLeft = 0;

  constructor(private readonly source: string) { super(); }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let off = 0;
    while (off < chunk.length) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, chunk.length - off);
        this.bodyLeft -= n;
        off += n;
        continue;
      }
      const n = Math.min(BLOCK - this.header.length, chunk.length - off);
      this.header = Buffer.concat([this.header, chunk.subarray(off, off + n)]);
      off += n;
      if (this.header.length < BLOCK) continue;
      const block = this.header;
      this.header = Buffer.alloc(0);
      if (block.every((b) => b === 0)) continue;
      const size = headerSize(block);
      const type = String.fromCharCode(block[156]!);
      if (size === undefined) return done(boxliteError('Portal', `${this.source} sent a tar header with an unreadable size; the guest is broken or hostile`));
      if ('xgLK'.includes(type) && size > MAX_META_BYTES) {
        return done(boxliteError('Portal', `${this.source} sent an extended tar header of ${size} bytes (at most ${MAX_META_BYTES}); the guest is broken or hostile`));
      }
      this.bodyLeft = Math.ceil(size / BLOCK) * BLOCK;
    }
    done(null, chunk);
  }
}
