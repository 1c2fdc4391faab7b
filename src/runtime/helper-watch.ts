// Watching a running box's helpers (passt, virtiofsd): each one's exit, whether this process spawned it or not.
import { isRecordedProcess, type BoxProcess } from '../state/box-processes.js';
import type { ResolvedBoxOptions } from './options.js';

/** How often a helper another process spawned is looked for in /proc. */
const POLL_MS = 200;

/** One helper of a session: its kind (see BoxProcess) and its exit ("code 1", "signal SIGKILL", "it ended"). */
export interface WatchedHelper {
  readonly kind: string;
  readonly exited: Promise<string>;
}

/** What the helper of `kind` is, for messages: "network process (passt)", "file server of volume /srv (virtiofsd)". */
export function describeHelper(kind: string, options: Pick<ResolvedBoxOptions, 'volumes'>): string {
  if (kind === 'network') return 'network process (passt)';
  if (kind === 'dns') return 'DNS forwarder of the network policy';
  const tag = kind.startsWith('volume:') ? kind.slice('volume:'.length) : undefined;
  const volume = options.volumes?.find((v) => v.tag === tag);
  return volume ? `file server of volume ${volume.hostPath} (virtiofsd)` : `helper process ${kind}`;
}

/**
 * Resolves when the recorded process `p` (spawned by another process, so without an exit event here) is gone,
 * polling its pid, start time and command line; never resolves once `signal` aborts.
 */
export function pollExit(p: BoxProcess, signal: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (signal.aborted) { clearInterval(timer); return; }
      if (isRecordedProcess(p)) return;
      clearInterval(timer);
      resolve(`pid ${p.pid} ended`);
    }, POLL_MS);
    timer.unref();
  });
}
