/* The seccomp filter: the helper can never change who it is, nor make a setuid or setgid file. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define ARCH AUDIT_ARCH_AARCH64
#else
#error "the launcher's seccomp filter knows x86_64 and aarch64 only"
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#else
#define ARG_LOW(i) (offsetof(struct seccomp_data, args) + 8 * (i) + 4)
#endif

#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif

/* Calls that would change the process's uids, gids or groups: they return 0 and change nothing. */
static const int setid_calls[] = {
	__NR_setuid, __NR_setgid, __NR_setreuid, __NR_setregid, __NR_setresuid, __NR_setresgid,
	__NR_setfsuid, __NR_setfsgid, __NR_setgroups,
};

/* Calls with a mode argument, and its index: S_ISUID or S_ISGID in it fails the call with EPERM. */
static const struct { int nr, arg; } mode_calls[] = {
	{ __NR_fchmod, 1 }, { __NR_fchmodat, 2 }, { __NR_fchmodat2, 2 }, { __NR_openat, 3 },
	{ __NR_mknodat, 2 }, { __NR_mkdirat, 2 },
#ifdef __NR_chmod
	{ __NR_chmod, 1 }, { __NR_open, 2 }, { __NR_creat, 1 }, { __NR_mknod, 1 }, { __NR_mkdir, 1 },
#endif
};

/* Calls whose mode sits behind a pointer the filter cannot read: they fail with ENOSYS (callers fall back). */
static const int opaque_calls[] = {
#ifdef __NR_openat2
	__NR_openat2,
#endif
#ifdef __NR_io_uring_setup
	__NR_io_uring_setup,
#endif
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define MAX_PROG 128

int install_filter(void)
{
	struct sock_filter prog[MAX_PROG];
	int n = 0;
#define PUT(s) do { \
		if (n >= MAX_PROG) { \
			errno = E2BIG; \
			return fail("building the seccomp filter"); \
		} \
		prog[n++] = (struct sock_filter)s; \
	} while (0)
	PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
	PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ARCH, 1, 0));
	PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
	PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#ifdef __x86_64__
	PUT(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1)); /* x32 numbers: not ours */
	PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif
	for (int i = 0; i < COUNT(setid_calls); i++) {
		PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)setid_calls[i], 0, 1));
		PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 0));
	}
	for (int i = 0; i < COUNT(opaque_calls); i++) {
		PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)opaque_calls[i], 0, 1));
		PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS));
	}
	for (int i = 0; i < COUNT(mode_calls); i++) {
		/* A still holds nr whenever this block is skipped; inside it, the call ends either way. */
		PUT(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)mode_calls[i].nr, 0, 4));
		PUT(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LOW(mode_calls[i].arg)));
		PUT(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, S_ISUID | S_ISGID, 1, 0));
		PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
		PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));
	}
	PUT(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
#undef PUT
	struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail("prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0)
		return fail("installing the seccomp filter");
	return 0;
}
