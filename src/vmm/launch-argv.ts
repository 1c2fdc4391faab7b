// The command line every child process of a VM (QEMU, passt, virtiofsd) is started with: its own uid, its death
// tied to this process's, and no descriptor but stdin/stdout/stderr inherited from the embedding program.
//
// `setpriv` changes the uid first and sets the parent-death signal after that (a uid change clears it, which is
// why passt's own `--runas` could not be used), then `bash` checks that its parent is still this process (had it
// died before the signal was set, nothing would kill the child), closes every descriptor above 2 (Node marks its
// own close-on-exec, but not those the embedding program opened or inherited), and execs the program in place:
// the pid, start time and a command line naming the box stay the same from spawn to exit. A jailed child (the
// security options' jailer) is started by the jailer instead, which does all of this and confines it.

/** How one child is started. */
export interface LaunchSpec {
  command: string;
  args: readonly string[];
  /** Die with this process, even on SIGKILL (the kernel's parent-death signal); false for detached boxes. */
  dieWithParent: boolean;
  /** Run as this uid and gid (with no supplementary groups), set before the program starts. */
  runAs?: number;
  /** Descriptors above 2 the program must keep (a VM's state to restore). */
  keepFds?: readonly number[];
  /** The jailer (launcher/) and how it confines the program, instead of setpriv and bash (see src/jailer/). */
  jailer?: { path: string; argv(parentPid: number | undefined): string[] };
}

/** The exit code of a child whose parent died before its death signal was set (nobody waits for it). */
export const PARENT_GONE_EXIT = 125;
/** bash's exit code when the program to exec is not found. */
export const NOT_FOUND_EXIT = 127;

const SCRIPT = [
  'p=$1; k=" $2 "; shift 2',
  `if [ "$p" != 0 ] && [ "$PPID" != "$p" ]; then exit ${PARENT_GONE_EXIT}; fi`,
  'for f in /proc/$$/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ] && [ "${k#* $n }" = "$k" ]; then exec {n}>&-; fi; done',
  'exec "$@"',
].join('\n');

/** The program and arguments that start `spec` as described above (pure but for this process's pid). */
export function launchArgv(spec: LaunchSpec): [string, string[]] {
  if (spec.jailer) return [spec.jailer.path, spec.jailer.argv(spec.dieWithParent ? process.pid : undefined)];
  const priv = [
    ...(spec.runAs !== undefined ? [`--reuid=${spec.runAs}`, `--regid=${spec.runAs}`, '--clear-groups'] : []),
    ...(spec.dieWithParent ? ['--pdeathsig', 'KILL'] : []),
  ];
  const wrapped = ['bash', '-c', SCRIPT, 'boxlite-launch', spec.dieWithParent ? String(process.pid) : '0', (spec.keepFds ?? []).join(' '), spec.command, ...spec.args];
  return priv.length ? ['setpriv', [...priv, '--', ...wrapped]] : [wrapped[0]!, wrapped.slice(1)];
}
