// Splits a byte stream into length-prefixed frame bodies, holding at most one frame in memory.
import { ProtocolViolation } from './codec.js';
import { MAX_FRAME_BYTES } from './protocol.js';

/**
 * Incremental frame splitter. `push()` returns the complete frame bodies (type + payload) found so far.
 * A length of 0 or above `maxFrameBytes` throws ProtocolViolation before any payload is buffered, so a hostile
 * peer can make the host hold at most one maximum-size frame.
 */
export class FrameSplitter {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private completed = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const head = this.peek(4);
      const length = head.readUInt32BE(0);
      if (length === 0 || length > this.maxFrameBytes) {
        throw new ProtocolViolation(`frame length ${length} is outside 1..${this.maxFrameBytes}`);
      }
      if (this.buffered < 4 + length) break;
      this.consume(4);
      frames.push(this.consume(length));
      this.completed++;
    }
    return frames;
  }

  /** Bytes held while waiting for the rest of a frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Frames split off so far: a change tells that the bytes held now belong to a newer frame. */
  get framesCompleted(): number {
    return this.completed;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    const joined = Buffer.concat(this.chunks);
    this.chunks = [joined];
    return joined.subarray(0, n);
  }

  private consume(n: number): Buffer {
    const out = this.peek(n);
    const first = this.chunks[0]!;
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }
}
