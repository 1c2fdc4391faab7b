/* The box: its root filesystem (overlay of the two disks) and the namespaces user processes run in. */
#ifndef BOXLITE_CONTAINER_H
#define BOXLITE_CONTAINER_H

#include <stddef.h>
#include <sys/types.h>

#include "codec.h"

#define BOX_LOWER "/run/box/lower"
#define BOX_UPPER "/run/box/upper"
#define BOX_ROOT "/run/box/root"

struct box {
	int ready;        /* MOUNT succeeded */
	pid_t init_pid;   /* the box's PID 1, in the agent's pid namespace */
	int ns_mnt, ns_uts, ns_ipc; /* entered by each exec child */
	int own_uts;      /* the agent's own UTS namespace, to come back to after renaming the box (FRESHEN) */
	char ptmx[64];    /* the box's devpts ptmx, reached through /proc/<init>/root */
};

/* Handle MOUNT. Returns 0, or an errno with a message in err. */
int box_mount(struct box *b, const struct msg *m, char *err, size_t errlen);
/* Handle FRESHEN (a resumed or forked VM): clock, entropy, and the box's hostname when one is given. */
int box_freshen(struct box *b, const struct msg *m, char *err, size_t errlen);
/* Kill every process in the box, sync and unmount its filesystems (for SHUTDOWN). */
void box_teardown(struct box *b);

#endif
