// A tee of an execution's output for waitForOutput: the recent bytes of each stream, and live line matching.
import { StringDecoder } from 'node:string_decoder';
import { boxliteError, type BoxliteError } from '../errors.js';
import { abortError } from './exec-options.js';

/** How much recent output of each stream an execution keeps for `waitForOutput()` (a copy; readers still get every byte). */
export const RECENT_OUTPUT_BYTES = 64 * 1024;
const DEFAULT_WAIT_MS = 30_000;

/** Which output `waitForOutput()` watches. */
export type OutputStreamName = 'stdout' | 'stderr';

/** Options of `execution.waitForOutput()`. */
export interface WaitForOutputOptions {
  /** Give up after this many milliseconds (default 30 000): rejects with a `Run` error showing the last lines. */
  timeoutMs?: number;
  /** Aborting rejects with a DOMException named `AbortError`; the command keeps running. */
  signal?: AbortSignal;
  /** Watch only this stream (default: both). */
  stream?: OutputStreamName;
}

/** The line that matched, which stream it came from, and the match (`match[1]` is the first group). */
export interface OutputMatch {
  stream: OutputStreamName;
  line: string;
  match: RegExpExecArray;
}

interface Watcher { feed(stream: OutputStreamName, chunk: Buffer): void; end(): void }

/** @internal The last RECENT_OUTPUT_BYTES of one stream, and whether earlier bytes were dropped. */
class RecentBytes {
  private chunks: Buffer[] = [];
  private size = 0;
  cut = false;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= RECENT_OUTPUT_BYTES) {
      this.size -= this.chunks.shift()!.length;
      this.cut = true;
    }
  }

  /** The kept bytes (at most RECENT_OUTPUT_BYTES), and whether they start mid-stream. */
  read(): { bytes: Buffer; cut: boolean } {
    const all = Buffer.concat(this.chunks, this.size);
    const bytes = all.subarray(Math.max(0, all.length - RECENT_OUTPUT_BYTES));
    return { bytes, cut: this.cut || bytes.length < all.length };
  }
}

/** @internal Splits one stream into lines for a matcher; a line longer than RECENT_OUTPUT_BYTES is matched in pieces. */
class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private partial = '';
  constructor(private skipFirst: boolean, private readonly onLine: (line: string) => boolean) {}

  /** Feeds bytes; true once a line matched. */
  write(chunk: Buffer): boolean {
    this.partial += this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      if (this.skipFirst) { this.skipFirst = false; continue; } // the start of that line was dropped
      if (this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line)) return true;
    }
    if (this.partial.length > RECENT_OUTPUT_BYTES) {
      const piece = this.partial;
      this.partial = '';
      if (!this.skipFirst && this.onLine(piece)) return true;
    }
    return false;
  }

  /** The stream ended: its last line, if unterminated, is matched too. */
  end(): boolean {
    const last = this.partial + this.decoder.end();
    this.partial = '';
    return last !== '' && !this.skipFirst && this.onLine(last);
  }
}

/**
 * @internal Kept by every Execution: a bounded copy of recent output, fed as output arrives, that
 * `waitForOutput()` scans before watching what comes next. It never takes bytes from the streams.
 */
export class OutputWatch {
  private readonly recent = { stdout: new RecentBytes(), stderr: new RecentBytes() };
  private readonly watchers = new Set<Watcher>();
  private outcome: { exitCode?: number; error?: BoxliteError } | undefined;

  constructor(private readonly label: string) {}

  push(stream: OutputStreamName, chunk: Buffer): void {
    this.recent[stream].push(chunk);
    for (const w of this.watchers) w.feed(stream, chunk);
  }

  /** The command exited (`exitCode`) or the box failed (`error`): pending waits reject. */
  end(outcome: { exitCode?: number; error?: BoxliteError }): void {
    if (this.outcome) return;
    this.outcome = outcome;
    for (const w of [...this.watchers]) w.end();
  }

  /** Resolves with the first line (already output and still kept, or to come) that matches `pattern`. */
  waitFor(pattern: RegExp | string, options: WaitForOutputOptions = {}): Promise<OutputMatch> {
    const re = toRegExp(pattern);
    const { timeoutMs = DEFAULT_WAIT_MS, signal, stream } = options;
    if (!(timeoutMs > 0)) throw boxliteError('InvalidArgument', `timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
    if (stream !== undefined && stream !== 'stdout' && stream !== 'stderr') throw boxliteError('InvalidArgument', `stream must be 'stdout' or 'stderr' (or absent for both), got ${JSON.stringify(stream)}`);
    const streams: OutputStreamName[] = stream ? [stream] : ['stdout', 'stderr'];
    const what = `waiting for output of ${this.label} matching ${re}`;
    if (signal?.aborted) return Promise.reject(abortError(what, signal));
    return new Promise<OutputMatch>((resolve, reject) => {
      const done = (settle: () => void): void => {
        this.watchers.delete(watcher);
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const kept = new Map(streams.map((s) => [s, this.recent[s].read()] as const));
      const splitters = new Map(streams.map((s) => [s, new LineSplitter(kept.get(s)!.cut, (line) => {
        const match = re.exec(line);
        if (match) done(() => resolve({ stream: s, line, match }));
        return match !== null;
      })] as const));
      const watcher: Watcher = {
        feed: (s, chunk) => { splitters.get(s)?.write(chunk); },
        end: () => {
          for (const sp of splitters.values()) if (sp.end()) return;
          done(() => reject(this.endedError(re)));
        },
      };
      const onAbort = (): void => done(() => reject(abortError(what, signal!)));
      const timer = setTimeout(() => done(() => reject(boxliteError('Run', `no line of ${this.label}'s ${streams.join(' or ')} matched ${re} within ${timeoutMs} ms${this.tail()}`))), timeoutMs);
      // Output already seen first, then what comes; a match in the kept output resolves at once.
      for (const [s, sp] of splitters) if (sp.write(kept.get(s)!.bytes)) return;
      if (this.outcome) return watcher.end();
      this.watchers.add(watcher);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private endedError(re: RegExp): BoxliteError {
    const o = this.outcome!;
    if (o.error) return boxliteError(o.error.code, `the box failed before a line of ${this.label}'s output matched ${re}: ${o.error.message}`, o.error);
    return boxliteError('Run', `${this.label} exited with code ${o.exitCode} before a line of its output matched ${re}${this.tail()}`);
  }

  /** The last few lines of each stream, for messages. */
  private tail(): string {
    const parts = (['stdout', 'stderr'] as const).flatMap((s) => this.recent[s].read().bytes.toString('utf8').split('\n')
      .filter((l) => l !== '').slice(-3).map((l) => `\n  ${s}| ${l.length > 200 ? `${l.slice(0, 200)}…` : l}`)).join('');
    return parts ? `; its last lines:${parts}` : '; it wrote nothing';
  }
}

function toRegExp(pattern: RegExp | string): RegExp {
  if (typeof pattern === 'string' && pattern !== '') return new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  // Without g or y, exec() keeps no lastIndex between lines.
  if (pattern instanceof RegExp) return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  throw boxliteError('InvalidArgument', `waitForOutput needs a RegExp or a non-empty string, got ${JSON.stringify(pattern)}`);
}
