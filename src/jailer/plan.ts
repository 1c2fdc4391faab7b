// How each host process of a box is confined under its security options: the JailSpec for QEMU, passt and virtiofsd.
import fs from 'node:fs';
import path from 'node:path';
import type { JailPath, JailSpec, Namespace } from './jail-spec.js';

/** The fields of SecurityOptions the jail is made from. */
export interface JailPolicy {
  readonly jailerEnabled: boolean;
  readonly seccompEnabled: boolean;
  readonly newPidNs: boolean;
  readonly newNetNs: boolean;
  readonly chrootEnabled: boolean;
  readonly closeFds: boolean;
  readonly sanitizeEnv: boolean;
  readonly envAllowlist: readonly string[];
  readonly resourceLimits: Readonly<{ maxOpenFiles?: number; maxFileSize?: number; maxProcesses?: number; maxMemory?: number; maxCpuTime?: number }>;
}

/** What is known about one box's jail at start. */
export interface BoxJail {
  policy: JailPolicy;
  /** The uid and gid the box's QEMU and passt run as; undefined keeps this process's (not root, or no jailer). */
  uid?: number;
  gid?: number;
  /** The box's jail directory (`<chrootBase>/<name>`): an empty mount point. */
  root: string;
  /** The box's cgroup directories, if it has one. */
  cgroups: readonly string[];
  /** Die with this process (a box that is not detached). */
  parentPid?: number;
}

/** The hostname jailed processes see. */
export const JAIL_HOSTNAME = 'boxlite';

/** What a VMM needs in its jail besides the system's libraries: its files and the directories of its sockets. */
export interface VmmFiles {
  readOnly: readonly string[];
  readWrite: readonly string[];
  /** Directories holding sockets it serves (read-write) or connects to (read-only). */
  socketDirs: readonly string[];
  connectDirs: readonly string[];
  devices: readonly string[];
  /** Variables it must start with even in a sanitized environment (they are set by its launcher's caller). */
  env?: Readonly<Record<string, string>>;
}

/** The environment a child starts with: the allowlist when sanitized, else this process's. */
export function childEnvironment(policy: JailPolicy | undefined): NodeJS.ProcessEnv {
  if (policy?.jailerEnabled && !policy.sanitizeEnv) return { ...process.env };
  const names = policy?.jailerEnabled ? policy.envAllowlist : ['PATH'];
  const env: NodeJS.ProcessEnv = {};
  for (const n of names) if (process.env[n] !== undefined) env[n] = process.env[n];
  env.PATH ??= '/usr/sbin:/usr/bin:/sbin:/bin';
  return env;
}

/** The JailSpec that starts `program` as the box's VMM. */
export function vmmJail(jail: BoxJail, program: string, args: readonly string[], files: VmmFiles, keepFds: readonly number[]): JailSpec {
  const p = jail.policy;
  const paths: JailPath[] = [
    ...systemPaths(program),
    ...files.readOnly.map((f) => ({ path: f, kind: 'ro' as const })),
    ...files.readWrite.map((f) => ({ path: f, kind: 'rw' as const })),
    ...files.socketDirs.map((f) => ({ path: f, kind: 'rw' as const })),
    ...files.connectDirs.map((f) => ({ path: f, kind: 'ro' as const })),
    ...['/dev/null', '/dev/zero', '/dev/urandom', ...files.devices].map((f) => ({ path: f, kind: 'dev' as const })),
  ];
  const kvmGroup = files.devices.includes('/dev/kvm') ? fs.statSync('/dev/kvm').gid : undefined;
  const base = common(jail, program, args, keepFds);
  return {
    ...base,
    ...(base.keepEnv && files.env ? { keepEnv: [...base.keepEnv, ...Object.keys(files.env)] } : {}),
    namespaces: namespaces(p, true),
    ...(kvmGroup !== undefined && jail.uid !== undefined ? { groups: [kvmGroup] } : {}),
    ...(p.chrootEnabled ? { jail: { root: jail.root, paths: dedupe(paths) } } : {}),
  };
}

/**
 * The JailSpec that starts passt for the box: its own jail holds the system, its socket dir, resolv.conf and a
 * procfs of its pid namespace (passt reads /proc/self/exe, and sandboxes itself further from there).
 */
export function networkJail(jail: BoxJail, program: string, args: readonly string[], socketDir: string, resolvConf?: string): JailSpec {
  const p = jail.policy;
  const paths: JailPath[] = [
    ...systemPaths(program),
    { path: socketDir, kind: 'rw' },
    // passt forwards the box's DNS to the first nameserver of its resolv.conf: the host's, or the box's forwarder's.
    ...(resolvConf ? [{ path: '/etc/resolv.conf', kind: 'ro' as const, from: resolvConf }]
      : fs.existsSync('/etc/resolv.conf') ? [{ path: '/etc/resolv.conf', kind: 'ro' as const }] : []),
    { path: '/dev/null', kind: 'dev' },
    { path: '/proc', kind: 'proc' },
  ];
  return {
    ...common(jail, program, args, []),
    namespaces: namespaces(p, false),
    ...(p.chrootEnabled ? { jail: { root: `${jail.root}.net`, paths: dedupe(paths) } } : {}),
  };
}

/**
 * The JailSpec additions for a volume's virtiofsd: namespaces, limits, environment and descriptors. It keeps its
 * own uid (the directory's owner), capabilities and sandbox (see vmm/volumes/virtiofsd.ts).
 */
export function volumeJail(jail: BoxJail): Pick<JailSpec, 'namespaces' | 'rlimits' | 'cgroups' | 'keepEnv' | 'keepFds' | 'hostname'> {
  const { rlimits, cgroups, keepEnv, keepFds, hostname } = common(jail, '', [], []);
  const { nofile: _nofile, ...rest } = rlimits ?? {}; // virtiofsd sets its own descriptor limit (--rlimit-nofile)
  return { namespaces: namespaces(jail.policy, false).filter((n) => n !== 'pid'), rlimits: rest, cgroups, keepEnv, keepFds, hostname };
}

// What every jailed process of a box gets: uid, no capabilities, limits, cgroup, environment, descriptors.
function common(jail: BoxJail, program: string, args: readonly string[], keepFds: readonly number[]): JailSpec {
  const p = jail.policy;
  const l = p.resourceLimits;
  return {
    program, args,
    ...(jail.uid !== undefined ? { uid: jail.uid, gid: jail.gid ?? jail.uid } : {}),
    ...(jail.parentPid !== undefined ? { parentPid: jail.parentPid } : {}),
    hostname: JAIL_HOSTNAME,
    rlimits: { nofile: l.maxOpenFiles, fsize: l.maxFileSize, nproc: l.maxProcesses, as: l.maxMemory, cpu: l.maxCpuTime, core: 0 },
    cgroups: jail.cgroups,
    ...(p.sanitizeEnv ? { keepEnv: p.envAllowlist } : {}),
    ...(p.closeFds ? { keepFds } : {}),
  };
}

function namespaces(p: JailPolicy, vmm: boolean): Namespace[] {
  return ['mnt', 'ipc', 'uts', ...(p.newPidNs ? ['pid' as const] : []), ...(vmm && p.newNetNs ? ['net' as const] : [])];
}

/** The system's programs and libraries, read-only (Debian's merged /usr: /bin, /lib, /lib64 and /sbin are symlinks). */
function systemPaths(program: string): JailPath[] {
  const out: JailPath[] = [{ path: '/usr', kind: 'ro' }];
  for (const top of ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32']) {
    const st = fs.lstatSync(top, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) out.push({ path: top, kind: 'symlink' });
    else if (st?.isDirectory()) out.push({ path: top, kind: 'ro' });
  }
  if (fs.existsSync('/etc/ld.so.cache')) out.push({ path: '/etc/ld.so.cache', kind: 'ro' });
  if (!program.startsWith('/usr/') && !out.some((p) => program.startsWith(`${p.path}/`))) out.push({ path: program, kind: 'ro' });
  return out;
}

function dedupe(paths: JailPath[]): JailPath[] {
  const seen = new Set<string>();
  return paths.filter((p) => {
    const key = path.resolve(p.path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
