/* Built-in file operations: run in an exec child (inside the box, as box root) instead of execve(),
 * so files move in and out of any image, even one without a shell or tar. */
#ifndef BOXLITE_BUILTIN_H
#define BOXLITE_BUILTIN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* A builtin: argv[0] is its name. Returns the exit status (0, or an errno after printing why on stderr). */
typedef int (*builtin_fn)(int argc, char **argv);

/* The builtin named name, or NULL. */
builtin_fn builtin_find(const char *name);

/* True for a builtin that runs in the agent's mount namespace with the agent's capabilities, as root (it reads
 * the overlay's upper directory, which the box cannot see); every other builtin runs inside the box. */
int builtin_in_agent(const char *name);

/* Prints "<what>: <strerror(err)>" on stderr and returns err (at least 1). */
int bi_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True for "." and "..", which directory walks skip. */
int bi_dots(const char *name);

/* Buffered writing to stdout: everything is written, or the builtin exits (the host went away). */
void out_write(const void *data, size_t len);
void out_flush(void);
/* Reads exactly len bytes from stdin. Returns 0, or EIO at a premature EOF, or an errno. */
int in_read_full(void *buf, size_t len);

/* "-" keeps the archive's ids, "" is root, otherwise a user spec resolved in the box's /etc/passwd. */
struct owner {
	int keep;
	uid_t uid;
	gid_t gid;
};
int owner_parse(const char *spec, struct owner *o);

/* One stat record on stdout (see docs/portal-protocol.md, "Files"): name is relative to the listed path. */
void stat_record(const char *name, const struct stat *st, const char *link);

int bi_tar_out(int argc, char **argv);
int bi_tar_in(int argc, char **argv);
int bi_read(int argc, char **argv);
int bi_write(int argc, char **argv);
int bi_stat(int argc, char **argv);
int bi_list(int argc, char **argv);
int bi_mkdir(int argc, char **argv);
int bi_rm(int argc, char **argv);
int bi_rename(int argc, char **argv);
int bi_watch(int argc, char **argv);
int bi_changes(int argc, char **argv);

/* mkdir -p of path's parents (not path itself); new directories get mode 0755 and o's ids. */
int make_parents(const char *path, const struct owner *o);

#endif
