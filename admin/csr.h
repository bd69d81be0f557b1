/*
 * csr.h — PKCS#10 certificate requests for a key held on a token (kyso-admin `csr`).
 *
 * The request is built with OpenSSL around the key's public half; the token signs it
 * through a callback, so the private key never exists in this process. Nothing here
 * includes Cryptoki: the callback is where pkcs11/ comes in.
 *
 * Every function that can fail returns a kyso_err code and, when err is not NULL, writes a
 * sentence (no trailing period) into err[errlen] that names what was wrong, fit to show
 * to an administrator as is (512 bytes hold every sentence).
 */
#ifndef KYSO_CSR_H
#define KYSO_CSR_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/*
 * The signature a request needs, chosen from the key by csr_sign_alg(). What the callback
 * receives (in) and must return (*sig), and the PKCS#11 mechanism that does exactly that:
 *
 *   alg                       in (what to pass to C_Sign)      mechanism   *sig
 *   CSR_SIGN_RSA_PKCS1_SHA256 DER DigestInfo of the SHA-256    CKM_RSA_PKCS  modulus-sized
 *                             of the request info (51 bytes)               signature
 *   CSR_SIGN_ECDSA_SHA256     SHA-256 of the request info (32) CKM_ECDSA   raw r||s, 64 bytes
 *   CSR_SIGN_ECDSA_SHA384     SHA-384 of the request info (48) CKM_ECDSA   raw r||s, 96 bytes
 *   CSR_SIGN_ED25519          the whole DER request info       CKM_EDDSA   64 bytes
 *                             (pure Ed25519, no prehash)
 *
 * That is: pass `in` to C_Sign unchanged and hand back C_Sign's output unchanged. ECDSA
 * signatures come back in the PKCS#11 form (r||s, each half the size of the curve's
 * order, left-padded with zeros); csr_make() turns them into the DER X.509 wants.
 */
enum csr_sign_alg {
	CSR_SIGN_RSA_PKCS1_SHA256 = 1,  /* sha256WithRSAEncryption */
	CSR_SIGN_ECDSA_SHA256 = 2,      /* ecdsa-with-SHA256, P-256 keys */
	CSR_SIGN_ECDSA_SHA384 = 3,      /* ecdsa-with-SHA384, P-384 keys */
	CSR_SIGN_ED25519 = 4,           /* Ed25519 */
};

/*
 * The token's signer. alg is an enum csr_sign_alg; in/len as in the table above. On
 * success returns KYSO_OK (0) and sets *sig to a buffer from malloc() holding *siglen bytes,
 * which csr_make() frees with free(). On failure returns a kyso_err code (KYSO_ERR_PIN_*,
 * KYSO_ERR_TOKEN, ...) and leaves *sig NULL; csr_make() returns that code unchanged, so the
 * caller can explain it (keep any detail in ctx).
 */
typedef int (*csr_sign_fn)(void *ctx, int alg, const unsigned char *in, size_t len,
    unsigned char **sig, size_t *siglen);

struct csr_params {
	EVP_PKEY *pubkey;       /* the token key's public half (RSA >= 2048, P-256, P-384, Ed25519) */
	const char *subject;    /* "CN=Alice,O=Acme\, Inc.,C=DE" or "/C=DE/O=Acme/CN=Alice" */
	const char *const *sans;/* "email:a@b.example", "dns:host.example", "uri:urn:x", "ip:10.0.0.1" */
	size_t nsans;
	csr_sign_fn sign;
	void *sign_ctx;
};

/*
 * Returns the signature algorithm (enum csr_sign_alg) for pubkey in *alg: RSA of at least
 * 2048 bits, EC on P-256 or P-384, or Ed25519. KYSO_ERR_UNSUPPORTED_ALG for anything else
 * (the sentence names the key type or curve), KYSO_ERR_INVALID_ARG if pubkey is NULL.
 */
int csr_sign_alg(EVP_PKEY *pubkey, int *alg, char *err, size_t errlen);

/* Returns the name of alg ("sha256WithRSAEncryption", "ecdsa-with-SHA256", ...) or "?". */
const char *csr_sign_alg_name(int alg);

/*
 * Parses a distinguished name into a new X509_NAME (*out, free with X509_NAME_free).
 *
 * Two forms:
 * - RFC 4514, most specific first: "CN=Alice Example,OU=IT,O=Acme\, Inc.,C=DE". The
 *   certificate holds the attributes in the reverse order (C first), as the string form
 *   prescribes, so the name reads back the same. Escapes: "\," "\+" "\=" "\\" "\"" "\;"
 *   "\<" "\>" "\#" "\ " and "\XX" (a hex byte: "\C3\A9" is é); a value may be quoted
 *   ("O=\"Acme, Inc.\""); spaces around separators are dropped; "+" joins attributes into
 *   one multi-valued RDN ("CN=Alice+UID=alice").
 * - OpenSSL's, in certificate order: "/C=DE/O=Acme/CN=Alice" ("\/" for a slash, "+" as
 *   above).
 * Values are UTF-8 (stored as UTF8String; C, serialNumber, emailAddress and DC as their
 * restricted types). Attribute names, case-insensitive: CN, O, OU, C, L, ST, street, SN,
 * GN, title, serialNumber, emailAddress, DC, UID, organizationIdentifier, pseudonym,
 * initials, generationQualifier, dnQualifier, postalCode, and the long forms
 * (commonName, organizationName, ...). Returns KYSO_OK, KYSO_ERR_INVALID_ARG with a
 * sentence naming the trouble (an unknown attribute by its name, an empty value, invalid
 * UTF-8, a bad escape, a country that is not two letters, a value too long), or
 * KYSO_ERR_NOMEM.
 */
int csr_parse_subject(const char *subject, X509_NAME **out, char *err, size_t errlen);

/*
 * Parses subject alternative names ("email:", "dns:", "uri:", "ip:" prefixes,
 * case-insensitive; "DNS:" "URI:" "IP:" as OpenSSL writes them) into a new GENERAL_NAMES
 * (*out, free with GENERAL_NAMES_free). Values must be ASCII (internationalised domain
 * names in their xn-- form). Returns KYSO_OK, KYSO_ERR_INVALID_ARG with a sentence naming
 * the entry, or KYSO_ERR_NOMEM.
 */
int csr_parse_sans(const char *const *sans, size_t n, GENERAL_NAMES **out, char *err,
    size_t errlen);

/*
 * Builds the request: version 1, the parsed subject, p->pubkey, and an extension request
 * with keyUsage (critical) digitalSignature + nonRepudiation and, if any SANs are given,
 * subjectAltName. Has p->sign sign it (see the table above), checks that the signature
 * verifies with p->pubkey (a token that signed with another key is caught here), and
 * returns KYSO_OK with *pem, a NUL-terminated "-----BEGIN CERTIFICATE REQUEST-----" text
 * from malloc() (the caller frees). The subject and SANs are checked before the callback
 * is called, so a bad subject never costs a PIN entry. Errors: those of csr_sign_alg,
 * csr_parse_subject and csr_parse_sans; the callback's own code; KYSO_ERR_TOKEN if its
 * signature has the wrong size; KYSO_ERR_CRYPTO if the signature does not verify or
 * OpenSSL fails; KYSO_ERR_NOMEM.
 */
int csr_make(const struct csr_params *p, char **pem, char *err, size_t errlen);

#endif
