/* Portal protocol v7: constants and message types, as specified in docs/portal-protocol.md. */
#ifndef BOXLITE_PROTOCOL_H
#define BOXLITE_PROTOCOL_H

#define PORTAL_VERSION 7
#define PORTAL_NAME "boxlite.portal"
#define AGENT_VERSION "boxlite-agent 0.1.0"

#define MAX_FRAME 1048576u             /* bytes after the length field (type + payload) */
#define MAX_VOLUMES 16u                /* volumes in one MOUNT */
#define MAX_DATA 262144u                /* data bytes in one STDIN/STDOUT/STDERR frame */
#define INITIAL_OUTPUT_WINDOW 262144u  /* unacknowledged STDOUT+STDERR bytes per exec */
#define INITIAL_STDIN_WINDOW 262144u   /* unacknowledged STDIN bytes per exec */

#define FRAME_HEADER 5u                /* u32 length + u8 type */
#define DATA_HEADER (FRAME_HEADER + 4u) /* ... + u32 id */

/* Host -> guest. */
enum {
	MSG_HELLO = 0x01,
	MSG_MOUNT = 0x02,
	MSG_EXEC = 0x03,
	MSG_STDIN = 0x04,
	MSG_STDIN_CLOSE = 0x05,
	MSG_SIGNAL = 0x06,
	MSG_RESIZE = 0x07,
	MSG_OUTPUT_CREDIT = 0x08,
	MSG_PING = 0x09,
	MSG_SHUTDOWN = 0x0A,
	MSG_STATS = 0x0B,
	MSG_FRESHEN = 0x0C,
	MSG_SYNC = 0x0D,
};

/* Guest -> host. */
enum {
	MSG_HELLO_ACK = 0x81,
	MSG_OK = 0x82,
	MSG_ERROR = 0x83,
	MSG_STARTED = 0x84,
	MSG_STDOUT = 0x85,
	MSG_STDERR = 0x86,
	MSG_EXIT = 0x87,
	MSG_STDIN_CREDIT = 0x88,
	MSG_PONG = 0x89,
	MSG_STATS_REPLY = 0x8A,
};

#define EXEC_FLAG_TTY 0x01u
#define EXEC_FLAG_BUILTIN 0x02u /* argv[0] names a file operation of the agent (builtin.h), run in place of execve */

#endif
