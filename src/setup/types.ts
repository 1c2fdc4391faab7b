// Option types shared by the setup steps.

/** A sink for progress lines ("apt-get download ...", "building guest agent ..."). */
export type Log = (line: string) => void;

/** Options every setup step takes. */
export interface StepOptions {
  log?: Log;
  signal?: AbortSignal;
}
