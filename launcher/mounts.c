/* Mounts: read-only sharing for a file server, and the jail a VMM is pivoted into. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Nothing done from here on may reach the host's mount table. */
static int make_private(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("making / private");
	return 0;
}

int bind_read_only(const char *dir)
{
	if (unshare(CLONE_NEWNS) != 0)
		return fail("unshare(CLONE_NEWNS)");
	if (make_private() != 0)
		return -1;
	if (mount(dir, dir, NULL, MS_BIND, NULL) != 0)
		return fail("bind-mounting the shared directory");
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		return fail("remounting the shared directory read-only");
	return 0;
}

/* Creates every directory of `path` (relative to the jail root `root`) below root. */
static int make_parents(const char *root, const char *path, char *out, size_t outlen)
{
	if (snprintf(out, outlen, "%s%s", root, path) >= (int)outlen) {
		errno = ENAMETOOLONG;
		return fail(path);
	}
	for (char *p = out + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		int r = mkdir(out, 0755);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return fail("making a directory in the jail");
	}
	return 0;
}

/* The flags of the mount holding `path` that an unprivileged remount must keep (they may be locked). */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;
	if (statvfs(path, &sv) != 0)
		return 0;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	return f;
}

/* Puts one host path into the jail at the same place. */
static int add_bind(const char *root, const struct bind *b)
{
	char dst[PATH_MAX];
	char what[PATH_MAX + 64];
	if (b->path[0] != '/' || make_parents(root, b->path, dst, sizeof dst) != 0) {
		snprintf(what, sizeof what, "jail path %s (must be absolute)", b->path);
		errno = EINVAL;
		return fail(what);
	}
	if (b->kind == BIND_LINK) {
		char target[PATH_MAX];
		ssize_t n = readlink(b->path, target, sizeof target - 1);
		if (n < 0) {
			snprintf(what, sizeof what, "reading the symlink %s", b->path);
			return fail(what);
		}
		target[n] = '\0';
		if (symlink(target, dst) != 0 && errno != EEXIST)
			return fail("making a symlink in the jail");
		return 0;
	}
	if (b->kind == BIND_PROC) {
		if (mkdir(dst, 0555) != 0 && errno != EEXIST)
			return fail("making /proc in the jail");
		if (mount("proc", dst, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
			return fail("mounting a procfs in the jail");
		return 0;
	}
	const char *src = b->from ? b->from : b->path;
	struct stat st;
	if (stat(src, &st) != 0) {
		snprintf(what, sizeof what, "%s (to put in the jail)", src);
		return fail(what);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) != 0 && errno != EEXIST)
			return fail("making a mount point in the jail");
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return fail("making a mount point in the jail");
		close(fd);
	}
	if (mount(src, dst, NULL, MS_BIND, NULL) != 0) {
		snprintf(what, sizeof what, "bind-mounting %s into the jail", b->path);
		return fail(what);
	}
	unsigned long flags = MS_REMOUNT | MS_BIND | MS_NOSUID | locked_flags(src);
	if (b->kind != BIND_DEV)
		flags |= MS_NODEV;
	if (b->kind == BIND_RO)
		flags |= MS_RDONLY;
	if (mount(NULL, dst, NULL, flags, NULL) != 0) {
		snprintf(what, sizeof what, "remounting %s in the jail", b->path);
		return fail(what);
	}
	return 0;
}

int enter_jail(const char *root, const struct bind *binds, int nbinds)
{
	if (make_private() != 0)
		return -1;
	if (mount("boxlite-jail", root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=256k,nr_inodes=1024") != 0)
		return fail("mounting the jail's tmpfs");
	for (int i = 0; i < nbinds; i++)
		if (add_bind(root, &binds[i]) != 0)
			return -1;
	char old[PATH_MAX];
	snprintf(old, sizeof old, "%s/.old-root", root);
	if (mkdir(old, 0700) != 0)
		return fail("making the jail's old-root directory");
	if (syscall(SYS_pivot_root, root, old) != 0)
		return fail("pivot_root into the jail");
	if (chdir("/") != 0)
		return fail("chdir into the jail");
	if (umount2("/.old-root", MNT_DETACH) != 0)
		return fail("detaching the host's root");
	if (rmdir("/.old-root") != 0)
		return fail("removing the jail's old-root directory");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		return fail("making the jail's root read-only");
	return 0;
}
