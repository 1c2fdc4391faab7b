// What the jailer (launcher/, static C built by setup) is asked to do for one host process, and its command line.

/** A Linux namespace the jailer can put a process in. */
export type Namespace = 'mnt' | 'pid' | 'ipc' | 'uts' | 'net';

/** One path of the host made visible in a jail, at the same place. */
export interface JailPath {
  path: string;
  /**
   * `rw`/`ro` bind mounts, `dev` a device node (usable, read-write), `symlink` a copy of the host's symlink,
   * `proc` a procfs of the process's own pid namespace.
   */
  kind: 'rw' | 'ro' | 'dev' | 'symlink' | 'proc';
  /** For `ro` files: bound from this host file instead of `path` itself. */
  from?: string;
}

/** How one process is confined. Every field is optional: an empty spec only starts the program. */
export interface JailSpec {
  /** The program (an absolute path: the jailer does not search PATH) and its arguments. */
  program: string;
  args: readonly string[];
  /** Run as this uid and gid (only root can give them); no supplementary groups but `groups`. */
  uid?: number;
  gid?: number;
  groups?: readonly number[];
  /** Capabilities kept (names of capabilities(7) without CAP_, lower case); none when absent. */
  caps?: readonly string[];
  /** Die with this process (a pid), even on SIGKILL. */
  parentPid?: number;
  namespaces?: readonly Namespace[];
  hostname?: string;
  /** A directory bound read-only onto itself in a private mount namespace (a read-only volume). */
  readOnlyDir?: string;
  /** The jail: an empty directory that becomes the process's root, holding only `paths`. */
  jail?: { root: string; paths: readonly JailPath[] };
  /** Resource limits: name (nofile, fsize, nproc, as, cpu, core) to value, soft and hard. */
  rlimits?: Readonly<Partial<Record<'nofile' | 'fsize' | 'nproc' | 'as' | 'cpu' | 'core', number>>>;
  /** cgroup directories to join before anything else. */
  cgroups?: readonly string[];
  /** Our own seccomp filter (no uid changes, no setuid/setgid files); QEMU brings its own (`-sandbox`). */
  seccomp?: boolean;
  /** When given, the environment holds only these variables. */
  keepEnv?: readonly string[];
  /** When given, every descriptor above 2 but these is closed. */
  keepFds?: readonly number[];
}

/** The jailer's argv for `spec` (pure). */
export function jailerArgv(spec: JailSpec): string[] {
  const a: string[] = [];
  const opt = (name: string, value: string | number | undefined): void => { if (value !== undefined) a.push(name, String(value)); };
  opt('--uid', spec.uid);
  opt('--gid', spec.gid);
  if (spec.groups?.length) opt('--groups', spec.groups.join(','));
  if (spec.caps?.length) opt('--caps', spec.caps.join(','));
  opt('--parent-pid', spec.parentPid);
  if (spec.namespaces?.length) opt('--namespaces', spec.namespaces.join(','));
  opt('--hostname', spec.hostname);
  opt('--read-only', spec.readOnlyDir);
  if (spec.jail) {
    opt('--jail', spec.jail.root);
    const flag = { rw: '--bind', ro: '--ro-bind', dev: '--dev', symlink: '--symlink', proc: '--proc' } as const;
    for (const p of spec.jail.paths) {
      if (p.from !== undefined && p.kind === 'ro') a.push('--ro-bind-from', p.from, p.path);
      else opt(flag[p.kind], p.path);
    }
  }
  for (const [name, value] of Object.entries(spec.rlimits ?? {})) if (value !== undefined) opt('--rlimit', `${name}=${value}`);
  for (const dir of spec.cgroups ?? []) opt('--cgroup', dir);
  if (spec.seccomp) a.push('--seccomp');
  if (spec.keepEnv) {
    a.push('--clear-env');
    for (const name of spec.keepEnv) opt('--keep-env', name);
  }
  if (spec.keepFds) {
    a.push('--close-fds');
    for (const fd of spec.keepFds) opt('--keep-fd', fd);
  }
  return [...a, '--', spec.program, ...spec.args];
}

/** How launchArgv starts a program under the jailer at `path`: `spec(parentPid)` confines it (parentPid: die with it). */
export function jailerLaunch(path: string, spec: (parentPid: number | undefined) => JailSpec): { path: string; argv(parentPid: number | undefined): string[] } {
  return { path, argv: (parentPid) => jailerArgv(spec(parentPid)) };
}
