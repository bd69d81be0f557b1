/*
 * certmatch.h — what kyso-admin `import-cert` needs to know about a certificate before it
 * stores it on a token: which of the token's keys it belongs to, and the attributes a
 * PKCS#11 certificate object carries (CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER, a label,
 * whether it is a CA). Read with OpenSSL; nothing here includes Cryptoki.
 *
 * Functions that can fail return a kyso_err code and, when err is not NULL, write a
 * sentence (no trailing period) into err[errlen], fit to show to an administrator (256
 * bytes hold every sentence).
 */
#ifndef KYSO_CERTMATCH_H
#define KYSO_CERTMATCH_H

#include <stddef.h>

#include <openssl/evp.h>

struct certmatch_cert {
	unsigned char *der;         /* the certificate (CKA_VALUE) */
	size_t der_len;
	unsigned char *subject;     /* DER of the subject Name (CKA_SUBJECT) */
	size_t subject_len;
	unsigned char *issuer;      /* DER of the issuer Name (CKA_ISSUER) */
	size_t issuer_len;
	unsigned char *serial;      /* DER of the serial INTEGER (CKA_SERIAL_NUMBER) */
	size_t serial_len;
	int is_ca;                  /* basicConstraints CA:TRUE */
	int self_signed;            /* issuer == subject and the signature verifies */
	char *label;                /* UTF-8: the subject's CN, else its O or OU, else
	                             * "certificate " and the first 8 hex digits of the serial */
	EVP_PKEY *pubkey;           /* the certificate's public key (owned) */
};

/*
 * Reads exactly one certificate from data: DER, or PEM with a single CERTIFICATE block
 * (text around it is ignored). Returns KYSO_OK with *c filled (free with
 * certmatch_cert_clear), KYSO_ERR_INVALID_ARG with a sentence if data is not a
 * certificate or holds several ("the file holds 3 certificates, not one"), or
 * KYSO_ERR_NOMEM.
 */
int certmatch_load(const unsigned char *data, size_t len, struct certmatch_cert *c,
    char *err, size_t errlen);

/*
 * Reads a chain file: a PEM bundle of one or more CERTIFICATE blocks, in the file's
 * order (or a single DER certificate). Any other PEM block (a private key, a request)
 * is refused with a sentence naming it. Returns KYSO_OK with *certs (an array of *n,
 * free with certmatch_certs_free), KYSO_ERR_INVALID_ARG, or KYSO_ERR_NOMEM.
 */
int certmatch_load_chain(const unsigned char *data, size_t len,
    struct certmatch_cert **certs, size_t *n, char *err, size_t errlen);

/*
 * Finds which of keys (public keys read from the token) c's public key is. Returns
 * KYSO_OK with *index, the first key that matches (EVP_PKEY_eq), or
 * KYSO_ERR_KEY_NOT_FOUND with "the certificate's public key matches no key on the token"
 * (KYSO_ERR_INVALID_ARG if c has no key). NULL entries in keys are skipped.
 */
int certmatch_find_key(const struct certmatch_cert *c, EVP_PKEY *const *keys,
    size_t nkeys, size_t *index, char *err, size_t errlen);

/* Frees what c holds and zeroes it. */
void certmatch_cert_clear(struct certmatch_cert *c);

/* Clears and frees an array from certmatch_load_chain. */
void certmatch_certs_free(struct certmatch_cert *certs, size_t n);

#endif
