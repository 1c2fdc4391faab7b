/* The builtin table and what the builtins share: errors on stderr, buffered stdout, stdin, owners, stat records. */
#define _GNU_SOURCE
#include "builtin.h"
#include "user.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	builtin_fn fn;
} table[] = {
	{ "fs.tar-out", bi_tar_out }, { "fs.tar-in", bi_tar_in }, { "fs.read", bi_read },
	{ "fs.write", bi_write },     { "fs.stat", bi_stat },     { "fs.list", bi_list },
	{ "fs.mkdir", bi_mkdir },     { "fs.rm", bi_rm },         { "fs.rename", bi_rename },
	{ "fs.watch", bi_watch },     { "fs.changes", bi_changes },
};

builtin_fn builtin_find(const char *name)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (strcmp(table[i].name, name) == 0)
			return table[i].fn;
	return NULL;
}

int builtin_in_agent(const char *name)
{
	return strcmp(name, "fs.changes") == 0;
}

int bi_fail(int err, const char *fmt, ...)
{
	char what[4200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (err <= 0 || err > 255)
		err = EIO;
	dprintf(2, "%s: %s\n", what, strerror(err));
	return err;
}

int bi_dots(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

static uint8_t obuf[65536];
static size_t olen;

void out_flush(void)
{
	size_t off = 0;
	while (off < olen) {
		ssize_t n = write(1, obuf + off, olen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(EPIPE); /* the host stopped reading: nobody is left to tell */
		off += (size_t)n;
	}
	olen = 0;
}

void out_write(const void *data, size_t len)
{
	const uint8_t *p = data;
	while (len) {
		if (olen == sizeof obuf)
			out_flush();
		size_t n = sizeof obuf - olen < len ? sizeof obuf - olen : len;
		memcpy(obuf + olen, p, n);
		olen += n;
		p += n;
		len -= n;
	}
}

int in_read_full(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(0, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int owner_parse(const char *spec, struct owner *o)
{
	o->keep = strcmp(spec, "-") == 0;
	o->uid = 0;
	o->gid = 0;
	if (o->keep || !spec[0])
		return 0;
	static struct creds c;
	int in_group, rc = user_resolve(spec, &c, &in_group);
	if (rc)
		return bi_fail(rc, "owner %s: %s not found in the box's %s", spec, in_group ? "group" : "user",
			       in_group ? "/etc/group" : "/etc/passwd");
	o->uid = c.uid;
	o->gid = c.gid;
	return 0;
}

static void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i)); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i)); }

static char kind_of(mode_t m)
{
	return S_ISREG(m) ? 'f' : S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' : S_ISBLK(m) ? 'b' : S_ISFIFO(m) ? 'p' : 's';
}

/* u8 kind, u32 mode, u32 uid, u32 gid, u64 size, u64 mtime (ns since the epoch, signed), u64 inode, u32 nlink,
 * u16 + name, u16 + link target. */
void stat_record(const char *name, const struct stat *st, const char *link)
{
	size_t nlen = strlen(name), llen = link ? strlen(link) : 0;
	if (nlen > 4096 || llen > 4096)
		return;
	uint8_t h[1 + 4 + 4 + 4 + 8 + 8 + 8 + 4 + 2];
	h[0] = (uint8_t)kind_of(st->st_mode);
	put_u32(h + 1, (uint32_t)st->st_mode);
	put_u32(h + 5, (uint32_t)st->st_uid);
	put_u32(h + 9, (uint32_t)st->st_gid);
	put_u64(h + 13, (uint64_t)st->st_size);
	put_u64(h + 21, (uint64_t)((int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec));
	put_u64(h + 29, (uint64_t)st->st_ino);
	put_u32(h + 37, (uint32_t)st->st_nlink);
	put_u16(h + 41, (uint16_t)nlen);
	out_write(h, sizeof h);
	out_write(name, nlen);
	uint8_t l[2];
	put_u16(l, (uint16_t)llen);
	out_write(l, 2);
	out_write(link, llen);
}

int make_parents(const char *path, const struct owner *o)
{
	char buf[4097];
	size_t len = strlen(path);
	if (len >= sizeof buf)
		return bi_fail(ENAMETOOLONG, "%s", path);
	memcpy(buf, path, len + 1);
	char *slash = strrchr(buf, '/');
	if (!slash || slash == buf)
		return 0;
	*slash = 0;
	for (char *p = buf + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;
		*p = 0;
		if (mkdir(buf, 0755) == 0) {
			if (!o->keep && lchown(buf, o->uid, o->gid) != 0)
				return bi_fail(errno, "chown %s", buf);
		} else if (errno != EEXIST) {
			return bi_fail(errno, "mkdir %s", buf);
		}
		*p = c;
		if (!c)
			break;
	}
	return 0;
}
