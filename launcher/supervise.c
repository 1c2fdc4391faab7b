/* The pid-namespace supervisor: the first child of a new pid namespace is its init; the launcher stays as its parent. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int parent_alive(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 0) == 0;
}

int supervise(long uid, long gid, int die_with, pid_t parent)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return fail("pipe");
	pid_t pid = fork();
	if (pid < 0)
		return fail("fork into the new pid namespace");
	if (pid == 0) {
		close(pipefd[1]);
		/* The program dies with its supervisor, which dies with the launcher's own parent (when asked). */
		if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
			return fail("prctl(PR_SET_PDEATHSIG)");
		if (!parent_alive(pipefd[0]))
			_exit(EXIT_PARENT_GONE);
		return pipefd[0];
	}
	child = pid;
	close(pipefd[0]);
	/* The supervisor only waits: it keeps no privilege and no descriptor but stderr and its end of the pipe. */
	int keep[] = { pipefd[1] };
	close_fds_except(keep, 1);
	/* Changing credentials clears the death signal: set it again, then make sure that parent is still there. */
	if (become(uid, gid, NULL, uid >= 0 ? 0 : -1, 0) != 0) {
		kill(pid, SIGKILL);
		_exit(EXIT_SETUP);
	}
	if (die_with && (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)) {
		kill(pid, SIGKILL);
		_exit(EXIT_PARENT_GONE);
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		kill(pid, SIGKILL);
		_exit(EXIT_SETUP);
	}
	struct sigaction sa = { .sa_handler = forward };
	sigemptyset(&sa.sa_mask);
	int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(EXIT_SETUP);
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status));
	int sig = WTERMSIG(status);
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	_exit(128 + sig);
}
