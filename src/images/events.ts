// What image operations report while they run: per-layer download progress and notable events.

/** Download progress of one layer (or config) blob. */
export interface PullProgress {
  /** The blob's digest. */
  layer: string;
  bytesDone: number;
  bytesTotal: number;
  /** True when the blob was already in the store (nothing downloaded). */
  cached?: boolean;
  /** Set once, when an interrupted earlier download is continued: the bytes it already had. */
  resumedBytes?: number;
}

/** Something worth telling the user about; never an error (those reject). */
export type ImageEvent =
  | { type: 'warning'; message: string }
  | { type: 'resolved'; reference: string; digest: string }
  | { type: 'stage'; stage: 'pull' | 'unpack' | 'convert'; reference: string; durationMs: number };

/** The callbacks and cancellation every image operation takes. */
export interface ImageOperationOptions {
  onProgress?: (p: PullProgress) => void;
  onEvent?: (e: ImageEvent) => void;
  signal?: AbortSignal;
}
