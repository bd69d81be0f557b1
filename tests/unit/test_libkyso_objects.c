/*
 * test_libkyso_objects.c — libkyso's opaque objects (client/libkyso_objects.c and
 * libkyso_parse.c): the agent's JSON into tokens and certificates read through the
 * accessors, the NULL-terminated lists, flags as bits, what the accessors give for NULL
 * or missing fields, and the signing request's constructor and setters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "libkyso_internal.h"
#include "secret.h"

static json_t *
load(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void
test_tokens(void **state)
{
	json_t *a = load("[{\"id\": \"aa01\", \"label\": \"alpha\", \"serial\": \"9309\", "
	    "\"manufacturer\": \"SoftHSM project\", \"model\": \"SoftHSM v2\", \"module\": \"/m.so\", "
	    "\"logged_in\": true, \"login_required\": true, \"user_pin_count_low\": true, "
	    "\"slot_description\": \"a newer field\"}, {\"id\": \"bb02\"}]");
	kyso_token **t = NULL;
	size_t n = 9;

	(void)state;
	assert_int_equal(kyso_parse_tokens(a, &t, &n), KYSO_OK);
	assert_int_equal(n, 2);
	assert_null(t[2]);  /* NULL-terminated */
	assert_string_equal(kyso_token_id(t[0]), "aa01");
	assert_string_equal(kyso_token_label(t[0]), "alpha");
	assert_string_equal(kyso_token_serial(t[0]), "9309");
	assert_string_equal(kyso_token_manufacturer(t[0]), "SoftHSM project");
	assert_string_equal(kyso_token_model(t[0]), "SoftHSM v2");
	assert_string_equal(kyso_token_module(t[0]), "/m.so");
	assert_int_equal(kyso_token_flags(t[0]), KYSO_TOKEN_LOGGED_IN | KYSO_TOKEN_LOGIN_REQUIRED |
	    KYSO_TOKEN_USER_PIN_COUNT_LOW);
	/* a field the accessors do not know is in the JSON */
	assert_non_null(strstr(kyso_token_json(t[0]), "\"slot_description\":\"a newer field\""));
	/* missing fields: "" and no flag */
	assert_string_equal(kyso_token_label(t[1]), "");
	assert_int_equal(kyso_token_flags(t[1]), 0);
	kyso_tokens_free(t);
	json_decref(a);
}

static void
test_tokens_not_an_array(void **state)
{
	json_t *o = load("{\"tokens\": 1}");
	kyso_token **t = (kyso_token **)(uintptr_t)1;
	size_t n = 9;

	(void)state;
	assert_int_equal(kyso_parse_tokens(o, &t, &n), KYSO_ERR_PROTOCOL);
	assert_null(t);
	assert_int_equal(n, 0);
	json_decref(o);
}

static void
test_certs(void **state)
{
	json_t *a = load("[{\"id\": \"d04b\", \"token\": \"aa01\", \"subject\": \"CN=x\", "
	    "\"key_type\": \"ec\", \"key_bits\": 256, \"curve\": \"P-256\", \"can_sign\": true, "
	    "\"always_authenticate\": true, \"key_usage\": [\"digitalSignature\"], "
	    "\"algorithms\": [\"ecdsa-sha256\", \"ecdsa-sha384\"], \"der\": \"AQID\"}]");
	kyso_cert **c = NULL;
	const char *const *algs;
	const unsigned char *der;
	size_t n = 0, len = 0;

	(void)state;
	assert_int_equal(kyso_parse_certs(a, &c, &n), KYSO_OK);
	assert_int_equal(n, 1);
	assert_null(c[1]);
	assert_string_equal(kyso_cert_id(c[0]), "d04b");
	assert_string_equal(kyso_cert_token(c[0]), "aa01");
	assert_string_equal(kyso_cert_subject(c[0]), "CN=x");
	assert_string_equal(kyso_cert_issuer(c[0]), "");
	assert_string_equal(kyso_cert_curve(c[0]), "P-256");
	assert_int_equal(kyso_cert_key_bits(c[0]), 256);
	assert_int_equal(kyso_cert_flags(c[0]), KYSO_CERT_CAN_SIGN | KYSO_CERT_ALWAYS_AUTHENTICATE);
	algs = kyso_cert_algorithms(c[0]);
	assert_string_equal(algs[0], "ecdsa-sha256");
	assert_string_equal(algs[1], "ecdsa-sha384");
	assert_null(algs[2]);
	assert_string_equal(kyso_cert_key_usage(c[0])[0], "digitalSignature");
	der = kyso_cert_der(c[0], &len);
	assert_int_equal(len, 3);
	assert_memory_equal(der, "\x01\x02\x03", 3);
	assert_non_null(strstr(kyso_cert_json(c[0]), "\"der\":\"AQID\""));
	kyso_certs_free(c);
	json_decref(a);
}

static void
test_accessors_on_null(void **state)
{
	size_t len = 7;

	(void)state;
	assert_string_equal(kyso_token_label(NULL), "");
	assert_string_equal(kyso_token_json(NULL), "{}");
	assert_int_equal(kyso_token_flags(NULL), 0);
	assert_string_equal(kyso_cert_subject(NULL), "");
	assert_null(kyso_cert_algorithms(NULL));
	assert_null(kyso_cert_der(NULL, &len));
	assert_int_equal(len, 0);
	assert_string_equal(kyso_event_name(NULL), "");
	assert_null(kyso_event_token(NULL));
	assert_string_equal(kyso_event_json(NULL), "{}");
	kyso_tokens_free(NULL);
	kyso_certs_free(NULL);
	kyso_event_free(NULL);
	kyso_sign_request_free(NULL);
}

static void
test_sign_request(void **state)
{
	kyso_sign_request *r = (kyso_sign_request *)(uintptr_t)1;
	unsigned char d[32] = { 1, 2, 3 };
	char pin[300];

	(void)state;
	assert_int_equal(kyso_sign_request_new(NULL, "ed25519", &r), KYSO_ERR_INVALID_ARG);
	assert_null(r);
	assert_int_equal(kyso_sign_request_new("d04b7ea4", "", &r), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_sign_request_new("d04b7ea4", "ecdsa-sha256", &r), KYSO_OK);
	assert_string_equal(r->certificate, "d04b7ea4");
	assert_string_equal(r->algorithm, "ecdsa-sha256");
	/* the setters copy */
	assert_int_equal(kyso_sign_request_set_digest(r, d, sizeof(d)), KYSO_OK);
	d[0] = 9;
	assert_int_equal(r->digest[0], 1);
	assert_int_equal(r->digest_len, 32);
	assert_int_equal(kyso_sign_request_set_digest(r, d, 0), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_sign_request_set_digest(r, NULL, 32), KYSO_ERR_INVALID_ARG);
	/* data may be empty, not NULL with a length */
	assert_int_equal(kyso_sign_request_set_data(r, NULL, 0), KYSO_OK);
	assert_non_null(r->data);
	assert_int_equal(r->data_len, 0);
	assert_int_equal(kyso_sign_request_set_data(r, NULL, 5), KYSO_ERR_INVALID_ARG);
	/* the PIN in locked memory; replaced, forgotten; 256 bytes at most */
	assert_int_equal(kyso_sign_request_set_pin(r, "123456"), KYSO_OK);
	assert_string_equal(secret_data(r->pin), "123456");
	assert_int_equal(kyso_sign_request_set_pin(r, "654321"), KYSO_OK);
	assert_string_equal(secret_data(r->pin), "654321");
	assert_int_equal(kyso_sign_request_set_pin(r, NULL), KYSO_OK);
	assert_null(r->pin);
	memset(pin, '1', sizeof(pin) - 1);
	pin[sizeof(pin) - 1] = '\0';
	assert_int_equal(kyso_sign_request_set_pin(r, pin), KYSO_ERR_INVALID_ARG);
	pin[256] = '\0';
	assert_int_equal(kyso_sign_request_set_pin(r, pin), KYSO_OK);
	assert_int_equal(kyso_sign_request_set_description(r, "order 117"), KYSO_OK);
	assert_string_equal(r->description, "order 117");
	assert_int_equal(kyso_sign_request_set_description(r, NULL), KYSO_OK);
	assert_null(r->description);
	assert_int_equal(kyso_sign_request_set_signature_format(r, "raw"), KYSO_OK);
	assert_string_equal(r->signature_format, "raw");
	assert_int_equal(kyso_sign_request_set_description(NULL, "x"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_sign_request_set_signature_format(NULL, "der"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_sign_request_set_data(NULL, d, 1), KYSO_ERR_INVALID_ARG);
	kyso_sign_request_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_tokens_not_an_array),
		cmocka_unit_test(test_certs),
		cmocka_unit_test(test_accessors_on_null),
		cmocka_unit_test(test_sign_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
