// Extracts the uncompressed ELF kernel (vmlinux) from a bzImage, for QEMU's PVH direct boot on microvm.
import zlib from 'node:zlib';
import { boxliteError } from '../errors.js';
import { Elf64, isElf } from './elf.js';
import { decompressLz4Legacy } from './lz4.js';
import { runTool } from './run-tool.js';

/** A compression a kernel payload can use. */
export type KernelCompression = 'gzip' | 'xz' | 'zstd' | 'lz4' | 'bzip2' | 'lzma' | 'lzo';

/** Where the compressed kernel sits inside a bzImage. */
export interface KernelPayload {
  compression: KernelCompression;
  offset: number;
  /** Bytes up to the end of the payload, when the boot header says; otherwise up to the end of the file. */
  length: number;
  /** Whether the position came from the boot header (exact) or from a scan for a magic (a guess). */
  source: 'header' | 'scan';
}

/** Magic bytes of each compression, as in the kernel's scripts/extract-vmlinux. */
export const PAYLOAD_MAGICS: readonly { compression: KernelCompression; magic: Buffer }[] = [
  { compression: 'gzip', magic: Buffer.from([0x1f, 0x8b, 0x08]) },
  { compression: 'xz', magic: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) },
  { compression: 'zstd', magic: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]) },
  { compression: 'lz4', magic: Buffer.from([0x02, 0x21, 0x4c, 0x18]) },
  { compression: 'bzip2', magic: Buffer.from('BZh', 'latin1') },
  { compression: 'lzma', magic: Buffer.from([0x5d, 0x00, 0x00, 0x00]) },
  { compression: 'lzo', magic: Buffer.from([0x89, 0x4c, 0x5a, 0x4f, 0x00, 0x0d, 0x0a, 0x1a, 0x0a]) },
];

/** The ELF note type of the PVH 32-bit entry point (XEN_ELFNOTE_PHYS32_ENTRY). */
export const XEN_ELFNOTE_PHYS32_ENTRY = 18;

/**
 * Finds where the compressed kernel may sit inside a bzImage. The boot protocol header (`setup_sects`,
 * `payload_offset`, `payload_length`, protocol >= 2.08) gives the exact place; without it, every occurrence
 * of a known compression magic is a candidate (at most `perMagic` of each, in file order), as in the
 * kernel's scripts/extract-vmlinux. Candidates come best first.
 */
export function findKernelPayloads(image: Buffer, perMagic = 8): KernelPayload[] {
  if (image.length > 0x250 && image.toString('latin1', 0x202, 0x206) === 'HdrS' && image.readUInt16LE(0x206) >= 0x208) {
    const setupSects = image[0x1f1] || 4;
    const offset = (setupSects + 1) * 512 + image.readUInt32LE(0x248);
    const length = image.readUInt32LE(0x24c);
    const compression = compressionAt(image, offset);
    if (compression && offset + length <= image.length) return [{ compression, offset, length, source: 'header' }];
  }
  const found: KernelPayload[] = [];
  for (const { compression, magic } of PAYLOAD_MAGICS) {
    for (let at = image.indexOf(magic), n = 0; at >= 0 && n < perMagic; at = image.indexOf(magic, at + 1), n++) {
      found.push({ compression, offset: at, length: image.length - at, source: 'scan' });
    }
  }
  return found;
}

function compressionAt(buf: Buffer, offset: number): KernelCompression | undefined {
  return PAYLOAD_MAGICS.find(({ magic }) => buf.subarray(offset, offset + magic.length).equals(magic))?.compression;
}

/** The extracted kernel and how it was stored in the bzImage. */
export interface ExtractedKernel {
  vmlinux: Buffer;
  compression: KernelCompression;
}

/** Decompresses the kernel inside a bzImage (`label` names the file in errors); the result is an ELF file. */
export async function extractVmlinux(image: Buffer, label: string, signal?: AbortSignal): Promise<ExtractedKernel> {
  const candidates = findKernelPayloads(image);
  const problems: string[] = [];
  for (const payload of candidates) {
    try {
      const vmlinux = await decompressPayload(image, payload, label, signal);
      if (isElf(vmlinux)) return { vmlinux, compression: payload.compression };
      problems.push(`${payload.compression} at ${payload.offset}: not an ELF file`);
    } catch (e) {
      signal?.throwIfAborted();
      if (payload.source === 'header') throw e;
      problems.push(`${payload.compression} at ${payload.offset}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const tried = problems.length ? `; tried ${problems.slice(0, 5).join('; ')}` : '';
  throw boxliteError('Config', `${label}: no compressed ELF kernel found inside${tried}`);
}

async function decompressPayload(image: Buffer, payload: KernelPayload, label: string, signal?: AbortSignal): Promise<Buffer> {
  let data = image.subarray(payload.offset, payload.offset + payload.length);
  // Every compressor but gzip is followed by the kernel's 4-byte little-endian uncompressed size (size_append).
  let expected: number | undefined;
  if (payload.source === 'header' && payload.compression !== 'gzip') {
    expected = data.readUInt32LE(data.length - 4);
    data = data.subarray(0, data.length - 4);
  }
  const out = await decompress(payload.compression, data, label, signal);
  if (expected !== undefined && out.length !== expected) {
    throw boxliteError('Config', `${label}: ${payload.compression} payload decoded to ${out.length} bytes, the image says ${expected}`);
  }
  return out;
}

async function decompress(kind: KernelCompression, data: Buffer, label: string, signal?: AbortSignal): Promise<Buffer> {
  switch (kind) {
    case 'gzip':
      return gunzipIgnoringTrailer(data);
    case 'lz4':
      return decompressLz4Legacy(data);
    case 'xz':
      return (await runTool('xz', ['-dc', '--single-stream'], { input: data, signal, hint: `decompressing ${label}` })).stdout;
    case 'zstd': {
      // A scanned (not header-bounded) payload has trailing bytes, which zstd reports after writing all output.
      const r = await runTool('zstd', ['-dcq'], { input: data, signal, allowFailure: true });
      if (r.exitCode === 0 || isElf(r.stdout)) return r.stdout;
      throw boxliteError('Config', `${label}: zstd could not decompress the kernel: ${r.stderr.trim()}`);
    }
    default:
      throw boxliteError('Config', `${label} is compressed with ${kind}, which setup cannot extract: use a kernel built with gzip, xz, zstd or lz4`);
  }
}

/** Decompresses the first gzip member and ignores what follows it (zlib's gunzip would parse it as another member). */
export function gunzipIgnoringTrailer(data: Buffer): Buffer {
  const flags = data[3] ?? 0;
  let p = 10;
  if (flags & 4) p += 2 + data.readUInt16LE(p); // FEXTRA
  if (flags & 8) p = data.indexOf(0, p) + 1; // FNAME
  if (flags & 16) p = data.indexOf(0, p) + 1; // FCOMMENT
  if (flags & 2) p += 2; // FHCRC
  if (p <= 0 || p >= data.length) throw boxliteError('Config', 'truncated gzip header');
  return zlib.inflateRawSync(data.subarray(p));
}

/** Checks that `vmlinux` is an ELF kernel with a PVH entry note, which QEMU needs to boot it directly; returns the entry. */
export function checkPvhKernel(vmlinux: Buffer, label: string): number {
  const elf = Elf64.parse(vmlinux, label);
  const note = elf.notes().find((n) => n.name === 'Xen' && n.type === XEN_ELFNOTE_PHYS32_ENTRY);
  if (!note || note.desc.length < 4) {
    throw boxliteError('Config', `${label} has no PVH entry note (Xen note type ${XEN_ELFNOTE_PHYS32_ENTRY}); QEMU cannot boot it directly: use a kernel built with CONFIG_PVH=y`);
  }
  return note.desc.readUInt32LE(0);
}
