/*
 * certinfo.h — what kyso tells about a certificate, read from its DER with OpenSSL.
 */
#ifndef KYSO_CERTINFO_H
#define KYSO_CERTINFO_H

#include <stddef.h>

#include "alg.h"

struct certinfo {
	char id[65];        /* hex SHA-256 of the DER */
	char *subject;      /* RFC 2253 */
	char *issuer;
	char *serial;       /* lower-case hex */
	char not_before[21];/* RFC 3339 UTC: 2026-01-31T12:00:00Z */
	char not_after[21];
	enum key_type key_type;
	int key_bits;
	const char *curve;  /* static: "P-256", "Ed25519", "" */
	unsigned key_usage; /* KU_* bits from OpenSSL; 0 with has_key_usage = 0 if absent */
	int has_key_usage;
};

/*
 * Parses a DER certificate. Returns KYSO_OK with *ci filled (free with certinfo_clear),
 * KYSO_ERR_INVALID_ARG if der is not an X.509 certificate, or KYSO_ERR_NOMEM.
 */
int certinfo_parse(const unsigned char *der, size_t len, struct certinfo *ci);

/* Frees the strings of ci. */
void certinfo_clear(struct certinfo *ci);

/* Returns the name of a key type: "rsa", "ec", "ed25519", "other". */
const char *certinfo_key_type_name(enum key_type t);

/*
 * Calls fn(name, arg) for each key usage set ("digitalSignature", "nonRepudiation", ...),
 * in the order of RFC 5280.
 */
void certinfo_key_usages(const struct certinfo *ci, void (*fn)(const char *, void *),
    void *arg);

#endif
