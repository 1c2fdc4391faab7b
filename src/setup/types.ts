// Option types shared by the setup steps, and the one helper that reports a build as progress events.
import { emitProgress, type ArtifactName, type ProgressListener } from './progress.js';

/** A sink for progress lines ("apt-get download ...", "building guest agent ..."). */
export type Log = (line: string) => void;

/** Options every setup step takes. */
export interface StepOptions {
  log?: Log;
  signal?: AbortSignal;
  /** Receives build-start / build-done events for what a step builds (nothing when it finds it cached). */
  onProgress?: ProgressListener;
}

/** Runs `build` (which makes `artifact` and returns its path), reporting it as build-start and build-done events. */
export async function reportBuild<T extends { path: string }>(opts: StepOptions, artifact: ArtifactName, cacheDir: string, detail: string, build: () => Promise<T>): Promise<T> {
  emitProgress(opts.onProgress, { type: 'build-start', artifact, cacheDir, detail });
  const t0 = performance.now();
  const made = await build();
  emitProgress(opts.onProgress, { type: 'build-done', artifact, path: made.path, durationMs: Math.round(performance.now() - t0) });
  return made;
}
