// Bytes and Seconds: the spec's unit newtypes, with constructors, accessors and display strings.

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** A byte size. `String(Bytes.fromMib(512))` is "512 MiB". */
export class Bytes {
  private constructor(private readonly n: number) {}
  static fromBytes(n: number): Bytes { return new Bytes(check(n, 'bytes')); }
  static fromKib(n: number): Bytes { return new Bytes(check(n, 'KiB') * 1024); }
  static fromMib(n: number): Bytes { return new Bytes(check(n, 'MiB') * 1024 ** 2); }
  static fromGib(n: number): Bytes { return new Bytes(check(n, 'GiB') * 1024 ** 3); }
  asBytes(): number { return this.n; }
  asKib(): number { return this.n / 1024; }
  asMib(): number { return this.n / 1024 ** 2; }
  asGib(): number { return this.n / 1024 ** 3; }
  /** The largest unit that shows the size as a whole number or with at most one decimal. */
  toString(): string {
    let i = 0;
    let v = this.n;
    while (i < UNITS.length - 1 && v >= 1024) { v /= 1024; i++; }
    const shown = Number.isInteger(v) ? String(v) : v.toFixed(1);
    return `${shown} ${UNITS[i]}`;
  }
  toJSON(): number { return this.n; }
}

/** A duration in whole seconds. `String(Seconds.fromMinutes(30))` is "30 minutes". */
export class Seconds {
  private constructor(private readonly s: number) {}
  static fromSeconds(n: number): Seconds { return new Seconds(check(n, 'seconds')); }
  static fromMinutes(n: number): Seconds { return new Seconds(check(n, 'minutes') * 60); }
  static fromHours(n: number): Seconds { return new Seconds(check(n, 'hours') * 3600); }
  asSeconds(): number { return this.s; }
  asMinutes(): number { return this.s / 60; }
  asHours(): number { return this.s / 3600; }
  /** "90 seconds", "30 minutes", "2 hours", "1 hour": the largest unit that divides evenly. */
  toString(): string {
    const [v, unit] = this.s !== 0 && this.s % 3600 === 0 ? [this.s / 3600, 'hour'] : this.s !== 0 && this.s % 60 === 0 ? [this.s / 60, 'minute'] : [this.s, 'second'];
    return `${v} ${unit}${v === 1 ? '' : 's'}`;
  }
  toJSON(): number { return this.s; }
}

function check(n: number, unit: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${unit} must be a non-negative safe integer, got ${n}`);
  return n;
}
