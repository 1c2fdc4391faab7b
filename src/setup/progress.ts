// Progress events of the work a runtime does on first use: building the shared guest artifacts and root disks.

/** A machine-wide artifact kept in the shared cache. */
export type ArtifactName = 'agent' | 'launcher' | 'kernel' | 'initramfs' | 'passt';

/**
 * What a runtime (or `boxlite setup`) is doing before a box can boot. Events come in order for one piece of work:
 * `build-start`, any `step`s, then `build-done`; `guest-ready` ends every check of the guest artifacts, naming
 * what had to be built (`built: []` when everything was reused from the cache).
 */
export type ProgressEvent =
  /** An artifact is missing from the cache (or its inputs changed) and is being built. */
  | { type: 'build-start'; artifact: ArtifactName; cacheDir: string; detail: string }
  /** A line of what a build is doing (`apt-get download ...`, `unpacking ...`). */
  | { type: 'step'; line: string }
  /** An artifact was built and renamed into the cache. */
  | { type: 'build-done'; artifact: ArtifactName; path: string; durationMs: number }
  /** Another process is building the same thing; this one waits for it instead of building it twice. */
  | { type: 'waiting'; lockPath: string; ownerPid: number }
  /**
   * The custom guest kernel was wanted but cannot be built, so the cloud kernel is used; `message` says how to retry.
   * It ends a failed custom kernel build (in place of its `build-done`), or says an earlier failure is remembered.
   */
  | { type: 'kernel-fallback'; reason: string; message: string }
  /** The guest artifacts are ready in `cacheDir`; `built` lists what this call built. */
  | { type: 'guest-ready'; cacheDir: string; built: ArtifactName[]; durationMs: number }
  /** A box's read-only root disk from a rootfs directory: reused from the home's disk cache, or built. */
  | { type: 'rootfs-disk'; status: 'reused' | 'built'; rootfsPath: string; diskPath: string; durationMs: number };

/** A receiver of progress events. It must not throw (what it throws is ignored). */
export type ProgressListener = (event: ProgressEvent) => void;

/** Calls `listener` with `event`, ignoring what it throws: a broken listener must not fail a box's start. */
export function emitProgress(listener: ProgressListener | undefined, event: ProgressEvent): void {
  if (!listener) return;
  try { listener(event); } catch { /* the listener's own problem */ }
}

/** One line describing `event`, as the CLI prints it. */
export function describeProgress(event: ProgressEvent): string {
  switch (event.type) {
    case 'build-start': return `building ${event.artifact} in ${event.cacheDir}: ${event.detail}`;
    case 'step': return event.line;
    case 'build-done': return `built ${event.artifact} in ${(event.durationMs / 1000).toFixed(1)} s (${event.path})`;
    case 'waiting': return `waiting for process ${event.ownerPid}, which is building the same thing (${event.lockPath})`;
    case 'kernel-fallback': return event.message;
    case 'guest-ready': return event.built.length ? `guest artifacts ready in ${event.cacheDir} (built: ${event.built.join(', ')})` : `guest artifacts ready in ${event.cacheDir} (cached)`;
    case 'rootfs-disk': return `root disk of ${event.rootfsPath} ${event.status === 'reused' ? 'reused' : `built in ${(event.durationMs / 1000).toFixed(1)} s`} (${event.diskPath})`;
  }
}
