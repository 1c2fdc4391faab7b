/* fs.tar-in: extracts a tar stream from stdin under a directory of the box. Reads ustar, pax ('x'; 'g' is
 * ignored) and GNU long names ('L', 'K'). Names that are absolute or hold ".." are refused. Directories get
 * their mode and mtime after their contents. */
#define _GNU_SOURCE
#include "builtin.h"
#include "tar.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct entry {
	char path[4097], link[4097];
	char type;
	uint64_t size;
	struct timespec mtime;
	uint32_t mode, uid, gid, major, minor;
};

struct pending_dir {
	char *path;
	uint32_t mode;
	struct timespec mtime;
};

static struct pending_dir *dirs;
static size_t ndirs, capdirs;

static int num(const char *f, size_t len, uint64_t *out)
{
	if ((unsigned char)f[0] & 0x80) { /* base-256 (GNU) */
		uint64_t v = (unsigned char)f[0] & 0x7f;
		for (size_t i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = (v << 8) | (unsigned char)f[i];
		}
		*out = v;
		return 0;
	}
	uint64_t v = 0;
	size_t i = 0;
	while (i < len && (f[i] == ' ' || f[i] == 0))
		i++;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v * 8 + (uint64_t)(f[i] - '0');
	}
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != 0)
			return -1;
	*out = v;
	return 0;
}

static int checksum_ok(const struct ustar *h)
{
	uint64_t want;
	if (num(h->chksum, sizeof h->chksum, &want) != 0)
		return 0;
	unsigned sum = 0;
	const unsigned char *b = (const unsigned char *)h;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : b[i];
	return sum == want;
}

static int skip(uint64_t n)
{
	static uint8_t buf[65536];
	while (n) {
		size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
		int rc = in_read_full(buf, k);
		if (rc)
			return rc;
		n -= k;
	}
	return 0;
}

static uint64_t padded(uint64_t n) { return (n + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK; }

/* Reads a pax or GNU long-name body of size bytes into a NUL-terminated heap buffer. */
static int read_meta(uint64_t size, char **out)
{
	if (size > TAR_PAX_MAX)
		return bi_fail(EFBIG, "an extended tar header of %llu bytes (at most %u)", (unsigned long long)size, TAR_PAX_MAX);
	char *buf = malloc(padded(size) + 1);
	if (!buf)
		return bi_fail(ENOMEM, "reading a tar header");
	int rc = in_read_full(buf, padded(size));
	if (rc) {
		free(buf);
		return bi_fail(rc, "reading a tar header");
	}
	buf[size] = 0;
	*out = buf;
	return 0;
}

static void set_str(char *dst, const char *src, size_t len)
{
	if (len > 4096)
		len = 4096;
	memcpy(dst, src, len);
	dst[len] = 0;
}

/* Applies "len key=value\n" records to e. */
static int apply_pax(struct entry *e, const char *buf, size_t size, int *has_path, int *has_link)
{
	size_t off = 0;
	while (off < size) {
		char *end;
		unsigned long len = strtoul(buf + off, &end, 10);
		if (len == 0 || off + len > size || *end != ' ' || buf[off + len - 1] != '\n')
			return bi_fail(EINVAL, "a malformed pax record");
		const char *key = end + 1, *eq = memchr(key, '=', (size_t)(buf + off + len - key));
		if (!eq)
			return bi_fail(EINVAL, "a malformed pax record");
		const char *val = eq + 1;
		size_t klen = (size_t)(eq - key), vlen = (size_t)(buf + off + len - 1 - val);
		if (klen == 4 && memcmp(key, "path", 4) == 0) {
			set_str(e->path, val, vlen);
			*has_path = 1;
		} else if (klen == 8 && memcmp(key, "linkpath", 8) == 0) {
			set_str(e->link, val, vlen);
			*has_link = 1;
		} else if (klen == 4 && memcmp(key, "size", 4) == 0) {
			e->size = strtoull(val, NULL, 10);
		} else if (klen == 5 && memcmp(key, "mtime", 5) == 0) {
			char tmp[64];
			set_str(tmp, val, vlen < 63 ? vlen : 63);
			char *dot;
			e->mtime.tv_sec = strtoll(tmp, &dot, 10);
			e->mtime.tv_nsec = 0;
			if (*dot == '.') {
				long ns = 0;
				int digits = 0;
				for (char *p = dot + 1; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
					ns = ns * 10 + (*p - '0');
				for (; digits < 9; digits++)
					ns *= 10;
				e->mtime.tv_nsec = ns;
			}
		} else if (klen == 3 && memcmp(key, "uid", 3) == 0) {
			e->uid = (uint32_t)strtoul(val, NULL, 10);
		} else if (klen == 3 && memcmp(key, "gid", 3) == 0) {
			e->gid = (uint32_t)strtoul(val, NULL, 10);
		}
		off += len;
	}
	return 0;
}

/* The next entry's header(s). Returns 0 with e filled, 1 at the end of the archive, or an errno. */
static int next_entry(struct entry *e)
{
	int has_path = 0, has_link = 0;
	memset(e, 0, sizeof *e);
	e->size = (uint64_t)-1;
	for (;;) {
		struct ustar h;
		int rc = in_read_full(&h, sizeof h);
		if (rc == EIO)
			return 1; /* EOF at a block boundary: tolerated as the end */
		if (rc)
			return bi_fail(rc, "reading the archive");
		static const struct ustar zero;
		if (memcmp(&h, &zero, sizeof h) == 0)
			return 1;
		if (!checksum_ok(&h))
			return bi_fail(EINVAL, "a tar header with a bad checksum (not a tar stream?)");
		uint64_t size, v;
		if (num(h.size, sizeof h.size, &size) != 0)
			return bi_fail(EINVAL, "a tar header with a bad size");
		if (h.type == 'x' || h.type == 'g' || h.type == 'L' || h.type == 'K') {
			char *meta = NULL;
			if ((rc = read_meta(size, &meta)))
				return rc;
			if (h.type == 'x')
				rc = apply_pax(e, meta, (size_t)size, &has_path, &has_link);
			else if (h.type == 'L')
				set_str(e->path, meta, strlen(meta)), has_path = 1;
			else if (h.type == 'K')
				set_str(e->link, meta, strlen(meta)), has_link = 1;
			free(meta);
			if (rc)
				return rc;
			continue;
		}
		e->type = h.type ? h.type : '0';
		if (e->size == (uint64_t)-1)
			e->size = size;
		if (!has_path) {
			char name[101], prefix[156];
			set_str(name, h.name, strnlen(h.name, sizeof h.name));
			set_str(prefix, h.prefix, memcmp(h.magic, "ustar", 5) == 0 ? strnlen(h.prefix, sizeof h.prefix) : 0);
			snprintf(e->path, sizeof e->path, "%s%s%s", prefix, prefix[0] ? "/" : "", name);
		}
		if (!has_link)
			set_str(e->link, h.linkname, strnlen(h.linkname, sizeof h.linkname));
		if (num(h.mode, sizeof h.mode, &v) != 0)
			return bi_fail(EINVAL, "%s: a bad mode", e->path);
		e->mode = (uint32_t)(v & 07777);
		if (e->mtime.tv_sec == 0 && e->mtime.tv_nsec == 0 && num(h.mtime, sizeof h.mtime, &v) == 0)
			e->mtime.tv_sec = (time_t)v;
		if (!e->uid && num(h.uid, sizeof h.uid, &v) == 0)
			e->uid = (uint32_t)v;
		if (!e->gid && num(h.gid, sizeof h.gid, &v) == 0)
			e->gid = (uint32_t)v;
		if (num(h.devmajor, sizeof h.devmajor, &v) == 0)
			e->major = (uint32_t)v;
		if (num(h.devminor, sizeof h.devminor, &v) == 0)
			e->minor = (uint32_t)v;
		return 0;
	}
}

/* Normalizes an entry name in place: strips "./" and trailing '/'; refuses absolute names and "..". "" = the
 * destination itself. */
static int clean_name(char *p)
{
	if (p[0] == '/')
		return -1;
	char out[4097];
	size_t o = 0;
	for (char *s = p; *s;) {
		char *z = strchrnul(s, '/');
		size_t n = (size_t)(z - s);
		if (n == 2 && s[0] == '.' && s[1] == '.')
			return -1;
		if (n && !(n == 1 && s[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, s, n);
			o += n;
		}
		s = *z ? z + 1 : z;
	}
	out[o] = 0;
	memcpy(p, out, o + 1);
	return 0;
}

static int own(int dirfd, const char *name, const struct entry *e, const struct owner *o)
{
	uid_t uid = o->keep ? e->uid : o->uid;
	gid_t gid = o->keep ? e->gid : o->gid;
	return fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
}

/* Removes what is at name unless it is a directory (a later entry replaces it). */
static void clear_path(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
		unlinkat(dirfd, name, 0);
}

static int write_file(int dirfd, const struct entry *e, const struct owner *o)
{
	const char *name = e->path;
	clear_path(dirfd, name);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return bi_fail(errno, "creating %s", name);
	static uint8_t buf[65536];
	uint64_t left = e->size;
	int rc = 0;
	while (left && !rc) {
		size_t k = left < sizeof buf ? (size_t)left : sizeof buf;
		if ((rc = in_read_full(buf, k))) {
			rc = bi_fail(rc, "reading the data of %s (the archive ended early?)", name);
			break;
		}
		for (size_t off = 0; off < k && !rc;) {
			ssize_t w = write(fd, buf + off, k - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				rc = bi_fail(errno, "writing %s", name);
			else
				off += (size_t)w;
		}
		left -= k;
	}
	if (!rc && (rc = skip(padded(e->size) - e->size)))
		rc = bi_fail(rc, "reading the archive");
	if (!rc && (rc = own(dirfd, name, e, o)))
		rc = bi_fail(rc, "chown %s", name);
	if (!rc && fchmod(fd, e->mode) != 0)
		rc = bi_fail(errno, "chmod %s", name);
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, e->mtime };
	if (!rc)
		futimens(fd, times);
	close(fd);
	return rc;
}

static int add_dir(const struct entry *e)
{
	if (ndirs == capdirs) {
		size_t cap = capdirs ? capdirs * 2 : 64;
		struct pending_dir *d = realloc(dirs, cap * sizeof *d);
		if (!d)
			return bi_fail(ENOMEM, "%s", e->path);
		dirs = d;
		capdirs = cap;
	}
	dirs[ndirs].path = strdup(e->path[0] ? e->path : ".");
	dirs[ndirs].mode = e->mode;
	dirs[ndirs].mtime = e->mtime;
	if (!dirs[ndirs].path)
		return bi_fail(ENOMEM, "%s", e->path);
	ndirs++;
	return 0;
}

static int extract(int dirfd, struct entry *e, const struct owner *o)
{
	const char *name = e->path[0] ? e->path : ".";
	struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, e->mtime };
	int rc;
	if (e->path[0]) { /* parents the archive did not list */
		char *slash = strrchr(e->path, '/');
		if (slash) {
			*slash = 0;
			struct owner parents = *o;
			for (char *p = e->path;; p++) {
				if (*p && *p != '/')
					continue;
				char c = *p;
				*p = 0;
				if (mkdirat(dirfd, e->path, 0755) == 0 && !parents.keep)
					fchownat(dirfd, e->path, parents.uid, parents.gid, AT_SYMLINK_NOFOLLOW);
				*p = c;
				if (!c)
					break;
			}
			*slash = '/';
		}
	}
	switch (e->type) {
	case '0': case '7':
		return write_file(dirfd, e, o);
	case '5':
		if (mkdirat(dirfd, name, 0700) != 0) {
			struct stat st;
			if (errno != EEXIST || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
				return bi_fail(errno, "mkdir %s", name);
			if (!S_ISDIR(st.st_mode) && (unlinkat(dirfd, name, 0) != 0 || mkdirat(dirfd, name, 0700) != 0))
				return bi_fail(errno, "mkdir %s", name);
		}
		if ((rc = own(dirfd, name, e, o)))
			return bi_fail(rc, "chown %s", name);
		return add_dir(e);
	case '2':
		clear_path(dirfd, name);
		if (symlinkat(e->link, dirfd, name) != 0)
			return bi_fail(errno, "symlink %s", name);
		if ((rc = own(dirfd, name, e, o)))
			return bi_fail(rc, "chown %s", name);
		utimensat(dirfd, name, times, AT_SYMLINK_NOFOLLOW);
		return 0;
	case '1':
		if (clean_name(e->link) != 0 || !e->link[0])
			return bi_fail(EINVAL, "%s: a hard link to %s, outside the destination", name, e->link);
		clear_path(dirfd, name);
		return linkat(dirfd, e->link, dirfd, name, 0) == 0 ? 0 : bi_fail(errno, "link %s to %s", name, e->link);
	case '3': case '4': case '6': {
		mode_t kind = e->type == '3' ? S_IFCHR : e->type == '4' ? S_IFBLK : S_IFIFO;
		clear_path(dirfd, name);
		if (mknodat(dirfd, name, kind | (e->mode & 0777), makedev(e->major, e->minor)) != 0)
			return bi_fail(errno, "mknod %s", name);
		if ((rc = own(dirfd, name, e, o)))
			return bi_fail(rc, "chown %s", name);
		return fchmodat(dirfd, name, e->mode, 0) == 0 ? 0 : bi_fail(errno, "chmod %s", name);
	}
	default: /* an entry type we do not make (e.g. a GNU sparse file): skip its data */
		dprintf(2, "skipping %s: tar entry type '%c' is not supported\n", name, e->type);
		return skip(padded(e->size));
	}
}

/* fs.tar-in DEST OWNER FLAGS: extracts stdin's tar under the directory DEST. FLAGS: p = make DEST and
 * its parents. OWNER: "-" keeps the archive's ids, "" = root, or a user of the box. */
int bi_tar_in(int argc, char **argv)
{
	if (argc != 4)
		return bi_fail(EINVAL, "usage: fs.tar-in DEST OWNER FLAGS");
	const char *dest = argv[1];
	struct owner o;
	int rc = owner_parse(argv[2], &o);
	if (rc)
		return rc;
	if (strchr(argv[3], 'p')) {
		char withslash[4100];
		snprintf(withslash, sizeof withslash, "%s/x", dest);
		if ((rc = make_parents(withslash, &o)))
			return rc;
	}
	int dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return bi_fail(errno, "%s", dest);
	static struct entry e;
	while ((rc = next_entry(&e)) == 0) {
		if (clean_name(e.path) != 0)
			return bi_fail(EINVAL, "refusing %s: names in the archive must be relative and without \"..\"", e.path);
		if ((rc = extract(dirfd, &e, &o)))
			return rc;
	}
	if (rc != 1)
		return rc;
	for (size_t i = ndirs; i-- > 0;) { /* innermost first, after their contents */
		struct timespec times[2] = { { .tv_nsec = UTIME_OMIT }, dirs[i].mtime };
		if (fchmodat(dirfd, dirs[i].path, dirs[i].mode, 0) != 0)
			return bi_fail(errno, "chmod %s", dirs[i].path);
		utimensat(dirfd, dirs[i].path, times, 0);
	}
	return 0;
}
