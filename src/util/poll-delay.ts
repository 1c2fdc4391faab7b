// How long a wait-for-it loop sleeps between looks: 1 ms at first, doubling up to a ceiling, so what is ready at
// once is seen at once and what takes long costs few wake-ups.

/** The sleep before look number `attempt` (0-based): 1, 2, 4… ms, at most `maxMs`. */
export function pollDelayMs(attempt: number, maxMs: number): number {
  return Math.min(maxMs, 2 ** Math.min(attempt, 16));
}
