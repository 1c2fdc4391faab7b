/* Confining root in the box as a container runtime confines container root (see confine.h). */
#define _GNU_SOURCE
#include "confine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* The kernel starts these helpers as root with every capability in the VM's initial namespaces (the agent's),
 * resolving their paths in the agent's root, where /proc/<pid>/root leads into the box. None may be left
 * pointing anywhere a box could supply a program. */
static const struct { const char *path, *value; } kernel_settings[] = {
	{ "/proc/sys/kernel/core_pattern", "core" }, /* a file in the crashing process's cwd, as RLIMIT_CORE allows */
	{ "/proc/sys/kernel/modprobe", "\n" },       /* empty: request_module() fails without starting anything */
	{ "/proc/sys/kernel/hotplug", "\n" },        /* the uevent helper, also /sys/kernel/uevent_helper */
	{ "/proc/sys/kernel/modules_disabled", "1" }, /* the agent loaded its modules; nothing loads after boot */
	{ "/proc/sys/kernel/kexec_load_disabled", "1" },
	/* Should a helper start anyway (their paths are fixed, in the agent's root), it gets no capability. */
	{ "/proc/sys/kernel/usermodehelper/bset", "0 0" },
	{ "/proc/sys/kernel/usermodehelper/inheritable", "0 0" },
};

void confine_kernel_helpers(void)
{
	for (size_t i = 0; i < sizeof kernel_settings / sizeof kernel_settings[0]; i++) {
		const char *path = kernel_settings[i].path, *value = kernel_settings[i].value;
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT) /* the kernel lacks the feature: nothing to disable */
				logmsg("%s: %s", path, strerror(errno));
			continue;
		}
		if (write(fd, value, strlen(value)) < 0)
			logmsg("writing %s: %s", path, strerror(errno));
		close(fd);
	}
}

/* The OCI runtime-spec defaults of runc and Docker. */
static const char *const readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
static const char *const masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
};

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
	int e = errno;
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
	return e;
}

int confine_box_mounts(const char *root, char *err, size_t errlen)
{
	const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	char path[256], null[256];
	struct stat st;
	for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
		snprintf(path, sizeof path, "%s%s", root, readonly_paths[i]);
		if (lstat(path, &st) != 0)
			continue;
		if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0 ||
		    mount(NULL, path, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | safe, NULL) != 0)
			return fail(err, errlen, "making read-only", readonly_paths[i]);
	}
	snprintf(null, sizeof null, "%s/dev/null", root);
	for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
		snprintf(path, sizeof path, "%s%s", root, masked_paths[i]);
		if (lstat(path, &st) != 0)
			continue;
		int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY | safe, "size=0")
					     : mount(null, path, NULL, MS_BIND, NULL);
		if (rc != 0)
			return fail(err, errlen, "masking", masked_paths[i]);
	}
	return 0;
}

/* <linux/capability.h>, which the musl toolchain does not ship. */
#define CAPABILITY_VERSION_3 0x20080522
struct cap_header { uint32_t version; int pid; };
struct cap_data { uint32_t effective, permitted, inheritable; };

int confine_caps(uint64_t keep)
{
	for (int cap = 0; cap < 64; cap++) {
		if (keep & (1ull << cap))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
			if (errno == EINVAL)
				break; /* past the kernel's last capability */
			return errno;
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		return errno;
	struct cap_header h = { CAPABILITY_VERSION_3, 0 };
	struct cap_data d[2] = {
		{ (uint32_t)keep, (uint32_t)keep, 0 },
		{ (uint32_t)(keep >> 32), (uint32_t)(keep >> 32), 0 },
	};
	if (syscall(SYS_capset, &h, d) != 0)
		return errno;
	return 0;
}
