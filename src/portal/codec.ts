// Encodes and strictly decodes portal frames from the schemas in protocol.ts; every bound is checked.
import {
  GUEST_SCHEMAS, HOST_SCHEMAS, MAX_DATA_BYTES, MAX_FRAME_BYTES,
  type FieldKind, type GuestMessage, type HostMessage, type MessageSchema,
} from './protocol.js';

/** A frame that breaks the protocol; the connection that carried it must be closed. */
export class ProtocolViolation extends Error {
  override name = 'ProtocolViolation';
}

type Schemas = Record<string, MessageSchema>;
type Message = { kind: string } & Record<string, unknown>;

const hostByType = indexByType(HOST_SCHEMAS);
const guestByType = indexByType(GUEST_SCHEMAS);

function indexByType(schemas: Schemas): Map<number, [string, MessageSchema]> {
  return new Map(Object.entries(schemas).map(([kind, s]) => [s.type, [kind, s]]));
}

/** Encodes a host message as one complete frame (length prefix included). */
export function encodeHostMessage(msg: HostMessage): Buffer {
  return encode(HOST_SCHEMAS, msg as unknown as Message);
}

/** Encodes a guest message as one frame; used by tests that play a (possibly hostile) guest. */
export function encodeGuestMessage(msg: GuestMessage): Buffer {
  return encode(GUEST_SCHEMAS, msg as unknown as Message);
}

/** Decodes the body (type + payload) of a frame sent by the guest; throws ProtocolViolation. */
export function decodeGuestFrame(body: Uint8Array): GuestMessage {
  return decode(guestByType, body) as unknown as GuestMessage;
}

/** Decodes the body of a frame sent by the host (the guest's view; used by tests). */
export function decodeHostFrame(body: Uint8Array): HostMessage {
  return decode(hostByType, body) as unknown as HostMessage;
}

function encode(schemas: Schemas, msg: Message): Buffer {
  const schema = schemas[msg.kind];
  if (!schema) throw new TypeError(`unknown portal message kind ${msg.kind}`);
  const parts: Buffer[] = [Buffer.from([schema.type])];
  for (const [name, kind] of schema.fields) parts.push(encodeField(kind, msg[name], name));
  const body = Buffer.concat(parts);
  if (body.length > MAX_FRAME_BYTES) throw new RangeError(`portal frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length);
  return Buffer.concat([header, body]);
}

function encodeField(kind: FieldKind, value: unknown, name: string): Buffer {
  switch (kind) {
    case 'u8': case 'bool': return Buffer.from([kind === 'bool' ? (value ? 1 : 0) : Number(value)]);
    case 'u16': { const b = Buffer.alloc(2); b.writeUInt16BE(Number(value)); return b; }
    case 'u32': { const b = Buffer.alloc(4); b.writeUInt32BE(Number(value)); return b; }
    case 'i32': { const b = Buffer.alloc(4); b.writeInt32BE(Number(value)); return b; }
    case 'u64': { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(value as number)); return b; }
    case 'str': return encodeString(String(value));
    case 'strList': {
      const list = value as string[];
      if (list.length > 0xffff) throw new RangeError(`${name} has ${list.length} entries, at most 65535 fit in a frame`);
      const count = Buffer.alloc(2);
      count.writeUInt16BE(list.length);
      return Buffer.concat([count, ...list.map(encodeString)]);
    }
    case 'bytes': {
      const data = value as Uint8Array;
      if (data.length > MAX_DATA_BYTES) throw new RangeError(`${name} of ${data.length} bytes exceeds ${MAX_DATA_BYTES}`);
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    }
  }
}

function encodeString(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function decode(byType: Map<number, [string, MessageSchema]>, body: Uint8Array): Message {
  if (body.length < 1) throw new ProtocolViolation('empty frame');
  const entry = byType.get(body[0]!);
  if (!entry) throw new ProtocolViolation(`unknown frame type 0x${body[0]!.toString(16).padStart(2, '0')}`);
  const [kind, schema] = entry;
  const reader = new Reader(Buffer.from(body.buffer, body.byteOffset, body.byteLength), 1, kind);
  const msg: Message = { kind };
  for (const [name, fieldKind] of schema.fields) msg[name] = reader.read(fieldKind);
  reader.end();
  return msg;
}

// Reads fields from a payload, throwing ProtocolViolation on any overrun or leftover bytes.
class Reader {
  constructor(private readonly buf: Buffer, private pos: number, private readonly kind: string) {}

  read(kind: FieldKind): unknown {
    switch (kind) {
      case 'u8': return this.take(1).readUInt8();
      case 'bool': {
        const v = this.take(1).readUInt8();
        if (v > 1) throw this.violation(`boolean field is ${v}`);
        return v === 1;
      }
      case 'u16': return this.take(2).readUInt16BE();
      case 'u32': return this.take(4).readUInt32BE();
      case 'i32': return this.take(4).readInt32BE();
      case 'u64': return Number(this.take(8).readBigUInt64BE());
      case 'str': return this.string();
      case 'strList': {
        const n = this.take(2).readUInt16BE();
        const out: string[] = [];
        for (let i = 0; i < n; i++) out.push(this.string());
        return out;
      }
      case 'bytes': {
        const rest = this.buf.length - this.pos;
        if (rest < 1 || rest > MAX_DATA_BYTES) throw this.violation(`data of ${rest} bytes (allowed 1..${MAX_DATA_BYTES})`);
        return this.take(rest);
      }
    }
  }

  end(): void {
    if (this.pos !== this.buf.length) throw this.violation(`${this.buf.length - this.pos} trailing bytes`);
  }

  private string(): string {
    const len = this.take(4).readUInt32BE();
    return this.take(len).toString('utf8');
  }

  private take(n: number): Buffer {
    if (n > this.buf.length - this.pos) throw this.violation(`field overruns the frame (${n} bytes wanted, ${this.buf.length - this.pos} left)`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private violation(what: string): ProtocolViolation {
    return new ProtocolViolation(`malformed ${this.kind} frame: ${what}`);
  }
}
