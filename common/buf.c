/* buf.c — the bounded byte buffer. */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "kyso_err.h"

void
kbuf_init(struct kbuf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

int
kbuf_reserve(struct kbuf *b, size_t extra)
{
	size_t want, ncap;
	unsigned char *n;

	if (extra > b->max || b->len > b->max - extra)
		return KYSO_ERR_TOO_LARGE;
	want = b->len + extra;
	if (want <= b->cap)
		return KYSO_OK;
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	/* never realloc: the old block may hold secrets and must be wiped */
	if ((n = malloc(ncap)) == NULL)
		return KYSO_ERR_NOMEM;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = ncap;
	return KYSO_OK;
}

int
kbuf_append(struct kbuf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return KYSO_OK;
	if ((r = kbuf_reserve(b, n)) != KYSO_OK)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return KYSO_OK;
}

void
kbuf_consume(struct kbuf *b, size_t n)
{
	if (n >= b->len) {
		kbuf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	explicit_bzero(b->data + b->len - n, n);
	b->len -= n;
}

void
kbuf_reset(struct kbuf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->len);
	b->len = 0;
}

void
kbuf_free(struct kbuf *b)
{
	if (b->data != NULL) {
		explicit_bzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
