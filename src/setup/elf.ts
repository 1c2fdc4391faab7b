// Just enough ELF64 reading for setup: program headers, notes, named sections, and "is it static?".
import { boxliteError } from '../errors.js';

/** One ELF note: owner name, type and descriptor bytes. */
export interface ElfNote {
  name: string;
  type: number;
  desc: Buffer;
}

const PT_INTERP = 3;
const PT_NOTE = 4;

/** True when `buf` starts with the ELF magic. */
export function isElf(buf: Uint8Array): boolean {
  return buf.length >= 4 && buf[0] === 0x7f && buf[1] === 0x45 && buf[2] === 0x4c && buf[3] === 0x46;
}

/** A parsed little-endian ELF64 file (x86_64 kernels, modules and static binaries). */
export class Elf64 {
  private constructor(private readonly buf: Buffer, private readonly label: string) {}

  /** Parses the identification bytes of `buf`; `label` names the file in error messages. */
  static parse(buf: Buffer, label: string): Elf64 {
    if (!isElf(buf)) throw boxliteError('Config', `${label} is not an ELF file (no \\x7fELF magic)`);
    if (buf[4] !== 2 || buf[5] !== 1) throw boxliteError('Config', `${label} is not a 64-bit little-endian ELF file`);
    if (buf.length < 64) throw boxliteError('Config', `${label} is truncated (${buf.length} bytes, ELF header is 64)`);
    return new Elf64(buf, label);
  }

  /** ELF type: 1 relocatable (.ko), 2 executable, 3 shared object / PIE. */
  get type(): number {
    return this.buf.readUInt16LE(0x10);
  }

  /** True when the file has no PT_INTERP, i.e. runs without a dynamic loader. */
  isStatic(): boolean {
    return !this.programHeaders().some((ph) => ph.type === PT_INTERP);
  }

  /** All notes in PT_NOTE segments. */
  notes(): ElfNote[] {
    const notes: ElfNote[] = [];
    for (const ph of this.programHeaders()) {
      if (ph.type !== PT_NOTE) continue;
      const seg = this.slice(ph.offset, ph.size, 'PT_NOTE segment');
      let p = 0;
      while (p + 12 <= seg.length) {
        const namesz = seg.readUInt32LE(p);
        const descsz = seg.readUInt32LE(p + 4);
        const type = seg.readUInt32LE(p + 8);
        const nameAt = p + 12;
        const descAt = nameAt + align4(namesz);
        if (descAt + descsz > seg.length) break;
        const name = seg.subarray(nameAt, nameAt + namesz).toString('latin1').replace(/\0+$/, '');
        notes.push({ name, type, desc: seg.subarray(descAt, descAt + descsz) });
        p = descAt + align4(descsz);
      }
    }
    return notes;
  }

  /** The bytes of the section called `name`, or undefined when there is none. */
  section(name: string): Buffer | undefined {
    const b = this.buf;
    const shoff = this.num(b.readBigUInt64LE(0x28));
    const shentsize = b.readUInt16LE(0x3a);
    const shnum = b.readUInt16LE(0x3c);
    const shstrndx = b.readUInt16LE(0x3e);
    if (shoff === 0 || shnum === 0) return undefined;
    const header = (i: number): { name: number; offset: number; size: number } => {
      const h = this.slice(shoff + i * shentsize, 64, 'section header');
      return { name: h.readUInt32LE(0), offset: this.num(h.readBigUInt64LE(24)), size: this.num(h.readBigUInt64LE(32)) };
    };
    const strtab = header(shstrndx);
    const names = this.slice(strtab.offset, strtab.size, 'section name table');
    for (let i = 0; i < shnum; i++) {
      const h = header(i);
      const end = names.indexOf(0, h.name);
      if (names.toString('latin1', h.name, end < 0 ? undefined : end) === name) return this.slice(h.offset, h.size, name);
    }
    return undefined;
  }

  private programHeaders(): { type: number; offset: number; size: number }[] {
    const b = this.buf;
    const phoff = this.num(b.readBigUInt64LE(0x20));
    const phentsize = b.readUInt16LE(0x36);
    const phnum = b.readUInt16LE(0x38);
    const out = [];
    for (let i = 0; i < phnum; i++) {
      const h = this.slice(phoff + i * phentsize, 56, 'program header');
      out.push({ type: h.readUInt32LE(0), offset: this.num(h.readBigUInt64LE(8)), size: this.num(h.readBigUInt64LE(32)) });
    }
    return out;
  }

  private slice(offset: number, size: number, what: string): Buffer {
    if (offset + size > this.buf.length) {
      throw boxliteError('Config', `${this.label}: ${what} at ${offset}+${size} lies beyond the end of the file (${this.buf.length} bytes)`);
    }
    return this.buf.subarray(offset, offset + size);
  }

  private num(v: bigint): number {
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw boxliteError('Config', `${this.label}: ELF offset ${v} is out of range`);
    return Number(v);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}
