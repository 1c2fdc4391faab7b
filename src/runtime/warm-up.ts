// Runs one throwaway command in a just-mounted box, so a template saved next holds a guest whose caches (the shell
// and libc in the page cache, dentries, the agent's spawn path) are warm for the first command of every box restored from it.
import type { PortalClient } from '../portal/client.js';
import { DEFAULT_PATH } from './exec-options.js';

/** The warm-up's own timeout; past it (plus the portal's exit grace) the portal fails it, and the template is saved anyway. */
const WARM_UP_TIMEOUT_MS = 10_000;

/** Runs `/bin/sh -c true` in the box and waits for it to end, whatever the outcome (a box without /bin/sh is simply not warmed). */
export function warmUp(portal: PortalClient): Promise<void> {
  return new Promise<void>((resolve) => {
    portal.exec({
      argv: ['/bin/sh', '-c', 'true'], env: [`PATH=${DEFAULT_PATH}`], workingDir: '/', tty: false, rows: 0, cols: 0, timeoutMs: WARM_UP_TIMEOUT_MS, user: '',
    }, { onStarted: () => undefined, onOutput: () => undefined, onStdinCredit: () => undefined, onExit: () => resolve(), onFailed: () => resolve() });
  });
}
