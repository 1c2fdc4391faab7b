/* Forking an execution into the box: pipes or a pty, namespaces, capabilities, user, working directory, PATH search. */
#define _GNU_SOURCE
#include "builtin.h"
#include "confine.h"
#include "exec_priv.h"
#include "protocol.h"
#include "user.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#define OUTPUT_PIPE_BYTES (1u << 20)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* execvpe() with the PATH of the given environment (not the agent's). Returns errno on failure. */
static int exec_path(char *const argv[], char *const envp[])
{
	const char *file = argv[0];
	if (!file[0])
		return ENOENT;
	if (strchr(file, '/')) {
		execve(file, argv, envp);
		return errno;
	}
	const char *path = DEFAULT_PATH;
	for (char *const *e = envp; *e; e++) {
		if (strncmp(*e, "PATH=", 5) == 0) {
			path = *e + 5;
			break;
		}
	}
	size_t flen = strlen(file);
	if (flen > NAME_MAX)
		return ENAMETOOLONG;
	int eacces = 0;
	for (const char *p = path;; p++) {
		const char *z = strchrnul(p, ':');
		size_t dlen = (size_t)(z - p);
		char buf[PATH_MAX];
		if (dlen + 1 + flen + 1 <= sizeof buf) {
			memcpy(buf, p, dlen);
			if (dlen) /* an empty entry is the current directory */
				buf[dlen++] = '/';
			memcpy(buf + dlen, file, flen + 1);
			execve(buf, argv, envp);
			if (errno == EACCES)
				eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return errno;
		}
		if (!*z)
			break;
		p = z;
	}
	return eacces ? EACCES : ENOENT;
}

static void child_fail(int status_fd, int stage, int err) __attribute__((noreturn));
static void child_fail(int status_fd, int stage, int err)
{
	int rec[2] = { stage, err };
	if (write(status_fd, rec, sizeof rec) < 0)
		_exit(126);
	_exit(127);
}

/* Switch to the exec's user (after setns: the box's /etc/passwd). The tty becomes theirs, so that
 * tty, stty and friends work. Not called for an empty user (root, groups unchanged). */
static void become_user(const char *spec, int tty, int status_fd)
{
	static struct creds c; /* big; the child has one thread and does this once */
	int in_group, rc = user_resolve(spec, &c, &in_group);
	if (rc)
		child_fail(status_fd, in_group ? STAGE_GROUP : STAGE_USER, rc);
	if (tty && fchown(0, c.uid, c.gid) != 0)
		child_fail(status_fd, STAGE_CREDS, errno);
	if ((rc = user_apply(&c)))
		child_fail(status_fd, STAGE_CREDS, rc);
}

/* A builtin instead of execve(): the agent's other descriptors are closed first (closing the status pipe
 * reports the start), since nothing else closes them without an exec. Never returns. */
static void run_builtin(const struct msg *m, int status_fd)
{
	builtin_fn fn = builtin_find(m->u.exec.argv[0]);
	if (!fn)
		child_fail(status_fd, STAGE_EXEC, ENOSYS);
	if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
		for (int fd = 3; fd < 1024; fd++)
			close(fd);
	int rc = fn((int)m->u.exec.argc, m->u.exec.argv);
	out_flush();
	_exit(rc);
}

/* In the forked child (already in the box's pid namespace). Never returns. */
static void child_main(const struct box *b, const struct msg *m, int status_fd, const int stdio[3]) __attribute__((noreturn));
static void child_main(const struct box *b, const struct msg *m, int status_fd, const int stdio[3])
{
	sigset_t none;
	sigemptyset(&none);
	/* execve resets caught signals; the only disposition the agent changes besides is SIGPIPE's (ignored). */
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	uint32_t pid = (uint32_t)getpid(); /* the pid as seen inside the box */
	if (write(status_fd, &pid, sizeof pid) < 0)
		_exit(126);
	/* An agent-side builtin (the box's changes) stays in the agent's mount namespace, as root, with its capabilities. */
	int in_agent = (m->u.exec.flags & EXEC_FLAG_BUILTIN) && builtin_in_agent(m->u.exec.argv[0]);
	if (in_agent && m->u.exec.user[0])
		child_fail(status_fd, STAGE_USER, EINVAL);
	if ((!in_agent && setns(b->ns_mnt, CLONE_NEWNS) != 0) || setns(b->ns_uts, CLONE_NEWUTS) != 0 ||
	    setns(b->ns_ipc, CLONE_NEWIPC) != 0)
		child_fail(status_fd, STAGE_SETNS, errno);
	if (setsid() < 0)
		child_fail(status_fd, STAGE_STDIO, errno);
	if ((m->u.exec.flags & EXEC_FLAG_TTY) && ioctl(stdio[0], TIOCSCTTY, 0) != 0)
		child_fail(status_fd, STAGE_STDIO, errno);
	for (int fd = 0; fd < 3; fd++)
		if (dup2(stdio[fd], fd) < 0)
			child_fail(status_fd, STAGE_STDIO, errno);
	struct rlimit nofile = { 1024, 65536 }; /* the agent raised its own limit */
	setrlimit(RLIMIT_NOFILE, &nofile);
	const char *dir = m->u.exec.workdir[0] ? m->u.exec.workdir : "/";
	if (chdir(dir) != 0) /* as root, like Docker: the user need not be able to enter it */
		child_fail(status_fd, STAGE_CHDIR, errno);
	/* Box root is container root: Docker's capabilities (a user other than root loses even those at
	 * setuid), so it cannot remount /proc/sys, load modules or ptrace its way to the agent. */
	int rc = in_agent ? 0 : confine_caps(CONFINE_BOX_CAPS);
	if (rc)
		child_fail(status_fd, STAGE_CAPS, rc);
	if (m->u.exec.user[0])
		become_user(m->u.exec.user, (m->u.exec.flags & EXEC_FLAG_TTY) != 0, status_fd);
	if (m->u.exec.flags & EXEC_FLAG_BUILTIN)
		run_builtin(m, status_fd);
	child_fail(status_fd, STAGE_EXEC, exec_path(m->u.exec.argv, m->u.exec.envp));
}

/* The child of an execve that needs no user lookup (which allocates) runs in the agent's memory until execve, as
 * posix_spawn does: no page tables to copy, no copy-on-write faults in the agent after; the agent waits meanwhile. */
struct child_args {
	const struct box *b;
	const struct msg *m;
	int status_fd;
	const int *stdio;
};

static _Alignas(16) char child_stack[64 << 10];

static int child_entry(void *arg)
{
	const struct child_args *a = arg;
	child_main(a->b, a->m, a->status_fd, a->stdio);
}

static int can_share_memory(const struct msg *m)
{
	return !(m->u.exec.flags & EXEC_FLAG_BUILTIN) && !m->u.exec.user[0];
}

/* A pty in the box's own devpts instance. The master is opened by the agent through
 * /proc/<box init>/root, so it belongs to the box's devpts (the child sees /dev/pts/N); the slave
 * comes from TIOCGPTPEER, which needs no path lookup. */
static int open_pty(const struct box *b, const struct msg *m, int *master, int *slave)
{
	*master = open(b->ptmx, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (*master < 0)
		return errno;
	int unlock = 0;
	struct winsize ws = { .ws_row = m->u.exec.rows ? m->u.exec.rows : 24, .ws_col = m->u.exec.cols ? m->u.exec.cols : 80 };
	if (ioctl(*master, TIOCSPTLCK, &unlock) != 0 || ioctl(*master, TIOCSWINSZ, &ws) != 0 ||
	    (*slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		int e = errno;
		close(*master);
		*master = -1;
		return e;
	}
	return 0;
}

static void close_all(int *fds, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int spawn_exec(struct exec *e, const struct box *b, const struct msg *m, char *err, size_t errlen)
{
	/* ours[]: the agent's ends; theirs[]: the child's stdin, stdout, stderr. */
	int status[2] = { -1, -1 }, ours[3] = { -1, -1, -1 }, theirs[3] = { -1, -1, -1 };
	int rc = 0;
	if (pipe2(status, O_CLOEXEC) != 0) {
		rc = errno;
		snprintf(err, errlen, "creating a pipe: %s", strerror(rc));
		return rc;
	}
	if (e->tty) {
		int slave = -1;
		if ((rc = open_pty(b, m, &ours[0], &slave)) == 0)
			theirs[0] = theirs[1] = theirs[2] = slave;
	} else {
		for (int i = 0; i < 3 && !rc; i++) {
			int p[2];
			if (pipe2(p, O_CLOEXEC) != 0) {
				rc = errno;
				break;
			}
			ours[i] = i == 0 ? p[1] : p[0];
			theirs[i] = i == 0 ? p[0] : p[1];
			fcntl(ours[i], F_SETFL, O_NONBLOCK);
			if (i > 0) /* room for a whole frame of output per read, and fewer wake-ups of the writer */
				fcntl(ours[i], F_SETPIPE_SZ, (int)OUTPUT_PIPE_BYTES);
		}
	}
	pid_t pid = -1;
	if (!rc && can_share_memory(m)) {
		struct child_args a = { b, m, status[1], theirs };
		pid = clone(child_entry, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
	} else if (!rc) {
		pid = fork();
		if (pid == 0)
			child_main(b, m, status[1], theirs);
	}
	if (pid < 0 && !rc)
		rc = errno;
	close(status[1]);
	close_all(theirs, e->tty ? 1 : 3);
	if (rc) {
		snprintf(err, errlen, "%s: %s", e->tty ? "creating a pty" : "starting the process", strerror(rc));
		close(status[0]);
		close_all(ours, 3);
		return rc;
	}
	fcntl(status[0], F_SETFL, O_NONBLOCK);
	e->pid = pid;
	e->status_fd = status[0];
	e->in_fd = ours[0];
	e->out_fd[0] = e->tty ? ours[0] : ours[1];
	e->out_fd[1] = e->tty ? -1 : ours[2];
	e->out_done[1] = e->tty;
	return 0;
}
