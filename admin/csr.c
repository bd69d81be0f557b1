/* csr.c — PKCS#10 requests for a token key, signed through a callback (see csr.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "alg.h"
#include "csr.h"
#include "curves.h"
#include "errmsg.h"
#include "kyso_err.h"

/* ---- the key and its signature ---- */

int
csr_sign_alg(EVP_PKEY *pubkey, int *alg, char *err, size_t errlen)
{
	const struct curve *c;
	char group[64];
	size_t glen = 0;
	int bits;

	*alg = 0;
	if (pubkey == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("no public key was given"));
	bits = EVP_PKEY_get_bits(pubkey);
	switch (EVP_PKEY_get_base_id(pubkey)) {
	case EVP_PKEY_RSA:
		if (bits < 2048)
			return errmsg(err, errlen, KYSO_ERR_UNSUPPORTED_ALG,
			    _("the key is RSA of %d bits; requests are made for RSA keys of 2048 "
			    "bits or more"), bits);
		*alg = CSR_SIGN_RSA_PKCS1_SHA256;
		return KYSO_OK;
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pubkey, OSSL_PKEY_PARAM_GROUP_NAME, group,
		    sizeof(group), &glen) != 1)
			strcpy(group, "(unnamed)");
		if ((c = curve_by_group(group)) != NULL && c->id == CURVE_P256)
			*alg = CSR_SIGN_ECDSA_SHA256;
		else if (c != NULL && c->id == CURVE_P384)
			*alg = CSR_SIGN_ECDSA_SHA384;
		else
			return errmsg(err, errlen, KYSO_ERR_UNSUPPORTED_ALG,
			    _("the key is on the elliptic curve %s; requests are made for P-256 "
			    "and P-384 keys"), group);
		return KYSO_OK;
	case EVP_PKEY_ED25519:
		*alg = CSR_SIGN_ED25519;
		return KYSO_OK;
	default:
		return errmsg(err, errlen, KYSO_ERR_UNSUPPORTED_ALG,
		    _("the key is of type %s; requests are made for RSA, EC (P-256, P-384) and "
		    "Ed25519 keys"), EVP_PKEY_get0_type_name(pubkey) ?
		    EVP_PKEY_get0_type_name(pubkey) : _("unknown"));
	}
}

const char *
csr_sign_alg_name(int alg)
{
	switch (alg) {
	case CSR_SIGN_RSA_PKCS1_SHA256:
		return "sha256WithRSAEncryption";
	case CSR_SIGN_ECDSA_SHA256:
		return "ecdsa-with-SHA256";
	case CSR_SIGN_ECDSA_SHA384:
		return "ecdsa-with-SHA384";
	case CSR_SIGN_ED25519:
		return "Ed25519";
	default:
		return "?";
	}
}

static int
add_extensions(X509_REQ *req, GENERAL_NAMES *gens)
{
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	X509_EXTENSION *e = NULL;
	int ok = 0;

	if (exts == NULL || ku == NULL ||
	    ASN1_BIT_STRING_set_bit(ku, 0, 1) != 1 ||   /* digitalSignature */
	    ASN1_BIT_STRING_set_bit(ku, 1, 1) != 1 ||   /* nonRepudiation */
	    (e = X509V3_EXT_i2d(NID_key_usage, 1, ku)) == NULL ||
	    sk_X509_EXTENSION_push(exts, e) <= 0)
		goto out;
	e = NULL;
	if (sk_GENERAL_NAME_num(gens) > 0 &&
	    ((e = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens)) == NULL ||
	    sk_X509_EXTENSION_push(exts, e) <= 0))
		goto out;
	e = NULL;
	ok = X509_REQ_add_extensions(req, exts) == 1;
out:
	X509_EXTENSION_free(e);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_BIT_STRING_free(ku);
	return ok;
}

/* What the token signs for alg: buf holds a digest or DigestInfo; Ed25519 signs tbs. */
static int
sign_input(int alg, const unsigned char *tbs, size_t tbslen, unsigned char buf[128],
    const unsigned char **in, size_t *inlen)
{
	unsigned char md[64];

	switch (alg) {
	case CSR_SIGN_RSA_PKCS1_SHA256:
		if (alg_hash(256, tbs, tbslen, md) != KYSO_OK ||
		    (*inlen = alg_digest_info(256, md, 32, buf)) == 0)
			return KYSO_ERR_CRYPTO;
		*in = buf;
		return KYSO_OK;
	case CSR_SIGN_ECDSA_SHA256:
	case CSR_SIGN_ECDSA_SHA384:
		*inlen = alg == CSR_SIGN_ECDSA_SHA256 ? 32 : 48;
		if (alg_hash((unsigned)*inlen * 8, tbs, tbslen, buf) != KYSO_OK)
			return KYSO_ERR_CRYPTO;
		*in = buf;
		return KYSO_OK;
	default:
		*in = tbs;
		*inlen = tbslen;
		return KYSO_OK;
	}
}

/* Sets the signature algorithm and value (DER for ECDSA) on req. */
static int
set_signature(X509_REQ *req, int alg, const unsigned char *sig, size_t siglen)
{
	int nid = alg == CSR_SIGN_RSA_PKCS1_SHA256 ? NID_sha256WithRSAEncryption :
	    alg == CSR_SIGN_ECDSA_SHA256 ? NID_ecdsa_with_SHA256 :
	    alg == CSR_SIGN_ECDSA_SHA384 ? NID_ecdsa_with_SHA384 : NID_ED25519;
	X509_ALGOR *algor = X509_ALGOR_new();
	ASN1_BIT_STRING *bits = ASN1_BIT_STRING_new();
	unsigned char *der = NULL;
	size_t derlen;
	int r = KYSO_ERR_NOMEM;

	if (algor == NULL || bits == NULL)
		goto out;
	if (alg == CSR_SIGN_ECDSA_SHA256 || alg == CSR_SIGN_ECDSA_SHA384) {
		if ((r = alg_ecdsa_raw_to_der(sig, siglen, &der, &derlen)) != KYSO_OK)
			goto out;
		sig = der;
		siglen = derlen;
	}
	r = KYSO_ERR_CRYPTO;
	/* sha256WithRSAEncryption has NULL parameters; ECDSA and Ed25519 have none */
	if (X509_ALGOR_set0(algor, OBJ_nid2obj(nid), alg == CSR_SIGN_RSA_PKCS1_SHA256 ?
	    V_ASN1_NULL : V_ASN1_UNDEF, NULL) != 1 ||
	    X509_REQ_set1_signature_algo(req, algor) != 1 ||
	    ASN1_STRING_set(bits, sig, (int)siglen) != 1)
		goto out;
	bits->flags &= ~(ASN1_STRING_FLAG_BITS_LEFT | 0x07);
	bits->flags |= ASN1_STRING_FLAG_BITS_LEFT;  /* no unused bits */
	X509_REQ_set0_signature(req, bits);
	bits = NULL;
	r = KYSO_OK;
out:
	free(der);
	ASN1_BIT_STRING_free(bits);
	X509_ALGOR_free(algor);
	return r;
}

static size_t
expected_siglen(int alg, EVP_PKEY *pubkey)
{
	switch (alg) {
	case CSR_SIGN_RSA_PKCS1_SHA256:
		return (size_t)EVP_PKEY_get_size(pubkey);
	case CSR_SIGN_ECDSA_SHA256:
		return 64;
	case CSR_SIGN_ECDSA_SHA384:
		return 96;
	default:
		return 64;
	}
}

static int
req_pem(X509_REQ *req, char **pem)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long n;
	int r = KYSO_ERR_CRYPTO;

	if (b == NULL)
		return KYSO_ERR_NOMEM;
	if (PEM_write_bio_X509_REQ(b, req) == 1 && (n = BIO_get_mem_data(b, &p)) > 0) {
		r = KYSO_ERR_NOMEM;
		if ((*pem = malloc((size_t)n + 1)) != NULL) {
			memcpy(*pem, p, (size_t)n);
			(*pem)[n] = '\0';
			r = KYSO_OK;
		}
	}
	BIO_free(b);
	return r;
}

int
csr_make(const struct csr_params *p, char **pem, char *err, size_t errlen)
{
	X509_NAME *name = NULL;
	GENERAL_NAMES *gens = NULL;
	X509_REQ *req = NULL;
	unsigned char *tbs = NULL, *sig = NULL, buf[128];
	const unsigned char *in;
	size_t inlen, siglen = 0;
	int alg, n, r;

	*pem = NULL;
	if (p == NULL || p->sign == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("no signer was given"));
	if ((r = csr_sign_alg(p->pubkey, &alg, err, errlen)) != KYSO_OK ||
	    (r = csr_parse_subject(p->subject, &name, err, errlen)) != KYSO_OK ||
	    (r = csr_parse_sans(p->sans, p->nsans, &gens, err, errlen)) != KYSO_OK)
		goto out;
	r = KYSO_ERR_CRYPTO;
	if ((req = X509_REQ_new()) == NULL ||
	    X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    X509_REQ_set_subject_name(req, name) != 1 ||
	    X509_REQ_set_pubkey(req, p->pubkey) != 1 ||
	    !add_extensions(req, gens) ||
	    (n = i2d_re_X509_REQ_tbs(req, &tbs)) <= 0) {
		r = errmsg(err, errlen, KYSO_ERR_CRYPTO, _("OpenSSL could not build the request"));
		goto out;
	}
	if ((r = sign_input(alg, tbs, (size_t)n, buf, &in, &inlen)) != KYSO_OK) {
		r = errmsg(err, errlen, r, _("OpenSSL could not hash the request"));
		goto out;
	}
	if ((r = p->sign(p->sign_ctx, alg, in, inlen, &sig, &siglen)) != KYSO_OK) {
		r = errmsg(err, errlen, r, _("the token did not sign the request: %s"),
		    kyso_strerror(r));
		goto out;
	}
	if (sig == NULL || siglen != expected_siglen(alg, p->pubkey)) {
		r = errmsg(err, errlen, KYSO_ERR_TOKEN, _("the token returned a %zu-byte %s "
		    "signature where %zu bytes were expected"), sig ? siglen : 0,
		    csr_sign_alg_name(alg), expected_siglen(alg, p->pubkey));
		goto out;
	}
	if ((r = set_signature(req, alg, sig, siglen)) != KYSO_OK) {
		r = errmsg(err, errlen, r, _("the token's signature could not be put in the request"));
		goto out;
	}
	if (X509_REQ_verify(req, p->pubkey) != 1) {
		r = errmsg(err, errlen, KYSO_ERR_CRYPTO, _("the token's signature does not verify "
		    "with the key's public key (did the token sign with another key?)"));
		goto out;
	}
	if ((r = req_pem(req, pem)) != KYSO_OK)
		r = errmsg(err, errlen, r, _("the request could not be written as PEM"));
out:
	free(sig);
	OPENSSL_free(tbs);
	X509_REQ_free(req);
	GENERAL_NAMES_free(gens);
	X509_NAME_free(name);
	return r;
}
