/* Portal sessions, one per portal port: HELLO, dispatching requests, the host going away or breaking the protocol. */
#define _GNU_SOURCE
#include "session.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "codec.h"
#include "exec.h"
#include "log.h"
#include "protocol.h"
#include "stats.h"

#define REOPEN_MS 50      /* after a protocol error: close the port, reopen it after this */
#define IDLE_MS 100       /* while the host is away: look again after this, or at SIGIO */
#define STALE_HUP_MS 1000 /* a hangup seen this soon after a HELLO may be stale: confirm it first */
#define RECHECK_MS 10

uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void add_port(const char *path, const char *name, void *ctx)
{
	(void)name;
	struct agent *a = ctx;
	for (int i = 0; i < a->count; i++)
		if (strcmp(a->sessions[i].port.path, path) == 0)
			return;
	if (a->count == MAX_SESSIONS)
		return;
	struct session *s = &a->sessions[a->count++];
	memset(s, 0, sizeof *s);
	snprintf(s->port.path, sizeof s->port.path, "%s", path);
	s->port.fd = -1; /* opened by session_port_wait() */
}

int agent_discover(struct agent *a)
{
	return portal_scan(add_port, a);
}

/* The host is not connected (read returned 0, POLLHUP): drop the session, keep the processes and the
 * port. A disconnected port polls as POLLHUP, so stop polling it until SIGIO says the host is back
 * (or IDLE_MS passes, in case the host came back before O_ASYNC was set). */
void session_host_away(struct session *s)
{
	exec_orphan_all(&s->port);
	portal_reset(&s->port);
	portal_set_async(&s->port, 1);
	s->idle_until_ns = now_ns() + IDLE_MS * 1000000ull;
}

/* read() returned 0. The guest driver learns of host (dis)connects from control messages that can be
 * handled after data that followed them: when a host reconnects at once, its HELLO can arrive before
 * the old connection's hangup is seen. So a hangup soon after a HELLO is only acted on if it is still
 * there RECHECK_MS later; by then a stale one has been replaced by the new connection. */
static void hangup(struct session *s)
{
	uint64_t now = now_ns();
	if (s->port.session && !s->hup_suspect && now - s->last_hello_ns < STALE_HUP_MS * 1000000ull) {
		s->hup_suspect = 1;
		s->idle_until_ns = now + RECHECK_MS * 1000000ull;
		return;
	}
	s->hup_suspect = 0;
	session_host_away(s);
}

/* The host broke the protocol: close the port (discarding what is buffered, to resynchronise) and
 * reopen it shortly. The processes keep running. */
static void broken(struct session *s, const char *why)
{
	logmsg("%s: %s; waiting for the host to reconnect", s->port.path, why);
	exec_orphan_all(&s->port);
	portal_close(&s->port);
	s->reopen_at_ns = now_ns() + REOPEN_MS * 1000000ull;
}

int session_port_wait(struct session *s, uint64_t now)
{
	if (s->port.fd < 0) {
		if (now >= s->reopen_at_ns && portal_open(&s->port) != 0)
			s->reopen_at_ns = now + REOPEN_MS * 1000000ull;
		if (s->port.fd < 0)
			return (int)((s->reopen_at_ns - now) / 1000000) + 1;
	}
	if (now < s->idle_until_ns)
		return (int)((s->idle_until_ns - now) / 1000000) + 1;
	return -1;
}

static void send_id(struct session *s, uint8_t type, uint32_t id)
{
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(&s->port, frame, enc_id(frame, type, id));
}

static void on_hello(struct session *s, const struct msg *m)
{
	if (s->port.session) /* a new session on the same open port: forget the old one */
		exec_orphan_all(&s->port);
	s->port.session = 1;
	s->port.out_r = s->port.out_w = 0;
	portal_set_async(&s->port, 0);
	s->last_hello_ns = now_ns();
	if (m->u.hello.version != PORTAL_VERSION)
		logmsg("host speaks portal version %u, agent %u", m->u.hello.version, PORTAL_VERSION);
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(&s->port, frame, enc_hello_ack(frame));
}

static void on_mount(struct agent *a, struct session *s, const struct msg *m)
{
	char err[400];
	int rc = m->has_nul ? EINVAL : box_mount(&a->box, m, err, sizeof err);
	if (m->has_nul)
		snprintf(err, sizeof err, "device, filesystem and hostname must not contain NUL bytes");
	if (rc)
		portal_send_error(&s->port, m->id, (uint32_t)rc, "%s", err);
	else
		send_id(s, MSG_OK, m->id);
}

static void on_freshen(struct agent *a, struct session *s, const struct msg *m)
{
	char err[400];
	int rc = m->has_nul ? EINVAL : box_freshen(&a->box, m, err, sizeof err);
	if (m->has_nul)
		snprintf(err, sizeof err, "hostname must not contain NUL bytes");
	if (rc)
		portal_send_error(&s->port, m->id, (uint32_t)rc, "%s", err);
	else
		send_id(s, MSG_OK, m->id);
}

static void on_stats(struct session *s, uint32_t id)
{
	struct net_stats st;
	stats_read(&st);
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(&s->port, frame, enc_stats_reply(frame, id, st.rx_bytes, st.tx_bytes, st.tcp_conns, st.tcp_errors));
}

static void on_shutdown(struct agent *a, struct session *s, uint32_t id)
{
	send_id(s, MSG_OK, id);
	portal_flush_blocking(&s->port, 1000);
	box_teardown(&a->box);
	logmsg("powering off");
	boot_power_off();
}

/* Handle one message. Returns -1 if the host broke the protocol. */
static int dispatch(struct agent *a, struct session *s, const struct msg *m)
{
	if (!s->port.session && m->type != MSG_HELLO)
		return -1;
	switch (m->type) {
	case MSG_HELLO: on_hello(s, m); break;
	case MSG_MOUNT: on_mount(a, s, m); break;
	case MSG_EXEC: exec_start(&s->port, &a->box, m); break;
	case MSG_STDIN: return exec_stdin(&s->port, m);
	case MSG_STDIN_CLOSE: exec_stdin_close(&s->port, m); break;
	case MSG_SIGNAL: exec_signal(&s->port, m); break;
	case MSG_RESIZE: exec_resize(&s->port, m); break;
	case MSG_OUTPUT_CREDIT: exec_credit(&s->port, m); break;
	case MSG_PING: send_id(s, MSG_PONG, m->id); break;
	case MSG_SHUTDOWN: on_shutdown(a, s, m->id); break;
	case MSG_STATS: on_stats(s, m->id); break;
	case MSG_FRESHEN: on_freshen(a, s, m); break;
	case MSG_SYNC: sync(); send_id(s, MSG_OK, m->id); break; /* before a pause or a fork: the disks hold every write */
	}
	return 0;
}

void session_read(struct agent *a, struct session *s)
{
	for (int round = 0; round < 16 && s->port.fd >= 0; round++) {
		int r = portal_read(&s->port);
		if (r == 0) {
			hangup(s);
			return;
		}
		if (r > 0)
			s->hup_suspect = 0;
		size_t off = 0, len;
		uint8_t type;
		const uint8_t *payload;
		int f;
		while (s->port.fd >= 0 && (f = portal_next_frame(&s->port, &off, &type, &payload, &len)) == 1) {
			struct msg m;
			int d = codec_decode(type, payload, len, &m);
			if (d == DECODE_UNKNOWN && s->port.session) { /* a later addition: refuse it, keep the session */
				portal_send_error(&s->port, m.id, ENOSYS, "unknown message type 0x%02x (agent %s)", type, AGENT_VERSION);
				continue;
			}
			if (d < 0) {
				char why[80];
				snprintf(why, sizeof why, "malformed frame (type 0x%02x, %zu bytes)", type, len);
				broken(s, why);
				return;
			}
			int rc = dispatch(a, s, &m);
			msg_free(&m);
			if (rc < 0) {
				broken(s, s->port.session ? "the host overran a stdin window" : "frame before HELLO");
				return;
			}
		}
		if (s->port.fd < 0)
			return;
		if (f < 0) {
			broken(s, "frame length out of range");
			return;
		}
		portal_consume(&s->port, off);
		if (r < 0 || portal_queued(&s->port) >= OUTQ_STOP_INPUT)
			return;
	}
}

