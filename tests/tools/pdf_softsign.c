/*
 * pdf_softsign — `kyso sign-pdf` with a software key instead of the agent, for tests of
 * the PDF machinery that need no token (and a second, independent CMS builder).
 *
 *   pdf_softsign KEY.pem CHAIN.pem|- sign-pdf --cert CERT.pem [sign-pdf options]...
 *
 * The command line after KEY and CHAIN is kyso sign-pdf's, parsed by the same code; only
 * the signer differs: it builds each detached CMS SignedData with OpenSSL (PAdES signed
 * attributes: content-type, message-digest, signing-certificate-v2; no signing-time),
 * signing the attributes' DER with the key. It prints "softsign: one batch of N" on
 * standard error for each batch, so tests can count consents.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "kyso_cli.h"

struct soft {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;
};

static int
soft_certificate(void *arg, const char *certificate, unsigned char **der, size_t *len,
    char **id, char *err, size_t errlen)
{
	struct soft *s = arg;
	FILE *f = fopen(certificate, "re");
	unsigned char *p = NULL;
	int n;

	if (f == NULL || (s->cert = PEM_read_X509(f, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "cannot read the certificate %s", certificate);
		if (f != NULL)
			fclose(f);
		return KYSO_ERR_NO_SUCH_CERT;
	}
	fclose(f);
	if ((n = i2d_X509(s->cert, &p)) <= 0)
		return KYSO_ERR_CRYPTO;
	*der = malloc((size_t)n);
	*id = strdup(certificate);
	if (*der == NULL || *id == NULL)
		return KYSO_ERR_NOMEM;
	memcpy(*der, p, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(p);
	return KYSO_OK;
}

/* One PAdES CMS over digest; KYSO_OK or KYSO_ERR_CRYPTO. */
static int
soft_cms(struct soft *s, const struct pdf_sign_item *it, unsigned char **out, size_t *outlen)
{
	const EVP_MD *md = strcmp(it->digest_alg, "sha512") == 0 ? EVP_sha512() :
	    strcmp(it->digest_alg, "sha384") == 0 ? EVP_sha384() : EVP_sha256();
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	CMS_SignerInfo *si;
	STACK_OF(X509_ATTRIBUTE) *attrs = NULL;
	unsigned char *tbs = NULL, *sig = NULL, *der = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *ctx = NULL;
	int tbslen, n, r = KYSO_ERR_CRYPTO;

	if (cms == NULL)
		goto out;
	/* CMS_CADES: the ESS signing-certificate-v2 attribute */
	si = CMS_add1_signer(cms, s->cert, s->key, md, CMS_PARTIAL | CMS_NOSMIMECAP |
	    CMS_CADES | CMS_BINARY);
	if (si == NULL)
		goto out;
	for (int i = 0; i < sk_X509_num(s->chain); i++)
		CMS_add1_cert(cms, sk_X509_value(s->chain, i));
	if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_pkcs7_data), -1) ||
	    !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING,
	    it->digest, (int)it->digest_len))
		goto out;
	/* the signed attributes' DER (a SET OF, sorted), signed here as a token would */
	if ((attrs = sk_X509_ATTRIBUTE_new_null()) == NULL)
		goto out;
	for (int i = 0; i < CMS_signed_get_attr_count(si); i++)
		sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i));
	tbslen = ASN1_item_i2d((ASN1_VALUE *)attrs, &tbs, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
	if (tbslen <= 0 || (ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestSignInit(ctx, NULL, md, NULL, s->key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, tbs, (size_t)tbslen) != 1 ||
	    (sig = OPENSSL_malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, tbs, (size_t)tbslen) != 1 ||
	    ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)siglen) != 1 ||
	    (n = i2d_CMS_ContentInfo(cms, &der)) <= 0 || (*out = malloc((size_t)n)) == NULL)
		goto out;
	memcpy(*out, der, (size_t)n);
	*outlen = (size_t)n;
	r = KYSO_OK;
out:
	sk_X509_ATTRIBUTE_free(attrs);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(tbs);
	OPENSSL_free(sig);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	return r;
}

static int
soft_sign(void *arg, const char *id, const char *description, struct pdf_sign_item *items,
    size_t n, char *err, size_t errlen)
{
	struct soft *s = arg;

	(void)id;
	(void)err;
	(void)errlen;
	fprintf(stderr, "softsign: one batch of %zu (%s)\n", n,
	    description != NULL ? description : "no description");
	for (size_t i = 0; i < n; i++) {
		items[i].err = soft_cms(s, &items[i], &items[i].cms, &items[i].cms_len);
		if (items[i].err != KYSO_OK)
			snprintf(items[i].message, sizeof(items[i].message), "OpenSSL failed");
	}
	return KYSO_OK;
}

static struct soft soft;

static int
sign_soft(struct cli *cli, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n,
    const char *const *in, const char *const *out, int force, const char *description,
    kyso_pdf_progress fn, void *arg, char **message, struct pdf_timings *t)
{
	struct pdf_signer s = { soft_certificate, soft_sign, &soft };

	(void)cli;
	(void)pin;
	return pdf_sign_files(&s, certificate, o, n, in, out, force, description, fn, arg,
	    message, t);
}

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	FILE *f;
	X509 *x;
	int rc;

	if (argc < 4 || strcmp(argv[3], "sign-pdf") != 0) {
		fprintf(stderr, "usage: pdf_softsign KEY.pem CHAIN.pem|- sign-pdf OPTIONS...\n");
		return 2;
	}
	if ((f = fopen(argv[1], "re")) == NULL ||
	    (soft.key = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "pdf_softsign: cannot read the key %s\n", argv[1]);
		return 2;
	}
	fclose(f);
	soft.chain = sk_X509_new_null();
	if (strcmp(argv[2], "-") != 0) {
		if ((f = fopen(argv[2], "re")) == NULL) {
			fprintf(stderr, "pdf_softsign: cannot read the chain %s\n", argv[2]);
			return 2;
		}
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
			sk_X509_push(soft.chain, x);
		ERR_clear_error();
		fclose(f);
	}
	rc = sign_pdf_main(&cli, argc - 3, argv + 3, sign_soft);
	EVP_PKEY_free(soft.key);
	X509_free(soft.cert);
	sk_X509_pop_free(soft.chain, X509_free);
	return rc;
}
