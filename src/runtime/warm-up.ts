// Runs one throwaway command in a just-mounted box, so a template saved next holds a guest whose caches (the shell
// and libc in the page cache, dentries, the agent's spawn path) are warm for the first command of every box restored from it.
import type { PortalClient } from '../portal/client.js';

/** How long the warm-up may take before the template is saved without it. */
const WARM_UP_TIMEOUT_MS = 10_000;
const WARM_UP_ARGV = ['/bin/sh', '-c', 'true'];

/** Runs `/bin/sh -c true` in the box and waits for it to end (any outcome: a box without /bin/sh is simply not warmed). */
export async function warmUp(portal: PortalClient): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, WARM_UP_TIMEOUT_MS);
    const done = (): void => { clearTimeout(timer); resolve(); };
    portal.exec({
      argv: WARM_UP_ARGV, env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], workingDir: '/',
      tty: false, rows: 0, cols: 0, timeoutMs: WARM_UP_TIMEOUT_MS, user: '',
    }, { onStarted: () => undefined, onOutput: () => undefined, onStdinCredit: () => undefined, onExit: done, onFailed: done });
  });
}
