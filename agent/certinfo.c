/* certinfo.c — certificate fields for listings, through OpenSSL. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certinfo.h"
#include "curves.h"
#include "encode.h"
#include "kyso_err.h"

static char *
name_string(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	long n;

	if (b == NULL)
		return NULL;
	/* a name OpenSSL cannot print (a malformed string) reads as empty, not as a failure */
	if (X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		(void)BIO_reset(b);
	if ((n = BIO_get_mem_data(b, &p)) >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, p, (size_t)n);
		s[n] = '\0';
		utf8_sanitize(s);
	}
	BIO_free(b);
	return s;
}

static char *
serial_string(const ASN1_INTEGER *serial)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
	char *hex, *s = NULL;

	if (bn == NULL)
		return NULL;
	if ((hex = BN_bn2hex(bn)) != NULL) {
		if ((s = strdup(hex)) != NULL)
			for (char *c = s; *c; c++)
				if (*c >= 'A' && *c <= 'F')
					*c = (char)(*c - 'A' + 'a');
		OPENSSL_free(hex);
	}
	BN_free(bn);
	return s;
}

static void
time_string(const ASN1_TIME *t, char out[21])
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		strcpy(out, "");
}

static void
key_fields(X509 *x, struct certinfo *ci)
{
	EVP_PKEY *pk = X509_get0_pubkey(x);
	char group[64];
	size_t glen = 0;

	ci->key_type = KEY_OTHER;
	ci->key_bits = 0;
	ci->curve = "";
	if (pk == NULL)
		return;
	ci->key_bits = EVP_PKEY_get_bits(pk);
	switch (EVP_PKEY_get_base_id(pk)) {
	case EVP_PKEY_RSA:
		ci->key_type = KEY_RSA;
		break;
	case EVP_PKEY_EC:
		ci->key_type = KEY_EC;
		if (EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen) == 1) {
			const struct curve *c = curve_by_group(group);

			ci->curve = c != NULL && c->id != CURVE_ED25519 ? c->nist : "other";
		}
		break;
	case EVP_PKEY_ED25519:
		ci->key_type = KEY_ED25519;
		ci->curve = "Ed25519";
		break;
	default:
		break;
	}
}

int
certinfo_parse(const unsigned char *der, size_t len, struct certinfo *ci)
{
	const unsigned char *p = der;
	unsigned char md[32];
	uint32_t ku;
	X509 *x;
	int r = KYSO_ERR_NOMEM;

	memset(ci, 0, sizeof(*ci));
	if (len > 1024 * 1024 || (x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return KYSO_ERR_INVALID_ARG;
	if ((size_t)(p - der) != len) {  /* trailing bytes after the certificate */
		X509_free(x);
		return KYSO_ERR_INVALID_ARG;
	}
	if (EVP_Digest(der, len, md, NULL, EVP_sha256(), NULL) != 1) {
		r = KYSO_ERR_CRYPTO;
		goto out;
	}
	hex_encode(md, sizeof(md), ci->id);
	if ((ci->subject = name_string(X509_get_subject_name(x))) == NULL ||
	    (ci->issuer = name_string(X509_get_issuer_name(x))) == NULL ||
	    (ci->serial = serial_string(X509_get0_serialNumber(x))) == NULL)
		goto out;
	time_string(X509_get0_notBefore(x), ci->not_before);
	time_string(X509_get0_notAfter(x), ci->not_after);
	key_fields(x, ci);
	ku = X509_get_key_usage(x);
	ci->has_key_usage = ku != UINT32_MAX;
	ci->key_usage = ci->has_key_usage ? ku : 0;
	r = KYSO_OK;
out:
	X509_free(x);
	if (r != KYSO_OK)
		certinfo_clear(ci);
	return r;
}

void
certinfo_clear(struct certinfo *ci)
{
	free(ci->subject);
	free(ci->issuer);
	free(ci->serial);
	ci->subject = ci->issuer = ci->serial = NULL;
}

const char *
certinfo_key_type_name(enum key_type t)
{
	switch (t) {
	case KEY_RSA:
		return "rsa";
	case KEY_EC:
		return "ec";
	case KEY_ED25519:
		return "ed25519";
	default:
		return "other";
	}
}

void
certinfo_key_usages(const struct certinfo *ci, void (*fn)(const char *, void *), void *arg)
{
	static const struct {
		unsigned bit;
		const char *name;
	} usages[] = {
		{ KU_DIGITAL_SIGNATURE, "digitalSignature" },
		{ KU_NON_REPUDIATION, "nonRepudiation" },
		{ KU_KEY_ENCIPHERMENT, "keyEncipherment" },
		{ KU_DATA_ENCIPHERMENT, "dataEncipherment" },
		{ KU_KEY_AGREEMENT, "keyAgreement" },
		{ KU_KEY_CERT_SIGN, "keyCertSign" },
		{ KU_CRL_SIGN, "cRLSign" },
		{ KU_ENCIPHER_ONLY, "encipherOnly" },
		{ KU_DECIPHER_ONLY, "decipherOnly" },
	};

	for (size_t i = 0; i < sizeof(usages) / sizeof(usages[0]); i++)
		if (ci->key_usage & usages[i].bit)
			fn(usages[i].name, arg);
}
