import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  ProtocolViolation, decodeGuestFrame, decodeHostFrame, encodeGuestMessage, encodeHostMessage,
} from '../../../src/portal/codec.js';
import { FrameSplitter } from '../../../src/portal/framer.js';
import { MAX_DATA_BYTES, MAX_FRAME_BYTES, type GuestMessage, type HostMessage } from '../../../src/portal/protocol.js';

const body = (frame: Buffer): Buffer => frame.subarray(4);

describe('portal codec', () => {
  const hostMessages: HostMessage[] = [
    { kind: 'hello', version: 1, maxFrame: MAX_FRAME_BYTES },
    { kind: 'mount', id: 7, lowerDevice: '/dev/vda', lowerFsType: 'ext4', upperDevice: '/dev/vdb', upperFsType: 'ext4', hostname: 'box', wallClockMs: 1_795_000_000_123, volumes: ['vol0', 'ro', '/data'], seed: new Uint8Array([1, 2, 3]) },
    { kind: 'exec', id: 3, flags: 1, rows: 40, cols: 120, timeoutMs: 5000, workingDir: '/tmp', argv: ['sh', '-c', 'echo ✓'], env: ['A=1', 'B='], user: 'app:staff' },
    { kind: 'stdin', id: 3, data: Buffer.from('hello') },
    { kind: 'stdinClose', id: 3 },
    { kind: 'signal', id: 3, signal: 15 },
    { kind: 'resize', id: 3, rows: 10, cols: 20 },
    { kind: 'outputCredit', id: 3, bytes: 65536 },
    { kind: 'ping', id: 9 },
    { kind: 'shutdown', id: 10 },
  ];
  for (const msg of hostMessages) {
    it(`round-trips host ${msg.kind}`, () => {
      assert.deepEqual(normalize(decodeHostFrame(body(encodeHostMessage(msg)))), normalize(msg));
    });
  }

  const guestMessages: GuestMessage[] = [
    { kind: 'helloAck', version: 1, maxFrame: MAX_FRAME_BYTES, agentVersion: '0.1.0' },
    { kind: 'ok', id: 1 },
    { kind: 'error', id: 2, code: 2, message: 'nope: No such file or directory' },
    { kind: 'started', id: 3, pid: 42 },
    { kind: 'stdout', id: 3, data: randomBytes(MAX_DATA_BYTES) },
    { kind: 'stderr', id: 3, data: Buffer.from([0, 255, 10]) },
    { kind: 'exit', id: 3, status: -9, timedOut: true },
    { kind: 'stdinCredit', id: 3, bytes: 100 },
    { kind: 'pong', id: 4 },
  ];
  for (const msg of guestMessages) {
    it(`round-trips guest ${msg.kind}`, () => {
      assert.deepEqual(normalize(decodeGuestFrame(body(encodeGuestMessage(msg)))), normalize(msg));
    });
  }

  const malformed: Array<[string, Buffer, RegExp]> = [
    ['an empty frame', Buffer.alloc(0), /empty frame/],
    ['an unknown type', Buffer.from([0x7f, 0, 0, 0, 1]), /unknown frame type 0x7f/],
    ['a short exit', Buffer.from([0x87, 0, 0, 0, 1]), /malformed exit frame: field overruns/],
    ['trailing bytes', Buffer.from([0x89, 0, 0, 0, 1, 0]), /1 trailing bytes/],
    ['a string longer than the frame', Buffer.from([0x83, 0, 0, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 65]), /overruns/],
    ['empty output data', Buffer.from([0x85, 0, 0, 0, 1]), /data of 0 bytes/],
    ['oversized output data', Buffer.concat([Buffer.from([0x85, 0, 0, 0, 1]), Buffer.alloc(MAX_DATA_BYTES + 1)]), new RegExp(`data of ${MAX_DATA_BYTES + 1} bytes`)],
    ['a boolean of 2', Buffer.from([0x87, 0, 0, 0, 1, 0, 0, 0, 0, 2]), /boolean field is 2/],
  ];
  for (const [what, frame, message] of malformed) {
    it(`rejects ${what} from the guest`, () => {
      assert.throws(() => decodeGuestFrame(frame), (e: unknown) => e instanceof ProtocolViolation && message.test(e.message));
    });
  }

  it('never throws anything but ProtocolViolation on random input (fuzz)', () => {
    for (let i = 0; i < 20_000; i++) {
      const frame = randomBytes(1 + (i % 64));
      if (i % 3 === 0) frame[0] = 0x81 + (i % 9);
      try { decodeGuestFrame(frame); } catch (e) { assert.ok(e instanceof ProtocolViolation, String(e)); }
    }
  });
});

describe('frame splitter', () => {
  it('reassembles frames split at every byte boundary', () => {
    const frames = [encodeGuestMessage({ kind: 'ok', id: 1 }), encodeGuestMessage({ kind: 'stdout', id: 2, data: Buffer.from('abc') })];
    const stream = Buffer.concat(frames);
    for (let cut = 0; cut <= stream.length; cut++) {
      const s = new FrameSplitter();
      const out = [...s.push(stream.subarray(0, cut)), ...s.push(stream.subarray(cut))];
      assert.deepEqual(out.map((b) => decodeGuestFrame(b).kind), ['ok', 'stdout']);
      assert.equal(s.pendingBytes, 0);
    }
  });

  it('refuses an oversized length before buffering its payload', () => {
    const s = new FrameSplitter();
    const head = Buffer.alloc(4);
    head.writeUInt32BE(MAX_FRAME_BYTES + 1);
    assert.throws(() => s.push(head), /frame length 1048577 is outside 1..1048576/);
  });

  it('refuses a zero length', () => {
    assert.throws(() => new FrameSplitter().push(Buffer.alloc(4)), /frame length 0/);
  });
});

function normalize(m: object): unknown {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v]));
}
