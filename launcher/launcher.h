/* The launcher's steps, each in its own file; every one returns 0 or prints why it failed and returns -1. */
#ifndef BOXLITE_LAUNCHER_H
#define BOXLITE_LAUNCHER_H

#include <stdint.h>
#include <sys/types.h>

/* Prints "boxlite-launcher: <what>: <strerror(errno)>" to stderr and returns -1. */
int fail(const char *what);

/* mounts.c: in a new private mount namespace, makes dir a read-only bind mount of itself. */
int bind_read_only(const char *dir);

/* creds.c: the capability number named `name` ("sys_admin"), or -1. */
int cap_number(const char *name);
/* creds.c: becomes uid/gid with no supplementary groups, keeping exactly the capabilities in `caps` (a bit set)
 * as permitted, effective, inheritable and ambient, so that they survive exec; all others leave the bounding set. */
int become(uid_t uid, gid_t gid, uint64_t caps);

/* filter.c: sets no_new_privs and installs the seccomp filter: uid/gid changes succeed without doing anything,
 * and a mode with S_ISUID or S_ISGID in chmod, open, mknod or mkdir fails with EPERM. */
int install_filter(void);

#endif
