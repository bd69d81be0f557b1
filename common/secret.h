/*
 * secret.h — a PIN or other secret held in locked memory that is wiped when freed.
 *
 * The bytes live in a slot of an arena of 64 KiB mapped once, at the first secret, locked
 * (mlock), excluded from core dumps (MADV_DONTDUMP) and wiped in a forked child
 * (MADV_WIPEONFORK): a secret costs no system call. A slot is wiped when it is freed. When
 * the arena is full, a secret gets mmap'd, mlock'd pages of its own, as before. If the
 * memory lock limit forbids mlock the secrets are still kept apart, not dumped and wiped,
 * and a warning is logged once. Thread-safe.
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

/* Returns 1 when s's memory is locked (mlock worked), else 0. */
int secret_locked(const struct kyso_secret *s);

/* Returns 1 when s is a slot of the arena, 0 when it has pages of its own. */
int secret_in_arena(const struct kyso_secret *s);

/* Wipes and frees s (its slot, or unlocks and unmaps its pages); NULL is allowed. */
void secret_free(struct kyso_secret *s);

#endif
