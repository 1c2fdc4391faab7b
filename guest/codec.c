/* Portal frame decoding (strict, bounds-checked) and encoding. */
#include "codec.h"

#include <stdlib.h>
#include <string.h>

#include "protocol.h"

/* A cursor over one payload; any read past the end sets bad. */
struct rd {
	const uint8_t *p;
	size_t len, pos;
	int bad;
	char *arena;     /* string copies go here; never larger than the payload */
	size_t arena_pos;
	int has_nul;
};

static const uint8_t *take(struct rd *r, size_t n)
{
	if (r->bad || r->len - r->pos < n) {
		r->bad = 1;
		return NULL;
	}
	const uint8_t *q = r->p + r->pos;
	r->pos += n;
	return q;
}

static uint8_t get_u8(struct rd *r)
{
	const uint8_t *q = take(r, 1);
	return q ? q[0] : 0;
}

static uint16_t get_u16(struct rd *r)
{
	const uint8_t *q = take(r, 2);
	return q ? (uint16_t)(q[0] << 8 | q[1]) : 0;
}

static uint32_t get_u32(struct rd *r)
{
	const uint8_t *q = take(r, 4);
	return q ? (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3] : 0;
}

/* A str (u32 len + bytes), copied NUL-terminated into the arena. Each string costs len + 4 bytes of
 * payload and len + 1 bytes of arena, so an arena the size of the payload always suffices. */
static char *get_str(struct rd *r)
{
	uint32_t n = get_u32(r);
	const uint8_t *q = take(r, n);
	if (!q)
		return NULL;
	char *s = r->arena + r->arena_pos;
	memcpy(s, q, n);
	s[n] = 0;
	r->arena_pos += (size_t)n + 1;
	if (memchr(q, 0, n))
		r->has_nul = 1;
	return s;
}

/* Read count strings into a fresh NULL-terminated array. */
static char **get_strv(struct rd *r, uint16_t count)
{
	if (r->bad || (size_t)count * 4 > r->len - r->pos) {
		r->bad = 1;
		return NULL;
	}
	char **v = calloc((size_t)count + 1, sizeof *v);
	if (!v) {
		r->bad = 1;
		return NULL;
	}
	for (uint16_t i = 0; i < count && !r->bad; i++)
		v[i] = get_str(r);
	return v;
}

int codec_frame_length(const uint8_t hdr[4], uint32_t *len)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	*len = n;
	return n >= 1 && n <= MAX_FRAME ? 0 : -1;
}

static void decode_body(struct rd *r, struct msg *m)
{
	switch (m->type) {
	case MSG_HELLO:
		m->u.hello.version = get_u16(r);
		m->u.hello.max_frame = get_u32(r);
		break;
	case MSG_MOUNT:
		m->id = get_u32(r);
		m->u.mount.lower_dev = get_str(r);
		m->u.mount.lower_fs = get_str(r);
		m->u.mount.upper_dev = get_str(r);
		m->u.mount.upper_fs = get_str(r);
		m->u.mount.hostname = get_str(r);
		m->u.mount.wall_clock_ms = (uint64_t)get_u32(r) << 32;
		m->u.mount.wall_clock_ms |= get_u32(r);
		m->u.mount.volc = get_u16(r);
		m->u.mount.volv = get_strv(r, m->u.mount.volc);
		if (m->u.mount.volc % 3 != 0 || m->u.mount.volc > 3 * MAX_VOLUMES)
			r->bad = 1;
		m->u.mount.seed_len = (uint32_t)(r->len - r->pos);
		m->u.mount.seed = take(r, m->u.mount.seed_len);
		if (m->u.mount.seed_len > 512)
			r->bad = 1;
		break;
	case MSG_FRESHEN:
		m->id = get_u32(r);
		m->u.freshen.hostname = get_str(r);
		m->u.freshen.wall_clock_ms = (uint64_t)get_u32(r) << 32;
		m->u.freshen.wall_clock_ms |= get_u32(r);
		m->u.freshen.seed_len = (uint32_t)(r->len - r->pos);
		m->u.freshen.seed = take(r, m->u.freshen.seed_len);
		if (m->u.freshen.seed_len > 512)
			r->bad = 1;
		break;
	case MSG_EXEC:
		m->id = get_u32(r);
		m->u.exec.flags = get_u8(r);
		m->u.exec.rows = get_u16(r);
		m->u.exec.cols = get_u16(r);
		m->u.exec.timeout_ms = get_u32(r);
		m->u.exec.workdir = get_str(r);
		m->u.exec.argc = get_u16(r);
		m->u.exec.argv = get_strv(r, m->u.exec.argc);
		m->u.exec.envc = get_u16(r);
		m->u.exec.envp = get_strv(r, m->u.exec.envc);
		m->u.exec.user = get_str(r);
		break;
	case MSG_STDIN:
		m->id = get_u32(r);
		m->u.data.len = (uint32_t)(r->len - r->pos);
		m->u.data.data = take(r, m->u.data.len);
		if (m->u.data.len < 1 || m->u.data.len > MAX_DATA)
			r->bad = 1;
		break;
	case MSG_SIGNAL:
		m->id = get_u32(r);
		m->u.signal.signo = (int32_t)get_u32(r);
		break;
	case MSG_RESIZE:
		m->id = get_u32(r);
		m->u.resize.rows = get_u16(r);
		m->u.resize.cols = get_u16(r);
		break;
	case MSG_OUTPUT_CREDIT:
		m->id = get_u32(r);
		m->u.credit.bytes = get_u32(r);
		break;
	case MSG_STDIN_CLOSE:
	case MSG_PING:
	case MSG_SHUTDOWN:
	case MSG_STATS:
	case MSG_SYNC:
		m->id = get_u32(r);
		break;
	default:
		r->bad = 1; /* unknown type */
	}
}

static int known_type(uint8_t type)
{
	return type >= MSG_HELLO && type <= MSG_SYNC;
}

int codec_decode(uint8_t type, const uint8_t *payload, size_t len, struct msg *m)
{
	memset(m, 0, sizeof *m);
	m->type = type;
	if (!known_type(type)) {
		if (len < 4)
			return -1;
		struct rd r = { .p = payload, .len = len };
		m->id = get_u32(&r);
		return DECODE_UNKNOWN;
	}
	struct rd r = { .p = payload, .len = len };
	if (type == MSG_MOUNT || type == MSG_EXEC || type == MSG_FRESHEN) { /* the messages with strings */
		r.arena = malloc(len + 1);
		if (!r.arena)
			return -1;
	}
	m->arena = r.arena;
	decode_body(&r, m);
	m->has_nul = r.has_nul;
	if (r.bad || r.pos != r.len) { /* short, or trailing bytes */
		msg_free(m);
		return -1;
	}
	return 0;
}

void msg_free(struct msg *m)
{
	if (m->type == MSG_EXEC) {
		free(m->u.exec.argv);
		free(m->u.exec.envp);
	}
	if (m->type == MSG_MOUNT)
		free(m->u.mount.volv);
	free(m->arena);
	memset(m, 0, sizeof *m);
}

static uint8_t *put_u32(uint8_t *d, uint32_t v)
{
	d[0] = (uint8_t)(v >> 24);
	d[1] = (uint8_t)(v >> 16);
	d[2] = (uint8_t)(v >> 8);
	d[3] = (uint8_t)v;
	return d + 4;
}

static uint8_t *put_header(uint8_t *d, uint8_t type, uint32_t payload_len)
{
	d = put_u32(d, payload_len + 1);
	*d++ = type;
	return d;
}

size_t enc_hello_ack(uint8_t *dst)
{
	uint32_t vlen = (uint32_t)strlen(AGENT_VERSION);
	uint8_t *d = put_header(dst, MSG_HELLO_ACK, 2 + 4 + 4 + vlen);
	*d++ = (uint8_t)(PORTAL_VERSION >> 8);
	*d++ = (uint8_t)PORTAL_VERSION;
	d = put_u32(d, MAX_FRAME);
	d = put_u32(d, vlen);
	memcpy(d, AGENT_VERSION, vlen);
	return (size_t)(d + vlen - dst);
}

size_t enc_id(uint8_t *dst, uint8_t type, uint32_t id)
{
	uint8_t *d = put_header(dst, type, 4);
	d = put_u32(d, id);
	return (size_t)(d - dst);
}

size_t enc_id_u32(uint8_t *dst, uint8_t type, uint32_t id, uint32_t v)
{
	uint8_t *d = put_header(dst, type, 8);
	d = put_u32(d, id);
	d = put_u32(d, v);
	return (size_t)(d - dst);
}

size_t enc_exit(uint8_t *dst, uint32_t id, int32_t status, int timed_out)
{
	uint8_t *d = put_header(dst, MSG_EXIT, 9);
	d = put_u32(d, id);
	d = put_u32(d, (uint32_t)status);
	*d++ = timed_out ? 1 : 0;
	return (size_t)(d - dst);
}

size_t enc_error(uint8_t *dst, uint32_t id, uint32_t code, const char *message)
{
	size_t n = strlen(message);
	if (n > ENC_ERROR_MSG_MAX)
		n = ENC_ERROR_MSG_MAX;
	uint8_t *d = put_header(dst, MSG_ERROR, 12 + (uint32_t)n);
	d = put_u32(d, id);
	d = put_u32(d, code);
	d = put_u32(d, (uint32_t)n);
	memcpy(d, message, n);
	return (size_t)(d + n - dst);
}

void enc_data_header(uint8_t *dst, uint8_t type, uint32_t id, uint32_t len)
{
	put_u32(put_header(dst, type, 4 + len), id);
}

static uint8_t *put_u64(uint8_t *d, uint64_t v)
{
	return put_u32(put_u32(d, (uint32_t)(v >> 32)), (uint32_t)v);
}

size_t enc_stats_reply(uint8_t *dst, uint32_t id, uint64_t rx_bytes, uint64_t tx_bytes, uint32_t tcp_conns,
		       uint64_t tcp_errors)
{
	uint8_t *d = put_header(dst, MSG_STATS_REPLY, 4 + 8 + 8 + 4 + 8);
	d = put_u32(d, id);
	d = put_u64(d, rx_bytes);
	d = put_u64(d, tx_bytes);
	d = put_u32(d, tcp_conns);
	d = put_u64(d, tcp_errors);
	return (size_t)(d - dst);
}
