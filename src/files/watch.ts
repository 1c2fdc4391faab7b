// BoxWatcher: change events of a path in a box, from the agent's inotify operation, as an async iterable.
import path from 'node:path';
import { boxliteError } from '../errors.js';
import type { Execution } from '../runtime/execution.js';
import { fileError, stderrText, type FileHost } from './builtin-call.js';
import { WatchRecordSplitter, type WatchRecord } from './records.js';
import type { WatchEvent } from './types.js';

const READY_DEADLINE_MS = 30_000;

/**
 * A watch on a box path (from `box.fs.watch()`). Iterate it for WatchEvents; it ends when closed, when the
 * watched path is gone, or when the box stops. Events not read are held by the portal's flow control: the box
 * then reports `overflow` once its own queue fills.
 */
export class BoxWatcher implements AsyncIterable<WatchEvent>, AsyncDisposable {
  private closed = false;
  private readonly splitter = new WatchRecordSplitter();
  private readonly queued: WatchRecord[] = [];

  private constructor(
    private readonly host: FileHost,
    /** The watched box path. */
    readonly path: string,
    private readonly exec: Execution,
    private readonly chunks: AsyncGenerator<Buffer>,
    private readonly stderr: Promise<string>,
  ) {}

  /** @internal Waits until the agent reports the watch is in place. */
  static async open(host: FileHost, target: string, exec: Execution, signal?: AbortSignal): Promise<BoxWatcher> {
    const stderr = stderrText(exec.stderr()!);
    stderr.catch(() => undefined);
    await exec.stdin()!.close();
    const watcher = new BoxWatcher(host, target, exec, exec.stdout()!.bytes(), stderr);
    signal?.addEventListener('abort', () => void watcher.close(), { once: true });
    let timer: NodeJS.Timeout | undefined;
    const ready = await Promise.race([
      watcher.next(true),
      new Promise<'late'>((resolve) => { timer = setTimeout(() => resolve('late'), READY_DEADLINE_MS); }),
    ]).finally(() => clearTimeout(timer));
    if (ready === 'late') {
      await watcher.close();
      throw boxliteError('Portal', `box ${host.boxId}: the agent did not start watching ${target} within ${READY_DEADLINE_MS / 1000} s`);
    }
    if (!ready || ready.type !== 'ready') {
      await watcher.close();
      throw boxliteError('Portal', `box ${host.boxId}: the agent's watch of ${target} did not begin with its ready record; the guest is broken or hostile`);
    }
    return watcher;
  }

  /** Ends the watch (the agent's operation is killed). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.exec.kill().catch(() => undefined);
    await this.exec.wait().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent> {
    try {
      for (;;) {
        const rec = await this.next(false);
        if (!rec) return;
        const name = rec.name;
        yield { type: rec.type as WatchEvent['type'], name, path: name ? path.posix.join(this.path, name) : this.path, isDirectory: rec.isDirectory };
        if (rec.type === 'gone') return;
      }
    } finally {
      await this.close();
    }
  }

  // The next record, or undefined at the end; a failure of the operation is thrown as its typed error.
  private async next(first: boolean): Promise<WatchRecord | undefined> {
    while (this.queued.length === 0) {
      let step: IteratorResult<Buffer>;
      try {
        step = await this.chunks.next();
      } catch (e) {
        if (this.closed) return undefined;
        throw e;
      }
      if (step.done) {
        if (this.closed) return undefined;
        const result = await this.exec.wait();
        if (result.exitCode > 0) throw fileError(this.host.boxId, `watch ${this.path}`, result, await this.stderr.catch(() => ''));
        return undefined;
      }
      this.queued.push(...this.splitter.push(step.value));
    }
    const rec = this.queued.shift()!;
    if (!first && rec.type === 'ready') throw boxliteError('Portal', `box ${this.host.boxId}: a second ready record while watching ${this.path}; the guest is broken or hostile`);
    return rec;
  }
}

