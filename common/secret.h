/*
 * secret.h — a PIN or other secret held in locked memory that is wiped when freed.
 *
 * The bytes live in their own mmap'd, mlock'd pages excluded from core dumps
 * (MADV_DONTDUMP). If the memory lock limit forbids mlock the secret is still kept apart
 * and wiped, and a warning is logged once.
 */
#ifndef KYSO_SECRET_H
#define KYSO_SECRET_H

#include <stddef.h>

struct kyso_secret;

/*
 * Copies len bytes of src into a new secret (NUL-terminated for convenience).
 * Returns KYSO_OK with *out set, KYSO_ERR_INVALID_ARG if len is over 4 KiB, or
 * KYSO_ERR_NOMEM.
 */
int secret_new(const void *src, size_t len, struct kyso_secret **out);

/*
 * Makes a new secret of len zero bytes to be filled in place (secret_buf): a message
 * carrying a PIN built, or received, straight into locked memory. Returns KYSO_OK with
 * *out, KYSO_ERR_INVALID_ARG (over 4 KiB) or KYSO_ERR_NOMEM.
 */
int secret_alloc(size_t len, struct kyso_secret **out);

/* Returns the secret's bytes for writing (len bytes and a NUL); valid until secret_free. */
unsigned char *secret_buf(struct kyso_secret *s);

/* Returns the secret's bytes (NUL-terminated); valid until secret_free. */
const char *secret_data(const struct kyso_secret *s);

/* Returns the secret's length in bytes, not counting the terminating NUL. */
size_t secret_len(const struct kyso_secret *s);

/* Wipes, unlocks and frees s; NULL is allowed. */
void secret_free(struct kyso_secret *s);

#endif
