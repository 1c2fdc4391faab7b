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
void exec_credit(const struct portal *p, const struct msg *m);

/* The session on p ended (host gone or a new HELLO): keep its processes, drop their output, send no EXIT. */
void exec_orphan_all(const struct portal *p);
/* An execution whose output the guest kernel dropped (see portal_take_loss) fails with an error and is killed. */
void exec_check_loss(struct portal *p);
/* A child was reaped; returns 1 if it was an exec's main process. */
int exec_reaped(pid_t pid, int status);

/* Poll plumbing: fill pollfds for every exec, then handle what poll reported. */
size_t exec_poll_fill(struct pollfd *pfd, struct exec_ref *refs, size_t max);
void exec_poll_handle(const struct pollfd *pfd, const struct exec_ref *refs, size_t n);
/* Timeouts, draining after exit, EXIT frames, freeing. Returns ms until the next deadline, or -1. */
int exec_tick(uint64_t now_ns);

#endif
