/* Builtins for single paths: read, write, stat, list, mkdir, rm and rename. */
#define _GNU_SOURCE
#include "builtin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK 65536

/* fs.read PATH: the bytes of a regular file on stdout. */
int bi_read(int argc, char **argv)
{
	if (argc != 2)
		return bi_fail(EINVAL, "usage: fs.read PATH");
	int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return bi_fail(errno, "%s", argv[1]);
	struct stat st;
	if (fstat(fd, &st) != 0)
		return bi_fail(errno, "%s", argv[1]);
	if (!S_ISREG(st.st_mode))
		return bi_fail(S_ISDIR(st.st_mode) ? EISDIR : EINVAL, "%s is not a regular file", argv[1]);
	static uint8_t buf[COPY_CHUNK];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bi_fail(errno, "reading %s", argv[1]);
		if (n == 0)
			break;
		out_write(buf, (size_t)n);
	}
	out_flush();
	return 0;
}

static int parse_mode(const char *s, mode_t *mode)
{
	char *end;
	unsigned long v = strtoul(s, &end, 8);
	if (!s[0] || *end || v > 07777)
		return -1;
	*mode = (mode_t)v;
	return 0;
}

/* Copies stdin into fd until EOF. */
static int copy_stdin(int fd, const char *path)
{
	static uint8_t buf[COPY_CHUNK];
	for (;;) {
		ssize_t n = read(0, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bi_fail(errno, "reading the data for %s", path);
		if (n == 0)
			return 0;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return bi_fail(errno, "writing %s", path);
			off += w;
		}
	}
}

/* fs.write PATH MODE FLAGS OWNER: stdin into PATH. FLAGS: p = make parents, x = fail if it exists,
 * a = append, o = OWNER was given (a replaced file keeps its owner otherwise). Otherwise the data goes to a new file that replaces PATH once complete. MODE "" keeps an
 * existing file's mode (0644 for a new one). */
int bi_write(int argc, char **argv)
{
	if (argc != 5)
		return bi_fail(EINVAL, "usage: fs.write PATH MODE FLAGS OWNER");
	const char *path = argv[1], *flags = argv[3];
	struct owner o;
	int rc = owner_parse(argv[4], &o);
	if (rc)
		return rc;
	mode_t mode = 0644;
	int mode_given = argv[2][0] != 0;
	if (mode_given && parse_mode(argv[2], &mode) != 0)
		return bi_fail(EINVAL, "mode %s", argv[2]);
	if (strchr(flags, 'p') && (rc = make_parents(path, &o)))
		return rc;
	struct stat old;
	int exists = stat(path, &old) == 0;
	if (exists && S_ISDIR(old.st_mode))
		return bi_fail(EISDIR, "%s", path);
	if (strchr(flags, 'x') || strchr(flags, 'a') || (exists && !S_ISREG(old.st_mode))) {
		int oflags = O_WRONLY | O_CREAT | O_CLOEXEC | (strchr(flags, 'x') ? O_EXCL : 0) | (strchr(flags, 'a') ? O_APPEND : O_TRUNC);
		int fd = open(path, oflags, mode);
		if (fd < 0)
			return bi_fail(errno, "%s", path);
		if (!exists && !o.keep && fchown(fd, o.uid, o.gid) != 0)
			return bi_fail(errno, "chown %s", path);
		if (!exists && fchmod(fd, mode) != 0)
			return bi_fail(errno, "chmod %s", path);
		if ((rc = copy_stdin(fd, path)))
			return rc;
		return close(fd) == 0 ? 0 : bi_fail(errno, "%s", path);
	}
	if (exists && !mode_given)
		mode = old.st_mode & 07777;
	char tmp[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path) : 0;
	if (snprintf(tmp, sizeof tmp, "%.*s%s.%s.boxlite-%d", dlen, path, slash ? "/" : "", slash ? slash + 1 : path,
		     (int)getpid()) >= (int)sizeof tmp)
		return bi_fail(ENAMETOOLONG, "%s", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return bi_fail(errno, "%s", path);
	uid_t uid = o.uid;
	gid_t gid = o.gid;
	if (exists && !strchr(flags, 'o')) { /* the replacement keeps the file's owner unless one was given */
		uid = old.st_uid;
		gid = old.st_gid;
	}
	if ((fchown(fd, uid, gid) != 0 && (rc = bi_fail(errno, "chown %s", path))) ||
	    (fchmod(fd, mode) != 0 && (rc = bi_fail(errno, "chmod %s", path))) || (rc = copy_stdin(fd, path)) ||
	    (close(fd) != 0 && (rc = bi_fail(errno, "%s", path))) ||
	    (rename(tmp, path) != 0 && (rc = bi_fail(errno, "%s", path)))) {
		unlink(tmp);
		return rc;
	}
	return 0;
}

/* The target of a symlink, or NULL. */
static char *link_of(int dirfd, const char *name, const struct stat *st, char *buf, size_t len)
{
	if (!S_ISLNK(st->st_mode))
		return NULL;
	ssize_t n = readlinkat(dirfd, name, buf, len - 1);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

/* fs.stat PATH FOLLOW: one record of PATH itself (FOLLOW "1" follows a final symlink). */
int bi_stat(int argc, char **argv)
{
	if (argc != 3)
		return bi_fail(EINVAL, "usage: fs.stat PATH FOLLOW");
	struct stat st;
	int follow = strcmp(argv[2], "1") == 0;
	if ((follow ? stat(argv[1], &st) : lstat(argv[1], &st)) != 0)
		return bi_fail(errno, "%s", argv[1]);
	char link[4097];
	stat_record(argv[1], &st, link_of(AT_FDCWD, argv[1], &st, link, sizeof link));
	out_flush();
	return 0;
}

/* Records of the entries in dirfd (named prefix/...), depth levels down. */
static int list_dir(int dirfd, const char *prefix, int depth)
{
	DIR *d = fdopendir(dirfd);
	if (!d)
		return bi_fail(errno, "%s", prefix[0] ? prefix : ".");
	struct dirent *de;
	while ((de = readdir(d))) {
		if (bi_dots(de->d_name))
			continue;
		char name[4097];
		if (snprintf(name, sizeof name, "%s%s%s", prefix, prefix[0] ? "/" : "", de->d_name) >= (int)sizeof name)
			continue;
		struct stat st;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue; /* gone meanwhile */
		char link[4097];
		stat_record(name, &st, link_of(dirfd, de->d_name, &st, link, sizeof link));
		if (S_ISDIR(st.st_mode) && depth > 1) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0)
				list_dir(sub, name, depth - 1);
		}
	}
	closedir(d);
	return 0;
}

/* fs.list PATH DEPTH: records of the entries under the directory PATH, DEPTH levels down (1 = its entries). */
int bi_list(int argc, char **argv)
{
	if (argc != 3)
		return bi_fail(EINVAL, "usage: fs.list PATH DEPTH");
	int depth = atoi(argv[2]);
	int fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return bi_fail(errno, "%s", argv[1]);
	int rc = list_dir(fd, "", depth < 1 ? 1 : depth);
	out_flush();
	return rc;
}

/* fs.mkdir PATH MODE FLAGS OWNER: FLAGS p = make parents and accept an existing directory. */
int bi_mkdir(int argc, char **argv)
{
	if (argc != 5)
		return bi_fail(EINVAL, "usage: fs.mkdir PATH MODE FLAGS OWNER");
	struct owner o;
	mode_t mode = 0755;
	int rc = owner_parse(argv[4], &o), parents = strchr(argv[3], 'p') != NULL;
	if (rc)
		return rc;
	if (argv[2][0] && parse_mode(argv[2], &mode) != 0)
		return bi_fail(EINVAL, "mode %s", argv[2]);
	if (parents && (rc = make_parents(argv[1], &o)))
		return rc;
	if (mkdir(argv[1], mode) != 0) {
		struct stat st;
		if (errno == EEXIST && parents && stat(argv[1], &st) == 0 && S_ISDIR(st.st_mode))
			return 0;
		return bi_fail(errno, "%s", argv[1]);
	}
	if (!o.keep && lchown(argv[1], o.uid, o.gid) != 0)
		return bi_fail(errno, "chown %s", argv[1]);
	return chmod(argv[1], mode) == 0 ? 0 : bi_fail(errno, "chmod %s", argv[1]); /* past the umask */
}

/* Removes everything inside dirfd, never following a symlink. */
static int remove_tree(int dirfd, const char *path)
{
	DIR *d = fdopendir(dirfd);
	if (!d)
		return bi_fail(errno, "%s", path);
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (bi_dots(de->d_name))
			continue;
		if (unlinkat(dirfd, de->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			rc = bi_fail(errno, "removing %s/%s", path, de->d_name);
			break;
		}
		int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			rc = bi_fail(errno, "removing %s/%s", path, de->d_name);
			break;
		}
		char subpath[4097];
		snprintf(subpath, sizeof subpath, "%s/%s", path, de->d_name);
		if (!(rc = remove_tree(sub, subpath)) && unlinkat(dirfd, de->d_name, AT_REMOVEDIR) != 0)
			rc = bi_fail(errno, "removing %s", subpath);
	}
	closedir(d);
	return rc;
}

/* fs.rm PATH FLAGS: r = recursive, f = a missing path is not an error. */
int bi_rm(int argc, char **argv)
{
	if (argc != 3)
		return bi_fail(EINVAL, "usage: fs.rm PATH FLAGS");
	const char *path = argv[1];
	int recursive = strchr(argv[2], 'r') != NULL, force = strchr(argv[2], 'f') != NULL;
	struct stat st;
	if (lstat(path, &st) != 0)
		return errno == ENOENT && force ? 0 : bi_fail(errno, "%s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == 0 ? 0 : bi_fail(errno, "%s", path);
	if (!recursive)
		return rmdir(path) == 0 ? 0 : bi_fail(errno == ENOTEMPTY ? EISDIR : errno, "%s is a directory (remove it recursively)", path);
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bi_fail(errno, "%s", path);
	int rc = remove_tree(fd, path);
	if (!rc && rmdir(path) != 0)
		rc = bi_fail(errno, "%s", path);
	return rc;
}

/* fs.rename FROM TO. */
int bi_rename(int argc, char **argv)
{
	if (argc != 3)
		return bi_fail(EINVAL, "usage: fs.rename FROM TO");
	return rename(argv[1], argv[2]) == 0 ? 0 : bi_fail(errno, "renaming %s to %s", argv[1], argv[2]);
}
