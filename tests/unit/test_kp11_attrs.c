/* test_kp11_attrs.c — kyso-pkcs11's objects: C_GetAttributeValue's buffer rules, template
 * matching, and the attributes built from a certificate kysod lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"
#include "kp11.h"
#include "testcerts.h"

static unsigned char val_label[] = "key one";
static CK_BBOOL val_true = CK_TRUE;
static struct kp_attr list_a[] = {
	{ CKA_LABEL, val_label, 7, 0 },
	{ CKA_SIGN, &val_true, sizeof(CK_BBOOL), 0 },
	{ CKA_VALUE, NULL, 0, 1 },          /* sensitive */
	{ CKA_ID, NULL, 0, 0 },             /* empty */
};
static const struct kp_attrs list = { list_a, 4, 4 };

static void
test_length_then_value(void **state)
{
	unsigned char buf[16];
	CK_ATTRIBUTE t = { CKA_LABEL, NULL, 0 };

	(void)state;
	assert_int_equal(kp_attrs_get(&list, &t, 1), CKR_OK);
	assert_int_equal(t.ulValueLen, 7);
	t.pValue = buf;
	t.ulValueLen = sizeof(buf);  /* room to spare: the length becomes the value's */
	assert_int_equal(kp_attrs_get(&list, &t, 1), CKR_OK);
	assert_int_equal(t.ulValueLen, 7);
	assert_memory_equal(buf, "key one", 7);
	t.ulValueLen = 7;  /* exactly */
	assert_int_equal(kp_attrs_get(&list, &t, 1), CKR_OK);
}

static void
test_too_small_sensitive_invalid(void **state)
{
	unsigned char buf[16] = "untouched";
	CK_ATTRIBUTE t[4] = {
		{ CKA_LABEL, buf, 6 },           /* one byte short */
		{ CKA_VALUE, NULL, 0 },          /* sensitive */
		{ CKA_MODULUS, NULL, 0 },        /* not an attribute of this object */
		{ CKA_SIGN, buf + 8, 1 },        /* fine: still filled */
	};

	(void)state;
	assert_int_equal(kp_attrs_get(&list, &t[0], 1), CKR_BUFFER_TOO_SMALL);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	t[0].ulValueLen = 6;
	assert_int_equal(kp_attrs_get(&list, &t[1], 1), CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(kp_attrs_get(&list, &t[2], 1), CKR_ATTRIBUTE_TYPE_INVALID);
	assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	/* all four at once: every entry is processed, one of the errors is returned */
	t[1].ulValueLen = t[2].ulValueLen = 0;
	buf[8] = 0;
	assert_int_not_equal(kp_attrs_get(&list, t, 4), CKR_OK);
	assert_int_equal(t[0].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[1].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[2].ulValueLen, CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(t[3].ulValueLen, 1);
	assert_int_equal(buf[8], CK_TRUE);
}

static void
test_empty_value(void **state)
{
	unsigned char b;
	CK_ATTRIBUTE t = { CKA_ID, &b, 1 };

	(void)state;
	assert_int_equal(kp_attrs_get(&list, &t, 1), CKR_OK);
	assert_int_equal(t.ulValueLen, 0);
}

static void
test_match(void **state)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ATTRIBUTE t[2] = { { CKA_SIGN, &yes, sizeof(yes) }, { CKA_LABEL, "key one", 7 } };
	CK_ATTRIBUTE bad[1] = { { CKA_SIGN, &no, sizeof(no) } };
	CK_ATTRIBUTE shorter[1] = { { CKA_LABEL, "key", 3 } };
	CK_ATTRIBUTE secret[1] = { { CKA_VALUE, NULL, 0 } };
	CK_ATTRIBUTE absent[1] = { { CKA_MODULUS, NULL, 0 } };

	(void)state;
	assert_true(kp_attrs_match(&list, NULL, 0));  /* the empty template: every object */
	assert_true(kp_attrs_match(&list, t, 2));
	assert_false(kp_attrs_match(&list, bad, 1));
	assert_false(kp_attrs_match(&list, shorter, 1));
	assert_false(kp_attrs_match(&list, secret, 1));  /* never by a sensitive value */
	assert_false(kp_attrs_match(&list, absent, 1));
}

/* ---- attributes from kysod's listing of a certificate ---- */

static json_t *
listing(const unsigned char *der, size_t len, const char *uri, int can_sign, int always,
    const char *alg, int bits)
{
	char id[65], *b64 = b64_encode(der, len);
	json_t *o;

	tc_sha256_hex(der, len, id);
	o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:[s], s:i}", "id", id, "key_uri", uri,
	    "label", "the certificate", "der", b64, "can_sign", can_sign,
	    "always_authenticate", always, "algorithms", alg, "key_bits", bits);
	free(b64);
	return o;
}

static void
get(const struct kp_attrs *l, CK_ATTRIBUTE_TYPE type, void *out, CK_ULONG *len)
{
	CK_ATTRIBUTE t = { type, out, *len };

	assert_int_equal(kp_attrs_get(l, &t, 1), CKR_OK);
	*len = t.ulValueLen;
}

static void
test_ec_certificate(void **state)
{
	struct tc_spec spec = { .subject_cn = "officer", .issuer_cn = "officer", .serial_hex =
		"1234", .not_before = 1700000000, .not_after = 1900000000 };
	EVP_PKEY *key = tc_key("EC", "P-256", 0);
	unsigned char *der, buf[4096];
	size_t len;
	CK_ULONG n;
	CK_KEY_TYPE kt;
	CK_BBOOL b;
	CK_ULONG cat;
	struct kp_cert c;
	json_t *o;

	(void)state;
	der = tc_cert_der(key, &spec, &len);
	assert_non_null(der);
	o = listing(der, len, "pkcs11:token=t;id=%03%a1;object=the%20key;type=private", 1, 1,
	    "ecdsa-sha256", 256);
	assert_int_equal(kp_cert_build(o, 0, &c), 0);
	assert_int_equal(c.key, KP_KEY_EC);
	assert_int_equal(c.key_bits, 256);
	assert_true(c.can_sign);
	assert_int_equal(c.algs, KP_ALG_BIT(KP_ALG_ECDSA_256));
	/* the certificate object */
	n = sizeof(buf);
	get(&c.cert, CKA_VALUE, buf, &n);
	assert_int_equal(n, len);
	assert_memory_equal(buf, der, len);
	n = sizeof(buf);
	get(&c.cert, CKA_ID, buf, &n);
	assert_int_equal(n, 2);
	assert_memory_equal(buf, "\x03\xa1", 2);
	n = sizeof(buf);
	get(&c.cert, CKA_LABEL, buf, &n);
	assert_memory_equal(buf, "the certificate", n);
	n = sizeof(buf);
	get(&c.cert, CKA_SERIAL_NUMBER, buf, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "\x02\x02\x12\x34", 4);  /* a DER INTEGER */
	n = sizeof(cat);
	get(&c.cert, CKA_CERTIFICATE_CATEGORY, &cat, &n);
	assert_int_equal(cat, 1);
	n = sizeof(buf);
	get(&c.cert, CKA_START_DATE, buf, &n);
	assert_memory_equal(buf, "20231114", 8);
	/* the keys: named by the key's label, with the certificate's CKA_ID */
	n = sizeof(buf);
	get(&c.priv, CKA_LABEL, buf, &n);
	assert_memory_equal(buf, "the key", n);
	n = sizeof(kt);
	get(&c.priv, CKA_KEY_TYPE, &kt, &n);
	assert_int_equal(kt, CKK_EC);
	n = sizeof(buf);
	get(&c.priv, CKA_EC_PARAMS, buf, &n);
	assert_int_equal(n, 10);
	assert_memory_equal(buf, "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07", 10);
	n = sizeof(buf);
	get(&c.pub, CKA_EC_POINT, buf, &n);
	assert_int_equal(n, 67);
	assert_memory_equal(buf, "\x04\x41\x04", 3);  /* OCTET STRING, uncompressed point */
	/* agent mode: kysod asks for the PIN of every signature, the program need not */
	n = sizeof(b);
	get(&c.priv, CKA_ALWAYS_AUTHENTICATE, &b, &n);
	assert_int_equal(b, CK_FALSE);
	kp_cert_clear(&c);
	/* the program's PIN: it is told */
	assert_int_equal(kp_cert_build(o, 1, &c), 0);
	n = sizeof(b);
	get(&c.priv, CKA_ALWAYS_AUTHENTICATE, &b, &n);
	assert_int_equal(b, CK_TRUE);
	kp_cert_clear(&c);
	json_decref(o);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void
test_rsa_and_ed25519(void **state)
{
	struct tc_spec spec = { .subject_cn = "x", .issuer_cn = "x", .not_before = 1700000000,
		.not_after = 1900000000 };
	EVP_PKEY *rsa = tc_key("RSA", NULL, 2048), *ed = tc_key("ED25519", NULL, 0);
	unsigned char *der, buf[1024];
	size_t len;
	CK_ULONG n;
	CK_KEY_TYPE kt;
	struct kp_cert c;
	CK_ATTRIBUTE secret = { CKA_PRIVATE_EXPONENT, NULL, 0 };
	json_t *o;

	(void)state;
	der = tc_cert_der(rsa, &spec, &len);
	o = listing(der, len, "pkcs11:id=%01;type=private", 1, 0, "rsa-pss-sha256", 2048);
	assert_int_equal(kp_cert_build(o, 0, &c), 0);
	n = sizeof(buf);
	get(&c.priv, CKA_MODULUS, buf, &n);
	assert_int_equal(n, 256);
	n = sizeof(buf);
	get(&c.pub, CKA_PUBLIC_EXPONENT, buf, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(buf, "\x01\x00\x01", 3);
	assert_int_equal(kp_attrs_get(&c.priv, &secret, 1), CKR_ATTRIBUTE_SENSITIVE);
	/* without object= in the URI, the keys take the certificate's label */
	n = sizeof(buf);
	get(&c.pub, CKA_LABEL, buf, &n);
	assert_memory_equal(buf, "the certificate", n);
	kp_cert_clear(&c);
	json_decref(o);
	OPENSSL_free(der);

	der = tc_cert_der(ed, &spec, &len);
	o = listing(der, len, "pkcs11:id=%05;type=private", 1, 0, "ed25519", 256);
	assert_int_equal(kp_cert_build(o, 0, &c), 0);
	n = sizeof(kt);
	get(&c.priv, CKA_KEY_TYPE, &kt, &n);
	assert_int_equal(kt, CKK_EC_EDWARDS);
	n = sizeof(buf);
	get(&c.pub, CKA_EC_PARAMS, buf, &n);
	assert_int_equal(n, 14);
	assert_memory_equal(buf, "\x13\x0c" "edwards25519", 14);
	n = sizeof(buf);
	get(&c.pub, CKA_EC_POINT, buf, &n);
	assert_int_equal(n, 34);
	kp_cert_clear(&c);
	json_decref(o);
	OPENSSL_free(der);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
}

static void
test_certificate_only_and_unusable(void **state)
{
	struct tc_spec spec = { .subject_cn = "ca", .issuer_cn = "ca", .not_before = 1700000000,
		.not_after = 1900000000 };
	EVP_PKEY *key = tc_key("EC", "P-256", 0);
	unsigned char *der;
	size_t len;
	struct kp_cert c;
	json_t *o;

	(void)state;
	der = tc_cert_der(key, &spec, &len);
	/* kysod lists it without a key that signs: a certificate only */
	o = listing(der, len, "pkcs11:id=%09;type=private", 0, 0, "ecdsa-sha256", 256);
	assert_int_equal(kp_cert_build(o, 0, &c), 0);
	assert_false(c.can_sign);
	assert_int_equal(c.pub.n, 0);
	assert_int_equal(c.priv.n, 0);
	assert_true(c.cert.n > 10);
	kp_cert_clear(&c);
	json_decref(o);
	/* not X.509, a short id, no URI: skipped */
	der[10] ^= 0xff;
	o = listing(der, len / 2, "pkcs11:id=%09", 1, 0, "ecdsa-sha256", 256);
	assert_int_equal(kp_cert_build(o, 0, &c), -1);
	json_decref(o);
	o = json_pack("{s:s, s:s}", "id", "abcd", "der", "");
	assert_int_equal(kp_cert_build(o, 0, &c), -1);
	json_decref(o);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_length_then_value),
		cmocka_unit_test(test_too_small_sensitive_invalid),
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_ec_certificate),
		cmocka_unit_test(test_rsa_and_ed25519),
		cmocka_unit_test(test_certificate_only_and_unusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
