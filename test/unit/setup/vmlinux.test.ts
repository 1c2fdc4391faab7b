// Finding and decompressing the kernel inside a bzImage, on synthetic images; LZ4 legacy decoding; the PVH note check.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { decodeLz4Block, decompressLz4Legacy, LZ4_LEGACY_MAGIC } from '../../../src/setup/lz4.js';
import { checkPvhKernel, extractVmlinux, findKernelPayloads, XEN_ELFNOTE_PHYS32_ENTRY } from '../../../src/setup/vmlinux.js';

/** A minimal ELF64 executable with one PT_NOTE segment holding `notes`, padded with `fill` bytes. */
function fakeElf(notes: { name: string; type: number; desc: Buffer }[], fill = 4096): Buffer {
  const noteBufs = notes.map(({ name, type, desc }) => {
    const n = Buffer.from(`${name}\0`);
    const h = Buffer.alloc(12);
    h.writeUInt32LE(n.length, 0);
    h.writeUInt32LE(desc.length, 4);
    h.writeUInt32LE(type, 8);
    const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]);
    return Buffer.concat([h, pad(n), pad(desc)]);
  });
  const noteSeg = Buffer.concat(noteBufs);
  const eh = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(eh);
  eh.writeUInt16LE(2, 0x10); // ET_EXEC
  eh.writeUInt16LE(0x3e, 0x12); // x86_64
  eh.writeBigUInt64LE(64n, 0x20); // e_phoff
  eh.writeUInt16LE(56, 0x36);
  eh.writeUInt16LE(1, 0x38);
  const ph = Buffer.alloc(56);
  ph.writeUInt32LE(4, 0); // PT_NOTE
  ph.writeBigUInt64LE(120n, 8);
  ph.writeBigUInt64LE(BigInt(noteSeg.length), 32);
  return Buffer.concat([eh, ph, noteSeg, Buffer.alloc(fill, 0xab)]);
}

/** A bzImage-shaped buffer: boot header at 0x1f1.., protected-mode code after (setupSects+1)*512, then payload. */
function fakeBzImage(payload: Buffer, withHeader = true): Buffer {
  const setupSects = 3;
  const pmStart = (setupSects + 1) * 512;
  const payloadOffset = 100;
  const img = Buffer.alloc(pmStart + payloadOffset + payload.length + 300, 0x90);
  if (withHeader) {
    img[0x1f1] = setupSects;
    img.write('HdrS', 0x202, 'latin1');
    img.writeUInt16LE(0x20f, 0x206);
    img.writeUInt32LE(payloadOffset, 0x248);
    img.writeUInt32LE(payload.length, 0x24c);
  }
  payload.copy(img, pmStart + payloadOffset);
  return img;
}

const sizeAppended = (compressed: Buffer, size: number): Buffer => {
  const s = Buffer.alloc(4);
  s.writeUInt32LE(size);
  return Buffer.concat([compressed, s]);
};

/** Wraps raw data in one legacy LZ4 frame of literal-only blocks (valid LZ4, no compression). */
function lz4LiteralFrame(data: Buffer): Buffer {
  const lenBytes: number[] = [];
  let rest = data.length - 15;
  while (rest >= 255) { lenBytes.push(255); rest -= 255; }
  lenBytes.push(rest);
  const block = Buffer.concat([Buffer.from([0xf0, ...lenBytes]), data]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(block.length);
  return Buffer.concat([LZ4_LEGACY_MAGIC, size, block]);
}

const entry = Buffer.alloc(8);
entry.writeBigUInt64LE(0x1000400n);
const kernel = fakeElf([{ name: 'GNU', type: 3, desc: Buffer.alloc(20, 1) }, { name: 'Xen', type: XEN_ELFNOTE_PHYS32_ENTRY, desc: entry }]);

describe('kernel payload location', () => {
  it('takes offset and length from the boot header and names the compression by its magic', () => {
    const payload = sizeAppended(lz4LiteralFrame(kernel), kernel.length);
    const [found, ...rest] = findKernelPayloads(fakeBzImage(payload));
    assert.deepEqual(found, { compression: 'lz4', offset: 4 * 512 + 100, length: payload.length, source: 'header' });
    assert.equal(rest.length, 0);
  });

  it('falls back to scanning for magics when there is no boot header', () => {
    const gz = zlib.gzipSync(kernel);
    const found = findKernelPayloads(fakeBzImage(gz, false));
    assert.deepEqual(found[0], { compression: 'gzip', offset: 4 * 512 + 100, length: fakeBzImage(gz, false).length - (4 * 512 + 100), source: 'scan' });
  });

  it('finds nothing in an image without any known magic', () => {
    assert.deepEqual(findKernelPayloads(Buffer.alloc(4096, 0x90)), []);
  });
});

describe('vmlinux extraction', () => {
  it('decompresses an lz4 payload (Debian cloud kernels) and checks the appended size', async () => {
    const image = fakeBzImage(sizeAppended(lz4LiteralFrame(kernel), kernel.length));
    const { vmlinux, compression } = await extractVmlinux(image, 'test image');
    assert.equal(compression, 'lz4');
    assert.ok(vmlinux.equals(kernel));
    const lying = fakeBzImage(sizeAppended(lz4LiteralFrame(kernel), kernel.length + 1));
    await assert.rejects(extractVmlinux(lying, 'lying image'), { code: 'Config', message: /the image says/ });
  });

  it('decompresses a scanned gzip payload despite trailing bytes', async () => {
    const { vmlinux } = await extractVmlinux(fakeBzImage(zlib.gzipSync(kernel), false), 'gz image');
    assert.ok(vmlinux.equals(kernel));
  });

  const haveXz = spawnSync('xz', ['--version']).status === 0;
  it('decompresses an xz payload with the xz tool', { skip: haveXz ? false : 'xz is not installed (apt-get install xz-utils)' }, async () => {
    const xz = execFileSync('xz', ['-c', '--check=crc32'], { input: kernel });
    const { vmlinux } = await extractVmlinux(fakeBzImage(sizeAppended(xz, kernel.length)), 'xz image');
    assert.ok(vmlinux.equals(kernel));
  });

  it('rejects an image whose only payload is not an ELF file', async () => {
    await assert.rejects(extractVmlinux(fakeBzImage(zlib.gzipSync(Buffer.alloc(100, 7)), false), 'junk'), { code: 'Config', message: /junk: no compressed ELF kernel/ });
  });
});

describe('lz4 legacy', () => {
  it('decodes a block with an overlapping match', () => {
    // literals "abc", match offset 3 length 9, then literals "xyz"
    const block = Buffer.from([0x35, 0x61, 0x62, 0x63, 0x03, 0x00, 0x30, 0x78, 0x79, 0x7a]);
    assert.equal(decodeLz4Block(block, 100).toString(), 'abcabcabcabcxyz');
  });

  it('rejects a match offset pointing before the output', () => {
    assert.throws(() => decodeLz4Block(Buffer.from([0x10, 0x61, 0x05, 0x00]), 100), { code: 'Config', message: /offset 5/ });
  });

  const haveLz4 = spawnSync('lz4', ['--version']).status === 0;
  it('decodes what `lz4 -l` writes', { skip: haveLz4 ? false : 'the lz4 tool is not installed (apt-get install lz4)' }, () => {
    const text = Buffer.from(Array.from({ length: 20000 }, (_, i) => `line ${i % 977} of some kernel-ish text\n`).join(''));
    const compressed = execFileSync('lz4', ['-l', '-9', '-c'], { input: text });
    assert.ok(decompressLz4Legacy(compressed, text.length).equals(text));
  });
});

describe('PVH note', () => {
  it('returns the PVH entry point', () => {
    assert.equal(checkPvhKernel(kernel, 'k'), 0x1000400);
  });

  it('rejects an ELF kernel without the note, and a non-ELF file', () => {
    assert.throws(() => checkPvhKernel(fakeElf([{ name: 'GNU', type: 3, desc: Buffer.alloc(4) }]), 'nopvh'), { code: 'Config', message: /nopvh has no PVH entry note/ });
    assert.throws(() => checkPvhKernel(Buffer.alloc(100), 'zeros'), { code: 'Config', message: /zeros is not an ELF file/ });
  });
});
