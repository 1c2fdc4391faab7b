/* The agent's entry point (PID 1) and its poll loop over the portal ports, signals and executions. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "boot.h"
#include "confine.h"
#include "exec.h"
#include "log.h"
#include "net.h"
#include "protocol.h"
#include "session.h"

#define PORTAL_WAIT_MS 10000 /* the first portal port must appear within this */
#define DISCOVER_MS 20       /* while ports may still appear: rescan this often */
#define SETTLE_MS 200        /* ... for at least this long after the first one */
#define MAX_POLL (1 + MAX_SESSIONS + MAX_EXECS * EXEC_POLLFDS)

static struct agent agent = { .box = { .ns_mnt = -1, .ns_uts = -1, .ns_ipc = -1, .own_uts = -1 } };

static void fatal(const char *what)
{
	logmsg("fatal: %s: %s; powering off", what, strerror(errno));
	boot_power_off();
}

static void on_signals(int sfd)
{
	struct signalfd_siginfo si;
	while (read(sfd, &si, sizeof si) > 0)
		if (si.ssi_signo == SIGIO) /* a host connected or sent data: look at every port again */
			for (int i = 0; i < agent.count; i++)
				agent.sessions[i].idle_until_ns = 0;
	pid_t pid;
	int status;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (exec_reaped(pid, status))
			continue;
		if (pid == agent.box.init_pid) {
			logmsg("the box init exited (status %d)", status);
			agent.box.init_pid = 0;
		}
	}
}

static int min_timeout(int a, int b)
{
	return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

static void serve(int sfd, uint64_t discover_until_ns)
{
	static struct pollfd pfd[MAX_POLL];
	static struct exec_ref refs[MAX_POLL];
	uint64_t next_scan_ns = 0;
	for (;;) {
		uint64_t now = now_ns();
		int timeout = -1;
		if (discover_until_ns && now >= next_scan_ns) {
			if (agent_discover(&agent) == 0 && now >= discover_until_ns)
				discover_until_ns = 0; /* every port is named and served */
			next_scan_ns = now + DISCOVER_MS * 1000000ull;
		}
		if (discover_until_ns)
			timeout = DISCOVER_MS;
		timeout = min_timeout(timeout, exec_tick(now));
		pfd[0] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		int np = agent.count;
		for (int i = 0; i < np; i++) {
			struct session *s = &agent.sessions[i];
			int wait_ms = session_port_wait(s, now); /* >= 0: do not poll this port yet */
			timeout = min_timeout(timeout, wait_ms);
			if (portal_flush(&s->port) < 0)
				session_host_away(s);
			exec_check_loss(&s->port);
			pfd[1 + i] = (struct pollfd){ .fd = wait_ms >= 0 ? -1 : s->port.fd };
			if (portal_queued(&s->port) < OUTQ_STOP_INPUT)
				pfd[1 + i].events |= POLLIN;
			if (portal_queued(&s->port) > 0)
				pfd[1 + i].events |= POLLOUT;
		}
		size_t n = exec_poll_fill(pfd + 1 + np, refs, MAX_POLL - 1 - (size_t)np);
		if (poll(pfd, 1 + (nfds_t)np + n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents)
			on_signals(sfd);
		exec_poll_handle(pfd + 1 + np, refs, n);
		for (int i = 0; i < np; i++) {
			struct session *s = &agent.sessions[i];
			if (s->port.fd >= 0 && pfd[1 + i].fd == s->port.fd && (pfd[1 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				session_read(&agent, s);
		}
	}
}

static int setup_signals(void)
{
	signal(SIGPIPE, SIG_IGN);
	sigset_t all, wanted;
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	sigemptyset(&wanted);
	sigaddset(&wanted, SIGCHLD);
	sigaddset(&wanted, SIGIO);
	return signalfd(-1, &wanted, SFD_NONBLOCK | SFD_CLOEXEC);
}

int main(void)
{
	uint64_t entered_ns = now_ns(); /* the monotonic clock counts from the kernel's start: this is its boot time */
	log_use_fd(1);
	/* Nothing may attach to the agent or its clones (the box init, an exec child before execve) or read
	 * their descriptors through /proc without CAP_SYS_PTRACE, which box processes lack. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		logmsg("making the agent non-dumpable: %s", strerror(errno));
	int sfd = setup_signals();
	if (sfd < 0)
		fatal("signalfd");
	boot_load_modules(MODULES_ORDER);
	uint64_t modules_ns = now_ns();
	boot_mount_basics();
	uint64_t mounts_ns = now_ns();
	net_configure();
	confine_kernel_helpers();
	struct rlimit nofile = { 65536, 65536 };
	setrlimit(RLIMIT_NOFILE, &nofile);
	uint64_t start = now_ns();
	for (;;) {
		agent_discover(&agent);
		if (agent.count > 0 && session_port_wait(&agent.sessions[0], now_ns()) < 0)
			break; /* the first port is open */
		if (now_ns() - start > PORTAL_WAIT_MS * 1000000ull) {
			errno = ENODEV;
			fatal("no virtio port named " PORTAL_NAME " or " PORTAL_NAME ".<n>");
		}
		struct timespec ts = { 0, 1000 * 1000 }; /* the ports appear as QEMU names them, soon after boot */
		nanosleep(&ts, NULL);
	}
	uint64_t ms = 1000000ull, ready_ns = now_ns();
	logmsg("ready (kernel booted in %llu ms; agent: modules %llu ms, mounts %llu ms, network %llu ms, portal %llu ms)",
	       (unsigned long long)(entered_ns / ms), (unsigned long long)((modules_ns - entered_ns) / ms),
	       (unsigned long long)((mounts_ns - modules_ns) / ms), (unsigned long long)((start - mounts_ns) / ms),
	       (unsigned long long)((ready_ns - start) / ms));
	serve(sfd, now_ns() + SETTLE_MS * 1000000ull);
}
