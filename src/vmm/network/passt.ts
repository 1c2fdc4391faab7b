// The box network's host side: one passt process per VM (user-mode TCP/IP over a unix socket QEMU connects to).
//
// passt gives the guest 10.0.2.15/24 behind gateway 10.0.2.2, forwards DNS sent to 10.0.2.3 to the host's
// resolver, and publishes ports. `--no-map-gw` keeps the gateway from leading to the host's loopback services:
// a guest reaches the host only where the host listens on a real interface, as a container would. passt starts as
// an unused uid (set before it runs, so its death signal holds) and sandboxes itself; `--one-off` makes it exit
// when its VM disconnects.
import fs from 'node:fs';
import path from 'node:path';
import { boxliteError } from '../../errors.js';
import type { ProcessIdentity } from '../../state/process-identity.js';
import { ensurePrivateDir, freshPrivateSubdir, isPrivateDir, runDir } from '../../util/private-dir.js';
import { findExecutable } from '../../setup/os-packages.js';
import { jailerLaunch } from '../../jailer/jail-spec.js';
import { childEnvironment, networkJail, type BoxJail } from '../../jailer/plan.js';
import { startHelper, type HelperProcess } from '../helper-process.js';
import { executableForOtherUid } from './passt-binary.js';
import { explainPortRefusals } from './port-probe.js';

/** The passt binary (Debian package `passt`), unless setup built a patched one (NetworkOptions.binary). */
export const PASST_BINARY = 'passt';
/** The guest side of every box network (the agent configures the same addresses). */
export const GUEST_NETWORK = { address: '10.0.2.15', prefixLength: 24, gateway: '10.0.2.2', dns: '10.0.2.3' } as const;
/**
 * The user passt runs as when started as root (it refuses to stay root): a uid no account has, so no other
 * process on the host (not even `nobody`'s) can touch its socket or its process.
 */
export const PASST_UID = 2147483646;
/** How long passt may take to create its socket. */
const READY_TIMEOUT_MS = 10_000;

/** One published port: connections to hostIp:hostPort reach the guest's guestPort. */
export interface PortForward {
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  guestPort: number;
}

/** What one network process needs. */
export interface NetworkOptions {
  /** The unix socket QEMU connects to. */
  socketPath: string;
  ports: readonly PortForward[];
  /** Outlive this process (a detached box); otherwise it dies with it, even on SIGKILL. */
  detached: boolean;
  /** Called as soon as passt's process exists (see HelperSpec.onSpawn). */
  onSpawn?(process: ProcessIdentity): void;
  /** The passt to run (default PASST_BINARY on PATH); setup builds a fixed one where the installed one is broken. */
  binary?: string;
  /** Confine it: the jailer built by setup and the box's jail (passt then runs as the box's uid). */
  jail?: { launcherPath: string; box: BoxJail };
  /** A resolv.conf naming where the box's DNS goes (its forwarder, for domain rules; needs the jail); default the host's. */
  resolvConf?: string;
  /** Without a jail, as root: the uid passt runs as (the box's own, which its network policy matches); default PASST_UID. */
  uid?: number;
}

/** A running passt. It ends by itself when its VM disconnects; `kill()` ends it sooner. */
export type NetworkProcess = HelperProcess;

/**
 * The socket path for the network of `name` (unique per box), in a directory passt can write after it dropped
 * privileges: `<tmp>/boxlite-<uid>/<name>.net/net.sock`, the parent private (see util/private-dir.ts) and
 * traversable but not listable.
 */
export function networkSocketPath(name: string): string {
  return path.join(runDir(), `${name}.net`, 'net.sock');
}

/** The uid passt runs as: the box's (jail or own) uid, else PASST_UID when this process is root, else this process's own. */
const passtUid = (jail?: BoxJail, uid?: number): number | undefined => jail ? jail.uid : process.getuid?.() === 0 ? uid ?? PASST_UID : undefined;

/** Creates the directory of `socketPath` (see networkSocketPath) afresh for passt; Config error if unsafe. */
function prepareSocketDir(socketPath: string, owner: number | undefined): void {
  const dir = path.dirname(socketPath);
  ensurePrivateDir(path.dirname(dir), 0o711);
  freshPrivateSubdir(dir, 0o700, owner);
}

/** Removes the socket directory of a network (when its box is removed); never below a directory that is not ours. */
export async function removeNetworkSocketDir(socketPath: string): Promise<void> {
  if (isPrivateDir(path.dirname(path.dirname(socketPath)))) await fs.promises.rm(path.dirname(socketPath), { recursive: true, force: true });
}

/** passt's own log (bounded by passt): beside its socket, where passt's uid can write it. */
export function networkLogPath(socketPath: string): string {
  return path.join(path.dirname(socketPath), 'network.log');
}

/** The passt argv for `opts` (pure). */
export function passtArgv(opts: NetworkOptions): string[] {
  const spec = (p: PortForward): string => `${p.hostIp}/${p.hostPort}:${p.guestPort}`;
  const tcp = opts.ports.filter((p) => p.protocol === 'tcp').map(spec);
  const udp = opts.ports.filter((p) => p.protocol === 'udp').map(spec);
  return [
    '--foreground', '--one-off', '--quiet', '--ipv4-only',
    '--socket', opts.socketPath, '--log-file', networkLogPath(opts.socketPath),
    '--address', GUEST_NETWORK.address, '--netmask', String(GUEST_NETWORK.prefixLength), '--gateway', GUEST_NETWORK.gateway,
    '--no-map-gw', '--dns-forward', GUEST_NETWORK.dns, '--no-dhcp',
    ...(tcp.length ? tcp.flatMap((s) => ['--tcp-ports', s]) : ['--tcp-ports', 'none']),
    ...(udp.length ? udp.flatMap((s) => ['--udp-ports', s]) : ['--udp-ports', 'none']),
  ];
}

/** Starts passt and waits until its socket is there; a Network error (with passt's own words) if it cannot start. */
export async function startNetwork(opts: NetworkOptions): Promise<NetworkProcess> {
  const uid = passtUid(opts.jail?.box, opts.uid);
  prepareSocketDir(opts.socketPath, uid);
  const ports = opts.ports.map((p) => `${p.hostIp}:${p.hostPort}/${p.protocol}`).join(', ');
  const jail = opts.jail;
  const binary = opts.binary ?? PASST_BINARY;
  // The jailer needs an absolute path; it binds the program into passt's jail itself.
  const found = jail && !path.isAbsolute(binary) ? await findExecutable(binary, (process.env.PATH ?? '/usr/bin:/bin').split(':').filter(Boolean)) ?? binary : binary;
  // In its jail the binary is bound in; anywhere else passt's uid may not reach it (a 0700 /root): a copy it can run.
  const program = uid === undefined || (jail && jail.box.policy.chrootEnabled) ? found : executableForOtherUid(found);
  const args = passtArgv(opts);
  // Only the socket file is looked for: a probe connection would use up passt's one client (--one-off).
  return startHelper({
    command: program, args, socketPath: opts.socketPath, detached: opts.detached,
    runAs: jail ? undefined : uid, timeoutMs: READY_TIMEOUT_MS, onSpawn: opts.onSpawn,
    ...(jail ? {
      jailer: jailerLaunch(jail.launcherPath, (parentPid) => networkJail({ ...jail.box, parentPid }, program, args, path.dirname(opts.socketPath), opts.resolvConf)),
      env: childEnvironment(jail.box.policy),
    } : {}),
    failure: async (f) => {
      if (f.kind === 'spawn') {
        return boxliteError('Network', f.error.code === 'ENOENT'
          ? 'the box network needs passt, which is not installed; run `npx boxlite setup` (or apt-get install passt)'
          : `could not start passt for the box network: ${f.error.message}`, f.error);
      }
      const said = `${f.stderr}\n${await fs.promises.readFile(networkLogPath(opts.socketPath), 'utf8').catch(() => '')}`.trim().split('\n').filter(Boolean).slice(-5).join('; ');
      const why = f.kind === 'exited' ? `exited with ${f.how}` : `did not open ${opts.socketPath} within ${READY_TIMEOUT_MS / 1000} s`;
      // passt does not say why a bind failed: bind the ports here and name the kernel's refusal.
      const refused = f.kind === 'exited' ? await explainPortRefusals(opts.ports) : [];
      const hint = refused.length ? `; ${refused.join('; ')}` : ports ? `; check that the host ports ${ports} are free` : '';
      return boxliteError('Network', `the box network could not start (passt ${why})${said ? `: ${said}` : ''}${hint}`);
    },
  });
}
