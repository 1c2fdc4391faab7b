// Volumes' host side: one virtiofsd per volume, serving a host directory to the VM over vhost-user.
//
// Read-only is enforced on the host: virtiofsd runs in its own mount namespace where the shared directory is a
// read-only bind mount, so no request from the guest can write to it, whatever the guest mounts or remounts.
import fs from 'node:fs';
import { boxliteError } from '../../errors.js';
import type { ProcessIdentity } from '../../state/process-identity.js';
import { startHelper, type HelperProcess } from '../helper-process.js';

/** Debian's virtiofsd (package qemu-system-common). */
export const VIRTIOFSD_BINARY = '/usr/lib/qemu/virtiofsd';
/** How long virtiofsd may take to create its socket. */
const READY_TIMEOUT_MS = 10_000;

/** One shared directory. */
export interface VolumeShare {
  /** The virtiofs tag the guest mounts. */
  tag: string;
  hostPath: string;
  readOnly: boolean;
  /** The vhost-user socket QEMU connects to. */
  socketPath: string;
}

/** A running virtiofsd; it ends by itself when its VM disconnects. */
export type VolumeProcess = HelperProcess;

/**
 * The command that serves `share` (pure): virtiofsd, inside `unshare --mount` with the directory bound read-only
 * first when the share is read-only. Paths go in as arguments of `sh`, never into the script text.
 */
export function virtiofsdCommand(share: VolumeShare): [string, string[]] {
  const daemon = [VIRTIOFSD_BINARY, `--socket-path=${share.socketPath}`, '-o', `source=${share.hostPath}`, '-o', 'cache=auto', '-o', 'sandbox=namespace', '-o', 'log_level=warn'];
  if (!share.readOnly) return [daemon[0]!, daemon.slice(1)];
  const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"';
  return ['unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', share.hostPath, ...daemon]];
}

/** Starts virtiofsd for `share` and waits for its socket; a Config error with its own words if it cannot start. */
export async function startVolume(share: VolumeShare, detached: boolean, onSpawn?: (p: ProcessIdentity) => void): Promise<VolumeProcess> {
  const [command, args] = virtiofsdCommand(share);
  return startHelper({
    command, args, socketPath: share.socketPath, detached, timeoutMs: READY_TIMEOUT_MS, onSpawn,
    failure: (f) => {
      if (f.kind === 'spawn') return boxliteError('Config', `could not start the file server for volume ${share.hostPath}: ${f.error.message}`, f.error);
      const said = f.stderr.trim().split('\n').slice(-3).join('; ');
      const missing = !fs.existsSync(VIRTIOFSD_BINARY) ? `; ${VIRTIOFSD_BINARY} is missing: install qemu-system-common (\`npx boxlite setup\` does)` : '';
      return boxliteError('Config', `the file server for volume ${share.hostPath} did not start (${f.kind === 'exited' ? `exited with ${f.how}` : `no socket within ${READY_TIMEOUT_MS / 1000} s`})${said ? `: ${said}` : ''}${missing}`);
    },
  });
}
