/*
 * buf.h — a bounded byte buffer: every byte that crosses the socket lives in one.
 *
 * A kbuf never grows past the maximum given at init; the check is made before memory is
 * allocated, in an order that cannot overflow. Freed buffers are wiped, since requests may
 * carry a PIN.
 */
#ifndef KYSO_BUF_H
#define KYSO_BUF_H

#include <stddef.h>

struct kbuf {
	unsigned char *data;
	size_t len;  /* bytes held */
	size_t cap;  /* bytes allocated */
	size_t max;  /* hard limit on len */
};

/* Initialises an empty buffer that will refuse to hold more than max bytes. */
void kbuf_init(struct kbuf *b, size_t max);

/*
 * Makes room for extra more bytes. Returns KYSO_OK, KYSO_ERR_TOO_LARGE if len + extra
 * would exceed the maximum, or KYSO_ERR_NOMEM.
 */
int kbuf_reserve(struct kbuf *b, size_t extra);

/* Appends n bytes. Returns KYSO_OK, KYSO_ERR_TOO_LARGE or KYSO_ERR_NOMEM. */
int kbuf_append(struct kbuf *b, const void *p, size_t n);

/* Drops the first n bytes (n <= len), wiping the vacated tail. */
void kbuf_consume(struct kbuf *b, size_t n);

/* Empties the buffer, wiping its contents; memory is kept for reuse. */
void kbuf_reset(struct kbuf *b);

/* Wipes and frees the memory; the buffer is left empty and reusable. */
void kbuf_free(struct kbuf *b);

#endif
