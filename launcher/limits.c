/* Limits: rlimits, cgroups, inherited descriptors and the environment a confined program starts with. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static const struct { const char *name; int resource; } rlimits[] = {
	{ "nofile", RLIMIT_NOFILE }, { "fsize", RLIMIT_FSIZE }, { "nproc", RLIMIT_NPROC },
	{ "as", RLIMIT_AS }, { "cpu", RLIMIT_CPU }, { "core", RLIMIT_CORE },
};

int set_rlimit(const char *spec)
{
	const char *eq = strchr(spec, '=');
	char *end;
	errno = 0;
	unsigned long long v = eq ? strtoull(eq + 1, &end, 10) : 0;
	if (!eq || errno || end == eq + 1 || *end) {
		errno = EINVAL;
		return fail("--rlimit takes NAME=NUMBER");
	}
	for (size_t i = 0; i < sizeof rlimits / sizeof rlimits[0]; i++) {
		if (strncmp(spec, rlimits[i].name, (size_t)(eq - spec)) != 0 || rlimits[i].name[eq - spec] != '\0')
			continue;
		struct rlimit rl = { .rlim_cur = v, .rlim_max = v };
		if (setrlimit(rlimits[i].resource, &rl) != 0)
			return fail(spec);
		/* Past the file-size limit a write fails with EFBIG (an I/O error for the guest) instead of killing. */
		if (rlimits[i].resource == RLIMIT_FSIZE)
			signal(SIGXFSZ, SIG_IGN);
		return 0;
	}
	errno = EINVAL;
	return fail("--rlimit names one of nofile, fsize, nproc, as, cpu, core");
}

int join_cgroup(const char *dir)
{
	char path[4096], pid[32];
	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path);
	int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
	ssize_t n = write(fd, pid, (size_t)len);
	int saved = errno;
	close(fd);
	errno = saved;
	return n == len ? 0 : fail(path);
}

static int kept(int fd, const int *keep, int nkeep)
{
	for (int i = 0; i < nkeep; i++)
		if (keep[i] == fd)
			return 1;
	return 0;
}

void close_fds_except(const int *keep, int nkeep)
{
	/* close_range over the gaps between kept descriptors; one by one where the kernel lacks it. */
	int from = 3;
	for (int fd = 3; fd < 1024; fd++) {
		if (!kept(fd, keep, nkeep))
			continue;
		if (fd > from && syscall(SYS_close_range, from, fd - 1, 0) != 0)
			for (int f = from; f < fd; f++)
				close(f);
		from = fd + 1;
	}
	if (syscall(SYS_close_range, from, ~0U, 0) != 0) {
		long max = sysconf(_SC_OPEN_MAX);
		for (long f = from; f < (max > 0 ? max : 65536); f++)
			close((int)f);
	}
}

char **kept_environment(const char *const *names, int nnames)
{
	static char *env[MAX_LIST + 1];
	int n = 0;
	for (int i = 0; i < nnames; i++) {
		size_t len = strlen(names[i]);
		for (char **e = environ; *e; e++)
			if (strncmp(*e, names[i], len) == 0 && (*e)[len] == '=') {
				env[n++] = *e;
				break;
			}
	}
	env[n] = NULL;
	return env;
}
