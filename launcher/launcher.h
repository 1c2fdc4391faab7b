/* The launcher's steps, each in its own file; every one returns 0 or prints why it failed and returns -1. */
#ifndef BOXLITE_LAUNCHER_H
#define BOXLITE_LAUNCHER_H

#include <stdint.h>
#include <sys/types.h>

#define MAX_LIST 64

/* Exit codes: the parent process exited before the death signal was set; setup failed; PROGRAM could not run. */
#define EXIT_PARENT_GONE 125
#define EXIT_SETUP 126
#define EXIT_NOT_FOUND 127

/* What goes into the jail, at the same path as on the host (BIND_PROC: a procfs of the process's own pid namespace). */
enum bind_kind { BIND_RW, BIND_RO, BIND_DEV, BIND_LINK, BIND_PROC };
struct bind {
	const char *path;
	enum bind_kind kind;
	/* Bound from this host path instead of `path` itself (read-only binds of files only); NULL: from `path`. */
	const char *from;
};

/* Prints "boxlite-launcher: <what>: <strerror(errno)>" to stderr and returns -1. */
int fail(const char *what);

/* mounts.c: in a new private mount namespace, makes dir a read-only bind mount of itself. */
int bind_read_only(const char *dir);
/* mounts.c: makes every mount private, a small tmpfs at root holding the binds (none of them setuid, only BIND_DEV
 * with devices), pivots into it, drops the old root and makes the new one read-only. */
int enter_jail(const char *root, const struct bind *binds, int nbinds);

/* creds.c: the capability number named `name` ("sys_admin"), or -1. */
int cap_number(const char *name);
/* creds.c: becomes uid/gid (unless negative: kept) with `groups` as the supplementary groups (unless ngroups < 0),
 * keeping exactly the capabilities in `caps` (a bit set) as permitted, effective, inheritable and ambient, so that
 * they survive exec; all others leave the bounding set. */
int become(long uid, long gid, const gid_t *groups, int ngroups, uint64_t caps);
/* creds.c: a user namespace where this process keeps its own uid and gid, with every capability inside it. */
int enter_user_namespace(void);

/* filter.c: sets no_new_privs and installs the seccomp filter: uid/gid changes succeed without doing anything,
 * and a mode with S_ISUID or S_ISGID in chmod, open, mknod or mkdir fails with EPERM. */
int install_filter(void);

/* limits.c: `name=value` (nofile, fsize, nproc, as, cpu, core) applied as both soft and hard limit. */
int set_rlimit(const char *spec);
/* limits.c: moves this process into each cgroup directory (its cgroup.procs). */
int join_cgroup(const char *dir);
/* limits.c: closes every descriptor above 2 but those in keep. */
void close_fds_except(const int *keep, int nkeep);
/* limits.c: a NULL-terminated environment holding only the named variables of this one. */
char **kept_environment(const char *const *names, int nnames);

/* supervise.c: forks; the parent waits for the child (now pid 1 of the new pid namespace) and exits as it did,
 * forwarding termination signals. The parent drops to uid/gid (unless negative) and every capability, and dies
 * with `parent` when die_with is set. Returns in the child only, with a descriptor that reads EOF once the parent is
 * gone (see parent_alive). */
int supervise(long uid, long gid, int die_with, pid_t parent);
/* supervise.c: whether the supervising parent still lives (its end of the pipe is open). */
int parent_alive(int fd);

#endif
