/* The portal port: finding and opening it, framing its input, and a bounded queue for its output. */
#define _GNU_SOURCE
#include "portal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec.h"
#include "log.h"
#include "protocol.h"

#define IN_CAP (4u + MAX_FRAME)

static int is_portal_name(const char *name)
{
	size_t n = strlen(PORTAL_NAME);
	if (strncmp(name, PORTAL_NAME, n) != 0)
		return 0;
	if (name[n] == 0)
		return 1;
	if (name[n] != '.' || !name[n + 1])
		return 0;
	for (const char *c = name + n + 1; *c; c++)
		if (*c < '0' || *c > '9')
			return 0;
	return 1;
}

int portal_scan(void (*found)(const char *path, const char *name, void *ctx), void *ctx)
{
	DIR *d = opendir("/sys/class/virtio-ports");
	if (!d)
		return 1; /* virtio_console not loaded yet */
	struct dirent *e;
	int unnamed = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		char name_path[300], name[64], dev[64];
		snprintf(name_path, sizeof name_path, "/sys/class/virtio-ports/%s/name", e->d_name);
		int fd = open(name_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			unnamed++;
			continue;
		}
		ssize_t n = read(fd, name, sizeof name - 1);
		close(fd);
		if (n < 0)
			n = 0;
		while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == 0))
			n--;
		name[n] = 0;
		if (n == 0) {
			unnamed++;
			continue;
		}
		if (is_portal_name(name) && snprintf(dev, sizeof dev, "/dev/%s", e->d_name) < (int)sizeof dev)
			found(dev, name, ctx);
	}
	closedir(d);
	return unnamed;
}

int portal_open(struct portal *p)
{
	int fd = open(p->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -1;
	if (!p->in && !(p->in = malloc(IN_CAP))) {
		close(fd);
		return -1;
	}
	p->fd = fd;
	portal_reset(p);
	return 0;
}

void portal_reset(struct portal *p)
{
	p->session = 0;
	p->in_len = 0;
	p->out_r = p->out_w = 0;
	portal_splice_reset(p);
}

void portal_close(struct portal *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	portal_reset(p);
}

void portal_set_async(struct portal *p, int on)
{
	int fl = fcntl(p->fd, F_GETFL);
	if (fl < 0)
		return;
	if (on)
		fcntl(p->fd, F_SETOWN, getpid());
	fcntl(p->fd, F_SETFL, on ? fl | O_ASYNC : fl & ~O_ASYNC);
}

int portal_read(struct portal *p)
{
	if (p->in_len >= IN_CAP)
		return 1; /* a whole frame is waiting to be handled */
	ssize_t n = read(p->fd, p->in + p->in_len, IN_CAP - p->in_len);
	if (n > 0) {
		p->in_len += (size_t)n;
		return 1;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return -1;
	return 0; /* EOF: the host side is not connected */
}

int portal_next_frame(struct portal *p, size_t *off, uint8_t *type, const uint8_t **payload, size_t *len)
{
	size_t avail = p->in_len - *off;
	if (avail < 4)
		return 0;
	uint32_t flen;
	if (codec_frame_length(p->in + *off, &flen) < 0)
		return -1;
	if (avail < 4 + (size_t)flen)
		return 0;
	*type = p->in[*off + 4];
	*payload = p->in + *off + FRAME_HEADER;
	*len = flen - 1;
	*off += 4 + (size_t)flen;
	return 1;
}

void portal_consume(struct portal *p, size_t off)
{
	if (off == 0)
		return;
	memmove(p->in, p->in + off, p->in_len - off);
	p->in_len -= off;
}

size_t portal_queued(const struct portal *p)
{
	return p->out_w - p->out_r + p->frame_left;
}

int portal_output_ok(const struct portal *p)
{
	return p->fd >= 0 && p->session && portal_queued(p) < OUTQ_HIGH;
}

uint8_t *portal_reserve(struct portal *p, size_t n)
{
	if (p->fd < 0 || !p->session)
		return NULL;
	if (p->out_r > 0 && p->out_r == p->out_w)
		p->out_r = p->out_w = 0;
	if (p->out_cap - p->out_w < n && p->out_r > 0) { /* compact */
		memmove(p->out, p->out + p->out_r, p->out_w - p->out_r);
		p->out_w -= p->out_r;
		p->out_r = 0;
	}
	if (p->out_cap - p->out_w < n) {
		size_t cap = p->out_cap ? p->out_cap : 256u << 10;
		while (cap - p->out_w < n)
			cap *= 2;
		uint8_t *b = realloc(p->out, cap);
		if (!b)
			return NULL;
		p->out = b;
		p->out_cap = cap;
	}
	return p->out + p->out_w;
}

void portal_commit(struct portal *p, size_t n)
{
	p->out_w += n;
}

void portal_send(struct portal *p, const uint8_t *frame, size_t n)
{
	uint8_t *d = portal_reserve(p, n);
	if (!d) {
		if (p->session)
			logmsg("out of memory queueing a frame");
		return;
	}
	memcpy(d, frame, n);
	portal_commit(p, n);
}

void portal_send_error(struct portal *p, uint32_t id, uint32_t code, const char *fmt, ...)
{
	char text[ENC_ERROR_MSG_MAX + 1];
	uint8_t frame[13 + ENC_ERROR_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	portal_send(p, frame, enc_error(frame, id, code, text));
}

int portal_flush(struct portal *p)
{
	if (portal_splice_flush(p) < 0)
		return -1;
	if (p->frame_left)
		return 0;
	while (p->fd >= 0 && p->out_r < p->out_w) {
		ssize_t n = write(p->fd, p->out + p->out_r, p->out_w - p->out_r);
		if (n > 0) {
			p->out_r += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		return -1;
	}
	if (p->out_r == p->out_w)
		p->out_r = p->out_w = 0;
	return 0;
}

void portal_flush_blocking(struct portal *p, int timeout_ms)
{
	while (p->fd >= 0 && portal_queued(p) > 0 && timeout_ms > 0) {
		if (portal_flush(p) < 0)
			return;
		if (portal_queued(p) == 0)
			return;
		struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
		if (poll(&pfd, 1, 10) < 0 && errno != EINTR)
			return;
		timeout_ms -= 10;
	}
}
