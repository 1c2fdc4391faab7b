// Pull and push progress for the CLI: one cli-progress bar per layer on a terminal, a line per finished layer otherwise.
import cliProgress from 'cli-progress';
import type { PullProgress } from '../images/index.js';

/** Renders PullProgress events; `stop()` when the pull ends. */
export interface ProgressView {
  update(p: PullProgress): void;
  stop(): void;
}

/** Bytes as `12.3 MB` (decimal units, as `docker images` prints). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) { v /= 1000; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 2 : 1)} ${units[i]}`;
}

/** A progress view on `stream`: bars when it is a terminal, plain lines (`<blob>: <doneWord>`) when not. */
export function progressView(stream: NodeJS.WriteStream = process.stderr, doneWord = 'downloaded'): ProgressView {
  if (!stream.isTTY) {
    const done = new Set<string>();
    return {
      update: (p) => {
        if (p.bytesDone < p.bytesTotal || done.has(p.layer)) return;
        done.add(p.layer);
        stream.write(`${p.layer.slice(7, 19)}: ${p.cached ? 'already stored' : doneWord} (${formatBytes(p.bytesTotal)})\n`);
      },
      stop: () => undefined,
    };
  }
  const multi = new cliProgress.MultiBar({
    stream, clearOnComplete: false, hideCursor: true, format: '{id} [{bar}] {percentage}% | {done} / {total}{note}',
    formatValue: (v, _o, type) => (type === 'value' || type === 'total' ? formatBytes(v) : String(v)),
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    update: (p) => {
      const payload = { id: p.layer.slice(7, 19), done: formatBytes(p.bytesDone), total: formatBytes(p.bytesTotal), note: p.cached ? ' (already stored)' : '' };
      let bar = bars.get(p.layer);
      if (!bar) {
        bar = multi.create(Math.max(p.bytesTotal, 1), p.bytesDone, payload);
        bars.set(p.layer, bar);
      } else {
        bar.update(p.bytesDone, payload);
      }
    },
    stop: () => multi.stop(),
  };
}
