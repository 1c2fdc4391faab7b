/* boxlite-launcher: the jailer. Starts one host process of a box (QEMU, passt, virtiofsd) confined. Usage:
 *   boxlite-launcher [OPTIONS] -- PROGRAM ARGS...
 * In order: the death signal (--parent-pid, checked against that parent); join the --cgroup dirs; a user namespace when not started as root (keeping this uid); the asked
 * --namespaces (with a pid namespace, a supervising parent stays and PROGRAM becomes its pid 1); --read-only DIR
 * bound read-only, or the --jail: a tmpfs holding only the --bind/--ro-bind/--dev/--symlink paths (and a --proc of
 * its own pid namespace), pivoted into;
 * --rlimit; uid/gid with only the --caps named; death with the parent (--parent-pid); no_new_privs; the --seccomp
 * filter (filter.c); an environment of the --keep-env names only (--clear-env); every descriptor above 2 closed
 * but the --keep-fd ones (--close-fds); exec PROGRAM (an absolute path). */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

int fail(const char *what)
{
	fprintf(stderr, "boxlite-launcher: %s: %s\n", what, strerror(errno));
	return -1;
}

static void usage(const char *why)
{
	fprintf(stderr, "boxlite-launcher: %s\nusage: boxlite-launcher [--uid N --gid N] [--groups N,...] [--caps NAME,...] "
		"[--parent-pid N] [--namespaces mnt,pid,ipc,uts,net] [--hostname NAME] [--read-only DIR] [--jail DIR "
		"[--bind|--ro-bind|--dev|--symlink|--proc PATH | --ro-bind-from SOURCE PATH]...] [--rlimit NAME=N]... [--cgroup DIR]... [--seccomp] "
		"[--clear-env [--keep-env NAME]...] [--close-fds [--keep-fd N]...] -- PROGRAM ARGS...\n", why);
	exit(2);
}

/* A number in [min, max]. */
static unsigned long num_arg(const char *s, unsigned long min, unsigned long max, const char *why)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage(why);
	return v;
}

#define ID_WHY "--uid, --gid and --groups take numbers other than 0 (the point is not to be root)"

/* A comma-separated list of capability names as a bit set. */
static uint64_t caps_arg(char *s)
{
	uint64_t set = 0;
	for (char *name = strtok(s, ","); name; name = strtok(NULL, ",")) {
		int cap = cap_number(name);
		if (cap < 0)
			usage("--caps takes names from capabilities(7) without CAP_, in lower case (sys_admin,fowner)");
		set |= 1ULL << cap;
	}
	return set;
}

static int namespaces_arg(char *s)
{
	static const struct { const char *name; int flag; } known[] = {
		{ "mnt", CLONE_NEWNS }, { "pid", CLONE_NEWPID }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS }, { "net", CLONE_NEWNET },
	};
	int flags = 0;
	for (char *name = strtok(s, ","); name; name = strtok(NULL, ",")) {
		size_t i = 0;
		while (i < sizeof known / sizeof known[0] && strcmp(known[i].name, name) != 0)
			i++;
		if (i == sizeof known / sizeof known[0])
			usage("--namespaces takes mnt, pid, ipc, uts and net");
		flags |= known[i].flag;
	}
	return flags;
}

struct options {
	long uid, gid;
	gid_t groups[MAX_LIST];
	int ngroups;
	uint64_t caps;
	pid_t parent;
	int die_with_parent, namespaces, seccomp, clear_env, close_fds;
	const char *hostname, *read_only, *jail;
	struct bind binds[MAX_LIST];
	int nbinds;
	const char *rlimits[MAX_LIST], *cgroups[MAX_LIST], *env[MAX_LIST];
	int nrlimits, ncgroups, nenv;
	int keep[MAX_LIST];
	int nkeep;
};

/* Appends to a list of at most MAX_LIST. */
#define PUSH(list, count, value) do { \
		if ((count) >= MAX_LIST) \
			usage("too many values for one option"); \
		(list)[(count)++] = (value); \
	} while (0)

/* Parses the options before "--"; returns the index of PROGRAM. */
static int parse(int argc, char **argv, struct options *o)
{
	int i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--die-with-parent") == 0) { o->die_with_parent = 1; o->parent = getppid(); continue; }
		if (strcmp(a, "--seccomp") == 0) { o->seccomp = 1; continue; }
		if (strcmp(a, "--clear-env") == 0) { o->clear_env = 1; continue; }
		if (strcmp(a, "--close-fds") == 0) { o->close_fds = 1; continue; }
		if (i + 1 >= argc)
			usage("an option lacks its value");
		char *v = argv[++i];
		if (strcmp(a, "--uid") == 0) o->uid = (long)num_arg(v, 1, 0xfffffffeUL, ID_WHY);
		else if (strcmp(a, "--gid") == 0) o->gid = (long)num_arg(v, 1, 0xfffffffeUL, ID_WHY);
		else if (strcmp(a, "--groups") == 0)
			for (char *g = strtok(v, ","); g; g = strtok(NULL, ","))
				PUSH(o->groups, o->ngroups, (gid_t)num_arg(g, 1, 0xfffffffeUL, ID_WHY));
		else if (strcmp(a, "--caps") == 0) o->caps = caps_arg(v);
		else if (strcmp(a, "--parent-pid") == 0) { o->die_with_parent = 1; o->parent = (pid_t)num_arg(v, 1, INT_MAX, "--parent-pid takes a pid"); }
		else if (strcmp(a, "--namespaces") == 0) o->namespaces = namespaces_arg(v);
		else if (strcmp(a, "--hostname") == 0) o->hostname = v;
		else if (strcmp(a, "--read-only") == 0) o->read_only = v;
		else if (strcmp(a, "--jail") == 0) o->jail = v;
		else if (strcmp(a, "--bind") == 0) PUSH(o->binds, o->nbinds, ((struct bind){ v, BIND_RW, NULL }));
		else if (strcmp(a, "--ro-bind") == 0) PUSH(o->binds, o->nbinds, ((struct bind){ v, BIND_RO, NULL }));
		else if (strcmp(a, "--dev") == 0) PUSH(o->binds, o->nbinds, ((struct bind){ v, BIND_DEV, NULL }));
		else if (strcmp(a, "--symlink") == 0) PUSH(o->binds, o->nbinds, ((struct bind){ v, BIND_LINK, NULL }));
		else if (strcmp(a, "--proc") == 0) PUSH(o->binds, o->nbinds, ((struct bind){ v, BIND_PROC, NULL }));
		else if (strcmp(a, "--ro-bind-from") == 0) {
			if (i + 1 >= argc)
				usage("--ro-bind-from takes SOURCE and PATH");
			PUSH(o->binds, o->nbinds, ((struct bind){ argv[++i], BIND_RO, v }));
		}
		else if (strcmp(a, "--rlimit") == 0) PUSH(o->rlimits, o->nrlimits, v);
		else if (strcmp(a, "--cgroup") == 0) PUSH(o->cgroups, o->ncgroups, v);
		else if (strcmp(a, "--keep-env") == 0) PUSH(o->env, o->nenv, v);
		else if (strcmp(a, "--keep-fd") == 0) PUSH(o->keep, o->nkeep, (int)num_arg(v, 3, 1023, "--keep-fd takes a descriptor 3..1023"));
		else usage("unknown option");
	}
	if ((o->uid < 0) != (o->gid < 0))
		usage("--uid and --gid go together");
	if ((o->jail || o->read_only) && !(o->namespaces & CLONE_NEWNS))
		o->namespaces |= CLONE_NEWNS;
	if (o->jail && o->read_only)
		usage("--jail and --read-only do not go together");
	if (i + 1 >= argc)
		usage("no program after --");
	if (argv[i + 1][0] != '/')
		usage("PROGRAM must be an absolute path");
	return i + 1;
}

int main(int argc, char **argv)
{
	struct options o = { .uid = -1, .gid = -1 };
	int prog = parse(argc, argv, &o);
	int root = geteuid() == 0;
	if (!root && o.uid >= 0 && ((uid_t)o.uid != getuid() || (gid_t)o.gid != getgid()))
		usage("only root can run a program as another uid (drop --uid/--gid, or start as root)");
	/* The first death signal: set while still as started, checked against the parent that was meant. */
	if (o.die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != o.parent))
		return EXIT_PARENT_GONE;
	for (int c = 0; c < o.ncgroups; c++)
		if (join_cgroup(o.cgroups[c]) != 0)
			return EXIT_SETUP;
	if (!root && o.namespaces && enter_user_namespace() != 0)
		return EXIT_SETUP;
	if ((o.namespaces & ~CLONE_NEWPID) && unshare(o.namespaces & ~CLONE_NEWPID) != 0)
		return fail("unshare (new namespaces)"), EXIT_SETUP;
	int parent_fd = -1;
	if (o.namespaces & CLONE_NEWPID) {
		if (unshare(CLONE_NEWPID) != 0)
			return fail("unshare(CLONE_NEWPID)"), EXIT_SETUP;
		parent_fd = supervise(root ? o.uid : -1, root ? o.gid : -1, o.die_with_parent, o.parent);
		if (parent_fd < 0)
			return EXIT_SETUP;
	}
	if (o.hostname && (o.namespaces & CLONE_NEWUTS) && sethostname(o.hostname, strlen(o.hostname)) != 0)
		return fail("sethostname"), EXIT_SETUP;
	if (o.read_only && bind_read_only(o.read_only) != 0)
		return EXIT_SETUP;
	if (o.jail && enter_jail(o.jail, o.binds, o.nbinds) != 0)
		return EXIT_SETUP;
	for (int r = 0; r < o.nrlimits; r++)
		if (set_rlimit(o.rlimits[r]) != 0)
			return EXIT_SETUP;
	/* Not root any more (or, in a user namespace, with no capability left in it either). */
	if (become(root ? o.uid : -1, root ? o.gid : -1, o.groups, root && o.uid >= 0 ? o.ngroups : -1, o.caps) != 0)
		return EXIT_SETUP;
	/* Changing credentials cleared the death signal: set it again, then make sure the parent is still there. */
	if (parent_fd >= 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || !parent_alive(parent_fd))
			return EXIT_PARENT_GONE;
		close(parent_fd);
	} else if (o.die_with_parent && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != o.parent)) {
		fprintf(stderr, "boxlite-launcher: the parent process exited while starting\n");
		return EXIT_PARENT_GONE;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail("prctl(PR_SET_NO_NEW_PRIVS)"), EXIT_SETUP;
	if (o.seccomp && install_filter() != 0)
		return EXIT_SETUP;
	char **env = o.clear_env ? kept_environment(o.env, o.nenv) : environ;
	if (o.close_fds)
		close_fds_except(o.keep, o.nkeep);
	execve(argv[prog], &argv[prog], env);
	fail(argv[prog]);
	return EXIT_NOT_FOUND;
}
