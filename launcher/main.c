/* boxlite-launcher: starts a helper program (virtiofsd) confined for serving a box's files. Usage:
 *   boxlite-launcher --uid N --gid N --caps NAME,... [--read-only DIR] [--die-with-parent] -- PROGRAM ARGS...
 * In order: DIR bound read-only in a private mount namespace; uid/gid N (never 0) with only the named capabilities;
 * killed with its parent if asked; the seccomp filter (filter.c); exec PROGRAM. Needs to start as root. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <limits.h>
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
	fprintf(stderr, "boxlite-launcher: %s\nusage: boxlite-launcher --uid N --gid N --caps NAME,... "
		"[--read-only DIR] [--die-with-parent] -- PROGRAM ARGS...\n", why);
	exit(2);
}

/* A uid or gid: a decimal number between 1 and 2^32-2 (0 is root, -1 means "unchanged"). */
static unsigned id_arg(const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v == 0 || v >= 0xffffffffUL)
		usage("--uid and --gid take a number other than 0 (the point is not to be root)");
	return (unsigned)v;
}

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

int main(int argc, char **argv)
{
	unsigned uid = 0, gid = 0;
	uint64_t caps = 0;
	const char *read_only = NULL;
	int die_with_parent = 0, i = 1;
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--die-with-parent") == 0) {
			die_with_parent = 1;
			continue;
		}
		if (i + 1 >= argc)
			usage("an option lacks its value");
		if (strcmp(argv[i], "--uid") == 0)
			uid = id_arg(argv[++i]);
		else if (strcmp(argv[i], "--gid") == 0)
			gid = id_arg(argv[++i]);
		else if (strcmp(argv[i], "--caps") == 0)
			caps = caps_arg(argv[++i]);
		else if (strcmp(argv[i], "--read-only") == 0)
			read_only = argv[++i];
		else
			usage("unknown option");
	}
	if (uid == 0 || gid == 0)
		usage("--uid and --gid are required");
	if (i + 1 >= argc)
		usage("no program after --");
	if (geteuid() != 0)
		usage("must be started as root (it gives the helper up to its unprivileged user)");
	pid_t parent = getppid();
	if (read_only && bind_read_only(read_only) != 0)
		return 1;
	if (become(uid, gid, caps) != 0)
		return 1;
	/* Changing credentials cleared any parent-death signal: set it again, then make sure the parent is still there. */
	if (die_with_parent && prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) {
		fail("prctl(PR_SET_PDEATHSIG)");
		return 1;
	}
	if (die_with_parent && getppid() != parent) {
		fprintf(stderr, "boxlite-launcher: the parent process exited while starting\n");
		return 1;
	}
	if (install_filter() != 0)
		return 1;
	execve(argv[i + 1], &argv[i + 1], environ);
	fail(argv[i + 1]);
	return 127;
}
