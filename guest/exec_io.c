/* An execution's stdio: the start report, output within the credit window, buffered stdin. */
#define _GNU_SOURCE
#include "exec_priv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "protocol.h"

static const char *stage_text(int stage)
{
	switch (stage) {
	case STAGE_SETNS: return "entering the box";
	case STAGE_STDIO: return "setting up stdio";
	case STAGE_CAPS: return "dropping capabilities";
	default: return "starting";
	}
}

void exec_free_names(struct exec *e)
{
	free(e->argv0);
	free(e->workdir);
	free(e->user);
	e->argv0 = e->workdir = e->user = NULL;
}

/* A failure to become the exec's user: names the user (or group) part of the spec. */
static void send_user_error(struct exec *e, int stage, int err)
{
	const char *u = e->user, *colon = strchr(u, ':');
	int ulen = colon ? (int)(colon - u) : (int)strlen(u);
	if (stage == STAGE_USER && err == ENOENT)
		portal_send_error(e->port, e->id, ENOENT, "user \"%.*s\" not found in the box's /etc/passwd", ulen, u);
	else if (stage == STAGE_GROUP && err == ENOENT && colon)
		portal_send_error(e->port, e->id, ENOENT, "group \"%s\" not found in the box's /etc/group", colon + 1);
	else if (err == EINVAL && stage != STAGE_CREDS)
		portal_send_error(e->port, e->id, EINVAL, "user \"%s\" is not valid: use name, uid, name:group or uid:gid "
				  "(ids up to 4294967294)", u);
	else
		portal_send_error(e->port, e->id, (uint32_t)err, "user \"%s\": %s: %s", u,
				  stage == STAGE_CREDS ? "switching to the user" : "reading the box's /etc/passwd and /etc/group",
				  strerror(err));
}

/* The status pipe reaches EOF when execve() succeeds (CLOEXEC) or the child gives up. */
void exec_read_status(struct exec *e)
{
	struct portal *p = e->port;
	ssize_t n = read(e->status_fd, e->status_buf + e->status_len, sizeof e->status_buf - e->status_len);
	if (n > 0) {
		e->status_len += (size_t)n;
		if (e->status_len < sizeof e->status_buf)
			return;
	} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	close(e->status_fd);
	e->status_fd = -1;
	uint32_t box_pid;
	int rec[2] = { 0, EIO };
	memcpy(&box_pid, e->status_buf, sizeof box_pid);
	if (e->status_len == 4) {
		uint8_t frame[ENC_SMALL_MAX];
		if (!e->orphan)
			portal_send(p, frame, enc_id_u32(frame, MSG_STARTED, e->id, box_pid));
		e->state = EXEC_RUNNING;
	} else if (e->orphan) {
		e->state = EXEC_FAILED;
	} else {
		if (e->status_len == sizeof e->status_buf)
			memcpy(rec, e->status_buf + 4, sizeof rec);
		if (e->status_len < 4)
			portal_send_error(p, e->id, EIO, "%s: the process died before it started", e->argv0);
		else if (rec[0] == STAGE_EXEC)
			portal_send_error(p, e->id, (uint32_t)rec[1], "%s: %s", e->argv0, strerror(rec[1]));
		else if (rec[0] == STAGE_USER || rec[0] == STAGE_GROUP || rec[0] == STAGE_CREDS)
			send_user_error(e, rec[0], rec[1]);
		else if (rec[0] == STAGE_CHDIR)
			portal_send_error(p, e->id, (uint32_t)rec[1], "working directory %s: %s", e->workdir, strerror(rec[1]));
		else
			portal_send_error(p, e->id, (uint32_t)rec[1], "%s: %s: %s", e->argv0, stage_text(rec[0]), strerror(rec[1]));
		e->state = EXEC_FAILED;
	}
	exec_free_names(e);
}

/* One read of stdout (i = 0) or stderr (i = 1), straight into the output queue as a data frame. */
void exec_pump_output(struct exec *e, int i)
{
	struct portal *p = e->port;
	static uint8_t sink[MAX_DATA];
	int fd = e->out_fd[i];
	if (fd < 0 || e->out_done[i] || e->state != EXEC_RUNNING)
		return;
	size_t max = MAX_DATA;
	uint8_t *slot = NULL, *dst = sink;
	ssize_t n = 0;
	if (!e->orphan) {
		if (!portal_output_ok(p) || e->window == 0)
			return;
		if (max > e->window)
			max = (size_t)e->window;
		/* A pipe's output goes to the port without a copy when nothing is queued before it. */
		if (!e->tty && (n = portal_splice_data(p, i ? MSG_STDERR : MSG_STDOUT, e->id, fd, max)) > 0)
			e->window -= (uint64_t)n;
		else if (!(slot = portal_reserve(p, DATA_HEADER + max)))
			return;
		else
			dst = slot + DATA_HEADER;
	}
	if (n <= 0)
		n = read(fd, dst, max);
	if (n > 0) {
		if (slot) {
			enc_data_header(slot, i ? MSG_STDERR : MSG_STDOUT, e->id, (uint32_t)n);
			portal_commit(p, DATA_HEADER + (size_t)n);
			e->window -= (uint64_t)n;
		}
		if (e->reaped && !e->tty) {
			e->drain_left[i] -= (size_t)n < e->drain_left[i] ? (size_t)n : e->drain_left[i];
			if (e->drain_left[i] == 0)
				e->out_done[i] = 1;
		}
		return;
	}
	if (n < 0 && errno == EINTR)
		return;
	if (n < 0 && errno == EAGAIN) {
		/* Reaped and nothing left: what is still open belongs to background processes. */
		if (e->reaped)
			e->out_done[i] = 1;
		return;
	}
	e->out_done[i] = 1; /* EOF; EIO on a pty master means the slave side is closed */
}

static void send_credit(struct exec *e, size_t n)
{
	if (e->orphan || n == 0)
		return;
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(e->port, frame, enc_id_u32(frame, MSG_STDIN_CREDIT, e->id, (uint32_t)n));
}

/* Close stdin (a pipe); a pty master stays open since it also carries the output. */
void exec_drop_stdin(struct exec *e)
{
	if (!e->tty && e->in_fd >= 0)
		close(e->in_fd);
	e->in_fd = -1;
	e->in_dead = 1;
	free(e->in_buf);
	e->in_buf = NULL;
	e->in_off = e->in_len = 0;
}

/* Write pending stdin; return credit for what was written (or dropped because the reader is gone). */
void exec_pump_stdin(struct exec *e)
{
	while (e->in_len > 0) {
		ssize_t n = write(e->in_fd, e->in_buf + e->in_off, e->in_len);
		if (n > 0) {
			e->in_off += (size_t)n;
			e->in_len -= (size_t)n;
			send_credit(e, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		send_credit(e, e->in_len); /* EPIPE (or EIO on a pty): the reader is gone */
		exec_drop_stdin(e);
		return;
	}
	e->in_off = 0;
	if (!e->in_close_pending)
		return;
	if (e->tty) {
		ssize_t n = write(e->in_fd, "\x04", 1); /* EOT: end of input for the line discipline */
		if (n < 0 && errno == EAGAIN)
			return;
	} else {
		exec_drop_stdin(e);
	}
	e->in_close_pending = 0;
}

int exec_queue_stdin(struct exec *e, const uint8_t *data, size_t len)
{
	if (e->in_dead || e->in_fd < 0) {
		send_credit(e, len);
		return 0;
	}
	if (e->in_len + len > INITIAL_STDIN_WINDOW)
		return -1;
	if (!e->in_buf && !(e->in_buf = malloc(INITIAL_STDIN_WINDOW)))
		return -1;
	if (e->in_off + e->in_len + len > INITIAL_STDIN_WINDOW) {
		memmove(e->in_buf, e->in_buf + e->in_off, e->in_len);
		e->in_off = 0;
	}
	memcpy(e->in_buf + e->in_off + e->in_len, data, len);
	e->in_len += len;
	exec_pump_stdin(e);
	return 0;
}
