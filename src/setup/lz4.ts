// Decoder for the LZ4 "legacy" frame format that Linux uses for LZ4-compressed kernels (CONFIG_KERNEL_LZ4).
import { boxliteError } from '../errors.js';

/** The legacy frame magic, 0x184C2102, as it appears in the file (little-endian). */
export const LZ4_LEGACY_MAGIC = Buffer.from([0x02, 0x21, 0x4c, 0x18]);

const LEGACY_BLOCK_BYTES = 8 * 1024 * 1024;
const MAX_COMPRESSED_BLOCK = LEGACY_BLOCK_BYTES + Math.floor(LEGACY_BLOCK_BYTES / 255) + 16;

/**
 * Decompresses one or more concatenated legacy LZ4 frames (magic, then blocks of `u32 LE size + data`, each
 * decoding to at most 8 MiB). Stops at the end of input or at a block size no legacy block can have (the
 * kernel's appended length), like the `lz4` tool does.
 */
export function decompressLz4Legacy(input: Buffer, expectedBytes?: number): Buffer {
  if (!input.subarray(0, 4).equals(LZ4_LEGACY_MAGIC)) throw boxliteError('Config', 'LZ4 data does not start with the legacy frame magic 02 21 4c 18');
  const parts: Buffer[] = [];
  let total = 0;
  let p = 4;
  while (p + 4 <= input.length) {
    const size = input.readUInt32LE(p);
    if (input.subarray(p, p + 4).equals(LZ4_LEGACY_MAGIC)) { p += 4; continue; }
    if (size === 0 || size > MAX_COMPRESSED_BLOCK || p + 4 + size > input.length) break;
    const block = decodeLz4Block(input.subarray(p + 4, p + 4 + size), LEGACY_BLOCK_BYTES);
    parts.push(block);
    total += block.length;
    p += 4 + size;
  }
  if (expectedBytes !== undefined && total !== expectedBytes) {
    throw boxliteError('Config', `LZ4 data decoded to ${total} bytes, but ${expectedBytes} were expected`);
  }
  return Buffer.concat(parts, total);
}

/** Decodes one raw LZ4 block whose output is at most `maxOut` bytes. */
export function decodeLz4Block(src: Buffer, maxOut: number): Buffer {
  const out = Buffer.allocUnsafe(maxOut);
  let s = 0;
  let d = 0;
  const bad = (why: string): never => { throw boxliteError('Config', `corrupt LZ4 block at input byte ${s}: ${why}`); };
  while (s < src.length) {
    const token = src[s++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do { if (s >= src.length) bad('truncated literal length'); b = src[s++]!; lit += b; } while (b === 255);
    }
    if (s + lit > src.length) bad('literals run past the end of the block');
    if (d + lit > maxOut) bad('output larger than the block size');
    src.copy(out, d, s, s + lit);
    s += lit;
    d += lit;
    if (s >= src.length) break; // the last sequence has literals only
    if (s + 2 > src.length) bad('truncated match offset');
    const offset = src[s]! | (src[s + 1]! << 8);
    s += 2;
    if (offset === 0 || offset > d) bad(`match offset ${offset} points before the start of the output`);
    let len = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do { if (s >= src.length) bad('truncated match length'); b = src[s++]!; len += b; } while (b === 255);
    }
    if (d + len > maxOut) bad('output larger than the block size');
    let from = d - offset;
    if (offset >= len) {
      out.copy(out, d, from, from + len);
      d += len;
    } else {
      for (const end = d + len; d < end;) out[d++] = out[from++]!; // overlapping copy repeats the pattern
    }
  }
  return out.subarray(0, d);
}
