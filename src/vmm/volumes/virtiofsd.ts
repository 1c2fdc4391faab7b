// Volumes' host side: one virtiofsd per volume, serving a host directory to the VM over vhost-user.
//
// Each virtiofsd is started by the launcher (launcher/, built by setup), which gives it up to the directory's
// owner (never root: see owner.ts) with only the capabilities it needs, and a seccomp filter under which it can
// neither change uid nor make a setuid or setgid file. So whatever root in the box does, every file it creates on
// the host belongs to that owner, has no setuid/setgid bit and is no device. Read-only is enforced on the host too:
// the launcher binds the directory read-only onto itself in a private mount namespace before virtiofsd's own
// `sandbox=namespace` pivots into it, so no request from the guest can write to it, whatever the guest remounts.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../../errors.js';
import type { ProcessIdentity } from '../../state/process-identity.js';
import { jailerArgv, jailerLaunch, type JailSpec } from '../../jailer/jail-spec.js';
import { childEnvironment, volumeJail, type BoxJail } from '../../jailer/plan.js';
import { startHelper, type HelperProcess } from '../helper-process.js';
import { volumeOwner, type VolumeOwner } from './owner.js';

/** Debian's virtiofsd (package qemu-system-common). */
export const VIRTIOFSD_BINARY = '/usr/lib/qemu/virtiofsd';
/** How long virtiofsd may take to create its socket. */
const READY_TIMEOUT_MS = 10_000;

/**
 * What virtiofsd keeps: DAC_OVERRIDE and FOWNER so root in the box can still read, write and chmod any file of
 * the volume. It loses CHOWN (no file changes owner), FSETID (writes clear setuid/setgid bits), MKNOD (no device
 * nodes), SETFCAP (no file capabilities) and SETUID/SETGID (it cannot become anyone else, seccomp or not).
 */
export const VIRTIOFSD_MODCAPS = '-chown:-fsetid:-mknod:-setfcap:-setuid:-setgid';
/** What the launcher hands virtiofsd: the above, plus what it needs to set up its sandbox (namespaces, pivot_root, bounding set). */
export const LAUNCHER_CAPS = ['sys_admin', 'setpcap', 'dac_override', 'fowner'] as const;

/** One shared directory. */
export interface VolumeShare {
  /** The virtiofs tag the guest mounts. */
  tag: string;
  hostPath: string;
  readOnly: boolean;
  /** The vhost-user socket QEMU connects to. */
  socketPath: string;
}

/** How virtiofsd is started for one share. */
export interface VolumeLaunch {
  /** The launcher binary setup built (GuestArtifacts.launcherPath). */
  launcherPath: string;
  /** Who the file server runs as, and so who owns what the box creates. */
  owner: VolumeOwner;
  /** Whether the box outlives this process; otherwise virtiofsd dies with it. */
  detached: boolean;
  /** The box's jail: its namespaces, limits, cgroup, environment and descriptors apply to virtiofsd too. */
  jail?: BoxJail;
}

/** A running virtiofsd; it ends by itself when its VM disconnects. */
export type VolumeProcess = HelperProcess;

/** How the jailer starts virtiofsd for `share` (pure but for the jail's kvm group lookup): paths are arguments, never script text. */
export function virtiofsdJail(share: VolumeShare, launch: VolumeLaunch, parentPid: number | undefined): JailSpec {
  const daemon = [
    `--socket-path=${share.socketPath}`, '-o', `source=${share.hostPath}`, '-o', 'cache=auto',
    '-o', 'sandbox=namespace', '-o', `modcaps=${VIRTIOFSD_MODCAPS}`, '-o', 'no_xattr', '-o', 'log_level=warn',
    ...(launch.jail?.policy.resourceLimits.maxOpenFiles !== undefined ? [`--rlimit-nofile=${launch.jail.policy.resourceLimits.maxOpenFiles}`] : []),
  ];
  return {
    program: VIRTIOFSD_BINARY, args: daemon, uid: launch.owner.uid, gid: launch.owner.gid, caps: LAUNCHER_CAPS, seccomp: true,
    ...(share.readOnly ? { readOnlyDir: share.hostPath } : {}),
    ...(parentPid !== undefined ? { parentPid } : {}),
    ...(launch.jail?.policy.jailerEnabled ? volumeJail(launch.jail) : {}),
    keepFds: [], // whatever the preset, it inherits no descriptor of the embedding program
  };
}

/** The command that serves `share` (pure): the launcher, then virtiofsd. */
export function virtiofsdCommand(share: VolumeShare, launch: VolumeLaunch): [string, string[]] {
  return [launch.launcherPath, jailerArgv(virtiofsdJail(share, launch, launch.detached ? undefined : process.pid))];
}

/**
 * Starts virtiofsd for `share` and waits for its socket; a Config error with its own words if it cannot start.
 * With a jail, the socket is then handed to the jail's uid (QEMU connects to it as that uid).
 */
export async function startVolume(share: VolumeShare, launcherPath: string, detached: boolean, onSpawn?: (p: ProcessIdentity) => void, jail?: BoxJail): Promise<VolumeProcess> {
  let owner: VolumeOwner;
  try {
    owner = volumeOwner(share.hostPath);
  } catch (e) {
    throw boxliteError('Config', `volume ${share.hostPath} cannot be shared: ${(e as Error).message}; it must be an existing directory`, e);
  }
  if (process.getuid?.() !== 0) {
    throw boxliteError('Config', `volume ${share.hostPath} cannot be shared: volumes need the host process to run as root (QEMU 7.2's virtiofsd needs CAP_SYS_ADMIN and setgroups for its sandbox, which a user namespace does not give it); run as root, or create the box without volumes`);
  }
  const launch: VolumeLaunch = { launcherPath, owner, detached, ...(jail ? { jail } : {}) };
  // virtiofsd creates its socket as the directory's owner, in a directory of its own that the jail's uid can pass.
  const dir = path.dirname(share.socketPath);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { mode: 0o711 });
  fs.chownSync(dir, owner.uid, owner.gid);
  const volume = await startHelper({
    command: launcherPath, args: [], socketPath: share.socketPath, detached, timeoutMs: READY_TIMEOUT_MS, onSpawn,
    jailer: jailerLaunch(launcherPath, (parentPid) => virtiofsdJail(share, launch, parentPid)),
    env: childEnvironment(jail?.policy),
    failure: (f) => {
      if (f.kind === 'spawn') return boxliteError('Config', `could not start the file server for volume ${share.hostPath} (${launcherPath}): ${f.error.message}; run \`npx boxlite setup\``, f.error);
      const said = f.stderr.trim().split('\n').slice(-3).join('; ');
      const missing = !fs.existsSync(VIRTIOFSD_BINARY) ? `; ${VIRTIOFSD_BINARY} is missing: install qemu-system-common (\`npx boxlite setup\` does)` : '';
      return boxliteError('Config', `the file server for volume ${share.hostPath} did not start (${f.kind === 'exited' ? `exited with ${f.how}` : `no socket within ${READY_TIMEOUT_MS / 1000} s`})${said ? `: ${said}` : ''}${missing}`);
    },
  });
  // The directory is the owner's, who could swap the socket for a symlink: never follow one.
  if (jail?.uid !== undefined && fs.lstatSync(share.socketPath).isSocket()) fs.lchownSync(share.socketPath, jail.uid, jail.gid ?? jail.uid);
  return volume;
}
