/* Read-only sharing: a private mount namespace where the shared directory is bound read-only onto itself. */
#define _GNU_SOURCE
#include "launcher.h"

#include <sched.h>
#include <stddef.h>
#include <sys/mount.h>

int bind_read_only(const char *dir)
{
	if (unshare(CLONE_NEWNS) != 0)
		return fail("unshare(CLONE_NEWNS)");
	/* Nothing done here may reach the host's mount table. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return fail("making / private");
	if (mount(dir, dir, NULL, MS_BIND, NULL) != 0)
		return fail("bind-mounting the shared directory");
	if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0)
		return fail("remounting the shared directory read-only");
	return 0;
}
