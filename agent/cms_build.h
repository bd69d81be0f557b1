/*
 * cms_build.h — a detached CMS SignedData (RFC 5652) around a signature made elsewhere.
 *
 * The token holds the key, so the structure is built in two steps: cms_build_start makes
 * the SignedData with its signed attributes and returns their DER (the SET OF that is
 * signed, RFC 5652 §5.4); the token signs it; cms_build_finish puts the signature value
 * in and encodes the ContentInfo. Everything is OpenSSL's CMS API and ASN.1 templates:
 * the SignerInfo is made with the certificate's public key standing in for the private
 * key (CMS_PARTIAL), so OpenSSL never signs anything itself.
 *
 * The signed attributes are those of CAdES-B-B (ETSI EN 319 122-1) and of the CMS inside
 * a PAdES baseline signature (ETSI EN 319 142-1):
 *   content-type               id-data, or the document's content type
 *   message-digest             the document's hash, as given
 *   signing-certificate-v2     ESS (RFC 5035): SHA-256 of the certificate, with its
 *                              issuer and serial number
 *   signing-time               CAdES only (PAdES keeps the claimed time in the PDF's /M)
 * The SignedData holds the signer's certificate and the CA certificates of its chain that
 * were given (the token's), and no content (detached). Algorithms: the digest algorithm
 * is the document's SHA-2; the signature algorithm is rsaEncryption (PKCS#1 v1.5),
 * RSASSA-PSS with its parameters (MGF1 with the same hash, salt as long as the hash),
 * ecdsa-with-SHA* (the signature a DER Ecdsa-Sig-Value), or id-Ed25519 (RFC 8419: the
 * digest algorithm must then be SHA-512, and the token signs the attributes' DER itself).
 */
#ifndef KYSO_CMS_BUILD_H
#define KYSO_CMS_BUILD_H

#include <stddef.h>
#include <time.h>

#include "alg.h"

enum cms_profile { CMS_PROFILE_CADES, CMS_PROFILE_PADES };

/* A certificate that signs, and the CA certificates to ship with it. */
struct cms_signer;

/* A DER certificate (for the pool of CA certificates a chain is picked from). */
struct cms_der {
	const unsigned char *der;
	size_t len;
};

/*
 * Parses the signer's DER certificate and picks its chain from pool (certificates that
 * are not in the chain, or not certificates at all, are left out): the issuer of each
 * certificate, checked with X509_check_issued, up to a self-signed one or 8 levels.
 * Returns KYSO_OK with *out (free with cms_signer_free), KYSO_ERR_INVALID_ARG if der is
 * not a certificate, or KYSO_ERR_NOMEM.
 */
int cms_signer_new(const unsigned char *der, size_t len, const struct cms_der *pool,
    size_t npool, struct cms_signer **out);

/* Returns how many CA certificates the signer ships (its chain found in the pool). */
size_t cms_signer_chain_len(const struct cms_signer *s);

/* Frees s; NULL is allowed. Builds started with s keep what they need of it. */
void cms_signer_free(struct cms_signer *s);

/* What one signature covers. */
struct cms_doc {
	enum cms_profile profile;
	enum alg_scheme scheme;       /* must fit the certificate's key */
	unsigned hash_bits;           /* 256, 384, 512: the document's digest algorithm */
	const unsigned char *digest;  /* hash_bits / 8 bytes: the hash of the content */
	const char *content_type;     /* dotted OID; NULL: id-data (1.2.840.113549.1.7.1) */
	time_t signing_time;          /* CAdES: the signing-time attribute (UTC) */
};

/* One SignedData waiting for its signature value. */
struct cms_build;

/*
 * Builds the SignedData for d signed by s. Returns KYSO_OK with *out (free with
 * cms_build_free) and in *tbs (malloc'd) the DER of the signed attributes, which the key
 * signs: hashed with the document's hash for RSA and ECDSA, as it is for Ed25519. Returns
 * KYSO_ERR_INVALID_ARG (a scheme that does not fit the key, Ed25519 without SHA-512, a
 * digest or content type that is wrong), KYSO_ERR_CRYPTO or KYSO_ERR_NOMEM.
 */
int cms_build_start(const struct cms_signer *s, const struct cms_doc *d,
    struct cms_build **out, unsigned char **tbs, size_t *tbs_len);

/*
 * Sets the signature value (PKCS#1 or PSS bytes, an ECDSA DER Ecdsa-Sig-Value, or the 64
 * bytes of Ed25519) and encodes the ContentInfo. Returns KYSO_OK with *der (malloc'd)
 * and *len, KYSO_ERR_INVALID_ARG for an empty signature, KYSO_ERR_CRYPTO or
 * KYSO_ERR_NOMEM.
 */
int cms_build_finish(struct cms_build *b, const unsigned char *sig, size_t siglen,
    unsigned char **der, size_t *len);

/* Frees b; NULL is allowed. */
void cms_build_free(struct cms_build *b);

#endif
