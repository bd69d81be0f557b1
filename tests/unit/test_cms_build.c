/*
 * test_cms_build.c — agent/cms_build.h: the detached CMS SignedData kysod builds around a
 * token's signature. Software keys play the token (they sign what cms_build_start
 * returns); OpenSSL's CMS_verify checks every result against the test CA, and each signed
 * attribute is checked on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cms_build.h"
#include "kyso_err.h"

static const char content[] = "Order 17/2026: leave of Lt. Nguyen\n";

struct party {
	EVP_PKEY *key;
	unsigned char *der;
	size_t len;
};

/* A certificate for key issued by ca (NULL: self-signed CA). 1 on success. */
static int
issue(struct party *p, const struct party *ca, const char *cn, int serial)
{
	X509 *x = X509_new(), *cax = NULL;
	X509_NAME *n = X509_NAME_new();
	X509V3_CTX ctx;
	X509_EXTENSION *ext[2] = { NULL, NULL };
	unsigned char *der = NULL;
	int ok = 0, len;

	if (ca != NULL) {
		const unsigned char *q = ca->der;

		cax = d2i_X509(NULL, &q, (long)ca->len);
	}
	if (x == NULL || n == NULL || (ca != NULL && cax == NULL) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !ASN1_INTEGER_set(X509_get_serialNumber(x), serial) ||
	    !X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8, (const unsigned char *)cn,
	    -1, -1, 0) || !X509_set_subject_name(x, n) ||
	    !X509_set_issuer_name(x, cax != NULL ? X509_get_subject_name(cax) : n) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 86400) == NULL || !X509_set_pubkey(x, p->key))
		goto out;
	X509V3_set_ctx(&ctx, cax != NULL ? cax : x, x, NULL, NULL, 0);
	ext[0] = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca == NULL ?
	    "critical,CA:TRUE" : "CA:FALSE");
	ext[1] = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, ca == NULL ?
	    "critical,keyCertSign,cRLSign" : "critical,digitalSignature,nonRepudiation");
	if (ext[0] == NULL || ext[1] == NULL || !X509_add_ext(x, ext[0], -1) ||
	    !X509_add_ext(x, ext[1], -1))
		goto out;
	{
		EVP_PKEY *signer = ca != NULL ? ca->key : p->key;

		if (X509_sign(x, signer, EVP_PKEY_is_a(signer, "ED25519") ? NULL :
		    EVP_sha256()) <= 0)
			goto out;
	}
	if ((len = i2d_X509(x, &der)) <= 0)
		goto out;
	p->der = der;
	p->len = (size_t)len;
	ok = 1;
out:
	X509_EXTENSION_free(ext[0]);
	X509_EXTENSION_free(ext[1]);
	X509_NAME_free(n);
	X509_free(x);
	X509_free(cax);
	return ok;
}

static struct party ca, other_ca, rsa, p256, p384, ed;

static int
setup(void **state)
{
	(void)state;
	ca.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	other_ca.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa.key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	p256.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p384.key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	ed.key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!issue(&ca, NULL, "kyso unit CA", 1) || !issue(&other_ca, NULL, "another CA", 9) ||
	    !issue(&rsa, &ca, "rsa officer", 2) || !issue(&p256, &ca, "p256 officer", 3) ||
	    !issue(&p384, &ca, "p384 officer", 4) || !issue(&ed, &ca, "ed25519 officer", 5))
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	struct party *all[] = { &ca, &other_ca, &rsa, &p256, &p384, &ed };

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		EVP_PKEY_free(all[i]->key);
		OPENSSL_free(all[i]->der);
	}
	return 0;
}

static const EVP_MD *
md_of(unsigned bits)
{
	return bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : EVP_sha512();
}

/* The "token": signs tbs with the party's key as kysod's worker would get it back. */
static unsigned char *
token_sign(const struct party *p, const struct cms_doc *d, const unsigned char *tbs,
    size_t len, size_t *siglen)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pc = NULL;
	unsigned char *sig = NULL;
	const EVP_MD *md = d->scheme == SCHEME_EDDSA ? NULL : md_of(d->hash_bits);

	assert_int_equal(EVP_DigestSignInit(m, &pc, md, NULL, p->key), 1);
	if (d->scheme == SCHEME_PSS) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_pss_saltlen(pc, RSA_PSS_SALTLEN_DIGEST) > 0);
		assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(pc, md) > 0);
	}
	assert_int_equal(EVP_DigestSign(m, NULL, siglen, tbs, len), 1);
	sig = malloc(*siglen);
	assert_non_null(sig);
	assert_int_equal(EVP_DigestSign(m, sig, siglen, tbs, len), 1);
	EVP_MD_CTX_free(m);
	return sig;
}

/* Builds, signs and finishes one SignedData; returns it parsed. */
static CMS_ContentInfo *
make(const struct party *p, struct cms_doc *d, const struct party *const *pool_parties,
    size_t npool, size_t *chain_len)
{
	unsigned char dig[64], *tbs = NULL, *sig, *der = NULL;
	const unsigned char *q;
	size_t tbs_len = 0, siglen = 0, len = 0;
	struct cms_der pool[4];
	struct cms_signer *s = NULL;
	struct cms_build *b = NULL;
	CMS_ContentInfo *cms;

	for (size_t i = 0; i < npool; i++) {
		pool[i].der = pool_parties[i]->der;
		pool[i].len = pool_parties[i]->len;
	}
	EVP_Digest(content, strlen(content), dig, NULL, md_of(d->hash_bits), NULL);
	d->digest = dig;
	assert_int_equal(cms_signer_new(p->der, p->len, pool, npool, &s), KYSO_OK);
	if (chain_len != NULL)
		*chain_len = cms_signer_chain_len(s);
	assert_int_equal(cms_build_start(s, d, &b, &tbs, &tbs_len), KYSO_OK);
	cms_signer_free(s);  /* the build keeps what it needs */
	assert_true(tbs_len > 0 && tbs[0] == 0x31);  /* SET OF, as it is signed */
	sig = token_sign(p, d, tbs, tbs_len, &siglen);
	assert_int_equal(cms_build_finish(b, sig, siglen, &der, &len), KYSO_OK);
	cms_build_free(b);
	free(sig);
	free(tbs);
	q = der;
	cms = d2i_CMS_ContentInfo(NULL, &q, (long)len);
	assert_non_null(cms);
	assert_ptr_equal(q, der + len);
	free(der);
	d->digest = NULL;
	return cms;
}

/*
 * OpenSSL's CMS_verify on the detached content, trusting the test CA only. flags adds
 * CMS_NO_ATTR_VERIFY for Ed25519: OpenSSL 3.0 hands the digest algorithm to EdDSA and
 * cannot check a signature over signed attributes (ed25519_signature_ok does).
 */
static int
verify_flags(CMS_ContentInfo *cms, const char *data, unsigned flags)
{
	X509_STORE *store = X509_STORE_new();
	const unsigned char *q = ca.der;
	X509 *cax = d2i_X509(NULL, &q, (long)ca.len);
	BIO *in = BIO_new_mem_buf(data, (int)strlen(data));
	int ok;

	assert_int_equal(X509_STORE_add_cert(store, cax), 1);
	ok = CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | flags);
	if (getenv("CMS_DEBUG") != NULL)
		ERR_print_errors_fp(stderr);
	BIO_free(in);
	X509_free(cax);
	X509_STORE_free(store);
	return ok;
}

static int
verify(CMS_ContentInfo *cms, const char *data)
{
	return verify_flags(cms, data, 0);
}

static CMS_SignerInfo *
signer_info(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

	assert_int_equal(sk_CMS_SignerInfo_num(sis), 1);
	return sk_CMS_SignerInfo_value(sis, 0);
}

static void *
attr(CMS_SignerInfo *si, int nid, int type)
{
	return CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(nid), -3, type);
}

/* Every attribute the profile wants, and only those. */
static void
check_attributes(CMS_ContentInfo *cms, const struct party *p, const struct cms_doc *d)
{
	CMS_SignerInfo *si = signer_info(cms);
	unsigned char dig[64], certhash[32];
	ASN1_OCTET_STRING *md = attr(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING);
	ASN1_OBJECT *ct = attr(si, NID_pkcs9_contentType, V_ASN1_OBJECT);
	ASN1_STRING *ess = attr(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE);
	const unsigned char *q;
	ESS_SIGNING_CERT_V2 *sc;
	STACK_OF(X509) *chain = sk_X509_new_null();
	X509 *cert;
	char oid[80];
	unsigned char needle[34];

	EVP_Digest(content, strlen(content), dig, NULL, md_of(d->hash_bits), NULL);
	assert_non_null(md);
	assert_int_equal(ASN1_STRING_length(md), (int)d->hash_bits / 8);
	assert_memory_equal(ASN1_STRING_get0_data(md), dig, d->hash_bits / 8);
	assert_non_null(ct);
	OBJ_obj2txt(oid, sizeof(oid), ct, 1);
	assert_string_equal(oid, d->content_type != NULL ? d->content_type :
	    "1.2.840.113549.1.7.1");
	OBJ_obj2txt(oid, sizeof(oid), CMS_get0_eContentType(cms), 1);
	assert_string_equal(oid, d->content_type != NULL ? d->content_type :
	    "1.2.840.113549.1.7.1");
	if (d->profile == CMS_PROFILE_CADES) {
		ASN1_TIME *t = attr(si, NID_pkcs9_signingTime, V_ASN1_UTCTIME);
		int day, sec;

		assert_non_null(t);
		assert_int_equal(ASN1_TIME_diff(&day, &sec, NULL, t), 1);
		assert_true(day == 0);
		assert_int_equal(CMS_signed_get_attr_count(si), 4);
	} else {
		assert_true(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1) < 0);
		assert_int_equal(CMS_signed_get_attr_count(si), 3);
	}
	/* ESS signing-certificate-v2: SHA-256 of the certificate (the default hash, left
	 * out), with issuer and serial; OpenSSL's own check agrees */
	assert_non_null(ess);
	q = ASN1_STRING_get0_data(ess);
	sc = d2i_ESS_SIGNING_CERT_V2(NULL, &q, ASN1_STRING_length(ess));
	assert_non_null(sc);
	q = p->der;
	cert = d2i_X509(NULL, &q, (long)p->len);
	assert_non_null(cert);
	sk_X509_push(chain, cert);
	assert_int_equal(OSSL_ESS_check_signing_certs(NULL, sc, chain, 1), 1);
	EVP_Digest(p->der, p->len, certhash, NULL, EVP_sha256(), NULL);
	needle[0] = 0x04;
	needle[1] = 0x20;
	memcpy(needle + 2, certhash, 32);
	assert_non_null(memmem(ASN1_STRING_get0_data(ess), (size_t)ASN1_STRING_length(ess),
	    needle, sizeof(needle)));
	/* issuerSerial: the serial number follows the issuer name */
	assert_non_null(memmem(ASN1_STRING_get0_data(ess), (size_t)ASN1_STRING_length(ess),
	    "kyso unit CA", 12));
	ESS_SIGNING_CERT_V2_free(sc);
	sk_X509_pop_free(chain, X509_free);
}

static void
check_algorithms(CMS_ContentInfo *cms, const struct cms_doc *d, const char *sig_oid_name)
{
	X509_ALGOR *dig, *sig;
	const ASN1_OBJECT *o;
	char name[80];

	CMS_SignerInfo_get0_algs(signer_info(cms), NULL, NULL, &dig, &sig);
	X509_ALGOR_get0(&o, NULL, NULL, dig);
	assert_int_equal(OBJ_obj2nid(o), EVP_MD_get_type(md_of(d->hash_bits)));
	X509_ALGOR_get0(&o, NULL, NULL, sig);
	OBJ_obj2txt(name, sizeof(name), o, 0);
	assert_string_equal(name, sig_oid_name);
}

/* The SignedData's version, as OpenSSL prints it ("d.signedData: version: N"). */
static int
sd_version(CMS_ContentInfo *cms)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *text, *at;
	long n;
	int v = -1;

	assert_int_equal(CMS_ContentInfo_print_ctx(b, cms, 0, NULL), 1);
	assert_int_equal(BIO_write(b, "", 1), 1);
	n = BIO_get_mem_data(b, &text);
	assert_true(n > 0);
	if ((at = strstr(text, "d.signedData:")) != NULL && (at = strstr(at, "version:")) != NULL)
		v = atoi(at + strlen("version:"));
	BIO_free(b);
	return v;
}

static void
check_certs(CMS_ContentInfo *cms, size_t want)
{
	STACK_OF(X509) *certs = CMS_get1_certs(cms);

	assert_int_equal(sk_X509_num(certs), (int)want);
	sk_X509_pop_free(certs, X509_free);
}

/* ---- each key type and profile ---- */

static const struct party *const with_ca[] = { &other_ca, &ca, &p256 };

static void
test_p256_cades(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_ECDSA,
		.hash_bits = 256, .signing_time = 0 };
	size_t chain = 0;
	CMS_ContentInfo *cms;

	(void)state;
	d.signing_time = time(NULL);
	cms = make(&p256, &d, with_ca, 3, &chain);
	assert_int_equal(chain, 1);  /* the CA, not the other CA nor the signer itself */
	assert_int_equal(verify(cms, content), 1);
	assert_int_equal(verify(cms, "Order 17/2026: leave of Lt. Nguyen.\n"), 0);  /* tampered */
	check_attributes(cms, &p256, &d);
	check_algorithms(cms, &d, "ecdsa-with-SHA256");
	check_certs(cms, 2);
	assert_int_equal(CMS_is_detached(cms), 1);
	assert_int_equal(sd_version(cms), 1);  /* id-data, issuer and serial number */
	CMS_ContentInfo_free(cms);
}

static void
test_p384_pades_sha384(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_PADES, .scheme = SCHEME_ECDSA,
		.hash_bits = 384, .signing_time = 1 };  /* ignored by pades */
	CMS_ContentInfo *cms;

	(void)state;
	cms = make(&p384, &d, with_ca, 3, NULL);
	assert_int_equal(verify(cms, content), 1);
	check_attributes(cms, &p384, &d);
	check_algorithms(cms, &d, "ecdsa-with-SHA384");
	CMS_ContentInfo_free(cms);
}

static void
test_rsa_pkcs1(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_PKCS1,
		.hash_bits = 512 };
	CMS_ContentInfo *cms;

	(void)state;
	d.signing_time = time(NULL);
	cms = make(&rsa, &d, with_ca, 3, NULL);
	assert_int_equal(verify(cms, content), 1);
	check_attributes(cms, &rsa, &d);
	check_algorithms(cms, &d, "rsaEncryption");
	CMS_ContentInfo_free(cms);
}

static void
test_rsa_pss_params(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_PSS,
		.hash_bits = 384 };
	const ASN1_OBJECT *o;
	const void *pval;
	int ptype;
	X509_ALGOR *sig;
	RSA_PSS_PARAMS *pss;
	const unsigned char *q;
	CMS_ContentInfo *cms;

	(void)state;
	d.signing_time = time(NULL);
	cms = make(&rsa, &d, with_ca, 3, NULL);
	assert_int_equal(verify(cms, content), 1);
	check_attributes(cms, &rsa, &d);
	check_algorithms(cms, &d, "rsassaPss");
	/* RSASSA-PSS-params: SHA-384, MGF1 with SHA-384, salt 48 bytes */
	CMS_SignerInfo_get0_algs(signer_info(cms), NULL, NULL, NULL, &sig);
	X509_ALGOR_get0(&o, &ptype, &pval, sig);
	assert_int_equal(ptype, V_ASN1_SEQUENCE);
	q = ASN1_STRING_get0_data(pval);
	pss = d2i_RSA_PSS_PARAMS(NULL, &q, ASN1_STRING_length(pval));
	assert_non_null(pss);
	{
		const RSA_PSS_PARAMS *pp = pss;
		const ASN1_OBJECT *h;

		/* read through the public ASN.1 struct: hashAlgorithm, saltLength */
		X509_ALGOR_get0(&h, NULL, NULL, pp->hashAlgorithm);
		assert_int_equal(OBJ_obj2nid(h), NID_sha384);
		assert_int_equal(ASN1_INTEGER_get(pp->saltLength), 48);
		X509_ALGOR_get0(&h, NULL, NULL, pp->maskGenAlgorithm);
		assert_int_equal(OBJ_obj2nid(h), NID_mgf1);
	}
	RSA_PSS_PARAMS_free(pss);
	CMS_ContentInfo_free(cms);
}

/*
 * The Ed25519 signature over the signed attributes as the SignedData carries them
 * (re-encoded from the parsed structure), checked with the certificate's key (RFC 8419:
 * pure Ed25519 over the DER itself).
 */
static int
ed25519_signature_ok(CMS_ContentInfo *cms, const struct party *p)
{
	CMS_SignerInfo *si = signer_info(cms);
	STACK_OF(X509_ATTRIBUTE) *sk = sk_X509_ATTRIBUTE_new_null();
	ASN1_OCTET_STRING *sig = CMS_SignerInfo_get0_signature(si);
	EVP_MD_CTX *m = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	int len, ok;

	for (int i = 0; i < CMS_signed_get_attr_count(si); i++)
		sk_X509_ATTRIBUTE_push(sk, CMS_signed_get_attr(si, i));
	len = ASN1_item_i2d((ASN1_VALUE *)sk, &der, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
	assert_true(len > 0);
	assert_int_equal(EVP_DigestVerifyInit(m, NULL, NULL, NULL, p->key), 1);
	ok = EVP_DigestVerify(m, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig),
	    der, (size_t)len) == 1;
	EVP_MD_CTX_free(m);
	OPENSSL_free(der);
	sk_X509_ATTRIBUTE_free(sk);
	return ok;
}

static void
test_ed25519(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_EDDSA,
		.hash_bits = 512 };
	CMS_ContentInfo *cms;

	(void)state;
	d.signing_time = time(NULL);
	cms = make(&ed, &d, with_ca, 3, NULL);
	assert_int_equal(verify_flags(cms, content, CMS_NO_ATTR_VERIFY), 1);
	assert_int_equal(verify_flags(cms, "tampered", CMS_NO_ATTR_VERIFY), 0);
	assert_int_equal(ed25519_signature_ok(cms, &ed), 1);
	assert_int_equal(ed25519_signature_ok(cms, &p256), 0);  /* another key: refused */
	check_attributes(cms, &ed, &d);
	check_algorithms(cms, &d, "ED25519");
	CMS_ContentInfo_free(cms);
}

static void
test_content_type_and_no_chain(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_ECDSA,
		.hash_bits = 256, .content_type = "1.2.840.113549.1.9.16.1.4" };
	size_t chain = 9;
	CMS_ContentInfo *cms;

	(void)state;
	d.signing_time = time(NULL);
	cms = make(&p256, &d, NULL, 0, &chain);
	assert_int_equal(chain, 0);
	check_attributes(cms, &p256, &d);
	check_certs(cms, 1);
	/* RFC 5652 5.1: an eContentType other than id-data makes the SignedData version 3 */
	assert_int_equal(sd_version(cms), 3);
	assert_true(verify(cms, content));
	CMS_ContentInfo_free(cms);
}

static void
test_signing_time_2050_is_generalized(void **state)
{
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_ECDSA,
		.hash_bits = 256, .signing_time = 2556144000 };  /* 2051-01-01 */
	CMS_ContentInfo *cms;

	(void)state;
	cms = make(&p256, &d, with_ca, 3, NULL);
	assert_non_null(attr(signer_info(cms), NID_pkcs9_signingTime, V_ASN1_GENERALIZEDTIME));
	CMS_ContentInfo_free(cms);
}

/* ---- refusals ---- */

static void
test_refusals(void **state)
{
	unsigned char dig[64] = { 0 }, *tbs = NULL, *der = NULL;
	size_t tbs_len, len;
	struct cms_signer *s = NULL;
	struct cms_build *b = NULL;
	struct cms_doc d = { .profile = CMS_PROFILE_CADES, .scheme = SCHEME_PKCS1,
		.hash_bits = 256, .digest = dig };

	(void)state;
	assert_int_equal(cms_signer_new((const unsigned char *)"nope", 4, NULL, 0, &s),
	    KYSO_ERR_INVALID_ARG);
	assert_null(s);
	assert_int_equal(cms_signer_new(p256.der, p256.len, NULL, 0, &s), KYSO_OK);
	/* RSA schemes with an EC key */
	assert_int_equal(cms_build_start(s, &d, &b, &tbs, &tbs_len), KYSO_ERR_INVALID_ARG);
	d.scheme = SCHEME_ECDSA;
	d.hash_bits = 160;
	assert_int_equal(cms_build_start(s, &d, &b, &tbs, &tbs_len), KYSO_ERR_INVALID_ARG);
	d.hash_bits = 256;
	d.content_type = "not an oid";
	assert_int_equal(cms_build_start(s, &d, &b, &tbs, &tbs_len), KYSO_ERR_INVALID_ARG);
	assert_null(b);
	assert_null(tbs);
	d.content_type = NULL;
	assert_int_equal(cms_build_start(s, &d, &b, &tbs, &tbs_len), KYSO_OK);
	assert_int_equal(cms_build_finish(b, NULL, 0, &der, &len), KYSO_ERR_INVALID_ARG);
	cms_build_free(b);
	free(tbs);
	cms_signer_free(s);
	/* Ed25519 in CMS needs SHA-512 (RFC 8419) */
	assert_int_equal(cms_signer_new(ed.der, ed.len, NULL, 0, &s), KYSO_OK);
	d.scheme = SCHEME_EDDSA;
	assert_int_equal(cms_build_start(s, &d, &b, &tbs, &tbs_len), KYSO_ERR_INVALID_ARG);
	cms_signer_free(s);
	cms_signer_free(NULL);
	cms_build_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p256_cades),
		cmocka_unit_test(test_p384_pades_sha384),
		cmocka_unit_test(test_rsa_pkcs1),
		cmocka_unit_test(test_rsa_pss_params),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_content_type_and_no_chain),
		cmocka_unit_test(test_signing_time_2050_is_generalized),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
