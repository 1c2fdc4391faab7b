/* Boot as PID 1: kernel modules, the agent's own root, the basic mounts, power-off. */
#define _GNU_SOURCE
#include "boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

/* Load each module listed (one absolute path per line) in order. A module that is already loaded
 * (EEXIST) is fine; any other failure is logged and skipped (the driver may be built in). */
void boot_load_modules(const char *order_path)
{
	FILE *f = fopen(order_path, "re");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		if (line[0] != '/')
			continue; /* blank line or comment */
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			logmsg("module %s: %s", line, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
			logmsg("module %s: %s", line, strerror(errno));
		close(fd);
	}
	fclose(f);
}

static void mount_or_log(const char *src, const char *dst, const char *fs, unsigned long flags, const char *opts)
{
	mkdir(dst, 0755);
	if (mount(src, dst, fs, flags, opts) != 0)
		logmsg("mount %s on %s: %s", fs, dst, strerror(errno));
}

/* The initramfs is the rootfs, which pivot_root cannot leave. Moving a tmpfs over it (as switch_root
 * does) gives the agent a root with a parent mount, so the box can later pivot_root away from it and
 * detach every agent mount from its view. */
static void switch_to_tmpfs_root(void)
{
	const char *dir = "/.agent-root";
	mkdir(dir, 0755);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m") != 0 || chdir(dir) != 0 ||
	    mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0)
		logmsg("switching to a tmpfs root: %s", strerror(errno));
}

void boot_mount_basics(void)
{
	switch_to_tmpfs_root();
	const unsigned long safe = MS_NOSUID | MS_NODEV | MS_NOEXEC;
	mount_or_log("proc", "/proc", "proc", safe, NULL);
	mount_or_log("sysfs", "/sys", "sysfs", safe, NULL);
	mount_or_log("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
	mount_or_log("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "ptmxmode=0666,mode=0620");
	mount_or_log("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount_or_log("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
	log_open_console();
	/* fds 0-2 must be taken so that pipes never land there; the kernel may have left them closed. */
	for (int fd = 0; fd < 3; fd++) {
		if (fcntl(fd, F_GETFD) < 0) {
			int n = open("/dev/null", O_RDWR);
			if (n >= 0 && n != fd) {
				dup2(n, fd);
				close(n);
			}
		}
	}
}

void boot_power_off(void)
{
	sync();
	reboot(RB_POWER_OFF);
	reboot(RB_AUTOBOOT); /* QEMU runs with -no-reboot, so this ends the VM too */
	for (;;)
		pause();
}
