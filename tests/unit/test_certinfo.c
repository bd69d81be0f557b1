/* test_certinfo.c — agent/certinfo.h: certificate fields read with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "certinfo.h"
#include "kyso_err.h"
#include "testcerts.h"

#define T_2025_01_02_030405 ((time_t)1735787045)
#define T_2060_12_31_235959 ((time_t)2871763199)
#define T_1999_12_31_235959 ((time_t)946684799)
#define T_2049_12_31_235959 ((time_t)2524607999)
#define T_2050_01_01_000000 ((time_t)2524608000)

static EVP_PKEY *rsa2048, *p256, *p384, *p521, *ed25519;

static int
setup_keys(void **state)
{
	(void)state;
	rsa2048 = tc_key("RSA", NULL, 2048);
	p256 = tc_key("EC", "P-256", 0);
	p384 = tc_key("EC", "P-384", 0);
	p521 = tc_key("EC", "P-521", 0);
	ed25519 = tc_key("ED25519", NULL, 0);
	return rsa2048 && p256 && p384 && p521 && ed25519 ? 0 : -1;
}

static int
teardown_keys(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(ed25519);
	return 0;
}

static struct tc_spec
base_spec(void)
{
	struct tc_spec s = {
		.subject_cn = "Alice Example", .subject_o = "Acme, Inc.", .subject_c = "DE",
		.issuer_cn = "Acme Issuing CA 1", .issuer_o = "Acme CA",
		.serial_hex = "1234ABCD",
		.not_before = T_2025_01_02_030405, .not_after = T_2060_12_31_235959,
		.key_usage = TC_KU(TC_KU_DIGITAL_SIGNATURE) | TC_KU(TC_KU_NON_REPUDIATION),
	};

	return s;
}

/* Parses a certificate made from spec; fails the test if it does not parse. */
static unsigned char *
parse_spec(EVP_PKEY *key, const struct tc_spec *spec, struct certinfo *ci, size_t *len)
{
	unsigned char *der = tc_cert_der(key, spec, len);

	assert_non_null(der);
	assert_int_equal(certinfo_parse(der, *len, ci), KYSO_OK);
	return der;
}

struct usages {
	const char *names[16];
	size_t n;
};

static void
collect_usage(const char *name, void *arg)
{
	struct usages *u = arg;

	assert_true(u->n < 16);
	u->names[u->n++] = name;
}

static void
expect_usages(const struct certinfo *ci, const char *const *want, size_t nwant)
{
	struct usages u = { { NULL }, 0 };

	certinfo_key_usages(ci, collect_usage, &u);
	assert_int_equal(u.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(u.names[i], want[i]);
}

static void
test_rsa_all_fields(void **state)
{
	static const char *const ku[] = { "digitalSignature", "nonRepudiation" };
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	char id[65];
	size_t len;
	unsigned char *der;

	(void)state;
	der = parse_spec(rsa2048, &spec, &ci, &len);
	tc_sha256_hex(der, len, id);
	assert_string_equal(ci.id, id);
	assert_string_equal(ci.subject, "CN=Alice Example,O=Acme\\, Inc.,C=DE");
	assert_string_equal(ci.issuer, "CN=Acme Issuing CA 1,O=Acme CA");
	assert_string_equal(ci.serial, "1234abcd");
	assert_string_equal(ci.not_before, "2025-01-02T03:04:05Z");
	assert_string_equal(ci.not_after, "2060-12-31T23:59:59Z");
	assert_int_equal(ci.key_type, KEY_RSA);
	assert_int_equal(ci.key_bits, 2048);
	assert_string_equal(ci.curve, "");
	assert_int_equal(ci.has_key_usage, 1);
	assert_int_equal(ci.key_usage, KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION);
	expect_usages(&ci, ku, 2);
	assert_string_equal(certinfo_key_type_name(ci.key_type), "rsa");
	certinfo_clear(&ci);
	assert_null(ci.subject);
	assert_null(ci.issuer);
	assert_null(ci.serial);
	certinfo_clear(&ci);  /* twice is harmless */
	OPENSSL_free(der);
}

static void
check_key(EVP_PKEY *key, enum key_type type, int bits, const char *curve, const char *tname)
{
	static const char *const ku[] = { "digitalSignature", "nonRepudiation" };
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	char id[65];
	size_t len;
	unsigned char *der;

	der = parse_spec(key, &spec, &ci, &len);
	tc_sha256_hex(der, len, id);
	assert_string_equal(ci.id, id);
	assert_int_equal(ci.key_type, type);
	assert_int_equal(ci.key_bits, bits);
	assert_string_equal(ci.curve, curve);
	assert_string_equal(certinfo_key_type_name(ci.key_type), tname);
	assert_string_equal(ci.subject, "CN=Alice Example,O=Acme\\, Inc.,C=DE");
	assert_string_equal(ci.serial, "1234abcd");
	assert_string_equal(ci.not_before, "2025-01-02T03:04:05Z");
	expect_usages(&ci, ku, 2);
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
test_ec_p256(void **state)
{
	(void)state;
	check_key(p256, KEY_EC, 256, "P-256", "ec");
}

static void
test_ec_p384(void **state)
{
	(void)state;
	check_key(p384, KEY_EC, 384, "P-384", "ec");
}

static void
test_ec_p521(void **state)
{
	(void)state;
	check_key(p521, KEY_EC, 521, "P-521", "ec");
}

static void
test_ed25519(void **state)
{
	(void)state;
	check_key(ed25519, KEY_ED25519, 256, "Ed25519", "ed25519");
}

static void
test_no_key_usage(void **state)
{
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	size_t len;
	unsigned char *der;

	(void)state;
	spec.no_key_usage = 1;
	der = parse_spec(p256, &spec, &ci, &len);
	assert_int_equal(ci.has_key_usage, 0);
	assert_int_equal(ci.key_usage, 0);
	expect_usages(&ci, NULL, 0);
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
test_key_usage_rfc5280_order(void **state)
{
	static const char *const all[] = { "digitalSignature", "nonRepudiation",
		"keyEncipherment", "dataEncipherment", "keyAgreement", "keyCertSign", "cRLSign",
		"encipherOnly", "decipherOnly" };
	static const char *const some[] = { "digitalSignature", "keyAgreement", "keyCertSign",
		"cRLSign", "decipherOnly" };
	static const char *const one[] = { "keyEncipherment" };
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	size_t len;
	unsigned char *der;

	(void)state;
	spec.key_usage = 0x1ff;
	der = parse_spec(p256, &spec, &ci, &len);
	assert_int_equal(ci.has_key_usage, 1);
	expect_usages(&ci, all, 9);
	certinfo_clear(&ci);
	OPENSSL_free(der);

	spec.key_usage = TC_KU(TC_KU_DECIPHER_ONLY) | TC_KU(TC_KU_CRL_SIGN) |
	    TC_KU(TC_KU_KEY_AGREEMENT) | TC_KU(TC_KU_DIGITAL_SIGNATURE) |
	    TC_KU(TC_KU_KEY_CERT_SIGN);
	der = parse_spec(p256, &spec, &ci, &len);
	expect_usages(&ci, some, 5);
	certinfo_clear(&ci);
	OPENSSL_free(der);

	spec.key_usage = TC_KU(TC_KU_KEY_ENCIPHERMENT);
	der = parse_spec(rsa2048, &spec, &ci, &len);
	expect_usages(&ci, one, 1);
	assert_int_equal(ci.key_usage, KU_KEY_ENCIPHERMENT);
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
check_serial(const char *hex_in, const char *want)
{
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	size_t len;
	unsigned char *der;

	spec.serial_hex = hex_in;
	der = parse_spec(p256, &spec, &ci, &len);
	assert_string_equal(ci.serial, want);
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
test_serials(void **state)
{
	(void)state;
	check_serial("5", "05");
	check_serial("ABC", "0abc");
	check_serial("DEADBEEF", "deadbeef");
	/* 20 bytes with the top bit set: DER adds a 00 that is not part of the number */
	check_serial("8000000000000000000000000000000000000001",
	    "8000000000000000000000000000000000000001");
	check_serial("7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
	    "7fffffffffffffffffffffffffffffffffffffff");
}

static void
check_times(time_t nb, time_t na, const char *want_nb, const char *want_na)
{
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	size_t len;
	unsigned char *der;

	spec.not_before = nb;
	spec.not_after = na;
	der = parse_spec(p256, &spec, &ci, &len);
	assert_string_equal(ci.not_before, want_nb);
	assert_string_equal(ci.not_after, want_na);
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
test_times(void **state)
{
	(void)state;
	/* UTCTime before 2050, GeneralizedTime from 2050 on */
	check_times(T_1999_12_31_235959, T_2049_12_31_235959, "1999-12-31T23:59:59Z",
	    "2049-12-31T23:59:59Z");
	check_times(T_2049_12_31_235959, T_2050_01_01_000000, "2049-12-31T23:59:59Z",
	    "2050-01-01T00:00:00Z");
	check_times(T_2025_01_02_030405, T_2060_12_31_235959, "2025-01-02T03:04:05Z",
	    "2060-12-31T23:59:59Z");
}

static void
test_names(void **state)
{
	struct tc_spec spec = base_spec();
	struct certinfo ci;
	size_t len;
	unsigned char *der;

	(void)state;
	/* UTF-8 passes through unescaped; RFC 2253 specials are escaped */
	spec.subject_cn = "J\xc3\xbcrgen Gr\xc3\xb6\xc3\x9f";
	spec.subject_o = "A+B; \"C\" <d>";
	spec.subject_c = NULL;
	spec.issuer_cn = "Issuer";
	spec.issuer_o = NULL;
	der = parse_spec(p256, &spec, &ci, &len);
	assert_string_equal(ci.subject,
	    "CN=J\xc3\xbcrgen Gr\xc3\xb6\xc3\x9f,O=A\\+B\\; \\\"C\\\" \\<d\\>");
	assert_string_equal(ci.issuer, "CN=Issuer");
	certinfo_clear(&ci);
	OPENSSL_free(der);
}

static void
expect_invalid(const unsigned char *p, size_t len)
{
	struct certinfo ci;

	memset(&ci, 0x5a, sizeof(ci));
	assert_int_equal(certinfo_parse(p, len, &ci), KYSO_ERR_INVALID_ARG);
	assert_null(ci.subject);
	assert_null(ci.issuer);
	assert_null(ci.serial);
	certinfo_clear(&ci);
}

static void
test_rejects_garbage(void **state)
{
	struct tc_spec spec = base_spec();
	unsigned char *der, *longer;
	size_t len;

	(void)state;
	expect_invalid((const unsigned char *)"hello, world", 12);
	expect_invalid((const unsigned char *)"", 0);
	expect_invalid((const unsigned char *)"\x30\x00", 2);
	der = tc_cert_der(p256, &spec, &len);
	assert_non_null(der);
	/* trailing bytes after a good certificate */
	longer = malloc(len + 1);
	assert_non_null(longer);
	memcpy(longer, der, len);
	longer[len] = 0x00;
	expect_invalid(longer, len + 1);
	memcpy(longer + len, "\x05", 1);
	expect_invalid(longer, len + 1);
	/* truncated */
	expect_invalid(der, len - 1);
	expect_invalid(der, len / 2);
	/* not a SEQUENCE */
	memcpy(longer, der, len);
	longer[0] = 0x31;
	expect_invalid(longer, len);
	free(longer);
	OPENSSL_free(der);
}

static void
test_key_type_names(void **state)
{
	(void)state;
	assert_string_equal(certinfo_key_type_name(KEY_RSA), "rsa");
	assert_string_equal(certinfo_key_type_name(KEY_EC), "ec");
	assert_string_equal(certinfo_key_type_name(KEY_ED25519), "ed25519");
	assert_string_equal(certinfo_key_type_name(KEY_OTHER), "other");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_all_fields),
		cmocka_unit_test(test_ec_p256),
		cmocka_unit_test(test_ec_p384),
		cmocka_unit_test(test_ec_p521),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_no_key_usage),
		cmocka_unit_test(test_key_usage_rfc5280_order),
		cmocka_unit_test(test_serials),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_rejects_garbage),
		cmocka_unit_test(test_key_type_names),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
