// Reads what a qcow2 file's header says: its virtual size and its backing file's name (pure over the bytes).
import fs from 'node:fs';

/** The fields of a qcow2 header that disk snapshots need. */
export interface Qcow2Header {
  /** The size of the disk the guest sees, in bytes. */
  virtualSizeBytes: number;
  /** The backing file's name as written in the header (relative names are relative to the file's directory). */
  backingFile: string | undefined;
}

const MAGIC = 0x514649fb; // "QFI\xfb"
/** Longest backing file name qcow2 allows (QEMU's limit). */
const MAX_BACKING_NAME = 1023;

/** Parses a qcow2 header from the first bytes of a file (at least 72, plus the backing name); throws on anything else. */
export function parseQcow2Header(bytes: Buffer): Qcow2Header {
  if (bytes.length < 72 || bytes.readUInt32BE(0) !== MAGIC) throw new Error('not a qcow2 file (bad magic)');
  const version = bytes.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Error(`unsupported qcow2 version ${version}`);
  const backingOffset = Number(bytes.readBigUInt64BE(8));
  const backingSize = bytes.readUInt32BE(16);
  const virtualSizeBytes = Number(bytes.readBigUInt64BE(24));
  if (backingOffset === 0 || backingSize === 0) return { virtualSizeBytes, backingFile: undefined };
  if (backingSize > MAX_BACKING_NAME || backingOffset + backingSize > bytes.length) throw new Error(`backing file name out of the header's bytes (offset ${backingOffset}, ${backingSize} bytes)`);
  return { virtualSizeBytes, backingFile: bytes.subarray(backingOffset, backingOffset + backingSize).toString('utf8') };
}

/** The header of the qcow2 file at `file`. */
export async function readQcow2Header(file: string): Promise<Qcow2Header> {
  const fd = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await fd.read(buf, 0, buf.length, 0);
    return parseQcow2Header(buf.subarray(0, bytesRead));
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  } finally {
    await fd.close();
  }
}
