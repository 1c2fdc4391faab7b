/* Zero-copy output frames: a data frame's payload moves from an execution's pipe to the port by splice(2). */
#define _GNU_SOURCE
#include "portal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "protocol.h"

/*
 * A frame is assembled in the frame pipe (its header written, its payload spliced in from the staging pipe) and
 * leaves with one splice into the port: virtio_console hands the pipe's pages to the device as one buffer, so the
 * payload is copied neither into the agent nor into a kernel bounce buffer (read + write copy it twice). The
 * staging pipe learns how many bytes the source gave before the header, which names that count, is written.
 * The frame pipe holds the staging pipe's whole content plus the header, so a frame is never split.
 */
#define STAGE_PIPE_BYTES MAX_DATA
#define FRAME_PIPE_BYTES (2 * MAX_DATA)

static void close_pipe(int fds[2])
{
	for (int i = 0; i < 2; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	fds[0] = fds[1] = -1;
}

/* 0 if both pipes exist (made on first use). */
static int make_pipes(struct portal *p)
{
	if (p->splice_state == SPLICE_READY)
		return 0;
	if (p->splice_state == SPLICE_UNAVAILABLE)
		return -1;
	p->stage_pipe[0] = p->stage_pipe[1] = p->frame_pipe[0] = p->frame_pipe[1] = -1;
	if (pipe2(p->stage_pipe, O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(p->frame_pipe, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    fcntl(p->stage_pipe[1], F_SETPIPE_SZ, (int)STAGE_PIPE_BYTES) < (int)STAGE_PIPE_BYTES ||
	    fcntl(p->frame_pipe[1], F_SETPIPE_SZ, (int)FRAME_PIPE_BYTES) < (int)FRAME_PIPE_BYTES) {
		logmsg("zero-copy output is off (pipes for it: %s); output is copied", strerror(errno));
		close_pipe(p->stage_pipe);
		close_pipe(p->frame_pipe);
		p->splice_state = SPLICE_UNAVAILABLE;
		return -1;
	}
	p->splice_state = SPLICE_READY;
	return 0;
}

void portal_splice_reset(struct portal *p)
{
	if ((p->frame_left && p->splice_state == SPLICE_READY) || p->splice_state == SPLICE_BROKEN) { /* a frame half sent to an old session: start clean */
		close_pipe(p->stage_pipe);
		close_pipe(p->frame_pipe);
		p->splice_state = SPLICE_NONE;
	}
	p->frame_left = 0;
	p->lost_bytes = 0;
}

ssize_t portal_splice_data(struct portal *p, uint8_t type, uint32_t id, int from, size_t max)
{
	if (p->fd < 0 || !p->session || portal_queued(p) || max == 0 || make_pipes(p) != 0)
		return 0;
	ssize_t n = splice(from, NULL, p->stage_pipe[1], NULL, max, SPLICE_F_NONBLOCK);
	if (n <= 0)
		return 0; /* EOF, EAGAIN or an error: the caller's read() sees the same and handles it */
	uint8_t header[DATA_HEADER];
	enc_data_header(header, type, id, (uint32_t)n);
	ssize_t w = write(p->frame_pipe[1], header, sizeof header); /* the frame pipe is empty */
	size_t moved = 0;
	while (w == (ssize_t)sizeof header && moved < (size_t)n) {
		ssize_t k = splice(p->stage_pipe[0], NULL, p->frame_pipe[1], NULL, (size_t)n - moved, SPLICE_F_NONBLOCK);
		if (k <= 0 && errno != EINTR)
			break;
		if (k > 0)
			moved += (size_t)k;
	}
	if (w != (ssize_t)sizeof header || moved != (size_t)n) {
		/* Cannot happen with the pipe sizes above; if it does, the port is out of step: end the session. */
		logmsg("assembling an output frame failed (%zd of %zu header bytes, %zu of %zd data bytes): %s", w,
		       sizeof header, moved, n, strerror(errno));
		p->splice_state = SPLICE_BROKEN;
		return n;
	}
	p->frame_left = sizeof header + (size_t)n;
	p->frame_id = id;
	return n;
}

int portal_splice_flush(struct portal *p)
{
	if (p->splice_state == SPLICE_BROKEN)
		return -1;
	while (p->fd >= 0 && p->frame_left) {
		ssize_t n = splice(p->frame_pipe[0], NULL, p->fd, NULL, p->frame_left, SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->frame_left -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0)
			return -1;
		/* 0 with the pipe not empty: the driver took the pages but could not queue them (no memory for the
		 * descriptor table) and dropped them. The frame is gone whole; its execution is told (portal_take_loss). */
		int left = 0;
		if (ioctl(p->frame_pipe[0], FIONREAD, &left) != 0 || left < 0 || (size_t)left >= p->frame_left)
			return 0;
		if (left > 0) {
			logmsg("the guest kernel dropped part of an output frame; ending the session");
			p->splice_state = SPLICE_BROKEN;
			return -1;
		}
		logmsg("the guest kernel dropped an output frame of exec %u (%zu bytes)", p->frame_id, p->frame_left);
		p->lost_id = p->frame_id;
		p->lost_bytes += p->frame_left - DATA_HEADER;
		p->frame_left = 0;
	}
	return 0;
}

size_t portal_take_loss(struct portal *p, uint32_t *id)
{
	size_t n = p->lost_bytes;
	*id = p->lost_id;
	p->lost_bytes = 0;
	return n;
}
