/* Confining root in the box as a container runtime confines container root: the kernel's usermode helpers
 * made harmless, kernel files under /proc and /sys read-only or masked, and Docker's default capabilities. */
#ifndef BOXLITE_CONFINE_H
#define BOXLITE_CONFINE_H

#include <stddef.h>
#include <stdint.h>

/* Docker's default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
 * SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP (bits 0 1 3 4 5 6 7 8 10 13 18 27 29 31). */
#define CONFINE_BOX_CAPS 0xa80425fbull

/* In the agent at boot, after its modules are loaded and before any box process exists: core dumps go to a
 * plain file (never a pipe to a helper), no modprobe or hotplug helper, no capability for any other
 * helper, no further module loading, no kexec. Each setting that fails is logged. */
void confine_kernel_helpers(void);
/* In the box's init, with the box's /proc, /sys and /dev mounted under root: the runtime-spec defaults'
 * read-only paths (/proc/sys, /proc/sysrq-trigger, ...) and masked paths (/proc/kcore, /sys/firmware, ...).
 * Paths the kernel lacks are skipped. Returns 0, or an errno with a message in err. */
int confine_box_mounts(const char *root, char *err, size_t errlen);
/* Limits the calling process to the capabilities in keep (bounding, effective, permitted), with nothing
 * inheritable or ambient. Needs CAP_SETPCAP to shrink the bounding set. Returns 0 or an errno. */
int confine_caps(uint64_t keep);

#endif
