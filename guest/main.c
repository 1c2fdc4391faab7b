/* The agent's entry point (PID 1) and its poll loop over the portal, signals and executions. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "codec.h"
#include "container.h"
#include "exec.h"
#include "log.h"
#include "portal.h"
#include "protocol.h"

#define PORTAL_WAIT_MS 10000
#define REOPEN_BACKOFF_MS 50

static struct portal port = { .fd = -1 };
static struct box box = { .ns_mnt = -1, .ns_uts = -1, .ns_ipc = -1 };
static uint64_t reopen_at_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void fatal(const char *what)
{
	logmsg("fatal: %s: %s; powering off", what, strerror(errno));
	boot_power_off();
}

/* The host is gone (or broke the protocol): drop the session, keep the processes, reopen later. */
static void end_session(const char *why)
{
	if (why)
		logmsg("%s; waiting for the host to reconnect", why);
	exec_orphan_all();
	portal_close(&port);
	reopen_at_ns = now_ns() + REOPEN_BACKOFF_MS * 1000000ull;
}

static void send_id(uint8_t type, uint32_t id)
{
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(&port, frame, enc_id(frame, type, id));
}

static void on_hello(const struct msg *m)
{
	if (port.session) /* a new session on the same open port: forget the old one */
		exec_orphan_all();
	port.session = 1;
	port.out_r = port.out_w = 0;
	if (m->u.hello.version != PORTAL_VERSION)
		logmsg("host speaks portal version %u, agent %u", m->u.hello.version, PORTAL_VERSION);
	uint8_t frame[ENC_SMALL_MAX];
	portal_send(&port, frame, enc_hello_ack(frame));
}

static void on_mount(const struct msg *m)
{
	char err[400];
	int rc = m->has_nul ? EINVAL : box_mount(&box, m, err, sizeof err);
	if (m->has_nul)
		snprintf(err, sizeof err, "device, filesystem and hostname must not contain NUL bytes");
	if (rc)
		portal_send_error(&port, m->id, (uint32_t)rc, "%s", err);
	else
		send_id(MSG_OK, m->id);
}

static void on_shutdown(uint32_t id)
{
	send_id(MSG_OK, id);
	portal_flush_blocking(&port, 1000);
	box_teardown(&box);
	logmsg("powering off");
	boot_power_off();
}

/* Handle one message. Returns -1 if the host broke the protocol. */
static int dispatch(const struct msg *m)
{
	if (!port.session && m->type != MSG_HELLO)
		return -1;
	switch (m->type) {
	case MSG_HELLO: on_hello(m); break;
	case MSG_MOUNT: on_mount(m); break;
	case MSG_EXEC: exec_start(&port, &box, m); break;
	case MSG_STDIN: return exec_stdin(&port, m);
	case MSG_STDIN_CLOSE: exec_stdin_close(&port, m); break;
	case MSG_SIGNAL: exec_signal(&port, m); break;
	case MSG_RESIZE: exec_resize(&port, m); break;
	case MSG_OUTPUT_CREDIT: exec_credit(m); break;
	case MSG_PING: send_id(MSG_PONG, m->id); break;
	case MSG_SHUTDOWN: on_shutdown(m->id); break;
	}
	return 0;
}

static void read_port(void)
{
	for (int round = 0; round < 16 && port.fd >= 0; round++) {
		int r = portal_read(&port);
		if (r == 0)
			return end_session(NULL);
		size_t off = 0, len;
		uint8_t type;
		const uint8_t *payload;
		int f;
		while (port.fd >= 0 && (f = portal_next_frame(&port, &off, &type, &payload, &len)) == 1) {
			struct msg m;
			if (codec_decode(type, payload, len, &m) < 0) {
				char why[80];
				snprintf(why, sizeof why, "malformed frame (type 0x%02x, %zu bytes)", type, len);
				return end_session(why);
			}
			int rc = dispatch(&m);
			msg_free(&m);
			if (rc < 0)
				return end_session(port.session ? "the host overran a stdin window" : "frame before HELLO");
		}
		if (port.fd < 0)
			return;
		if (f < 0)
			return end_session("frame length out of range");
		portal_consume(&port, off);
		if (r < 0 || portal_queued(&port) >= OUTQ_STOP_INPUT)
			return;
	}
}

static void reap(int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) > 0)
		;
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (exec_reaped(pid, status))
			continue;
		if (pid == box.init_pid) {
			logmsg("the box init exited (status %d)", status);
			box.init_pid = 0;
		}
	}
}

#define MAX_POLL (2 + MAX_EXECS * EXEC_POLLFDS)

static void serve(int sfd)
{
	static struct pollfd pfd[MAX_POLL];
	static struct exec_ref refs[MAX_POLL];
	for (;;) {
		uint64_t now = now_ns();
		int timeout = -1;
		if (port.fd < 0) {
			if (now >= reopen_at_ns && portal_open(&port) != 0)
				reopen_at_ns = now + REOPEN_BACKOFF_MS * 1000000ull;
			if (port.fd < 0)
				timeout = (int)((reopen_at_ns - now) / 1000000) + 1;
		}
		int output_ok = port.session && portal_queued(&port) < OUTQ_HIGH;
		int next = exec_tick(&port, now, output_ok);
		if (next >= 0 && (timeout < 0 || next < timeout))
			timeout = next;
		if (portal_flush(&port) < 0)
			end_session("writing to the portal failed");
		output_ok = port.session && portal_queued(&port) < OUTQ_HIGH;

		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = port.fd, .events = 0 };
		if (portal_queued(&port) < OUTQ_STOP_INPUT)
			pfd[1].events |= POLLIN;
		if (portal_queued(&port) > 0)
			pfd[1].events |= POLLOUT;
		size_t n = exec_poll_fill(pfd + 2, refs, MAX_POLL - 2, output_ok);
		if (poll(pfd, 2 + n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents)
			reap(sfd);
		exec_poll_handle(&port, pfd + 2, refs, n, output_ok);
		if (port.fd >= 0 && pfd[1].fd == port.fd && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)))
			read_port();
	}
}

static int setup_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t all, chld;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	return signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(void)
{
	log_use_fd(1);
	int sfd = setup_signals();
	if (sfd < 0)
		fatal("signalfd");
	boot_load_modules(MODULES_ORDER);
	boot_mount_basics();
	struct rlimit nofile = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &nofile);
	uint64_t give_up = now_ns() + PORTAL_WAIT_MS * 1000000ull;
	while (portal_open(&port) != 0) {
		if (now_ns() > give_up) {
			errno = ENODEV;
			fatal("no virtio port named " PORTAL_NAME);
		}
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	logmsg("ready");
	serve(sfd);
}
