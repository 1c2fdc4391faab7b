// Identifiers of the spec: BoxID (a ULID) and ContainerID (64 lowercase hex characters).
import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;

/** A box identifier: a 26-character ULID, sortable by creation time. */
export class BoxID {
  private constructor(private readonly value: string) {}

  /** A new id for the current time (`nowMs` may be injected for tests). */
  static generate(nowMs: number = Date.now()): BoxID {
    let time = '';
    let t = nowMs;
    for (let i = 0; i < 10; i++) { time = CROCKFORD[t % 32]! + time; t = Math.floor(t / 32); }
    const rnd = randomBytes(16);
    let random = '';
    for (let i = 0; i < 16; i++) random += CROCKFORD[rnd[i]! % 32]!;
    return new BoxID(time + random);
  }

  /** Parses a ULID (case-insensitive); undefined when `s` is not one. */
  static parse(s: string): BoxID | undefined {
    const up = s.toUpperCase();
    return ULID_RE.test(up) ? new BoxID(up) : undefined;
  }

  /** The full 26-character id. */
  asStr(): string { return this.value; }
  /** The first 8 characters, for display. */
  short(): string { return this.value.slice(0, 8); }
  toString(): string { return this.value; }
  toJSON(): string { return this.value; }
  equals(other: BoxID): boolean { return other.value === this.value; }
}

/** A container identifier in OCI format: 64 lowercase hex characters. */
export class ContainerID {
  private constructor(private readonly value: string) {}

  /** A new random id. */
  static generate(): ContainerID { return new ContainerID(randomBytes(32).toString('hex')); }
  /** True when `s` is 64 lowercase hex characters. */
  static isValid(s: string): boolean { return /^[0-9a-f]{64}$/.test(s); }
  /** Parses an id; undefined when invalid. */
  static parse(s: string): ContainerID | undefined { return ContainerID.isValid(s) ? new ContainerID(s) : undefined; }

  asStr(): string { return this.value; }
  /** The first 12 characters, for display. */
  short(): string { return this.value.slice(0, 12); }
  toString(): string { return this.value; }
  toJSON(): string { return this.value; }
}
