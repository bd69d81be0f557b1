/* wire.c — message framing and JSON rules shared by the agent and libkyso. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "monotime.h"
#include "wire.h"

int
wire_frame_find_at(const struct kbuf *in, size_t off, size_t *len)
{
	const unsigned char *nul;

	*len = 0;
	if (off >= in->len)
		return 0;
	nul = memchr(in->data + off, '\0', in->len - off);
	if (nul != NULL) {
		*len = (size_t)(nul - (in->data + off));
		return 1;
	}
	/* a message that started at 0 and filled the buffer can never end */
	return off == 0 && in->len >= in->max ? KYSO_ERR_TOO_LARGE : 0;
}

int
wire_frame_find(const struct kbuf *in, size_t *len)
{
	return wire_frame_find_at(in, 0, len);
}

const char *
wire_json_fault(const json_error_t *jerr)
{
	switch (json_error_code(jerr)) {
	case json_error_out_of_memory:
		return "out of memory";
	case json_error_stack_overflow:
		return "nested too deeply";
	case json_error_invalid_utf8:
		return "invalid UTF-8";
	case json_error_premature_end_of_input:
		return "the text ends too early";
	case json_error_end_of_input_expected:
		return "text after the JSON value";
	case json_error_null_character:
		return "a \\u0000 (NUL) escape in a string";
	case json_error_null_byte_in_key:
		return "a NUL byte in a key";
	case json_error_duplicate_key:
		return "a duplicate key";
	case json_error_numeric_overflow:
		return "a number out of range";
	case json_error_invalid_syntax:
		return "invalid syntax (a control character, an unknown escape, a missing "
		    "comma or quote...)";
	default:
		return "invalid JSON";
	}
}

int
wire_parse(const char *text, size_t len, json_t **obj, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o;

	*obj = NULL;
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		/* jansson's own text quotes the input near the fault, and the input may hold a
		 * PIN: name only the kind of fault and where it is */
		snprintf(err, errlen, "malformed JSON at line %d, column %d: %s", jerr.line,
		    jerr.column, wire_json_fault(&jerr));
		explicit_bzero(&jerr, sizeof(jerr));
		return KYSO_ERR_PROTOCOL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "a message must be a JSON object");
		return KYSO_ERR_PROTOCOL;
	}
	*obj = o;
	return KYSO_OK;
}

struct dump_ctx {
	struct kbuf *out;
	int r;
};

static int
dump_cb(const char *p, size_t n, void *data)
{
	struct dump_ctx *c = data;

	if ((c->r = kbuf_append(c->out, p, n)) != KYSO_OK)
		return -1;
	return 0;
}

int
wire_append(struct kbuf *out, const json_t *obj)
{
	struct dump_ctx c = { out, KYSO_OK };
	size_t start = out->len;

	if (json_dump_callback(obj, dump_cb, &c, JSON_COMPACT) != 0 ||
	    (c.r = kbuf_append(out, "", 1)) != KYSO_OK) {
		out->len = start;
		return c.r != KYSO_OK ? c.r : KYSO_ERR_NOMEM;
	}
	return KYSO_OK;
}

long
wire_read_some(int fd, struct kbuf *in)
{
	size_t room;
	ssize_t n;
	int r;

	if (in->len >= in->max)
		return KYSO_ERR_TOO_LARGE;
	room = in->max - in->len;
	if (room > WIRE_READ_CHUNK)
		room = WIRE_READ_CHUNK;
	if ((r = kbuf_reserve(in, room)) != KYSO_OK)
		return r;
	do
		n = read(fd, in->data + in->len, room);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? WIRE_AGAIN : KYSO_ERR_IO;
	in->len += (size_t)n;
	return (long)n;
}

int
wire_write_some(int fd, struct kbuf *out)
{
	while (out->len > 0) {
		ssize_t n = send(fd, out->data, out->len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return WIRE_AGAIN;
			return KYSO_ERR_IO;
		}
		kbuf_consume(out, (size_t)n);
	}
	return KYSO_OK;
}

/* Milliseconds left until deadline (taken with CLOCK_MONOTONIC), 0 if past; -1: none. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	if (deadline == NULL)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = ((long long)(deadline->tv_sec - now.tv_sec) * 1000000000LL +
	    (deadline->tv_nsec - now.tv_nsec) + 999999) / 1000000;  /* rounded up */
	return ms <= 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/* The deadline timeout_ms from now into *d: d, or NULL for no limit (timeout_ms < 0). */
static const struct timespec *
deadline_in(struct timespec *d, int timeout_ms)
{
	if (timeout_ms < 0)
		return NULL;
	*d = clock_after_ms(CLOCK_MONOTONIC, timeout_ms);
	return d;
}

int
wire_send_all(int fd, const unsigned char *p, size_t len)
{
	return wire_send_all_ms(fd, p, len, -1);
}

int
wire_send_all_ms(int fd, const unsigned char *p, size_t len, int timeout_ms)
{
	struct timespec dl;
	const struct timespec *deadline = deadline_in(&dl, timeout_ms);

	while (len > 0) {
		/* with a limit, never asleep in send on a blocking socket */
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | (deadline != NULL ? MSG_DONTWAIT : 0));

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				int r = poll(&pfd, 1, ms_left(deadline));

				if (r == 0 && ms_left(deadline) == 0)
					return KYSO_ERR_TIMEOUT;
				continue;
			}
			return KYSO_ERR_IO;
		}
		p += n;
		len -= (size_t)n;
	}
	return KYSO_OK;
}

int
wire_recv(int fd, struct kbuf *in, json_t **obj)
{
	return wire_recv_ms(fd, in, obj, -1);
}

int
wire_recv_ms(int fd, struct kbuf *in, json_t **obj, int timeout_ms)
{
	struct timespec dl;
	const struct timespec *deadline = deadline_in(&dl, timeout_ms);
	char err[256];
	size_t len;
	long n;
	int r;

	*obj = NULL;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		if ((r = wire_frame_find(in, &len)) < 0)
			return r;
		if (r == 1)
			break;
		/* wait in poll, not asleep in read: the kernel wakes a thread asleep in read
		 * on a Unix socket each time the other end reads what this end sent (its
		 * write-space wake-up), i.e. as soon as the agent reads the call, for nothing;
		 * poll waits for input only */
		if ((r = poll(&pfd, 1, ms_left(deadline))) < 0 && errno != EINTR)
			return KYSO_ERR_IO;
		if (r == 0) {
			if (ms_left(deadline) == 0)
				return KYSO_ERR_TIMEOUT;
			continue;
		}
		n = wire_read_some(fd, in);
		if (n == WIRE_AGAIN)
			continue;
		if (n == 0)
			return KYSO_ERR_DISCONNECTED;
		if (n < 0)
			return (int)n;
	}
	r = wire_parse((const char *)in->data, len, obj, err, sizeof(err));
	kbuf_consume(in, len + 1);
	return r;
}
