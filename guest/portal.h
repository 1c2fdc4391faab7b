/* The portal port: finding and opening it, framing its input, and a bounded queue for its output. */
#ifndef BOXLITE_PORTAL_H
#define BOXLITE_PORTAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define OUTQ_HIGH (4u << 20)      /* above this, child output is not read until the queue drains */
#define OUTQ_STOP_INPUT (16u << 20) /* above this, the port is not read either (the host is not reading) */

struct portal {
	char path[64];     /* /dev/vportNpM */
	int fd;            /* -1 while closed */
	int session;       /* a HELLO arrived on this open */
	uint8_t *in;       /* partial input frames; room for one whole frame */
	size_t in_len;
	uint8_t *out;      /* queued output frames [out_r, out_w) */
	size_t out_r, out_w, out_cap;
	/* Zero-copy output (portal_splice.c): a frame in frame_pipe goes out before anything in out. */
	enum { SPLICE_NONE, SPLICE_READY, SPLICE_UNAVAILABLE, SPLICE_BROKEN } splice_state;
	int stage_pipe[2], frame_pipe[2];
	size_t frame_left;   /* bytes of the frame in frame_pipe not yet in the port */
	uint32_t frame_id;   /* the execution that frame belongs to */
	uint32_t lost_id;    /* an execution whose output frame the guest kernel dropped */
	size_t lost_bytes;
};

/* Call found(dev path, name) for each virtio port named boxlite.portal or boxlite.portal.<n>. Returns the
 * number of virtio ports that have no name yet (the host names them shortly after they appear). */
int portal_scan(void (*found)(const char *path, const char *name, void *ctx), void *ctx);
int portal_open(struct portal *p);   /* opens p->path; 0, or -1 */
void portal_close(struct portal *p); /* drops the session and everything queued */
/* Drop the session and everything buffered but keep the port open: closing it would discard what
 * a host that reconnects right away has already sent. */
void portal_reset(struct portal *p);
/* SIGIO on host connect, disconnect and data (O_ASYNC): wakes the agent while it is not polling the port. */
void portal_set_async(struct portal *p, int on);

/* Read what is available. Returns 1 if bytes arrived, 0 if the host hung up, -1 on EAGAIN. */
int portal_read(struct portal *p);
/* The next complete frame in the input: 1 (type/payload/len set), 0 if incomplete, -1 if malformed. */
int portal_next_frame(struct portal *p, size_t *off, uint8_t *type, const uint8_t **payload, size_t *len);
void portal_consume(struct portal *p, size_t off); /* drop the first off bytes of input */

/* Output queue. Frames are queued whole and only while a session is open. */
size_t portal_queued(const struct portal *p);
/* A session is open and its queue is below OUTQ_HIGH: child output may be read for it. */
int portal_output_ok(const struct portal *p);
uint8_t *portal_reserve(struct portal *p, size_t n); /* NULL if no session or out of memory */
void portal_commit(struct portal *p, size_t n);
void portal_send(struct portal *p, const uint8_t *frame, size_t n);
void portal_send_error(struct portal *p, uint32_t id, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Write queued bytes without blocking. Returns 0, or -1 if the port failed (caller closes it). */
int portal_flush(struct portal *p);
/* Write everything queued, waiting up to timeout_ms (used before power-off). */
void portal_flush_blocking(struct portal *p, int timeout_ms);

/* Zero-copy output (portal_splice.c). Sends up to max bytes of the pipe from as one data frame of (type, id), moving
 * them by splice(2) instead of read() and write(), when nothing else is queued (so frames stay in order). Returns the
 * bytes taken from the pipe, or 0 if none were (the caller reads instead: EOF, EAGAIN or no zero-copy here). */
ssize_t portal_splice_data(struct portal *p, uint8_t type, uint32_t id, int from, size_t max);
/* Moves the frame being sent on into the port; called first by portal_flush. 0, or -1 if the port is out of step. */
int portal_splice_flush(struct portal *p);
/* Forgets a frame half sent (the session ended). */
void portal_splice_reset(struct portal *p);
/* Bytes of output the guest kernel dropped since the last call, and whose they were (0: none). */
size_t portal_take_loss(struct portal *p, uint32_t *id);

#endif
