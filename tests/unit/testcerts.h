/*
 * testcerts.h — X.509 certificates made with OpenSSL for the unit tests.
 *
 * Header-only (static inline) so that each test program takes what it uses.
 */
#ifndef KYSO_TESTCERTS_H
#define KYSO_TESTCERTS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "p11.h"

/* Key usage bit numbers of RFC 5280 (KeyUsage ::= BIT STRING). */
enum {
	TC_KU_DIGITAL_SIGNATURE = 0,
	TC_KU_NON_REPUDIATION = 1,
	TC_KU_KEY_ENCIPHERMENT = 2,
	TC_KU_DATA_ENCIPHERMENT = 3,
	TC_KU_KEY_AGREEMENT = 4,
	TC_KU_KEY_CERT_SIGN = 5,
	TC_KU_CRL_SIGN = 6,
	TC_KU_ENCIPHER_ONLY = 7,
	TC_KU_DECIPHER_ONLY = 8,
};

#define TC_KU(bit) (1u << (bit))

struct tc_spec {
	const char *subject_cn, *subject_o, *subject_c;  /* NULL to leave out */
	const char *issuer_cn, *issuer_o;
	const char *serial_hex;   /* e.g. "1234abcd" */
	time_t not_before, not_after;
	unsigned key_usage;       /* TC_KU() bits; 0 with no_key_usage leaves it out */
	int no_key_usage;
};

/* Makes a key: "RSA" (bits), "EC" (curve name), "ED25519". */
static inline EVP_PKEY *
tc_key(const char *type, const char *curve, unsigned bits)
{
	if (strcmp(type, "RSA") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (strcmp(type, "EC") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

static inline int
tc_add_name(X509_NAME *n, const char *field, const char *value)
{
	if (value == NULL)
		return 1;
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0);
}

/*
 * Returns a new DER certificate for key as spec says (signed with key itself), or NULL.
 * *len gets its length; the caller frees with OPENSSL_free().
 */
static inline unsigned char *
tc_cert_der(EVP_PKEY *key, const struct tc_spec *spec, size_t *len)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new(), *iss = X509_NAME_new();
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	ASN1_BIT_STRING *ku = NULL;
	unsigned char *der = NULL;
	int n, ok = 0;

	*len = 0;
	if (x == NULL || subj == NULL || iss == NULL)
		goto out;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    BN_hex2bn(&bn, spec->serial_hex != NULL ? spec->serial_hex : "01") == 0 ||
	    (serial = BN_to_ASN1_INTEGER(bn, NULL)) == NULL ||
	    X509_set_serialNumber(x, serial) != 1)
		goto out;
	if (!tc_add_name(subj, "C", spec->subject_c) ||
	    !tc_add_name(subj, "O", spec->subject_o) ||
	    !tc_add_name(subj, "CN", spec->subject_cn) ||
	    !tc_add_name(iss, "O", spec->issuer_o) ||
	    !tc_add_name(iss, "CN", spec->issuer_cn) ||
	    X509_set_subject_name(x, subj) != 1 || X509_set_issuer_name(x, iss) != 1)
		goto out;
	if (ASN1_TIME_set(X509_getm_notBefore(x), spec->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), spec->not_after) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	if (!spec->no_key_usage) {
		if ((ku = ASN1_BIT_STRING_new()) == NULL)
			goto out;
		for (int b = 0; b <= 8; b++)
			if ((spec->key_usage & TC_KU(b)) && ASN1_BIT_STRING_set_bit(ku, b, 1) != 1)
				goto out;
		if (X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) != 1)
			goto out;
	}
	if (X509_sign(x, key, EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256()) <= 0)
		goto out;
	if ((n = i2d_X509(x, &der)) <= 0)
		goto out;
	*len = (size_t)n;
	ok = 1;
out:
	if (!ok) {
		OPENSSL_free(der);
		der = NULL;
	}
	ASN1_BIT_STRING_free(ku);
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	X509_NAME_free(subj);
	X509_NAME_free(iss);
	X509_free(x);
	return der;
}

/* Lower-case hex SHA-256 of p into out (65 bytes). */
static inline void
tc_sha256_hex(const unsigned char *p, size_t len, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[32];

	EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[64] = '\0';
}

/* A token description for tests (no token behind it). */
static inline struct p11_token_desc
desc(const char *label, const char *manufacturer, const char *model, const char *serial,
    unsigned long slot, unsigned flags, unsigned mechs)
{
	struct p11_token_desc d;

	memset(&d, 0, sizeof(d));
	d.slot = slot;
	snprintf(d.label, sizeof(d.label), "%s", label);
	snprintf(d.manufacturer, sizeof(d.manufacturer), "%s", manufacturer);
	snprintf(d.model, sizeof(d.model), "%s", model);
	snprintf(d.serial, sizeof(d.serial), "%s", serial);
	snprintf(d.slot_description, sizeof(d.slot_description), "slot %lu", slot);
	d.flags = flags;
	d.mechs = mechs;
	return d;
}

/* A certificate as the p11 layer describes it (the pointers stay the caller's). */
static inline struct p11_cert_desc
cdesc(unsigned char *der, size_t len, const unsigned char *id, size_t id_len,
    const char *label, int priv, int pub, int can_sign)
{
	struct p11_cert_desc c = { .der = der, .der_len = len,
		.id = (unsigned char *)(uintptr_t)id, .id_len = id_len,
		.label = (char *)(uintptr_t)label, .key_label = NULL,
		.has_private_key = priv, .has_public_key = pub, .key_can_sign = can_sign };

	return c;
}

#endif
