/*
 * nm_frame.h — the browsers' native-messaging framing, as Chromium, Google Chrome and
 * Firefox speak it to a host on its standard input and output: each message is a 32-bit
 * length in the machine's own byte order, then that many bytes of UTF-8 JSON.
 *
 * Limits: the host reads messages of at most NM_IN_MAX bytes, and refuses a larger one
 * by its length, before reading a byte of its body (the stream cannot be trusted after
 * that: the host answers and ends). It writes messages of at most NM_OUT_MAX bytes, the
 * largest the browsers accept from a host (1 MiB; a larger one makes them close the
 * port).
 */
#ifndef KYSO_NM_FRAME_H
#define KYSO_NM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define NM_IN_MAX (1024 * 1024)
#define NM_OUT_MAX (1024 * 1024)

/*
 * Reads one message from fd (blocking; EINTR is retried). Returns KYSO_OK with *body
 * (malloc'd, NUL-terminated; free it) and *len (0 for an empty message);
 * KYSO_ERR_DISCONNECTED at a clean end of input (no byte of a new message);
 * KYSO_ERR_PROTOCOL when the input ends inside a message (truncated);
 * KYSO_ERR_TOO_LARGE when the length says more than NM_IN_MAX (*len holds it; the body
 * is not read); KYSO_ERR_IO (errno kept) or KYSO_ERR_NOMEM.
 */
int nm_read(int fd, char **body, uint32_t *len);

/*
 * Writes json (len bytes) as one message to fd, in one piece from the reader's view (a
 * write may be partial: the rest follows). Returns KYSO_OK; KYSO_ERR_TOO_LARGE when len
 * exceeds NM_OUT_MAX (nothing is written); KYSO_ERR_IO (the browser closed the pipe:
 * EPIPE, with SIGPIPE ignored).
 */
int nm_write(int fd, const char *json, size_t len);

#endif
