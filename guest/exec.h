/* Executions: spawning user processes in the box, their stdio, flow control, timeouts and exit. */
#ifndef BOXLITE_EXEC_H
#define BOXLITE_EXEC_H

#include <poll.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "container.h"
#include "portal.h"

#define MAX_EXECS 1024
#define EXEC_POLLFDS 4 /* at most this many pollfds per exec */

struct exec;
struct exec_ref {
	struct exec *e;
	int kind;
};

/* Requests from the host. exec_stdin returns -1 if the host overran the stdin window. */
void exec_start(struct portal *p, const struct box *b, const struct msg *m);
int exec_stdin(struct portal *p, const struct msg *m);
void exec_stdin_close(struct portal *p, const struct msg *m);
void exec_signal(struct portal *p, const struct msg *m);
void exec_resize(struct portal *p, const struct msg *m);
void exec_credit(const struct msg *m);

/* The session ended (host gone or a new HELLO): keep the processes, drop their output, send no EXIT. */
void exec_orphan_all(void);
/* A child was reaped; returns 1 if it was an exec's main process. */
int exec_reaped(pid_t pid, int status);

/* Poll plumbing: fill pollfds for every exec, then handle what poll reported. output_ok is false
 * while the output queue is over its high-water mark. */
size_t exec_poll_fill(struct pollfd *pfd, struct exec_ref *refs, size_t max, int output_ok);
void exec_poll_handle(struct portal *p, const struct pollfd *pfd, const struct exec_ref *refs, size_t n, int output_ok);
/* Timeouts, draining after exit, EXIT frames, freeing. Returns ms until the next deadline, or -1. */
int exec_tick(struct portal *p, uint64_t now_ns, int output_ok);

#endif
