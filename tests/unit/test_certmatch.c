/*
 * test_certmatch.c — admin/certmatch.h: which token key a certificate belongs to, the
 * attributes import-cert stores, CA detection, and chain files split into certificates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/pem.h>

#include "certmatch.h"
#include "kyso_err.h"
#include "testcerts.h"

static EVP_PKEY *rsa2048, *p256, *p384, *ed25519;

static int
setup(void **state)
{
	(void)state;
	rsa2048 = tc_key("RSA", NULL, 2048);
	p256 = tc_key("EC", "P-256", 0);
	p384 = tc_key("EC", "P-384", 0);
	ed25519 = tc_key("ED25519", NULL, 0);
	return rsa2048 && p256 && p384 && ed25519 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed25519);
	return 0;
}

/* Only the public half, as the token side builds it from CKA_* attributes. */
static EVP_PKEY *
public_only(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_PUBKEY(key, &der);
	EVP_PKEY *pub;

	assert_true(n > 0);
	p = der;
	assert_non_null(pub = d2i_PUBKEY(NULL, &p, n));
	OPENSSL_free(der);
	return pub;
}

/*
 * A certificate for key named cn (and o, if not NULL), issued by issuer_cn with
 * issuer_key (key itself when NULL); ca adds basicConstraints CA:TRUE.
 */
static X509 *
make_cert(EVP_PKEY *key, const char *cn, const char *o, EVP_PKEY *issuer_key,
    const char *issuer_cn, int ca, long serial)
{
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new(), *iss = X509_NAME_new();
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	EVP_PKEY *signer = issuer_key != NULL ? issuer_key : key;

	assert_non_null(x);
	assert_non_null(subj);
	assert_non_null(iss);
	assert_non_null(bc);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial), 1);
	assert_true(tc_add_name(subj, "O", o));
	assert_true(tc_add_name(subj, "CN", cn));
	assert_true(tc_add_name(iss, "O", o));  /* issuers are of the same organisation */
	assert_true(tc_add_name(iss, "CN", issuer_cn));
	if (issuer_cn == NULL) {  /* self-issued: the issuer is the subject */
		X509_NAME_free(iss);
		assert_non_null(iss = X509_NAME_dup(subj));
	}
	assert_int_equal(X509_set_subject_name(x, subj), 1);
	assert_int_equal(X509_set_issuer_name(x, iss), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 86400));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	if (ca) {
		bc->ca = 1;
		assert_int_equal(X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
		    X509V3_ADD_DEFAULT), 1);
	}
	assert_true(X509_sign(x, signer, EVP_PKEY_get_base_id(signer) == EVP_PKEY_ED25519 ?
	    NULL : EVP_sha256()) > 0);
	BASIC_CONSTRAINTS_free(bc);
	X509_NAME_free(subj);
	X509_NAME_free(iss);
	return x;
}

static unsigned char *
to_der(X509 *x, size_t *len)
{
	unsigned char *der = NULL;
	int n = i2d_X509(x, &der);

	assert_true(n > 0);
	*len = (size_t)n;
	return der;
}

/* Appends x as PEM (with some text before it, as `openssl x509 -text` leaves) to b. */
static void
append_pem(BIO *b, X509 *x, const char *text)
{
	if (text != NULL)
		assert_true(BIO_puts(b, text) > 0);
	assert_int_equal(PEM_write_bio_X509(b, x), 1);
}

static void
test_finds_the_key(void **state)
{
	EVP_PKEY *keys[4] = { public_only(rsa2048), public_only(ed25519), public_only(p384),
		public_only(p256) };
	EVP_PKEY *priv[4] = { rsa2048, ed25519, p384, p256 };
	char err[256] = "";

	(void)state;
	for (size_t k = 0; k < 4; k++) {
		X509 *x = make_cert(priv[k], "Officer", NULL, NULL, NULL, 0, 7);
		struct certmatch_cert c;
		size_t len, idx = 99;
		unsigned char *der = to_der(x, &len);

		assert_int_equal(certmatch_load(der, len, &c, err, sizeof(err)), KYSO_OK);
		assert_int_equal(certmatch_find_key(&c, keys, 4, &idx, err, sizeof(err)), KYSO_OK);
		assert_int_equal(idx, k);
		assert_string_equal(err, "");
		/* NULL entries (a key the token side could not read) are skipped */
		{
			EVP_PKEY *with_hole[3] = { NULL, keys[(k + 1) % 4], keys[k] };

			assert_int_equal(certmatch_find_key(&c, with_hole, 3, &idx, err,
			    sizeof(err)), KYSO_OK);
			assert_int_equal(idx, 2);
		}
		certmatch_cert_clear(&c);
		OPENSSL_free(der);
		X509_free(x);
	}
	for (size_t k = 0; k < 4; k++)
		EVP_PKEY_free(keys[k]);
}

static void
test_rejects_foreign_cert(void **state)
{
	EVP_PKEY *other = tc_key("EC", "P-256", 0);
	EVP_PKEY *keys[3] = { public_only(rsa2048), public_only(p256), public_only(ed25519) };
	X509 *x;
	struct certmatch_cert c;
	size_t len, idx = 99;
	unsigned char *der;
	char err[256] = "";

	(void)state;
	assert_non_null(other);
	x = make_cert(other, "Someone Else", NULL, NULL, NULL, 0, 1);
	der = to_der(x, &len);
	assert_int_equal(certmatch_load(der, len, &c, err, sizeof(err)), KYSO_OK);
	assert_int_equal(certmatch_find_key(&c, keys, 3, &idx, err, sizeof(err)),
	    KYSO_ERR_KEY_NOT_FOUND);
	assert_string_equal(err, "the certificate's public key matches no key on the token");
	assert_int_equal(idx, 99);
	/* an empty token */
	assert_int_equal(certmatch_find_key(&c, keys, 0, &idx, err, sizeof(err)),
	    KYSO_ERR_KEY_NOT_FOUND);
	certmatch_cert_clear(&c);
	assert_int_equal(certmatch_find_key(&c, keys, 3, &idx, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(other);
	for (size_t k = 0; k < 3; k++)
		EVP_PKEY_free(keys[k]);
}

/* The PKCS#11 attributes: CKA_VALUE, CKA_SUBJECT, CKA_ISSUER, CKA_SERIAL_NUMBER. */
static void
test_attributes(void **state)
{
	X509 *x = make_cert(p256, "Nguyễn Văn An", "Sở Tài chính", rsa2048, "Acme CA", 0,
	    0x1234abcd);
	static const unsigned char serial_der[] = { 0x02, 0x04, 0x12, 0x34, 0xab, 0xcd };
	struct certmatch_cert c;
	size_t len;
	unsigned char *der = to_der(x, &len);
	const unsigned char *p;
	X509_NAME *name;
	char err[256];

	(void)state;
	assert_int_equal(certmatch_load(der, len, &c, err, sizeof(err)), KYSO_OK);
	assert_int_equal(c.der_len, len);
	assert_memory_equal(c.der, der, len);
	p = c.subject;
	assert_non_null(name = d2i_X509_NAME(NULL, &p, (long)c.subject_len));
	assert_ptr_equal(p, c.subject + c.subject_len);
	assert_int_equal(X509_NAME_cmp(name, X509_get_subject_name(x)), 0);
	X509_NAME_free(name);
	p = c.issuer;
	assert_non_null(name = d2i_X509_NAME(NULL, &p, (long)c.issuer_len));
	assert_int_equal(X509_NAME_cmp(name, X509_get_issuer_name(x)), 0);
	X509_NAME_free(name);
	assert_int_equal(c.serial_len, sizeof(serial_der));
	assert_memory_equal(c.serial, serial_der, sizeof(serial_der));
	assert_string_equal(c.label, "Nguyễn Văn An");
	assert_int_equal(c.is_ca, 0);
	assert_int_equal(c.self_signed, 0);
	assert_int_equal(EVP_PKEY_eq(c.pubkey, p256), 1);
	certmatch_cert_clear(&c);
	assert_null(c.der);
	assert_null(c.label);
	certmatch_cert_clear(&c);  /* twice is harmless */
	OPENSSL_free(der);
	X509_free(x);
}

static void
test_label_fallbacks(void **state)
{
	X509 *x1 = make_cert(p256, NULL, "Acme Org", NULL, NULL, 0, 0x0a0b0c0d0e);
	X509 *x2 = make_cert(p256, NULL, NULL, rsa2048, "Acme CA", 0, 0x0a0b0c0d0e);
	struct certmatch_cert c;
	size_t len;
	unsigned char *der;
	char err[256];

	(void)state;
	der = to_der(x1, &len);
	assert_int_equal(certmatch_load(der, len, &c, err, sizeof(err)), KYSO_OK);
	assert_string_equal(c.label, "Acme Org");
	certmatch_cert_clear(&c);
	OPENSSL_free(der);
	der = to_der(x2, &len);
	assert_int_equal(certmatch_load(der, len, &c, err, sizeof(err)), KYSO_OK);
	assert_string_equal(c.label, "certificate 0a0b0c0d");
	certmatch_cert_clear(&c);
	OPENSSL_free(der);
	X509_free(x1);
	X509_free(x2);
}

/* root → intermediate → leaf, as a CA hands them out. */
static void
test_chain(void **state)
{
	X509 *root = make_cert(rsa2048, "Acme Root CA", "Acme", NULL, NULL, 1, 1);
	X509 *inter = make_cert(p384, "Acme Issuing CA 1", "Acme", rsa2048, "Acme Root CA", 1, 2);
	X509 *leaf = make_cert(p256, "Alice", "Acme", p384, "Acme Issuing CA 1", 0, 3);
	X509 *all[3] = { leaf, inter, root };
	static const char *const labels[3] = { "Alice", "Acme Issuing CA 1", "Acme Root CA" };
	BIO *b = BIO_new(BIO_s_mem());
	struct certmatch_cert *certs = NULL, one;
	size_t n = 0;
	char *pem, err[256] = "";
	long pemlen;

	(void)state;
	assert_non_null(b);
	append_pem(b, leaf, "subject=CN = Alice, O = Acme\n");
	append_pem(b, inter, "\n# the issuing CA\n");
	append_pem(b, root, NULL);
	pemlen = BIO_get_mem_data(b, &pem);
	assert_int_equal(certmatch_load_chain((unsigned char *)pem, (size_t)pemlen, &certs, &n,
	    err, sizeof(err)), KYSO_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < 3; i++) {
		size_t len;
		unsigned char *der = to_der(all[i], &len);

		assert_int_equal(certs[i].der_len, len);
		assert_memory_equal(certs[i].der, der, len);
		assert_string_equal(certs[i].label, labels[i]);
		OPENSSL_free(der);
	}
	assert_int_equal(certs[0].is_ca, 0);
	assert_int_equal(certs[1].is_ca, 1);
	assert_int_equal(certs[2].is_ca, 1);
	assert_int_equal(certs[0].self_signed, 0);
	assert_int_equal(certs[1].self_signed, 0);
	assert_int_equal(certs[2].self_signed, 1);
	/* each issuer is the next one's subject */
	assert_memory_equal(certs[0].issuer, certs[1].subject, certs[1].subject_len);
	assert_memory_equal(certs[1].issuer, certs[2].subject, certs[2].subject_len);
	certmatch_certs_free(certs, n);

	/* one certificate was expected: the bundle is refused */
	assert_int_equal(certmatch_load((unsigned char *)pem, (size_t)pemlen, &one, err,
	    sizeof(err)), KYSO_ERR_INVALID_ARG);
	assert_string_equal(err, "the file holds 3 certificates, not one");
	BIO_free(b);

	/* a chain of one, in PEM and in DER */
	assert_non_null(b = BIO_new(BIO_s_mem()));
	append_pem(b, root, NULL);
	pemlen = BIO_get_mem_data(b, &pem);
	assert_int_equal(certmatch_load_chain((unsigned char *)pem, (size_t)pemlen, &certs, &n,
	    err, sizeof(err)), KYSO_OK);
	assert_int_equal(n, 1);
	assert_int_equal(certs[0].is_ca, 1);
	certmatch_certs_free(certs, n);
	assert_int_equal(certmatch_load((unsigned char *)pem, (size_t)pemlen, &one, err,
	    sizeof(err)), KYSO_OK);
	assert_string_equal(one.label, "Acme Root CA");
	certmatch_cert_clear(&one);
	BIO_free(b);
	X509_free(root);
	X509_free(inter);
	X509_free(leaf);
}

static void
expect_refused(const void *data, size_t len, const char *sentence)
{
	struct certmatch_cert *certs = (struct certmatch_cert *)1, one;
	size_t n = 99;
	char err[256] = "";

	assert_int_equal(certmatch_load_chain(data, len, &certs, &n, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_null(certs);
	assert_int_equal(n, 0);
	if (strstr(err, sentence) == NULL)
		fail_msg("got \"%s\", want \"%s\"", err, sentence);
	err[0] = '\0';
	assert_int_equal(certmatch_load(data, len, &one, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_null(one.der);
	assert_non_null(strstr(err, sentence));
}

static void
test_refusals(void **state)
{
	X509 *x = make_cert(p256, "Alice", NULL, NULL, NULL, 0, 1);
	BIO *b = BIO_new(BIO_s_mem());
	size_t len;
	unsigned char *der = to_der(x, &len), *longer;
	char *pem;
	long pemlen;

	(void)state;
	assert_non_null(b);
	expect_refused("", 0, "the file is empty");
	expect_refused("hello, world\n", 13, "the file holds no certificate (neither DER nor "
	    "PEM)");
	expect_refused("\x30\x03\x02\x01\x01", 5, "the data is not an X.509 certificate");
	/* DER with bytes after it */
	assert_non_null(longer = malloc(len + 2));
	memcpy(longer, der, len);
	longer[len] = 0x00;
	longer[len + 1] = 0x00;
	expect_refused(longer, len + 2, "the certificate is followed by 2 bytes of something "
	    "else");
	free(longer);
	/* a private key in the chain file */
	append_pem(b, x, NULL);
	assert_int_equal(PEM_write_bio_PrivateKey(b, p256, NULL, NULL, 0, NULL, NULL), 1);
	pemlen = BIO_get_mem_data(b, &pem);
	expect_refused(pem, (size_t)pemlen, "the file holds a \"PRIVATE KEY\" PEM block; only "
	    "certificates are expected");
	BIO_free(b);
	/* a damaged PEM block */
	expect_refused("-----BEGIN CERTIFICATE-----\nMIIB!!!!\n-----END CERTIFICATE-----\n",
	    62, "the file has a damaged PEM block after 0 certificates");
	/* a PEM block that is not a certificate inside */
	expect_refused("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
	    62, "PEM block 1 of the file is not a valid certificate");
	OPENSSL_free(der);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finds_the_key),
		cmocka_unit_test(test_rejects_foreign_cert),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_label_fallbacks),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
