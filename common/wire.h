/*
 * wire.h — the one way kyso reads and writes socket messages.
 *
 * The protocol is varlink: each message is one JSON object followed by a NUL byte. Bytes are
 * gathered in a bounded kbuf, so a message larger than the cap is refused before it is
 * buffered whole. The agent uses the non-blocking calls from its event loop; libkyso uses
 * the blocking ones. Both share the framing and JSON rules below.
 */
#ifndef KYSO_WIRE_H
#define KYSO_WIRE_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* Largest call the agent accepts, NUL included. */
#define KYSO_WIRE_MAX (1024 * 1024)

/* Largest reply the agent sends (a listing of many certificates), NUL included. */
#define KYSO_WIRE_REPLY_MAX (16 * 1024 * 1024)

/*
 * Looks for one complete message at the start of in. Returns 1 with *len set to the length
 * of the JSON text (the NUL at in->data[*len]), 0 if the message is not complete yet, or
 * KYSO_ERR_TOO_LARGE if the buffer is full without a NUL.
 */
int wire_frame_find(const struct kbuf *in, size_t *len);

/*
 * The same for the message starting at byte off of in (off <= in->len): the caller may
 * serve several messages and consume them from the buffer at once.
 */
int wire_frame_find_at(const struct kbuf *in, size_t off, size_t *len);

/*
 * Parses the JSON text of one message (len bytes, no NUL inside). Returns KYSO_OK with
 * *obj (caller json_decref's), or KYSO_ERR_PROTOCOL with a sentence in err naming the
 * line, column and kind of fault (never quoting the input: it may hold a PIN), or saying
 * "not a JSON object".
 */
int wire_parse(const char *text, size_t len, json_t **obj, char *err, size_t errlen);

/* Returns a sentence for the kind of fault jansson found, quoting nothing of the input. */
const char *wire_json_fault(const json_error_t *jerr);

/*
 * Appends obj serialised compactly and a NUL to out. Returns KYSO_OK, KYSO_ERR_TOO_LARGE
 * if it would exceed out's cap, or KYSO_ERR_NOMEM.
 */
int wire_append(struct kbuf *out, const json_t *obj);

/* Returned by the non-blocking calls when the socket is not ready. */
#define WIRE_AGAIN (-1000)

/* The most wire_read_some asks for at once. */
#define WIRE_READ_CHUNK 65536

/*
 * Reads what is available from fd into in (at most WIRE_READ_CHUNK bytes), never past
 * in's cap. Returns the number of bytes read (> 0), 0 on end of file, WIRE_AGAIN when
 * nothing is ready, KYSO_ERR_TOO_LARGE when in is already full, or KYSO_ERR_IO. Fewer
 * bytes than asked for means the socket had no more at that moment.
 */
long wire_read_some(int fd, struct kbuf *in);

/*
 * Writes as much of out as the fd takes and consumes it. Returns KYSO_OK when out is
 * empty, WIRE_AGAIN when bytes remain, or KYSO_ERR_IO (peer gone, EPIPE).
 */
int wire_write_some(int fd, struct kbuf *out);

/* Blocking: writes all of buf. Returns KYSO_OK or KYSO_ERR_IO. */
int wire_send_all(int fd, const unsigned char *p, size_t len);

/* wire_send_all waiting at most timeout_ms (-1: no limit) for the peer to take it all:
 * else KYSO_ERR_TIMEOUT. */
int wire_send_all_ms(int fd, const unsigned char *p, size_t len, int timeout_ms);

/*
 * Blocking: reads until one message is complete, parses it, and consumes it from in.
 * Returns KYSO_OK with *obj, KYSO_ERR_DISCONNECTED, KYSO_ERR_TOO_LARGE, KYSO_ERR_PROTOCOL
 * or KYSO_ERR_IO.
 */
int wire_recv(int fd, struct kbuf *in, json_t **obj);

/* wire_recv waiting at most timeout_ms (-1: no limit) for the whole message: else
 * KYSO_ERR_TIMEOUT (what came of it stays in in). */
int wire_recv_ms(int fd, struct kbuf *in, json_t **obj, int timeout_ms);

#endif
