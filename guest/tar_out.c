/* fs.tar-out: a file or directory tree of the box as a pax tar stream on stdout. Symlinks stay links;
 * sockets are skipped; a file that changes size while it is read is cut or padded to its recorded size.
 * fs.changes: the same walk of the overlay's upper directory, raw (whiteouts stay 0/0 character devices), with
 * each opaque directory marked by a pax record SCHILY.xattr.trusted.overlay.opaque=y; the host converts. */
#define _GNU_SOURCE
#include "builtin.h"
#include "container.h"
#include "tar.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

static void octal(char *field, size_t len, uint64_t v)
{
	snprintf(field, len, "%0*llo", (int)len - 1, (unsigned long long)v);
}

static int fits_octal(size_t len, uint64_t v)
{
	return v < ((uint64_t)1 << (3 * (len - 1)));
}

static int ascii_below(const char *s, size_t max)
{
	size_t n = 0;
	for (; s[n]; n++)
		if ((unsigned char)s[n] >= 0x80)
			return 0;
	return n < max;
}

/* Appends one "len key=value\n" record. */
static size_t pax_record(char *buf, size_t off, size_t cap, const char *key, const char *value)
{
	size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
	size_t len = body + 1;
	for (size_t digits = 1;; digits++) {
		len = body + digits;
		char tmp[24];
		if ((size_t)snprintf(tmp, sizeof tmp, "%zu", len) == digits)
			break;
	}
	if (off + len < cap)
		snprintf(buf + off, cap - off, "%zu %s=%s\n", len, key, value);
	return off + len;
}

static void header_checksum(struct ustar *h)
{
	memset(h->chksum, ' ', sizeof h->chksum);
	unsigned sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += ((unsigned char *)h)[i];
	snprintf(h->chksum, sizeof h->chksum, "%06o", sum);
	h->chksum[7] = ' ';
}

static void pad_block(uint64_t size)
{
	static const uint8_t zero[TAR_BLOCK];
	if (size % TAR_BLOCK)
		out_write(zero, TAR_BLOCK - size % TAR_BLOCK);
}

/* Walking the overlay's upper directory (fs.changes) rather than a tree of the box. */
static int upper_walk;

/* Writes the header(s) of one entry: a pax header first when a field does not fit ustar, or for an opaque directory. */
static void write_header(const char *name, const struct stat *st, char type, const char *link, uint64_t size, int opaque)
{
	static char pax[3 * 4200 + 256];
	size_t plen = 0;
	char num[48];
	if (opaque)
		plen = pax_record(pax, plen, sizeof pax, "SCHILY.xattr.trusted.overlay.opaque", "y");
	if (!ascii_below(name, 100))
		plen = pax_record(pax, plen, sizeof pax, "path", name);
	if (link && !ascii_below(link, 100))
		plen = pax_record(pax, plen, sizeof pax, "linkpath", link);
	if (!fits_octal(12, size)) {
		snprintf(num, sizeof num, "%llu", (unsigned long long)size);
		plen = pax_record(pax, plen, sizeof pax, "size", num);
	}
	if (st->st_mtim.tv_nsec || st->st_mtim.tv_sec < 0 || !fits_octal(12, (uint64_t)st->st_mtim.tv_sec)) {
		snprintf(num, sizeof num, "%lld.%09ld", (long long)st->st_mtim.tv_sec, (long)st->st_mtim.tv_nsec);
		plen = pax_record(pax, plen, sizeof pax, "mtime", num);
	}
	if (!fits_octal(8, st->st_uid)) {
		snprintf(num, sizeof num, "%u", (unsigned)st->st_uid);
		plen = pax_record(pax, plen, sizeof pax, "uid", num);
	}
	if (!fits_octal(8, st->st_gid)) {
		snprintf(num, sizeof num, "%u", (unsigned)st->st_gid);
		plen = pax_record(pax, plen, sizeof pax, "gid", num);
	}
	struct ustar h;
	if (plen && plen < sizeof pax) {
		memset(&h, 0, sizeof h);
		snprintf(h.name, sizeof h.name, "PaxHeaders/%.80s", strrchr(name, '/') ? strrchr(name, '/') + 1 : name);
		octal(h.mode, sizeof h.mode, 0644);
		octal(h.uid, sizeof h.uid, 0);
		octal(h.gid, sizeof h.gid, 0);
		octal(h.size, sizeof h.size, plen);
		octal(h.mtime, sizeof h.mtime, 0);
		h.type = 'x';
		memcpy(h.magic, "ustar", 6);
		memcpy(h.version, "00", 2);
		header_checksum(&h);
		out_write(&h, sizeof h);
		out_write(pax, plen);
		pad_block(plen);
	}
	memset(&h, 0, sizeof h);
	memcpy(h.name, name, strnlen(name, sizeof h.name));
	octal(h.mode, sizeof h.mode, st->st_mode & 07777);
	octal(h.uid, sizeof h.uid, fits_octal(8, st->st_uid) ? st->st_uid : 0);
	octal(h.gid, sizeof h.gid, fits_octal(8, st->st_gid) ? st->st_gid : 0);
	octal(h.size, sizeof h.size, fits_octal(12, size) ? size : 0);
	octal(h.mtime, sizeof h.mtime, st->st_mtim.tv_sec < 0 || !fits_octal(12, (uint64_t)st->st_mtim.tv_sec) ? 0 : (uint64_t)st->st_mtim.tv_sec);
	h.type = type;
	if (link)
		memcpy(h.linkname, link, strnlen(link, sizeof h.linkname));
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	if (type == '3' || type == '4') {
		octal(h.devmajor, sizeof h.devmajor, major(st->st_rdev) & 07777777);
		octal(h.devminor, sizeof h.devminor, minor(st->st_rdev) & 07777777);
	}
	header_checksum(&h);
	out_write(&h, sizeof h);
}

/* The body of a regular file: exactly size bytes. */
static int write_body(int fd, const char *name, uint64_t size)
{
	static uint8_t buf[65536];
	uint64_t left = size;
	while (left) {
		ssize_t n = read(fd, buf, left < sizeof buf ? (size_t)left : sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return bi_fail(errno, "reading %s", name);
		if (n == 0) { /* shrank while read: pad, the header promised size bytes */
			memset(buf, 0, sizeof buf);
			while (left) {
				size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
				out_write(buf, k);
				left -= k;
			}
			break;
		}
		out_write(buf, (size_t)n);
		left -= (uint64_t)n;
	}
	pad_block(size);
	return 0;
}

/* Whether the upper directory fd is opaque (trusted.overlay.opaque "y"); a renamed directory (redirect) is refused,
 * since its contents would come from elsewhere in the image. */
static int overlay_dir_state(int fd, const char *name, int *opaque)
{
	char v[8];
	ssize_t n = fgetxattr(fd, "trusted.overlay.redirect", NULL, 0);
	if (n >= 0)
		return bi_fail(ENOTSUP, "%s is a renamed directory of the image (overlay redirect), which cannot be committed", name);
	n = fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v);
	*opaque = n == 1 && v[0] == 'y';
	if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE)
		return bi_fail(errno, "reading the overlay attributes of %s", name);
	return 0;
}

/* Opens the regular file base of the upper directory for reading, or returns -errno (after saying why). The upper
 * mount is not nodev in the agent's namespace and the box may swap a file for a device node between the stat and
 * the open, so the path is opened O_PATH (which opens no device), checked to still be that regular file, and only
 * then reopened for reading through /proc/self/fd. */
static int open_upper_file(int dirfd, const char *base, const struct stat *seen, const char *name)
{
	int path_fd = openat(dirfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (path_fd < 0)
		return -bi_fail(errno, "%s", name);
	struct stat now;
	if (fstat(path_fd, &now) != 0 || !S_ISREG(now.st_mode) || now.st_ino != seen->st_ino) {
		close(path_fd);
		return -bi_fail(EAGAIN, "%s changed while the box's changes were read; commit again", name);
	}
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", path_fd);
	int fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	int e = errno;
	close(path_fd);
	return fd < 0 ? -bi_fail(e, "%s", name) : fd;
}

/* One entry (name in the archive; at, dirfd + base on disk), and its subtree. */
static int emit(int dirfd, const char *base, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return bi_fail(errno, "%s", name);
	if (S_ISREG(st.st_mode)) {
		int fd = upper_walk ? open_upper_file(dirfd, base, &st, name) : openat(dirfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return upper_walk ? -fd : bi_fail(errno, "%s", name);
		if (upper_walk && fgetxattr(fd, "trusted.overlay.metacopy", NULL, 0) >= 0) {
			close(fd);
			return bi_fail(ENOTSUP, "%s holds only metadata (overlay metacopy); its data is in the image", name);
		}
		write_header(name, &st, '0', NULL, (uint64_t)st.st_size, 0);
		int rc = write_body(fd, name, (uint64_t)st.st_size);
		close(fd);
		return rc;
	}
	if (S_ISLNK(st.st_mode)) {
		char link[4097];
		ssize_t n = readlinkat(dirfd, base, link, sizeof link - 1);
		if (n < 0)
			return bi_fail(errno, "%s", name);
		link[n] = 0;
		write_header(name, &st, '2', link, 0, 0);
		return 0;
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
		write_header(name, &st, S_ISCHR(st.st_mode) ? '3' : S_ISBLK(st.st_mode) ? '4' : '6', NULL, 0, 0);
		return 0;
	}
	if (!S_ISDIR(st.st_mode))
		return 0; /* a socket: nothing to copy */
	char dname[4097];
	if (snprintf(dname, sizeof dname, "%s/", name) >= (int)sizeof dname)
		return bi_fail(ENAMETOOLONG, "%s", name);
	int fd = openat(dirfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return bi_fail(errno, "%s", name);
	int opaque = 0;
	if (upper_walk) {
		int rc = overlay_dir_state(fd, name, &opaque);
		if (rc) {
			close(fd);
			return rc;
		}
	}
	write_header(strcmp(name, ".") == 0 ? "./" : dname, &st, '5', NULL, 0, opaque);
	DIR *d = fdopendir(fd);
	if (!d)
		return bi_fail(errno, "%s", name);
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (bi_dots(de->d_name))
			continue;
		char child[4097];
		if (snprintf(child, sizeof child, "%s/%s", name, de->d_name) >= (int)sizeof child) {
			rc = bi_fail(ENAMETOOLONG, "%s/%s", name, de->d_name);
			break;
		}
		rc = emit(fd, de->d_name, child);
	}
	closedir(d);
	return rc;
}

/* A whole archive: PATH as entry TOP (and what is beneath), then the two zero blocks that end a tar. */
static int emit_archive(const char *path, const char *top)
{
	int rc = emit(AT_FDCWD, path, top);
	if (rc)
		return rc;
	static const uint8_t end[2 * TAR_BLOCK];
	out_write(end, sizeof end);
	out_flush();
	return 0;
}

/* fs.tar-out PATH TOP: PATH (not followed if a symlink) as entry TOP and, for a directory, TOP/... beneath. */
int bi_tar_out(int argc, char **argv)
{
	if (argc != 3 || !argv[2][0])
		return bi_fail(EINVAL, "usage: fs.tar-out PATH TOP");
	return emit_archive(argv[1], argv[2]);
}

/* fs.changes: the upper directory of the box's overlay (what the box changed in its image), raw, as entry "." and
 * "./..." beneath. Runs in the agent's mount namespace with the agent's capabilities (trusted.* xattrs need
 * CAP_SYS_ADMIN); the box cannot reach that directory. */
int bi_changes(int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return bi_fail(EINVAL, "usage: fs.changes");
	upper_walk = 1;
	return emit_archive(BOX_UPPER "/data", ".");
}
