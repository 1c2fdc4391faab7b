/* Portal frame decoding (strict, bounds-checked) and encoding. */
#ifndef BOXLITE_CODEC_H
#define BOXLITE_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* One decoded host -> guest message. Strings are NUL-terminated copies owned by the message. */
struct msg {
	uint8_t type;
	uint32_t id;     /* 0 for HELLO */
	int has_nul;     /* a path/argv/env/user string contained a NUL byte (the request is refused, not the frame) */
	union {
		struct { uint16_t version; uint32_t max_frame; } hello;
		struct {
			char *lower_dev, *lower_fs, *upper_dev, *upper_fs, *hostname;
			uint64_t wall_clock_ms;  /* the host's time, ms since the epoch; 0 = leave the clock */
			uint16_t volc;           /* 3 strings per volume: tag, "ro" or "rw", guest path */
			char **volv;             /* NULL-terminated */
			const uint8_t *seed;     /* entropy from the host (points into the frame) */
			uint32_t seed_len;
		} mount;
		struct {
			char *hostname;          /* "" = keep it */
			uint64_t wall_clock_ms;  /* 0 = leave the clock */
			const uint8_t *seed;     /* points into the frame */
			uint32_t seed_len;
		} freshen;
		struct {
			uint8_t flags;
			uint16_t rows, cols;
			uint32_t timeout_ms;
			char *workdir;
			uint16_t argc, envc;
			char **argv, **envp; /* NULL-terminated */
			char *user;          /* "" = root */
		} exec;
		struct { const uint8_t *data; uint32_t len; } data; /* points into the frame */
		struct { int32_t signo; } signal;
		struct { uint16_t rows, cols; } resize;
		struct { uint32_t bytes; } credit;
	} u;
	char *arena;     /* string storage */
};

/* Validate the length field of a frame header; returns 0 if 1 <= len <= MAX_FRAME. */
int codec_frame_length(const uint8_t hdr[4], uint32_t *len);

/* Decode type + payload into m. Returns 0; -1 if the frame is malformed (m is then empty); or
 * DECODE_UNKNOWN for a type this agent does not know whose payload starts with a u32 id (in m->id). */
#define DECODE_UNKNOWN (-2)
int codec_decode(uint8_t type, const uint8_t *payload, size_t len, struct msg *m);
void msg_free(struct msg *m);

/* Encoders: write one whole frame to dst (which has room for it) and return its size. */
#define ENC_SMALL_MAX 64 /* room for any frame below except ERROR */
#define ENC_ERROR_MSG_MAX 1024
size_t enc_hello_ack(uint8_t *dst);
size_t enc_id(uint8_t *dst, uint8_t type, uint32_t id);                 /* OK, PONG */
size_t enc_id_u32(uint8_t *dst, uint8_t type, uint32_t id, uint32_t v); /* STARTED, STDIN_CREDIT */
size_t enc_exit(uint8_t *dst, uint32_t id, int32_t status, int timed_out);
size_t enc_error(uint8_t *dst, uint32_t id, uint32_t code, const char *message); /* dst: 13 + ENC_ERROR_MSG_MAX */
void enc_data_header(uint8_t *dst, uint8_t type, uint32_t id, uint32_t len); /* DATA_HEADER bytes */
size_t enc_stats_reply(uint8_t *dst, uint32_t id, uint64_t rx_bytes, uint64_t tx_bytes, uint32_t tcp_conns,
		       uint64_t tcp_errors);

#endif
