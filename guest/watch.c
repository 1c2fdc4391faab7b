/* fs.watch: change events under a path of the box (inotify), as records on stdout until the host kills it. */
#define _GNU_SOURCE
#include "builtin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_WATCHES 8192
#define WATCH_MASK (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK)

struct watch {
	int wd;
	char *rel; /* relative to the watched path; "" for the path itself */
};

static struct watch watches[MAX_WATCHES];
static size_t nwatches;
static int ifd;
static const char *root;

/* u8 kind, u8 isDir, u16 length, path. Kinds: R ready, c create, m modify, w written (closed after writing),
 * d delete, f moved from, t moved to, a attributes, o overflow (events were lost), x the path itself is gone. */
static void record(char kind, int is_dir, const char *rel)
{
	size_t len = strlen(rel);
	if (len > 4096)
		return;
	uint8_t h[4] = { (uint8_t)kind, (uint8_t)(is_dir != 0), (uint8_t)(len >> 8), (uint8_t)len };
	out_write(h, sizeof h);
	out_write(rel, len);
}

static const char *rel_of(int wd)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i].wd == wd)
			return watches[i].rel;
	return NULL;
}

static void forget(int wd)
{
	for (size_t i = 0; i < nwatches; i++)
		if (watches[i].wd == wd) {
			free(watches[i].rel);
			watches[i] = watches[--nwatches];
			return;
		}
}

/* Watches rel (under root) and, when recursive, every directory beneath it; found entries are reported as
 * created when announce is set (a directory that appeared may have filled before its watch existed). */
static void add_tree(const char *rel, int recursive, int announce)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s%s%s", root, rel[0] ? "/" : "", rel) >= (int)sizeof path)
		return;
	if (nwatches == MAX_WATCHES) {
		record('o', 0, rel);
		return;
	}
	int wd = inotify_add_watch(ifd, path, WATCH_MASK);
	if (wd < 0)
		return;
	if (!rel_of(wd)) {
		watches[nwatches].wd = wd;
		watches[nwatches].rel = strdup(rel);
		if (watches[nwatches].rel)
			nwatches++;
	}
	if (!recursive)
		return;
	DIR *d = opendir(path);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (bi_dots(de->d_name))
			continue;
		char child[PATH_MAX];
		if (snprintf(child, sizeof child, "%s%s%s", rel, rel[0] ? "/" : "", de->d_name) >= (int)sizeof child)
			continue;
		int is_dir = de->d_type == DT_DIR;
		if (announce)
			record('c', is_dir, child);
		if (is_dir)
			add_tree(child, 1, announce);
	}
	closedir(d);
}

/* fs.watch PATH RECURSIVE ("1" watches every directory beneath PATH too). */
int bi_watch(int argc, char **argv)
{
	if (argc != 3)
		return bi_fail(EINVAL, "usage: fs.watch PATH RECURSIVE");
	root = argv[1];
	int recursive = strcmp(argv[2], "1") == 0;
	struct stat st;
	if (stat(root, &st) != 0)
		return bi_fail(errno, "%s", root);
	if ((ifd = inotify_init1(IN_CLOEXEC)) < 0)
		return bi_fail(errno, "inotify");
	add_tree("", recursive && S_ISDIR(st.st_mode), 0);
	if (!nwatches)
		return bi_fail(errno ? errno : EIO, "watching %s", root);
	record('R', S_ISDIR(st.st_mode), "");
	out_flush();
	static char buf[65536] __attribute__((aligned(__alignof__(struct inotify_event))));
	for (;;) {
		ssize_t n = read(ifd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return bi_fail(n < 0 ? errno : EIO, "reading inotify events");
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			p += sizeof *ev + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				record('o', 0, "");
				continue;
			}
			const char *dir = rel_of(ev->wd);
			if (!dir)
				continue;
			char rel[PATH_MAX];
			if (ev->len)
				snprintf(rel, sizeof rel, "%s%s%s", dir, dir[0] ? "/" : "", ev->name);
			else
				snprintf(rel, sizeof rel, "%s", dir);
			int is_dir = (ev->mask & IN_ISDIR) != 0;
			if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (!dir[0]) {
					record('x', 1, "");
					out_flush();
					return 0;
				}
				continue; /* a subdirectory: its parent reports it */
			}
			if (ev->mask & IN_IGNORED) {
				forget(ev->wd);
				continue;
			}
			char kind = ev->mask & IN_CREATE ? 'c' : ev->mask & IN_DELETE ? 'd' : ev->mask & IN_MOVED_FROM ? 'f' :
				    ev->mask & IN_MOVED_TO ? 't' : ev->mask & IN_CLOSE_WRITE ? 'w' : ev->mask & IN_MODIFY ? 'm' : 'a';
			record(kind, is_dir, rel);
			if (recursive && is_dir && (ev->mask & (IN_CREATE | IN_MOVED_TO)))
				add_tree(rel, 1, 1);
		}
		out_flush();
	}
}
