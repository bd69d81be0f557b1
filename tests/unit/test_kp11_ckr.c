/* test_kp11_ckr.c — kyso-pkcs11's one table from kysod's errors to CK_RV. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kp11.h"
#include "kyso_err.h"

static void
test_pin_errors(void **state)
{
	(void)state;
	/* a C_Sign that needs a PIN kysod could not ask for: the program logs in again */
	assert_int_equal(kp_ckr(KYSO_ERR_PIN_REQUIRED, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_USER_NOT_LOGGED_IN);
	/* a C_Login without a PIN, and no dialog: not the PIN's fault */
	assert_int_equal(kp_ckr(KYSO_ERR_PIN_REQUIRED, KP_DETAIL_NONE, KP_OP_LOGIN),
	    CKR_FUNCTION_FAILED);
	assert_int_equal(kp_ckr(KYSO_ERR_PIN_INCORRECT, KP_DETAIL_NONE, KP_OP_LOGIN),
	    CKR_PIN_INCORRECT);
	assert_int_equal(kp_ckr(KYSO_ERR_PIN_INCORRECT, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_PIN_INCORRECT);
	assert_int_equal(kp_ckr(KYSO_ERR_PIN_LOCKED, KP_DETAIL_NONE, KP_OP_LOGIN), CKR_PIN_LOCKED);
	assert_int_equal(kp_ckr(KYSO_ERR_INVALID_ARG, KP_DETAIL_NONE, KP_OP_LOGIN),
	    CKR_PIN_INVALID);
	assert_int_equal(kp_ckr(KYSO_ERR_INVALID_PARAMETER, KP_DETAIL_NONE, KP_OP_LOGIN),
	    CKR_PIN_LEN_RANGE);
}

static void
test_officer_and_policy(void **state)
{
	(void)state;
	assert_int_equal(kp_ckr(KYSO_ERR_CANCELLED, KP_DETAIL_CANCELLED, KP_OP_SIGN),
	    CKR_FUNCTION_CANCELED);
	assert_int_equal(kp_ckr(KYSO_ERR_CANCELLED, KP_DETAIL_TIMEOUT, KP_OP_LOGIN),
	    CKR_FUNCTION_CANCELED);
	assert_int_equal(kp_ckr(KYSO_ERR_CANCELLED, KP_DETAIL_LOCKED, KP_OP_SIGN),
	    CKR_FUNCTION_CANCELED);
	/* "the signature request is rejected by the user" */
	assert_int_equal(kp_ckr(KYSO_ERR_CANCELLED, KP_DETAIL_REFUSED, KP_OP_SIGN),
	    CKR_FUNCTION_REJECTED);
	assert_int_equal(kp_ckr(KYSO_ERR_CANCELLED, KP_DETAIL_NO_DIALOG, KP_OP_SIGN),
	    CKR_FUNCTION_REJECTED);
	assert_int_equal(kp_ckr(KYSO_ERR_POLICY, KP_DETAIL_CLIENT_PIN, KP_OP_LOGIN),
	    CKR_FUNCTION_REJECTED);
	/* login_cache = no: the application's login begins; each C_Sign asks */
	assert_int_equal(kp_ckr(KYSO_ERR_POLICY, KP_DETAIL_LOGIN_CACHE, KP_OP_LOGIN), CKR_OK);
	assert_int_equal(kp_ckr(KYSO_ERR_POLICY, KP_DETAIL_LOGIN_CACHE, KP_OP_SIGN),
	    CKR_FUNCTION_REJECTED);
	assert_int_equal(kp_ckr(KYSO_ERR_AUDIT, KP_DETAIL_NONE, KP_OP_SIGN), CKR_FUNCTION_FAILED);
}

static void
test_gone_and_failing(void **state)
{
	(void)state;
	assert_int_equal(kp_ckr(KYSO_OK, KP_DETAIL_NONE, KP_OP_SIGN), CKR_OK);
	assert_int_equal(kp_ckr(KYSO_ERR_TOKEN_NOT_PRESENT, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_DEVICE_REMOVED);
	assert_int_equal(kp_ckr(KYSO_ERR_NO_SUCH_CERT, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_DEVICE_REMOVED);
	assert_int_equal(kp_ckr(KYSO_ERR_CONNECT, KP_DETAIL_NONE, KP_OP_LIST), CKR_DEVICE_REMOVED);
	assert_int_equal(kp_ckr(KYSO_ERR_DISCONNECTED, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_DEVICE_REMOVED);
	assert_int_equal(kp_ckr(KYSO_ERR_TOKEN, KP_DETAIL_NONE, KP_OP_SIGN), CKR_DEVICE_ERROR);
	assert_int_equal(kp_ckr(KYSO_ERR_INVALID_DIGEST, KP_DETAIL_NONE, KP_OP_SIGN),
	    CKR_DATA_LEN_RANGE);
	assert_int_equal(kp_ckr(KYSO_ERR_NOMEM, KP_DETAIL_NONE, KP_OP_SIGN), CKR_HOST_MEMORY);
	/* what should not happen does not stop the module: CKR_FUNCTION_FAILED */
	assert_int_equal(kp_ckr(KYSO_ERR_PROTOCOL, KP_DETAIL_NONE, KP_OP_SIGN), CKR_FUNCTION_FAILED);
	assert_int_equal(kp_ckr(KYSO_ERR_UNKNOWN_REMOTE, KP_DETAIL_NONE, KP_OP_LOGIN),
	    CKR_FUNCTION_FAILED);
	assert_int_equal(kp_ckr(-999, KP_DETAIL_NONE, KP_OP_SIGN), CKR_FUNCTION_FAILED);
}

static void
test_detail_from_parameters(void **state)
{
	(void)state;
	assert_int_equal(kp_detail_parse("{\"token\":\"x\",\"reason\":\"refused\"}"),
	    KP_DETAIL_REFUSED);
	assert_int_equal(kp_detail_parse("{\"reason\":\"no-dialog\"}"), KP_DETAIL_NO_DIALOG);
	assert_int_equal(kp_detail_parse("{\"setting\":\"login_cache\",\"message\":\"m\"}"),
	    KP_DETAIL_LOGIN_CACHE);
	assert_int_equal(kp_detail_parse("{\"setting\":\"client_pin\"}"), KP_DETAIL_CLIENT_PIN);
	assert_int_equal(kp_detail_parse("{\"reason\":\"something new\"}"), KP_DETAIL_NONE);
	assert_int_equal(kp_detail_parse("{}"), KP_DETAIL_NONE);
	assert_int_equal(kp_detail_parse("not json"), KP_DETAIL_NONE);
	assert_int_equal(kp_detail_parse(NULL), KP_DETAIL_NONE);
	assert_string_equal(kp_ckr_name(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
	assert_string_equal(kp_ckr_name(0x80000001UL), "CKR_VENDOR_DEFINED");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_officer_and_policy),
		cmocka_unit_test(test_gone_and_failing),
		cmocka_unit_test(test_detail_from_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
