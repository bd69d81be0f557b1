/*
 * test_curves.c — common/curves.h, the one table of curves: OpenSSL group names (short
 * and NIST), CKA_EC_PARAMS in both forms (DER OID; PKCS#11 3.0's printable name for
 * Ed25519) against the bytes tokens hold, kyso-admin's names, and curves it does not know.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "curves.h"

static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07 };
static const unsigned char p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
static const unsigned char p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
static const unsigned char ed_oid[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
static const unsigned char ed_name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2',
	'5', '5', '1', '9' };
static const unsigned char k1[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };  /* secp256k1 */

static void
test_groups(void **state)
{
	(void)state;
	assert_int_equal(curve_by_group("prime256v1")->id, CURVE_P256);
	assert_int_equal(curve_by_group("P-256")->id, CURVE_P256);
	assert_int_equal(curve_by_group("secp384r1")->id, CURVE_P384);
	assert_int_equal(curve_by_group("P-521")->id, CURVE_P521);
	assert_int_equal(curve_by_group("ED25519")->id, CURVE_ED25519);
	assert_null(curve_by_group("secp256k1"));
	assert_null(curve_by_group(NULL));
}

static void
test_params(void **state)
{
	unsigned char buf[64];

	(void)state;
	assert_int_equal(curve_by_params(p256, sizeof(p256))->id, CURVE_P256);
	assert_string_equal(curve_by_params(p384, sizeof(p384))->kyso, "ec:p384");
	assert_int_equal(curve_by_params(p521, sizeof(p521))->bits, 521);
	assert_int_equal(curve_by_params(ed_oid, sizeof(ed_oid))->id, CURVE_ED25519);
	assert_int_equal(curve_by_params(ed_name, sizeof(ed_name))->id, CURVE_ED25519);
	assert_null(curve_by_params(k1, sizeof(k1)));
	assert_null(curve_by_params(p256, sizeof(p256) - 1));
	/* what keygen writes */
	assert_int_equal(curve_params(curve_get(CURVE_P256), 0, buf, sizeof(buf)), sizeof(p256));
	assert_memory_equal(buf, p256, sizeof(p256));
	assert_int_equal(curve_params(curve_get(CURVE_P256), 1, buf, sizeof(buf)), sizeof(p256));
	assert_int_equal(curve_params(curve_get(CURVE_ED25519), 1, buf, sizeof(buf)),
	    sizeof(ed_name));
	assert_memory_equal(buf, ed_name, sizeof(ed_name));
	assert_int_equal(curve_params(curve_get(CURVE_ED25519), 0, buf, sizeof(buf)),
	    sizeof(ed_oid));
	assert_memory_equal(buf, ed_oid, sizeof(ed_oid));
	assert_int_equal(curve_params(curve_get(CURVE_P256), 0, buf, 4), 0);
	assert_null(curve_get(CURVE_COUNT));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_params),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
