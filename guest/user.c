/* Resolving an exec's user against the box's /etc/passwd and /etc/group, and switching to it.
 * The files are parsed here rather than with getpwnam() and friends: musl also asks an nscd socket
 * (/var/run/nscd/socket), which a process in the box could serve to hand later execs other ids. */
#define _GNU_SOURCE
#include "user.h"

#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A decimal id: 1..10 digits, at most 2^32 - 2 ((uid_t)-1 means "unchanged" to the kernel). */
static int parse_id(const char *s, uint32_t *out)
{
	uint64_t v = 0;
	size_t n = strspn(s, "0123456789");
	if (n == 0 || n > 10 || s[n])
		return -1;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (v > 0xfffffffeu)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* All digits, yet not a valid id. */
static int out_of_range(const char *s)
{
	uint32_t id;
	return s[strspn(s, "0123456789")] == 0 && parse_id(s, &id) != 0;
}

/* Calls fn with each line of path split at ':' (at most 7 fields) until fn returns nonzero. Returns that
 * value, 0 if no line matched (also when the file does not exist), or -errno if the file cannot be read. */
static int each_entry(const char *path, int (*fn)(char **f, int n, void *arg), void *arg)
{
	FILE *fp = fopen(path, "re");
	if (!fp)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	char *line = NULL;
	size_t cap = 0;
	int rc = 0;
	while (!rc && getline(&line, &cap, fp) >= 0) {
		char *f[7], *p = line;
		int n = 0;
		line[strcspn(line, "\n")] = 0;
		while (n < 7 && p)
			f[n++] = strsep(&p, ":");
		rc = fn(f, n, arg);
	}
	if (!rc && ferror(fp))
		rc = errno ? -errno : -EIO;
	free(line);
	fclose(fp);
	return rc;
}

/* /etc/passwd: name:password:uid:gid:... — found by name, or by uid when by_uid. */
struct pw_query {
	const char *name;
	int by_uid;
	uint32_t uid, gid;
	char *found;     /* the entry's name (malloc'd) */
};

static int match_passwd(char **f, int n, void *arg)
{
	struct pw_query *q = arg;
	uint32_t uid, gid;
	if (n < 4 || parse_id(f[2], &uid) || parse_id(f[3], &gid))
		return 0;
	if (q->by_uid ? uid != q->uid : strcmp(f[0], q->name) != 0)
		return 0;
	q->uid = uid;
	q->gid = gid;
	q->found = strdup(f[0]);
	return q->found ? 1 : -ENOMEM;
}

/* /etc/group: name:password:gid:member,member,... — one group by name, or every group that lists member. */
struct gr_query {
	const char *name, *member;
	uint32_t gid;
	struct creds *c;
};

static int match_group(char **f, int n, void *arg)
{
	struct gr_query *q = arg;
	uint32_t gid;
	if (n < 3 || parse_id(f[2], &gid))
		return 0;
	if (q->name) {
		if (strcmp(f[0], q->name) != 0)
			return 0;
		q->gid = gid;
		return 1;
	}
	if (n < 4)
		return 0;
	for (char *p = f[3], *mem; (mem = strsep(&p, ",")) != NULL;) {
		if (strcmp(mem, q->member) != 0)
			continue;
		size_t i = 0;
		while (i < q->c->ngroups && q->c->groups[i] != gid)
			i++;
		if (i == q->c->ngroups && i < USER_MAX_GROUPS)
			q->c->groups[q->c->ngroups++] = gid;
		break;
	}
	return 0; /* keep scanning */
}

int user_resolve(const char *spec, struct creds *c, int *in_group)
{
	char buf[USER_MAX + 1];
	*in_group = 0;
	if (strlen(spec) > USER_MAX)
		return EINVAL;
	strcpy(buf, spec);
	char *group = strchr(buf, ':');
	if (group)
		*group++ = 0;
	if (!buf[0] || (group && !group[0]) || out_of_range(buf) || (group && out_of_range(group)))
		return EINVAL;

	/* The user: a name must be in /etc/passwd; a uid need not be (then gid = uid, no other groups). */
	struct pw_query pw = { .name = buf };
	pw.by_uid = parse_id(buf, &pw.uid) == 0;
	int rc = each_entry("/etc/passwd", match_passwd, &pw);
	if (rc < 0)
		return -rc;
	if (!rc && !pw.by_uid)
		return ENOENT;
	c->uid = pw.uid;
	c->gid = rc ? pw.gid : pw.uid;
	c->ngroups = 0;

	/* The group, when given, replaces the primary group. */
	if (group) {
		*in_group = 1;
		struct gr_query gr = { .name = group };
		if (parse_id(group, &gr.gid) != 0) {
			if ((rc = each_entry("/etc/group", match_group, &gr)) <= 0) {
				free(pw.found);
				return rc < 0 ? -rc : ENOENT;
			}
		}
		c->gid = gr.gid;
		*in_group = 0;
	}

	/* Supplementary groups, as initgroups() makes them: the primary group and the memberships of the name. */
	if (pw.found) {
		c->groups[c->ngroups++] = c->gid;
		struct gr_query gr = { .member = pw.found, .c = c };
		rc = each_entry("/etc/group", match_group, &gr);
		free(pw.found);
		if (rc < 0) {
			*in_group = 1;
			return -rc;
		}
	}
	return 0;
}

int user_apply(const struct creds *c)
{
	if (setgroups(c->ngroups, c->groups) != 0 || setgid(c->gid) != 0 || setuid(c->uid) != 0)
		return errno;
	return 0;
}
