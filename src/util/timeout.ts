// Races a promise against a timer that is always cleared, so no stray timer keeps the process alive.

/** Resolves with the promise's value, or with `fallback` after `ms` milliseconds, whichever comes first. */
export async function orTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => { timer = setTimeout(() => resolve(fallback), ms); });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
