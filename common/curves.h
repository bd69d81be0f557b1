/*
 * curves.h — the elliptic curves kyso knows, in one table, identified as OpenSSL
 * identifies them (their NID, and the DER OIDs OpenSSL's OBJ_* functions give), so that
 * certificates (OpenSSL group names), token keys (CKA_EC_PARAMS) and kyso-admin's key
 * types all name a curve from the same row.
 */
#ifndef KYSO_CURVES_H
#define KYSO_CURVES_H

#include <stddef.h>

enum curve_id { CURVE_P256, CURVE_P384, CURVE_P521, CURVE_ED25519, CURVE_COUNT };

struct curve {
	enum curve_id id;
	int nid;              /* NID_X9_62_prime256v1, NID_secp384r1, NID_secp521r1, NID_ED25519 */
	const char *nist;     /* "P-256", "P-384", "P-521", "Ed25519": what listings show */
	const char *kyso;     /* kyso-admin's key type: "ec:p256", "ec:p384", "ec:p521", "ed25519" */
	const char *p11_name; /* PKCS#11 3.0's printable name of the curve, or NULL */
	unsigned bits;
};

/* Returns the row of id; never NULL for an id below CURVE_COUNT. */
const struct curve *curve_get(enum curve_id id);

/*
 * Returns the curve an OpenSSL group name names (its short name, "prime256v1", or its
 * NIST name, "P-256"), or NULL for a curve kyso does not know.
 */
const struct curve *curve_by_group(const char *group);

/*
 * Returns the curve of a key's CKA_EC_PARAMS: a DER OBJECT IDENTIFIER, or for Edwards
 * curves PKCS#11 3.0's DER PrintableString ("edwards25519"); NULL if unknown.
 */
const struct curve *curve_by_params(const unsigned char *der, size_t len);

/*
 * Writes c's CKA_EC_PARAMS into out (at most len bytes): the DER OID, or with printable
 * the PrintableString form (for an Edwards curve whose tokens want it: SoftHSM 2.6).
 * Returns the length, or 0 if it does not fit.
 */
size_t curve_params(const struct curve *c, int printable, unsigned char *out, size_t len);

#endif
