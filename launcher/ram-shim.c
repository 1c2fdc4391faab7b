/* A preload library for QEMU 7.2, loaded only into VMs restored from a template: it opens the template's RAM file
 * (named by BOXLITE_RO_RAM) read-only where QEMU asks for read-write. QEMU maps that file MAP_PRIVATE, so the guest
 * writes to copy-on-write pages and the file is never written; with a read-only descriptor (and the file read-only
 * in the jail) a hostile QEMU cannot write it either. QEMU 8.2 has this built in (memory-backend-file rom=off). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);

/* flags, with read-write turned into read-only for the template's RAM file. */
static int fix_flags(const char *path, int flags)
{
	const char *ram = getenv("BOXLITE_RO_RAM");
	if (ram && path && strcmp(path, ram) == 0 && (flags & O_ACCMODE) == O_RDWR)
		return (flags & ~(O_ACCMODE | O_CREAT | O_TRUNC)) | O_RDONLY;
	return flags;
}

static int mode_of(int flags, va_list ap)
{
	return (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
}

#define WRAP_OPEN(name)                                                         \
	int name(const char *path, int flags, ...)                              \
	{                                                                       \
		static open_fn real;                                            \
		if (!real)                                                      \
			real = (open_fn)dlsym(RTLD_NEXT, #name);                \
		va_list ap;                                                     \
		va_start(ap, flags);                                            \
		int mode = mode_of(flags, ap);                                  \
		va_end(ap);                                                     \
		return real(path, fix_flags(path, flags), mode);                \
	}

#define WRAP_OPENAT(name)                                                       \
	int name(int dirfd, const char *path, int flags, ...)                   \
	{                                                                       \
		static openat_fn real;                                          \
		if (!real)                                                      \
			real = (openat_fn)dlsym(RTLD_NEXT, #name);              \
		va_list ap;                                                     \
		va_start(ap, flags);                                            \
		int mode = mode_of(flags, ap);                                  \
		va_end(ap);                                                     \
		return real(dirfd, path, fix_flags(path, flags), mode);         \
	}

WRAP_OPEN(open)
WRAP_OPEN(open64)
WRAP_OPENAT(openat)
WRAP_OPENAT(openat64)

/* The fortified forms a two-argument open() compiles to. */
int __open_2(const char *path, int flags) { return open(path, flags); }
int __open64_2(const char *path, int flags) { return open64(path, flags); }
