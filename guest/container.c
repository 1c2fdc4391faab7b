/* The box: its root filesystem (overlay of the two disks) and the namespaces user processes run in. */
#define _GNU_SOURCE
#include "container.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "confine.h"
#include "freshen.h"
#include "log.h"
#include "net.h"

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: %s", what, strerror(code));
	return code;
}

/* Block devices appear when virtio_blk probes; give a late one a moment (checking a node is not reading it). */
static void wait_for_node(const char *path)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	for (int i = 0; i < 500 && access(path, F_OK) != 0; i++)
		nanosleep(&ts, NULL);
}

/* Opens (creating missing directories) the directory rel under root, refusing symlinks: the image controls
 * the box tree, and a symlink there must not send a volume mount outside it. Returns an O_PATH fd or -errno. */
static int open_box_dir(const char *root, const char *rel)
{
	int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	char copy[4096];
	snprintf(copy, sizeof copy, "%s", rel);
	for (char *save = NULL, *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0 || strcmp(part, "..") == 0) {
			close(dir);
			return -EINVAL;
		}
		if (mkdirat(dir, part, 0755) != 0 && errno != EEXIST) {
			int e = errno;
			close(dir);
			return -e;
		}
		int next = openat(dir, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int e = errno;
		close(dir);
		if (next < 0)
			return -(e == ENOTDIR || e == ELOOP ? ELOOP : e);
		dir = next;
	}
	return dir;
}

/* Mounts each virtiofs volume of MOUNT (tag, "ro"/"rw", guest path) inside the box root. */
static int mount_volumes(const struct msg *m, char *err, size_t errlen)
{
	for (uint16_t i = 0; i + 2 < m->u.mount.volc; i += 3) {
		const char *tag = m->u.mount.volv[i], *mode = m->u.mount.volv[i + 1], *guest = m->u.mount.volv[i + 2];
		int fd = open_box_dir(BOX_ROOT, guest);
		if (fd < 0)
			return fail(err, errlen, -fd, "preparing the volume path %s in the box%s", guest,
				    fd == -ELOOP ? " (a symlink or non-directory is in the way)" : "");
		char target[64];
		snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
		unsigned long flags = MS_NOSUID | MS_NODEV | (strcmp(mode, "ro") == 0 ? MS_RDONLY : 0);
		int rc = mount(tag, target, "virtiofs", flags, NULL);
		int e = errno;
		close(fd);
		if (rc != 0)
			return fail(err, errlen, e, "mounting volume %s at %s", tag, guest);
	}
	return 0;
}

static int mount_disks(const struct msg *m, char *err, size_t errlen)
{
	const char *lower = m->u.mount.lower_dev, *upper = m->u.mount.upper_dev;
	mkdir("/run/box", 0700);
	mkdir(BOX_LOWER, 0755);
	mkdir(BOX_UPPER, 0755);
	mkdir(BOX_ROOT, 0755);
	wait_for_node(lower);
	wait_for_node(upper);
	freshen_block_device(lower);
	freshen_block_device(upper);
	if (mount(lower, BOX_LOWER, m->u.mount.lower_fs, MS_RDONLY, NULL) != 0)
		return fail(err, errlen, errno, "mounting %s (%s) read-only at %s", lower, m->u.mount.lower_fs, BOX_LOWER);
	if (mount(upper, BOX_UPPER, m->u.mount.upper_fs, 0, NULL) != 0) {
		int e = errno;
		umount2(BOX_LOWER, MNT_DETACH);
		return fail(err, errlen, e, "mounting %s (%s) at %s", upper, m->u.mount.upper_fs, BOX_UPPER);
	}
	mkdir(BOX_UPPER "/data", 0755);
	mkdir(BOX_UPPER "/work", 0755);
	if (mount("overlay", BOX_ROOT, "overlay", MS_NODEV, /* see make_dev */
		  "lowerdir=" BOX_LOWER ",upperdir=" BOX_UPPER "/data,workdir=" BOX_UPPER "/work") != 0) {
		int e = errno;
		umount2(BOX_UPPER, MNT_DETACH);
		umount2(BOX_LOWER, MNT_DETACH);
		return fail(err, errlen, e, "mounting the overlay at %s", BOX_ROOT);
	}
	net_resolv_conf(BOX_ROOT);
	return mount_volumes(m, err, errlen);
}

/* --- inside the box's init (a clone of the agent in new pid/mount/uts/ipc namespaces) --- */

struct init_args {
	int report_fd;     /* write end: {int err; char msg[]} on failure, closed on success */
	const char *hostname;
};

static int try_mount(char *err, size_t errlen, const char *src, const char *dst, const char *fs,
		     unsigned long flags, const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, fs, flags, opts) != 0)
		return fail(err, errlen, errno, "mounting %s at %s", fs, dst);
	return 0;
}

/* A tmpfs /dev with the usual nodes: the box never sees the agent's devtmpfs (disks, the portal). It is nodev,
 * as is every other place the box can write (the overlay root, /dev/shm, volumes), so a node that root makes
 * (mknod is allowed, as in Docker) or that an image brings cannot be opened; the usual nodes are bind mounts
 * from a tmpfs of their own, which goes with the agent's root at pivot_root. */
static int make_dev(char *err, size_t errlen)
{
	static const struct { const char *name; unsigned maj, min; } nodes[] = {
		{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
		{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
	};
	const char *made = "/run/box/devnodes";
	int rc = try_mount(err, errlen, "tmpfs", made, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=4k");
	if (rc || (rc = try_mount(err, errlen, "tmpfs", BOX_ROOT "/dev", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
				  "mode=0755,size=64k")))
		return rc;
	for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
		char node[128], path[128];
		snprintf(node, sizeof node, "%s/%s", made, nodes[i].name);
		snprintf(path, sizeof path, BOX_ROOT "/dev/%s", nodes[i].name);
		if (mknod(node, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) != 0)
			return fail(err, errlen, errno, "creating %s", node);
		chmod(node, 0666); /* umask */
		if (mknod(path, S_IFREG | 0644, 0) != 0 || mount(node, path, NULL, MS_BIND, NULL) != 0)
			return fail(err, errlen, errno, "binding %s to %s", node, path);
	}
	symlink("pts/ptmx", BOX_ROOT "/dev/ptmx");
	symlink("/proc/self/fd", BOX_ROOT "/dev/fd");
	symlink("/proc/self/fd/0", BOX_ROOT "/dev/stdin");
	symlink("/proc/self/fd/1", BOX_ROOT "/dev/stdout");
	symlink("/proc/self/fd/2", BOX_ROOT "/dev/stderr");
	if ((rc = try_mount(err, errlen, "devpts", BOX_ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			    "newinstance,ptmxmode=0666,mode=0620")))
		return rc;
	return try_mount(err, errlen, "shm", BOX_ROOT "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static int setup_box(const struct init_args *a, char *err, size_t errlen)
{
	int rc;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail(err, errlen, errno, "making mounts private");
	const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	if ((rc = try_mount(err, errlen, "proc", BOX_ROOT "/proc", "proc", safe, NULL)) ||
	    (rc = try_mount(err, errlen, "sysfs", BOX_ROOT "/sys", "sysfs", safe | MS_RDONLY, NULL)) ||
	    (rc = make_dev(err, errlen)) || (rc = confine_box_mounts(BOX_ROOT, err, errlen)))
		return rc;
	if (access(BOX_ROOT "/tmp", F_OK) != 0 && mkdir(BOX_ROOT "/tmp", 01777) == 0)
		chmod(BOX_ROOT "/tmp", 01777);
	/* pivot_root(".", ".") stacks the old root on the new one; detaching it drops every agent mount. */
	if (chdir(BOX_ROOT) != 0 || syscall(SYS_pivot_root, ".", ".") != 0)
		return fail(err, errlen, errno, "pivot_root to %s", BOX_ROOT);
	if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
		return fail(err, errlen, errno, "detaching the agent's root");
	if (sethostname(a->hostname, strlen(a->hostname)) != 0)
		return fail(err, errlen, errno, "setting the hostname to \"%s\"", a->hostname);
	/* From here it only reaps: it keeps no capability a process in the box could borrow from it. */
	if ((rc = confine_caps(0)))
		return fail(err, errlen, rc, "dropping the box init's capabilities");
	return 0;
}

/* PID 1 of the box: set up, report, then reap orphans forever. Signals stay blocked (inherited from
 * the agent) and, as a pid namespace init, it cannot be killed from inside the box. */
static int box_init_main(void *arg)
{
	const struct init_args *a = arg;
	char err[400];
	syscall(SYS_close_range, 3, (unsigned)a->report_fd - 1, 0);
	syscall(SYS_close_range, (unsigned)a->report_fd + 1, ~0u, 0);
	int rc = setup_box(a, err, sizeof err);
	if (rc) {
		size_t n = strlen(err);
		char rec[sizeof rc + sizeof err];
		memcpy(rec, &rc, sizeof rc);
		memcpy(rec + sizeof rc, err, n);
		if (write(a->report_fd, rec, sizeof rc + n) < 0)
			_exit(2);
		_exit(1);
	}
	close(a->report_fd);
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	if (null > 2)
		close(null);
	prctl(PR_SET_NAME, "boxlite-init");
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		sigwaitinfo(&chld, NULL);
	}
}

/* --- in the agent --- */

static int open_ns(pid_t pid, const char *name)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

static int start_init(struct box *b, const char *hostname, char *err, size_t errlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) != 0)
		return fail(err, errlen, errno, "creating a pipe");
	struct init_args a = { .report_fd = fds[1], .hostname = hostname };
	size_t stack_size = 256u << 10;
	char *stack = malloc(stack_size);
	if (!stack)
		return fail(err, errlen, ENOMEM, "allocating the box init's stack");
	pid_t pid = clone(box_init_main, stack + stack_size,
			  CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD, &a);
	int e = errno;
	close(fds[1]);
	if (pid < 0) {
		free(stack);
		close(fds[0]);
		return fail(err, errlen, e, "creating the box namespaces");
	}
	/* The child has its own copy of memory, so our copy of the stack can go once it reports. */
	char rec[sizeof(int) + 400];
	ssize_t n;
	do
		n = read(fds[0], rec, sizeof rec);
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	free(stack);
	if (n > 0) {
		int code;
		memcpy(&code, rec, sizeof code);
		snprintf(err, errlen, "setting up the box: %.*s", (int)(n - (ssize_t)sizeof code), rec + sizeof code);
		waitpid(pid, NULL, 0);
		return code ? code : EIO;
	}
	b->init_pid = pid;
	int ns_pid = open_ns(pid, "pid");
	b->ns_mnt = open_ns(pid, "mnt");
	b->ns_uts = open_ns(pid, "uts");
	b->ns_ipc = open_ns(pid, "ipc");
	e = errno;
	/* Opened now, so that a VM restored from a snapshot renames its box without a lookup in /proc. */
	if (b->own_uts < 0 && (b->own_uts = open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC)) < 0)
		e = errno;
	if (ns_pid < 0 || b->ns_mnt < 0 || b->ns_uts < 0 || b->ns_ipc < 0 || b->own_uts < 0)
		return fail(err, errlen, e, "opening /proc/%d/ns", (int)pid);
	/* From now on every fork() of the agent lands in the box's pid namespace. */
	if (setns(ns_pid, CLONE_NEWPID) != 0)
		return fail(err, errlen, errno, "entering the box's pid namespace");
	close(ns_pid);
	snprintf(b->ptmx, sizeof b->ptmx, "/proc/%d/root/dev/pts/ptmx", (int)pid);
	return 0;
}

static void close_ns(struct box *b)
{
	int *fds[] = { &b->ns_mnt, &b->ns_uts, &b->ns_ipc };
	for (size_t i = 0; i < 3; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

int box_mount(struct box *b, const struct msg *m, char *err, size_t errlen)
{
	if (b->ready) {
		snprintf(err, errlen, "the box root is already mounted (one MOUNT per boot)");
		return EBUSY;
	}
	const char *hostname = m->u.mount.hostname[0] ? m->u.mount.hostname : "boxlite";
	if (strlen(hostname) > 64) {
		snprintf(err, errlen, "hostname must be at most 64 bytes, got %zu", strlen(hostname));
		return EINVAL;
	}
	freshen_clock_and_entropy(m->u.mount.wall_clock_ms, m->u.mount.seed, m->u.mount.seed_len);
	int rc = mount_disks(m, err, errlen);
	if (rc)
		return rc;
	b->ns_mnt = b->ns_uts = b->ns_ipc = -1;
	rc = start_init(b, hostname, err, errlen);
	if (rc) {
		if (b->init_pid > 0) {
			kill(b->init_pid, SIGKILL);
			waitpid(b->init_pid, NULL, 0);
			b->init_pid = 0;
		}
		close_ns(b);
		umount2(BOX_ROOT, MNT_DETACH);
		umount2(BOX_UPPER, MNT_DETACH);
		umount2(BOX_LOWER, MNT_DETACH);
		return rc;
	}
	b->ready = 1;
	return 0;
}

int box_freshen(struct box *b, const struct msg *m, char *err, size_t errlen)
{
	const char *hostname = m->u.freshen.hostname;
	if (strlen(hostname) > 64) {
		snprintf(err, errlen, "hostname must be at most 64 bytes, got %zu", strlen(hostname));
		return EINVAL;
	}
	if (hostname[0] && !b->ready) {
		snprintf(err, errlen, "no box yet to rename: the host must send MOUNT first");
		return EBUSY;
	}
	freshen_clock_and_entropy(m->u.freshen.wall_clock_ms, m->u.freshen.seed, m->u.freshen.seed_len);
	if (!hostname[0])
		return 0;
	/* The box's hostname lives in its UTS namespace: enter it, rename, come back. */
	int own = b->own_uts, rc = 0;
	if (setns(b->ns_uts, CLONE_NEWUTS) != 0)
		rc = fail(err, errlen, errno, "entering the box's UTS namespace");
	else if (sethostname(hostname, strlen(hostname)) != 0)
		rc = fail(err, errlen, errno, "setting the hostname to \"%s\"", hostname);
	if (setns(own, CLONE_NEWUTS) != 0) {
		logmsg("returning to the agent's UTS namespace: %s", strerror(errno));
		if (!rc)
			rc = fail(err, errlen, errno, "returning to the agent's UTS namespace");
	}
	return rc;
}

static void unmount(const char *path)
{
	if (umount2(path, 0) != 0 && errno != EINVAL && umount2(path, MNT_DETACH) != 0)
		logmsg("unmounting %s: %s", path, strerror(errno));
}

void box_teardown(struct box *b)
{
	kill(-1, SIGKILL); /* as PID 1: every process but the agent (kernel threads ignore it) */
	for (int i = 0; i < 200; i++) { /* up to ~1 s for them to die and be reaped */
		pid_t pid;
		while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
			;
		if (pid < 0 && errno == ECHILD)
			break;
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	close_ns(b);
	sync();
	if (b->ready) {
		umount2(BOX_ROOT "/etc/resolv.conf", MNT_DETACH); /* net_resolv_conf's bind mount, if any */
		unmount(BOX_ROOT);
		unmount(BOX_UPPER);
		unmount(BOX_LOWER);
	}
	b->ready = 0;
}
