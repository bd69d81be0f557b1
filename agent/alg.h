/*
 * alg.h — the signature algorithms of protocol v1 and how each maps onto a token's
 * mechanisms: which mechanism to use, what to feed it, and how to shape its output.
 */
#ifndef KYSO_ALG_H
#define KYSO_ALG_H

#include <stddef.h>

#include "p11.h"

enum key_type { KEY_RSA, KEY_EC, KEY_ED25519, KEY_OTHER };

enum alg_scheme { SCHEME_PKCS1, SCHEME_PSS, SCHEME_ECDSA, SCHEME_EDDSA };

struct alg {
	const char *name;      /* "rsa-pss-sha256" */
	enum key_type key;
	enum alg_scheme scheme;
	unsigned hash_bits;    /* 256, 384, 512; 0 for ed25519 (signs the data itself) */
};

/* What the token is asked to do for one signature. */
enum plan_input { INPUT_DATA, INPUT_DIGEST, INPUT_DIGEST_INFO };

struct alg_plan {
	enum p11_mech mech;
	enum plan_input input;  /* what the mechanism takes */
};

/* Returns the algorithm named name, or NULL. */
const struct alg *alg_find(const char *name);

/* Returns 1 if name names a SHA-1 algorithm (refused on purpose), else 0. */
int alg_is_sha1(const char *name);

/* Returns the number of algorithms and fills *list with the table. */
size_t alg_all(const struct alg **list);

/*
 * Chooses the mechanism for a with a key of type key on a token whose signing mechanisms
 * are mechs (P11_MECH_BIT set). have_data says the caller sent the data, not a digest:
 * a combined hash-and-sign mechanism is preferred then. Returns KYSO_OK with *plan, or
 * KYSO_ERR_UNSUPPORTED_ALG.
 */
int alg_plan(const struct alg *a, enum key_type key, unsigned mechs, int have_data,
    struct alg_plan *plan);

/* Returns 1 if a can be used with this key on this token (with data or a digest). */
int alg_usable(const struct alg *a, enum key_type key, unsigned mechs);

/* Returns the digest length of a in bytes, 0 if it takes no digest (ed25519). */
size_t alg_digest_len(const struct alg *a);

/*
 * Hashes len bytes of data with the SHA-2 of the given size into out (64 bytes room).
 * Returns KYSO_OK or KYSO_ERR_CRYPTO.
 */
int alg_hash(unsigned bits, const unsigned char *data, size_t len, unsigned char *out);

/*
 * Builds the PKCS#1 v1.5 DigestInfo for a digest of the given SHA-2 size: the DER prefix
 * followed by the digest. out needs 19 + 64 bytes. Returns the length written, or 0 if
 * bits or dlen is wrong.
 */
size_t alg_digest_info(unsigned bits, const unsigned char *digest, size_t dlen,
    unsigned char *out);

/*
 * Converts a raw ECDSA signature r||s (as PKCS#11 returns it) into the X9.62 DER
 * SEQUENCE { r INTEGER, s INTEGER }. Returns KYSO_OK with *der (malloc'd) and *derlen,
 * KYSO_ERR_INVALID_ARG if len is odd or zero, or KYSO_ERR_CRYPTO.
 */
int alg_ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der,
    size_t *derlen);

#endif
