/* Portal sessions, one per portal port: HELLO, dispatching requests, the host going away or breaking the protocol. */
#ifndef BOXLITE_SESSION_H
#define BOXLITE_SESSION_H

#include <stdint.h>

#include "container.h"
#include "portal.h"

#define MAX_SESSIONS 8

struct session {
	struct portal port;
	uint64_t reopen_at_ns;  /* port closed (after a protocol error): when to reopen it */
	uint64_t idle_until_ns; /* port open, host away: not polled until then (or SIGIO) */
	uint64_t last_hello_ns;
	int hup_suspect;        /* a hangup seen right after a HELLO, being confirmed */
};

/* Every session, and the box they share (MOUNT and SHUTDOWN may come from any of them). */
struct agent {
	struct session sessions[MAX_SESSIONS];
	int count;
	struct box box;
};

uint64_t now_ns(void);
/* Start a session for each portal port not served yet. Returns how many virtio ports have no name yet. */
int agent_discover(struct agent *a);
/* Reopen the port if it is closed and due. Returns -1 if the port should be polled now, else the
 * milliseconds until it should be (closed, or the host is away). */
int session_port_wait(struct session *s, uint64_t now);
/* Read what the port has and handle every complete frame. */
void session_read(struct agent *a, struct session *s);
/* Writing failed or the host is not connected: drop the session, keep the port and the processes. */
void session_host_away(struct session *s);

#endif
