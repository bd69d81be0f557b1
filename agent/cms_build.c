/* cms_build.c — detached CMS SignedData around a token's signature (see cms_build.h). */
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/core_names.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "cms_build.h"
#include "kyso_err.h"

#define CHAIN_MAX 8

struct cms_signer {
	X509 *cert;
	STACK_OF(X509) *chain;  /* the CA certificates shipped with it, issuer first */
};

struct cms_build {
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;
};

static X509 *
cert_parse(const unsigned char *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (der == NULL || len == 0 || len > 1024 * 1024)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x != NULL && p != der + len) {  /* trailing bytes: not one certificate */
		X509_free(x);
		x = NULL;
	}
	return x;
}

/* Returns the issuer of x found in pool (not x itself, not already in chain), or NULL. */
static X509 *
chain_issuer(X509 *x, const struct cms_der *pool, size_t npool, STACK_OF(X509) *chain)
{
	for (size_t i = 0; i < npool; i++) {
		X509 *c = cert_parse(pool[i].der, pool[i].len);
		int taken = c == NULL || X509_cmp(c, x) == 0;

		for (int k = 0; !taken && k < sk_X509_num(chain); k++)
			taken = X509_cmp(c, sk_X509_value(chain, k)) == 0;
		if (!taken && X509_check_issued(c, x) == X509_V_OK)
			return c;
		X509_free(c);
	}
	return NULL;
}

int
cms_signer_new(const unsigned char *der, size_t len, const struct cms_der *pool,
    size_t npool, struct cms_signer **out)
{
	struct cms_signer *s;
	X509 *at, *up;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KYSO_ERR_NOMEM;
	if ((s->cert = cert_parse(der, len)) == NULL || X509_get0_pubkey(s->cert) == NULL) {
		cms_signer_free(s);
		return KYSO_ERR_INVALID_ARG;
	}
	if ((s->chain = sk_X509_new_null()) == NULL) {
		cms_signer_free(s);
		return KYSO_ERR_NOMEM;
	}
	/* up the chain while the pool has the issuer; a self-signed one ends it */
	for (at = s->cert; sk_X509_num(s->chain) < CHAIN_MAX &&
	    X509_check_issued(at, at) != X509_V_OK; at = up) {
		if ((up = chain_issuer(at, pool, npool, s->chain)) == NULL)
			break;
		if (!sk_X509_push(s->chain, up)) {
			X509_free(up);
			cms_signer_free(s);
			return KYSO_ERR_NOMEM;
		}
	}
	*out = s;
	return KYSO_OK;
}

size_t
cms_signer_chain_len(const struct cms_signer *s)
{
	return (size_t)sk_X509_num(s->chain);
}

void
cms_signer_free(struct cms_signer *s)
{
	if (s == NULL)
		return;
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	free(s);
}

void
cms_build_free(struct cms_build *b)
{
	if (b == NULL)
		return;
	CMS_ContentInfo_free(b->cms);
	free(b);
}

static const EVP_MD *
hash_md(unsigned bits)
{
	return bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() :
	    bits == 512 ? EVP_sha512() : NULL;
}

/* Returns 1 if scheme can be made with key (and Ed25519 has its SHA-512). */
static int
scheme_fits(EVP_PKEY *key, const struct cms_doc *d)
{
	switch (d->scheme) {
	case SCHEME_PKCS1:
	case SCHEME_PSS:
		return EVP_PKEY_is_a(key, "RSA");
	case SCHEME_ECDSA:
		return EVP_PKEY_is_a(key, "EC");
	case SCHEME_EDDSA:
		return EVP_PKEY_is_a(key, "ED25519") && d->hash_bits == 512;
	default:
		return 0;
	}
}

/*
 * RSASSA-PSS and Ed25519: the signature AlgorithmIdentifier as OpenSSL's provider writes
 * it for this key (PSS: the hash, MGF1 with the same hash, a salt as long as the hash),
 * in place of the one CMS_add1_signer chose. 1 on success.
 */
static int
set_sig_alg(CMS_SignerInfo *si, EVP_PKEY *key, const struct cms_doc *d, const EVP_MD *md)
{
	unsigned char aid[256];
	const unsigned char *p = aid;
	OSSL_PARAM params[2];
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	X509_ALGOR *alg = NULL;
	int ok = 0;

	CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &alg);
	if (mctx == NULL || alg == NULL ||
	    EVP_DigestSignInit(mctx, &pctx, d->scheme == SCHEME_EDDSA ? NULL : md, NULL,
	    key) != 1)
		goto out;
	if (d->scheme == SCHEME_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0))
		goto out;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, aid,
	    sizeof(aid));
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_PKEY_CTX_get_params(pctx, params) != 1 || params[0].return_size == 0 ||
	    params[0].return_size > sizeof(aid))
		goto out;
	ok = d2i_X509_ALGOR(&alg, &p, (long)params[0].return_size) != NULL;
out:
	EVP_MD_CTX_free(mctx);  /* frees pctx too */
	return ok;
}

/* ESS signing-certificate-v2 (RFC 5035): SHA-256 of the certificate, issuer and serial. */
static int
add_signing_cert(CMS_SignerInfo *si, X509 *cert)
{
	ESS_SIGNING_CERT_V2 *sc = OSSL_ESS_signing_cert_v2_new_init(EVP_sha256(), cert, NULL,
	    1);
	ASN1_STRING *seq = NULL;
	unsigned char *der = NULL;
	int len, ok = 0;

	if (sc == NULL || (len = i2d_ESS_SIGNING_CERT_V2(sc, &der)) <= 0 ||
	    (seq = ASN1_STRING_new()) == NULL || !ASN1_STRING_set(seq, der, len))
		goto out;
	ok = CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2,
	    V_ASN1_SEQUENCE, seq, -1) == 1;
out:
	ASN1_STRING_free(seq);
	OPENSSL_free(der);
	ESS_SIGNING_CERT_V2_free(sc);
	return ok;
}

/* The signed attributes; 1 on success. */
static int
add_attributes(CMS_SignerInfo *si, X509 *cert, const struct cms_doc *d,
    const ASN1_OBJECT *ctype)
{
	ASN1_TIME *t = NULL;
	int ok;

	ok = CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT, ctype,
	    -1) == 1;
	if (ok && d->profile == CMS_PROFILE_CADES) {
		/* UTCTime up to 2049, GeneralizedTime after (RFC 5652 §11.3) */
		ok = (t = ASN1_TIME_set(NULL, d->signing_time)) != NULL &&
		    CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime, t->type, t, -1) == 1;
		ASN1_TIME_free(t);
	}
	if (ok)
		ok = CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest,
		    V_ASN1_OCTET_STRING, d->digest, (int)(d->hash_bits / 8)) == 1;
	return ok && add_signing_cert(si, cert);
}

/*
 * The DER of the signed attributes as they are signed: a SET OF (tag 0x31) in DER order,
 * encoded with PKCS#7's template for it (the CMS encoder sorts the [0] IMPLICIT copy in
 * the SignerInfo the same way). KYSO_OK with *out (malloc'd).
 */
static int
attributes_der(CMS_SignerInfo *si, unsigned char **out, size_t *outlen)
{
	STACK_OF(X509_ATTRIBUTE) *sk = sk_X509_ATTRIBUTE_new_null();
	unsigned char *der = NULL;
	int n = CMS_signed_get_attr_count(si), len, e = KYSO_ERR_CRYPTO;

	if (sk == NULL)
		return KYSO_ERR_NOMEM;
	for (int i = 0; i < n; i++)
		if (!sk_X509_ATTRIBUTE_push(sk, CMS_signed_get_attr(si, i)))
			goto out;
	if ((len = ASN1_item_i2d((ASN1_VALUE *)sk, &der, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN))) <= 0)
		goto out;
	if ((*out = malloc((size_t)len)) == NULL) {
		e = KYSO_ERR_NOMEM;
		goto out;
	}
	memcpy(*out, der, (size_t)len);
	*outlen = (size_t)len;
	e = KYSO_OK;
out:
	OPENSSL_free(der);
	sk_X509_ATTRIBUTE_free(sk);  /* the attributes stay the SignerInfo's */
	return e;
}

int
cms_build_start(const struct cms_signer *s, const struct cms_doc *d,
    struct cms_build **out, unsigned char **tbs, size_t *tbs_len)
{
	const unsigned int flags = CMS_PARTIAL | CMS_DETACHED | CMS_BINARY;
	const EVP_MD *md = hash_md(d->hash_bits);
	EVP_PKEY *key = X509_get0_pubkey(s->cert);
	ASN1_OBJECT *ctype = NULL;
	struct cms_build *b = NULL;
	int e = KYSO_ERR_CRYPTO;

	*out = NULL;
	*tbs = NULL;
	*tbs_len = 0;
	if (md == NULL || d->digest == NULL || key == NULL || !scheme_fits(key, d))
		return KYSO_ERR_INVALID_ARG;
	ctype = OBJ_txt2obj(d->content_type != NULL ? d->content_type : "1.2.840.113549.1.7.1",
	    1);
	if (ctype == NULL)
		return KYSO_ERR_INVALID_ARG;
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		e = KYSO_ERR_NOMEM;
		goto out;
	}
	/* an empty detached SignedData, then the signer with its public key standing in */
	if ((b->cms = CMS_sign(NULL, NULL, NULL, NULL, flags)) == NULL ||
	    (d->content_type != NULL && CMS_set1_eContentType(b->cms, ctype) != 1) ||
	    (b->si = CMS_add1_signer(b->cms, s->cert, key, md, flags | CMS_NOSMIMECAP)) ==
	    NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(s->chain); i++)
		if (CMS_add1_cert(b->cms, sk_X509_value(s->chain, i)) != 1)
			goto out;
	if ((d->scheme == SCHEME_PSS || d->scheme == SCHEME_EDDSA) &&
	    !set_sig_alg(b->si, key, d, md))
		goto out;
	if (!add_attributes(b->si, s->cert, d, ctype))
		goto out;
	e = attributes_der(b->si, tbs, tbs_len);
out:
	ASN1_OBJECT_free(ctype);
	if (e != KYSO_OK) {
		cms_build_free(b);
		return e;
	}
	*out = b;
	return KYSO_OK;
}

/*
 * RFC 5652 5.1: a SignedData whose eContentType is not id-data is version 3. OpenSSL
 * fixes the version only when it signs itself (CMS_final), which a token's signature
 * never goes through, and has no setter: the version INTEGER of the encoded
 * ContentInfo (SEQUENCE { OID, [0] { SEQUENCE { INTEGER 1, ...) becomes 3 in place (the
 * same length: nothing moves). Returns 1, or 0 if der is not shaped so.
 */
static int
signed_data_version3(unsigned char *der, size_t len)
{
	const unsigned char *p = der, *end = der + len;
	long l;
	int tag, cls, i;

	/* into the ContentInfo, over the contentType OID, into [0], into the SignedData */
	if (ASN1_get_object(&p, &l, &tag, &cls, end - p) != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE || (ASN1_get_object(&p, &l, &tag, &cls, end - p) & 0x80) ||
	    tag != V_ASN1_OBJECT || l > end - p)
		return 0;
	p += l;
	if (ASN1_get_object(&p, &l, &tag, &cls, end - p) != V_ASN1_CONSTRUCTED || tag != 0 ||
	    cls != V_ASN1_CONTEXT_SPECIFIC ||
	    ASN1_get_object(&p, &l, &tag, &cls, end - p) != V_ASN1_CONSTRUCTED ||
	    tag != V_ASN1_SEQUENCE)
		return 0;
	i = ASN1_get_object(&p, &l, &tag, &cls, end - p);
	if ((i & 0x80) || i != 0 || tag != V_ASN1_INTEGER || l != 1 || p >= end || *p != 1)
		return 0;
	der[p - der] = 3;
	return 1;
}

int
cms_build_finish(struct cms_build *b, const unsigned char *sig, size_t siglen,
    unsigned char **der, size_t *len)
{
	unsigned char *enc = NULL;
	int n;

	*der = NULL;
	*len = 0;
	if (sig == NULL || siglen == 0 || siglen > 65536)
		return KYSO_ERR_INVALID_ARG;
	if (ASN1_STRING_set(CMS_SignerInfo_get0_signature(b->si), sig, (int)siglen) != 1 ||
	    (n = i2d_CMS_ContentInfo(b->cms, &enc)) <= 0)
		return KYSO_ERR_CRYPTO;
	if ((*der = malloc((size_t)n)) == NULL) {
		OPENSSL_free(enc);
		return KYSO_ERR_NOMEM;
	}
	memcpy(*der, enc, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(enc);
	if (OBJ_obj2nid(CMS_get0_eContentType(b->cms)) != NID_pkcs7_data &&
	    !signed_data_version3(*der, *len)) {
		free(*der);
		*der = NULL;
		*len = 0;
		return KYSO_ERR_CRYPTO;
	}
	return KYSO_OK;
}
