/* Credentials: drop to an unprivileged uid/gid while keeping a chosen set of capabilities across exec (ambient). */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Capability names as in capabilities(7), without "CAP_" and in lower case, by number. */
static const char *const names[] = {
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap",
	"linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
	"sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice",
	"sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap",
	"mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf",
	"checkpoint_restore",
};
#define NAMED ((int)(sizeof names / sizeof names[0]))
_Static_assert(NAMED == CAP_LAST_CAP + 1, "name every capability the headers know");

int cap_number(const char *name)
{
	for (int i = 0; i < NAMED; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* Whether the running kernel knows capability `cap`. */
static int known(int cap)
{
	return prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0;
}

int become(long uid, long gid, const gid_t *groups, int ngroups, uint64_t caps)
{
	/* The bounding set first, while every capability (CAP_SETPCAP among them) is still effective. */
	for (int cap = 0; cap < 64 && known(cap); cap++)
		if (!(caps & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0)
			return fail("dropping a capability from the bounding set");
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
		return fail("prctl(PR_SET_KEEPCAPS)");
	if (ngroups >= 0 && setgroups((size_t)ngroups, groups) != 0)
		return fail("setgroups");
	if (gid >= 0 && setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0)
		return fail("setresgid");
	if (uid >= 0 && setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
		return fail("setresuid");
	struct __user_cap_header_struct head = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[2];
	for (int i = 0; i < 2; i++) {
		uint32_t word = (uint32_t)(caps >> (32 * i));
		data[i].effective = data[i].permitted = data[i].inheritable = word;
	}
	if (syscall(SYS_capset, &head, data) != 0)
		return fail("capset");
	for (int cap = 0; cap < 64; cap++)
		if ((caps & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) != 0)
			return fail("raising an ambient capability");
	if (!caps && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return fail("clearing the ambient capabilities");
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
		return fail("prctl(PR_SET_KEEPCAPS, 0)");
	return 0;
}

/* Writes `text` to the file `path` (a /proc control file). */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(path);
	ssize_t n = write(fd, text, strlen(text));
	int saved = errno;
	close(fd);
	errno = saved;
	return n == (ssize_t)strlen(text) ? 0 : fail(path);
}

int enter_user_namespace(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	if (unshare(CLONE_NEWUSER) != 0)
		return fail("unshare(CLONE_NEWUSER) (are user namespaces allowed? see user.max_user_namespaces)");
	char map[64];
	if (write_file("/proc/self/setgroups", "deny") != 0)
		return -1;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if (write_file("/proc/self/uid_map", map) != 0)
		return -1;
	snprintf(map, sizeof map, "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_file("/proc/self/gid_map", map);
}
