/* Executions: the table, requests from the host, reaping, timeouts and EXIT. */
#define _GNU_SOURCE
#include "exec.h"
#include "exec_priv.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"
#include "user.h"

static struct exec *table[MAX_EXECS];
static size_t count;

/* The live exec with this id in the session on p. */
static struct exec *find(const struct portal *p, uint32_t id)
{
	for (size_t i = 0; i < count; i++)
		if (table[i]->port == p && table[i]->id == id && !table[i]->orphan)
			return table[i];
	return NULL;
}

static void send_ok(struct portal *p, uint32_t id)
{
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(p, frame, enc_id(frame, MSG_OK, id));
}

static void free_exec(size_t i)
{
	struct exec *e = table[i];
	exec_drop_stdin(e);
	for (int k = 0; k < 2; k++)
		if (e->out_fd[k] >= 0)
			close(e->out_fd[k]);
	if (e->status_fd >= 0)
		close(e->status_fd);
	exec_free_names(e);
	free(e);
	table[i] = table[--count];
}

static struct exec *new_exec(struct portal *p, const struct msg *m)
{
	struct exec *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->port = p;
	e->id = m->id;
	e->tty = (m->u.exec.flags & EXEC_FLAG_TTY) != 0;
	e->status_fd = e->in_fd = e->out_fd[0] = e->out_fd[1] = -1;
	e->window = INITIAL_OUTPUT_WINDOW;
	e->argv0 = strndup(m->u.exec.argv[0], 256);
	e->workdir = strndup(m->u.exec.workdir[0] ? m->u.exec.workdir : "/", 256);
	e->user = strdup(m->u.exec.user); /* at most USER_MAX bytes */
	if (!e->argv0 || !e->workdir || !e->user) {
		exec_free_names(e);
		free(e);
		return NULL;
	}
	return e;
}

void exec_start(struct portal *p, const struct box *b, const struct msg *m)
{
	if (!b->ready) {
		portal_send_error(p, m->id, EBUSY, "no root filesystem: the host must send MOUNT first");
		return;
	}
	if (!b->init_pid) {
		portal_send_error(p, m->id, ESRCH, "the box's init process has died; restart the box");
		return;
	}
	if (m->has_nul) {
		portal_send_error(p, m->id, EINVAL, "argv, env, workingDir and user must not contain NUL bytes");
		return;
	}
	if (strlen(m->u.exec.user) > USER_MAX) {
		portal_send_error(p, m->id, EINVAL, "user must be at most %d bytes", USER_MAX);
		return;
	}
	if (m->u.exec.argc == 0) {
		portal_send_error(p, m->id, EINVAL, "argv must have at least one element");
		return;
	}
	if (find(p, m->id)) {
		portal_send_error(p, m->id, EEXIST, "exec id %u is already in use", m->id);
		return;
	}
	if (count >= MAX_EXECS) {
		portal_send_error(p, m->id, EAGAIN, "too many executions (at most %d at once)", MAX_EXECS);
		return;
	}
	struct exec *e = new_exec(p, m);
	if (!e) {
		portal_send_error(p, m->id, ENOMEM, "out of memory");
		return;
	}
	char err[300];
	int rc = spawn_exec(e, b, m, err, sizeof err);
	if (rc) {
		exec_free_names(e);
		free(e);
		portal_send_error(p, m->id, (uint32_t)rc, "%s", err);
		return;
	}
	if (m->u.exec.timeout_ms) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		e->deadline_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec +
				 (uint64_t)m->u.exec.timeout_ms * 1000000u;
	}
	table[count++] = e;
}

int exec_stdin(struct portal *p, const struct msg *m)
{
	struct exec *e = find(p, m->id);
	if (!e || e->state == EXEC_FAILED)
		return 0; /* exited or unknown: ignored */
	return exec_queue_stdin(e, m->u.data.data, m->u.data.len);
}

void exec_stdin_close(struct portal *p, const struct msg *m)
{
	struct exec *e = find(p, m->id);
	if (!e || e->in_dead)
		return;
	e->in_close_pending = 1;
	exec_pump_stdin(e);
}

/* Signal the whole process group (setsid() made pgid == pid); before setsid() only the process exists. */
static void signal_group(struct exec *e, int signo)
{
	if (kill(-e->pid, signo) != 0 && errno == ESRCH)
		kill(e->pid, signo);
}

void exec_signal(struct portal *p, const struct msg *m)
{
	int signo = m->u.signal.signo;
	if (signo < 0 || signo >= NSIG) {
		portal_send_error(p, m->id, EINVAL, "signal must be between 0 and %d, got %d", NSIG - 1, signo);
		return;
	}
	struct exec *e = find(p, m->id);
	if (e && !e->reaped) /* once reaped, the pid may be reused */
		signal_group(e, signo);
	send_ok(p, m->id);
}

void exec_resize(struct portal *p, const struct msg *m)
{
	struct exec *e = find(p, m->id);
	if (e && e->tty && !e->reaped) {
		struct winsize ws = { .ws_row = m->u.resize.rows, .ws_col = m->u.resize.cols };
		ioctl(e->out_fd[0], TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH to the foreground group */
	}
	send_ok(p, m->id);
}

void exec_credit(const struct portal *p, const struct msg *m)
{
	struct exec *e = find(p, m->id);
	if (e && e->window < ((uint64_t)1 << 40))
		e->window += m->u.credit.bytes;
}

void exec_orphan_all(const struct portal *p)
{
	for (size_t i = 0; i < count; i++) {
		if (table[i]->port != p)
			continue;
		table[i]->orphan = 1;
		exec_drop_stdin(table[i]); /* nobody can write to it any more: give the process EOF */
	}
}

void exec_check_loss(struct portal *p)
{
	uint32_t id;
	size_t lost = portal_take_loss(p, &id);
	struct exec *e = lost ? find(p, id) : NULL;
	if (!e)
		return;
	/* Its output has a hole: the host must not take the rest for all of it. */
	portal_send_error(p, id, EIO, "%zu bytes of the process's output were lost in the guest (its kernel had no memory "
			  "to queue them); the process was killed", lost);
	e->orphan = 1;
	exec_drop_stdin(e);
	signal_group(e, SIGKILL);
}

int exec_reaped(pid_t pid, int status)
{
	for (size_t i = 0; i < count; i++) {
		struct exec *e = table[i];
		if (e->pid != pid || e->reaped)
			continue;
		e->reaped = 1;
		e->status = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
		/* Everything the process wrote is in the pipe now; read that much, not what background
		 * processes holding the pipe open write later. A pty is drained until EAGAIN/EIO. */
		for (int k = 0; k < 2; k++) {
			int avail = 0;
			if (e->tty || e->out_done[k] || e->out_fd[k] < 0)
				continue;
			if (ioctl(e->out_fd[k], FIONREAD, &avail) != 0 || avail <= 0)
				e->out_done[k] = 1;
			else
				e->drain_left[k] = (size_t)avail;
		}
		return 1;
	}
	return 0;
}

size_t exec_poll_fill(struct pollfd *pfd, struct exec_ref *refs, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < count && n + EXEC_POLLFDS <= max; i++) {
		struct exec *e = table[i];
		if (e->status_fd >= 0) {
			pfd[n] = (struct pollfd){ .fd = e->status_fd, .events = POLLIN };
			refs[n++] = (struct exec_ref){ e, REF_STATUS };
		}
		if (e->state != EXEC_RUNNING)
			continue;
		for (int k = 0; k < 2; k++) {
			if (e->out_fd[k] < 0 || e->out_done[k] || (!e->orphan && (!portal_output_ok(e->port) || e->window == 0)))
				continue;
			pfd[n] = (struct pollfd){ .fd = e->out_fd[k], .events = POLLIN };
			refs[n++] = (struct exec_ref){ e, k ? REF_STDERR : REF_STDOUT };
		}
		if (e->in_fd >= 0 && (e->in_len > 0 || e->in_close_pending)) {
			pfd[n] = (struct pollfd){ .fd = e->in_fd, .events = POLLOUT };
			refs[n++] = (struct exec_ref){ e, REF_STDIN };
		}
	}
	return n;
}

void exec_poll_handle(const struct pollfd *pfd, const struct exec_ref *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!pfd[i].revents)
			continue;
		struct exec *e = refs[i].e;
		switch (refs[i].kind) {
		case REF_STATUS: exec_read_status(e); break;
		case REF_STDOUT: exec_pump_output(e, 0); break;
		case REF_STDERR: exec_pump_output(e, 1); break;
		case REF_STDIN: exec_pump_stdin(e); break;
		}
	}
}

static void send_exit(const struct exec *e)
{
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(e->port, frame, enc_exit(frame, e->id, e->status, e->timed_out));
}

int exec_tick(uint64_t now_ns)
{
	int64_t next_ms = -1;
	for (size_t i = 0; i < count;) {
		struct exec *e = table[i];
		if (e->deadline_ns && !e->reaped && !e->timed_out) {
			if (now_ns >= e->deadline_ns) {
				signal_group(e, SIGKILL);
				e->timed_out = 1;
			} else {
				int64_t ms = (int64_t)((e->deadline_ns - now_ns + 999999) / 1000000);
				if (next_ms < 0 || ms < next_ms)
					next_ms = ms;
			}
		}
		if (e->reaped && e->state == EXEC_RUNNING)
			for (int k = 0; k < 2; k++)
				exec_pump_output(e, k); /* drain what is left, within the credit */
		int finished = e->reaped && e->status_fd < 0 &&
			       (e->state == EXEC_FAILED || (e->out_done[0] && e->out_done[1]));
		if (!finished) {
			i++;
			continue;
		}
		if (e->state == EXEC_RUNNING && !e->orphan)
			send_exit(e);
		free_exec(i); /* the last exec moved into slot i */
	}
	return next_ms > 0x7fffffff ? 0x7fffffff : (int)next_ms;
}
