/* The state of one execution, shared by exec.c, exec_io.c and spawn.c. */
#ifndef BOXLITE_EXEC_PRIV_H
#define BOXLITE_EXEC_PRIV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "codec.h"
#include "container.h"
#include "portal.h"

enum exec_state {
	EXEC_STARTING, /* forked; waiting for execve() to succeed or fail (status pipe) */
	EXEC_RUNNING,  /* STARTED sent */
	EXEC_FAILED,   /* ERROR sent; only waiting to reap the child */
};

enum { REF_STATUS, REF_STDOUT, REF_STDERR, REF_STDIN };

/* Failure stages reported by the child through the status pipe. */
enum { STAGE_SETNS = 1, STAGE_STDIO, STAGE_CHDIR, STAGE_EXEC, STAGE_USER, STAGE_GROUP, STAGE_CREDS, STAGE_CAPS };

struct exec {
	struct portal *port; /* the session that started it; ids are per session */
	uint32_t id;
	int orphan;          /* its session ended: output discarded, no EXIT */
	int tty;
	enum exec_state state;
	pid_t pid;           /* in the agent's pid namespace; also the process group id */
	char *argv0, *workdir, *user; /* for error messages while STARTING */

	int status_fd;       /* read end; the child writes its box pid, then {stage, errno} on failure */
	uint8_t status_buf[12];
	size_t status_len;

	int out_fd[2];       /* stdout, stderr pipes; for a tty out_fd[0] is the pty master, out_fd[1] = -1 */
	int out_done[2];     /* EOF, or drained after the process was reaped */
	size_t drain_left[2]; /* pipes: bytes that were in the pipe when the process was reaped */
	uint64_t window;     /* output credit */

	int in_fd;           /* stdin pipe write end, or the pty master (not owned); -1 once closed */
	uint8_t *in_buf;     /* pending stdin, at most INITIAL_STDIN_WINDOW bytes */
	size_t in_off, in_len;
	int in_close_pending, in_dead;

	int reaped, status, timed_out;
	uint64_t deadline_ns; /* 0 = no timeout */
};

/* spawn.c: fork the process into the box. Returns 0, or an errno with a message in err. */
int spawn_exec(struct exec *e, const struct box *b, const struct msg *m, char *err, size_t errlen);
/* exec_io.c */
void exec_pump_output(struct exec *e, int i);
void exec_pump_stdin(struct exec *e);
int exec_queue_stdin(struct exec *e, const uint8_t *data, size_t len);
void exec_drop_stdin(struct exec *e);
void exec_read_status(struct exec *e);
void exec_free_names(struct exec *e); /* argv0, workdir, user */

#endif
