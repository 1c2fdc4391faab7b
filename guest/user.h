/* The user an exec runs as: "name", "uid", "name:group", "uid:gid", "name:gid" or "uid:group", looked up
 * in the box's /etc/passwd and /etc/group. Called in the exec child after it entered the box's mount
 * namespace, so those files are the box's. */
#ifndef BOXLITE_USER_H
#define BOXLITE_USER_H

#include <stddef.h>
#include <sys/types.h>

#define USER_MAX 256         /* longest user spec accepted (bytes) */
#define USER_MAX_GROUPS 1024 /* supplementary groups kept; later memberships are ignored */

struct creds {
	uid_t uid;
	gid_t gid;
	size_t ngroups;
	gid_t groups[USER_MAX_GROUPS];
};

/* Resolve spec. Returns 0, or an errno: EINVAL (malformed spec), ENOENT (unknown name), or a read error;
 * *in_group is set when the group part failed. */
int user_resolve(const char *spec, struct creds *c, int *in_group);
/* setgroups, setgid, then setuid. Returns 0 or an errno. */
int user_apply(const struct creds *c);

#endif
