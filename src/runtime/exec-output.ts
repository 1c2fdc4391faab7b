// ExecOutput: one output stream of an execution, read as lines or raw bytes, with flow-control credit.
import { StringDecoder } from 'node:string_decoder';
import { boxliteError, type BoxliteError } from '../errors.js';

/** Lines longer than this are split, so a guest can't make the host hold an unbounded line. */
export const MAX_LINE_BYTES = 1024 * 1024;

/**
 * Standard output or standard error of an execution (the spec's ExecStdout / ExecStderr).
 *
 * Iterate it for lines (`for await (const line of out)`, without the trailing newline), or call `bytes()` for
 * raw chunks, or `text()` / `buffer()` for everything at once. Pick one way; a stream is read once.
 * Bytes are exactly what the process wrote; only the line and text views decode UTF-8.
 * If the stream ended because the box failed, reading rejects with that error.
 */
export class ExecOutput implements AsyncIterable<string> {
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private failure: BoxliteError | undefined;
  private wake: (() => void) | undefined;
  private reading = false;

  /** @internal `onConsumed(n)` returns flow-control credit for bytes the reader took. */
  constructor(private readonly onConsumed: (bytes: number) => void) {}

  /** @internal Adds a chunk from the guest. */
  push(chunk: Buffer): void {
    if (this.ended) return;
    this.chunks.push(chunk);
    this.wakeReader();
  }

  /** @internal No more data will come; `err` if the box failed. */
  end(err?: BoxliteError): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = err;
    this.wakeReader();
  }

  /** @internal Throws away buffered and future data, returning its credit (output nobody will read). */
  discard(): void {
    this.reading = true;
    const drop = (): void => {
      for (const c of this.chunks.splice(0)) this.onConsumed(c.length);
      if (!this.ended) this.wake = drop;
    };
    drop();
  }

  /** Raw chunks as the process wrote them. */
  async *bytes(): AsyncGenerator<Buffer> {
    this.claim();
    for (;;) {
      const chunk = this.chunks.shift();
      if (chunk) {
        this.onConsumed(chunk.length);
        yield chunk;
        continue;
      }
      if (this.ended) {
        if (this.failure) throw this.failure;
        return;
      }
      await new Promise<void>((resolve) => { this.wake = resolve; });
    }
  }

  /** Lines as text (UTF-8), without their line ending. */
  async *lines(): AsyncGenerator<string> {
    // Newlines are found in the bytes and each line decoded once: output without newlines costs no more than bytes().
    const decoder = new StringDecoder('utf8');
    let held: Buffer[] = []; // the line so far, not yet ended
    let heldBytes = 0;
    const takeLine = (tail: Buffer): string => {
      const bytes = held.length ? Buffer.concat([...held, tail]) : tail;
      held = [];
      heldBytes = 0;
      return decoder.write(bytes);
    };
    for await (const chunk of this.bytes()) {
      let start = 0;
      for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, start)) {
        const text = takeLine(chunk.subarray(start, nl + 1)); // with its newline, which ends a broken UTF-8 sequence
        start = nl + 1;
        yield stripCr(text.slice(0, -1));
      }
      if (start < chunk.length) {
        held.push(chunk.subarray(start));
        heldBytes += chunk.length - start;
      }
      while (heldBytes > MAX_LINE_BYTES) {
        const all = Buffer.concat(held);
        held = [all.subarray(MAX_LINE_BYTES)];
        heldBytes = all.length - MAX_LINE_BYTES;
        yield decoder.write(all.subarray(0, MAX_LINE_BYTES));
      }
    }
    const last = takeLine(Buffer.alloc(0)) + decoder.end();
    if (last !== '') yield stripCr(last);
  }

  [Symbol.asyncIterator](): AsyncGenerator<string> {
    return this.lines();
  }

  /** All output as one Buffer. Holds everything in memory: use only for output of known, modest size. */
  async buffer(): Promise<Buffer> {
    const all: Buffer[] = [];
    for await (const c of this.bytes()) all.push(c);
    return Buffer.concat(all);
  }

  /** All output decoded as UTF-8. */
  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8');
  }

  private claim(): void {
    if (this.reading) {
      throw boxliteError('InvalidState', 'this output stream is already being read: a stream is read once, one way (its lines, bytes(), text() or buffer())');
    }
    this.reading = true;
  }

  private wakeReader(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
