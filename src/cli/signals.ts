// Forwarding this process's signals to a command in a box, as `docker run` does without a TTY.
import os from 'node:os';
import type { Execution } from '../runtime/execution.js';

/** The signals forwarded (SIGUSR1 too: Node would otherwise start its inspector on it). */
export const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;

/** A second SIGINT within this many milliseconds of the first kills the command (SIGKILL). */
export const FORCE_KILL_WINDOW_MS = 3000;

/**
 * Sends every FORWARDED_SIGNALS signal this process gets to `execution` (its process group in the box) instead of
 * dying of it; a second SIGINT within FORCE_KILL_WINDOW_MS kills the command. Returns the function that stops it.
 */
export function forwardSignals(execution: Execution, stderr: NodeJS.WritableStream = process.stderr): () => void {
  let lastInt = -Infinity;
  const handlers = FORWARDED_SIGNALS.map((name) => {
    const handler = (): void => {
      const now = Date.now();
      const force = name === 'SIGINT' && now - lastInt < FORCE_KILL_WINDOW_MS;
      if (name === 'SIGINT') lastInt = now;
      if (force) stderr.write('boxlite: second interrupt: killing the command\n');
      void (force ? execution.kill() : execution.signal(os.constants.signals[name])).catch(() => undefined);
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return () => { for (const [name, handler] of handlers) process.off(name, handler); };
}
