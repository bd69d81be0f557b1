/* test_pdf_sign.c — libkyso-pdf's document API in one process: open a PDF from memory,
 * prepare, sign the digest with a software key (a CMS like the agent's), complete, get the
 * output, verify it; and the return contracts when the steps come out of order or the CMS
 * is not the right one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"

/* A one-page PDF with a classic cross-reference table, offsets computed here. */
static char *
tiny_pdf(size_t *len)
{
	const char *objs[] = {
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
	};
	char *p = malloc(4096);
	size_t off[3], n = 0, x;

	n += (size_t)sprintf(p + n, "%%PDF-1.7\n");
	for (int i = 0; i < 3; i++) {
		off[i] = n;
		n += (size_t)sprintf(p + n, "%d 0 obj\n%s\nendobj\n", i + 1, objs[i]);
	}
	x = n;
	n += (size_t)sprintf(p + n, "xref\n0 4\n0000000000 65535 f \n");
	for (int i = 0; i < 3; i++)
		n += (size_t)sprintf(p + n, "%010zu 00000 n \n", off[i]);
	n += (size_t)sprintf(p + n, "trailer\n<< /Size 4 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n",
	    x);
	*len = n;
	return p;
}

struct key {
	EVP_PKEY *pkey;
	X509 *cert;
	unsigned char *der;
	int der_len;
};

static void
make_key(struct key *k, const char *cn)
{
	X509_NAME *name;

	k->pkey = EVP_EC_gen("P-256");
	k->cert = X509_new();
	X509_set_version(k->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(k->cert), 7);
	X509_gmtime_adj(X509_getm_notBefore(k->cert), -60);
	X509_gmtime_adj(X509_getm_notAfter(k->cert), 3600);
	name = X509_get_subject_name(k->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(k->cert, name);
	X509_set_pubkey(k->cert, k->pkey);
	X509_sign(k->cert, k->pkey, EVP_sha256());
	k->der = NULL;
	k->der_len = i2d_X509(k->cert, &k->der);
	assert_true(k->der_len > 0);
}

static void
free_key(struct key *k)
{
	EVP_PKEY_free(k->pkey);
	X509_free(k->cert);
	OPENSSL_free(k->der);
}

/* A detached CMS over digest with the PAdES attributes, signed as the agent signs. */
static unsigned char *
sign_digest(struct key *k, const unsigned char *digest, size_t dlen, size_t *out_len)
{
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL,
	    CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
	CMS_SignerInfo *si = CMS_add1_signer(cms, k->cert, k->pkey, EVP_sha256(),
	    CMS_PARTIAL | CMS_NOSMIMECAP | CMS_CADES | CMS_BINARY);
	STACK_OF(X509_ATTRIBUTE) *attrs = sk_X509_ATTRIBUTE_new_null();
	unsigned char *tbs = NULL, sig[256], *der = NULL, *out;
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int tbslen, n;

	assert_non_null(si);
	CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
	    OBJ_nid2obj(NID_pkcs7_data), -1);
	CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest,
	    (int)dlen);
	for (int i = 0; i < CMS_signed_get_attr_count(si); i++)
		sk_X509_ATTRIBUTE_push(attrs, CMS_signed_get_attr(si, i));
	tbslen = ASN1_item_i2d((ASN1_VALUE *)attrs, &tbs, ASN1_ITEM_rptr(PKCS7_ATTR_SIGN));
	assert_true(tbslen > 0);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, tbs, (size_t)tbslen), 1);
	ASN1_STRING_set(CMS_SignerInfo_get0_signature(si), sig, (int)siglen);
	n = i2d_CMS_ContentInfo(cms, &der);
	out = malloc((size_t)n);
	memcpy(out, der, (size_t)n);
	*out_len = (size_t)n;
	OPENSSL_free(der);
	OPENSSL_free(tbs);
	EVP_MD_CTX_free(ctx);
	sk_X509_ATTRIBUTE_free(attrs);
	CMS_ContentInfo_free(cms);
	return out;
}

static void
test_sign_in_memory(void **state)
{
	kyso_pdf_options *o;
	kyso_pdf *d;
	kyso_verify *v;
	struct key k;
	const char *alg;
	const unsigned char *digest;
	unsigned char *cms, *out;
	size_t len, dlen, cms_len, out_len;
	char *pdf = tiny_pdf(&len), path[] = "/tmp/kyso-unit-pdf-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	make_key(&k, "Nguyễn Văn Thắng");
	assert_int_equal(kyso_pdf_options_new(&o), KYSO_OK);
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_REASON, "Phê duyệt"), KYSO_OK);
	assert_int_equal(kyso_pdf_open_memory((unsigned char *)pdf, len, "tiny.pdf", &d), KYSO_OK);
	assert_int_equal(kyso_pdf_page_count(d), 1);
	/* out of order: nothing to sign yet, nothing to write */
	assert_int_equal(kyso_pdf_digest(d, &alg, &digest, &dlen), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_complete(d, (unsigned char *)"x", 1), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_output(d, &out, &out_len), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_prepare(d, o, k.der, (size_t)k.der_len), KYSO_OK);
	assert_int_equal(kyso_pdf_prepare(d, o, k.der, (size_t)k.der_len), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_digest(d, &alg, &digest, &dlen), KYSO_OK);
	assert_string_equal(alg, "sha256");
	assert_int_equal(dlen, 32);
	/* a CMS over another digest is refused, and nothing is embedded */
	{
		unsigned char other[32] = { 1 };
		unsigned char *bad = sign_digest(&k, other, 32, &cms_len);

		assert_int_equal(kyso_pdf_complete(d, bad, cms_len), KYSO_ERR_CRYPTO);
		assert_non_null(strstr(kyso_pdf_error(d), "message-digest"));
		free(bad);
	}
	cms = sign_digest(&k, digest, dlen, &cms_len);
	assert_int_equal(kyso_pdf_complete(d, cms, cms_len), KYSO_OK);
	assert_int_equal(kyso_pdf_output(d, &out, &out_len), KYSO_OK);
	assert_true(out_len > len);
	assert_memory_equal(out, pdf, len);  /* the original bytes, untouched, first */
	/* the file kyso_verify reads: valid (the self-signed certificate is the CA) */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "wb");
	assert_int_equal(fwrite(out, 1, out_len, f), out_len);
	fclose(f);
	{
		char ca[] = "/tmp/kyso-unit-ca-XXXXXX";
		int cfd = mkstemp(ca);
		FILE *cf = fdopen(cfd, "w");

		PEM_write_X509(cf, k.cert);
		fclose(cf);
		assert_int_equal(kyso_verify_pdf(path, ca, &v), KYSO_OK);
		assert_int_equal(kyso_verify_count(v), 1);
		assert_int_equal(kyso_verify_valid(v), 1);
		assert_string_equal(kyso_verify_get(v, 0, "name"), "Nguyễn Văn Thắng");
		assert_null(kyso_verify_get(v, 0, "problem"));
		assert_null(kyso_verify_get(v, 1, "name"));
		assert_non_null(strstr(kyso_verify_json(v), "\"whole_document\": true"));
		kyso_verify_free(v);
		unlink(ca);
	}
	/* the writer refuses to write over the file it would replace without --force */
	assert_int_equal(kyso_pdf_write(d, path, 0), KYSO_ERR_EXISTS);
	assert_int_equal(kyso_pdf_write(d, path, 1), KYSO_OK);
	unlink(path);
	kyso_free(out);
	free(cms);
	free(pdf);
	kyso_pdf_free(d);
	kyso_pdf_options_free(o);
	free_key(&k);
}

static void
test_refusals(void **state)
{
	kyso_pdf *d;
	size_t len;
	char *pdf = tiny_pdf(&len);

	(void)state;
	assert_int_equal(kyso_pdf_open_memory((unsigned char *)"hello", 5, "x", &d),
	    KYSO_ERR_DOCUMENT);
	assert_non_null(strstr(kyso_pdf_error(d), "not a PDF"));
	kyso_pdf_free(d);
	assert_int_equal(kyso_pdf_open_memory((unsigned char *)pdf, len / 2, "half", &d),
	    KYSO_ERR_DOCUMENT);
	assert_non_null(strstr(kyso_pdf_error(d), "damaged or truncated"));
	kyso_pdf_free(d);
	assert_int_equal(kyso_pdf_open("/nonexistent/x.pdf", &d), KYSO_ERR_IO);
	assert_non_null(strstr(kyso_pdf_error(d), "cannot open"));
	kyso_pdf_free(d);
	kyso_pdf_free(NULL);
	free(pdf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_in_memory),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
