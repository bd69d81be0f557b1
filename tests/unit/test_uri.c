/* test_uri.c — pkcs11/p11.h key URIs: formatting, parsing, matching tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"
#include "idl.h"
#include "inventory.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "p11_internal.h"  /* struct p11_module, to give a token a module path */
#include "testcerts.h"

#define BIT(m) P11_MECH_BIT(m)

/* ==== URIs ==== */

static void
test_uri_round_trip(void **state)
{
	static const unsigned char id[] = { 0x00, 0xff, 0x10 };
	struct p11_token_desc t = desc("My Token; 100%", "Acme", "M1/x", "0123456789abcdef", 0,
	    0, 0);
	struct p11_uri_key u;
	char *s = p11_uri_for_key(&t, id, sizeof(id), "sig key; #1");
	size_t semis = 0;

	(void)state;
	assert_non_null(s);
	assert_memory_equal(s, "pkcs11:", 7);
	assert_non_null(strstr(s, "type=private"));
	/* values are percent-encoded: the only ';' separate the 7 attributes */
	for (const char *p = s; *p; p++) {
		if (*p == ';')
			semis++;
		assert_true(*p != ' ' && *p != '#');
		if (*p == '%') {
			unsigned char *tmp;
			size_t tlen;
			char two[3] = { p[1], p[1] ? p[2] : 0, 0 };

			assert_int_equal(hex_decode(two, &tmp, &tlen), KYSO_OK);
			assert_int_equal(tlen, 1);
			free(tmp);
		}
	}
	assert_int_equal(semis, 6);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_OK);
	assert_string_equal(u.token, "My Token; 100%");
	assert_string_equal(u.manufacturer, "Acme");
	assert_string_equal(u.model, "M1/x");
	assert_string_equal(u.serial, "0123456789abcdef");
	assert_int_equal(u.id_len, 3);
	assert_memory_equal(u.id, id, 3);
	assert_string_equal(u.object, "sig key; #1");
	assert_int_equal(u.type_private_ok, 1);
	assert_int_equal(p11_uri_match_token(&u, &t), 1);
	free(s);
}

static void
test_uri_id_only_and_label_only(void **state)
{
	static const unsigned char id[] = { 0xab };
	struct p11_token_desc t = desc("T", "M", "X", "S", 0, 0, 0);
	struct p11_uri_key u;
	char *s;

	(void)state;
	/* no label: the URI names the key by id */
	s = p11_uri_for_key(&t, id, 1, "");
	assert_non_null(s);
	assert_null(strstr(s, "object="));
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_OK);
	assert_int_equal(u.id_len, 1);
	assert_int_equal(u.id[0], 0xab);
	assert_string_equal(u.object, "");
	free(s);
	s = p11_uri_for_key(&t, id, 1, NULL);
	assert_non_null(s);
	assert_null(strstr(s, "object="));
	free(s);
	/* no id: by label */
	s = p11_uri_for_key(&t, NULL, 0, "only label");
	assert_non_null(s);
	assert_null(strstr(s, "id="));
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_OK);
	assert_int_equal(u.id_len, 0);
	assert_string_equal(u.object, "only label");
	free(s);
	/* neither: formatted, but not a usable key URI */
	s = p11_uri_for_key(&t, NULL, 0, NULL);
	assert_non_null(s);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_ERR_INVALID_ARG);
	free(s);
}

static void
test_uri_parse_plain(void **state)
{
	struct p11_uri_key u;

	(void)state;
	assert_int_equal(p11_uri_parse_key("pkcs11:id=%01%02", &u), KYSO_OK);
	assert_int_equal(u.id_len, 2);
	assert_memory_equal(u.id, "\x01\x02", 2);
	assert_string_equal(u.token, "");
	assert_string_equal(u.manufacturer, "");
	assert_string_equal(u.model, "");
	assert_string_equal(u.serial, "");
	assert_string_equal(u.object, "");
	assert_int_equal(u.type_private_ok, 1);
	assert_int_equal(p11_uri_parse_key("pkcs11:object=My%20Key;token=T%3b1", &u), KYSO_OK);
	assert_string_equal(u.object, "My Key");
	assert_string_equal(u.token, "T;1");
	assert_int_equal(u.id_len, 0);
	assert_int_equal(p11_uri_parse_key("pkcs11:type=private;object=k", &u), KYSO_OK);
	assert_int_equal(u.type_private_ok, 1);
}

static void
test_uri_type(void **state)
{
	struct p11_uri_key u;

	(void)state;
	/* parsed, but flagged as not a private key: the inventory refuses it */
	assert_int_equal(p11_uri_parse_key("pkcs11:id=%01;type=cert", &u), KYSO_OK);
	assert_int_equal(u.type_private_ok, 0);
	assert_int_equal(p11_uri_parse_key("pkcs11:id=%01;type=public", &u), KYSO_OK);
	assert_int_equal(u.type_private_ok, 0);
	assert_int_equal(p11_uri_parse_key("pkcs11:id=%01;type=secret-key", &u), KYSO_OK);
	assert_int_equal(u.type_private_ok, 0);
	assert_int_equal(p11_uri_parse_key("pkcs11:id=%01;type=private", &u), KYSO_OK);
	assert_int_equal(u.type_private_ok, 1);
}

static void
expect_uri_invalid(const char *s)
{
	struct p11_uri_key u;
	int r = p11_uri_parse_key(s, &u);

	if (r != KYSO_ERR_INVALID_ARG)
		fail_msg("p11_uri_parse_key(\"%s\") returned %d, not KYSO_ERR_INVALID_ARG", s, r);
}

static void
test_uri_parse_rejects(void **state)
{
	(void)state;
	expect_uri_invalid("");
	expect_uri_invalid("pkcs11");
	expect_uri_invalid("http://example.com/");
	expect_uri_invalid("0123456789abcdef");
	expect_uri_invalid(" pkcs11:id=%01");
	/* names no key */
	expect_uri_invalid("pkcs11:");
	expect_uri_invalid("pkcs11:token=My%20Token");
	expect_uri_invalid("pkcs11:serial=1234;type=private");
	expect_uri_invalid("pkcs11:id=");
	/* malformed */
	expect_uri_invalid("pkcs11:id=%zz");
	expect_uri_invalid("pkcs11:id=%0");
}

static void
test_uri_limits(void **state)
{
	struct p11_token_desc t = desc("T", "M", "X", "S", 0, 0, 0);
	unsigned char id[257];
	char label[257], *s;
	struct p11_uri_key u;

	(void)state;
	for (size_t i = 0; i < sizeof(id); i++)
		id[i] = (unsigned char)i;
	/* a 256-byte id fits, 257 does not */
	s = p11_uri_for_key(&t, id, 256, NULL);
	assert_non_null(s);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_OK);
	assert_int_equal(u.id_len, 256);
	assert_memory_equal(u.id, id, 256);
	free(s);
	s = p11_uri_for_key(&t, id, 257, NULL);
	assert_non_null(s);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_ERR_INVALID_ARG);
	free(s);
	/* a 255-byte object label fits (NUL included), 256 does not */
	memset(label, 'k', sizeof(label));
	label[255] = '\0';
	s = p11_uri_for_key(&t, id, 1, label);
	assert_non_null(s);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_OK);
	assert_string_equal(u.object, label);
	free(s);
	label[255] = 'k';
	label[256] = '\0';
	s = p11_uri_for_key(&t, id, 1, label);
	assert_non_null(s);
	assert_int_equal(p11_uri_parse_key(s, &u), KYSO_ERR_INVALID_ARG);
	free(s);
}

/*
 * Attributes p11-kit cannot represent (a token label over 32 bytes, an unknown type)
 * must not be dropped: dropping them turns the URI into a wildcard that matches keys the
 * user did not name.
 */
static void
test_uri_unrepresentable_is_not_a_wildcard(void **state)
{
	(void)state;
	expect_uri_invalid("pkcs11:token=0123456789012345678901234567890123456789;id=%01");
	expect_uri_invalid("pkcs11:manufacturer=0123456789012345678901234567890123;id=%01");
	expect_uri_invalid("pkcs11:serial=0123456789abcdef0;id=%01");
	expect_uri_invalid("pkcs11:id=%01;type=bogus");
}

static void
test_uri_match_token(void **state)
{
	struct p11_token_desc t = desc("Token One", "Acme", "M1", "SER1", 0, 0, 0);
	struct p11_uri_key u;

	(void)state;
	memset(&u, 0, sizeof(u));
	u.id_len = 1;
	assert_int_equal(p11_uri_match_token(&u, &t), 1);  /* empty fields match any */
	strcpy(u.serial, "SER1");
	assert_int_equal(p11_uri_match_token(&u, &t), 1);
	strcpy(u.serial, "SER2");
	assert_int_equal(p11_uri_match_token(&u, &t), 0);
	strcpy(u.serial, "SER");
	assert_int_equal(p11_uri_match_token(&u, &t), 0);
	memset(u.serial, 0, sizeof(u.serial));
	strcpy(u.token, "Token One");
	strcpy(u.manufacturer, "Acme");
	strcpy(u.model, "M1");
	assert_int_equal(p11_uri_match_token(&u, &t), 1);
	strcpy(u.model, "M2");
	assert_int_equal(p11_uri_match_token(&u, &t), 0);
	strcpy(u.model, "M1");
	strcpy(u.manufacturer, "acme");
	assert_int_equal(p11_uri_match_token(&u, &t), 0);
	strcpy(u.manufacturer, "Acme");
	strcpy(u.token, "Token Two");
	assert_int_equal(p11_uri_match_token(&u, &t), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uri_round_trip),
		cmocka_unit_test(test_uri_id_only_and_label_only),
		cmocka_unit_test(test_uri_parse_plain),
		cmocka_unit_test(test_uri_type),
		cmocka_unit_test(test_uri_parse_rejects),
		cmocka_unit_test(test_uri_limits),
		cmocka_unit_test(test_uri_unrepresentable_is_not_a_wildcard),
		cmocka_unit_test(test_uri_match_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
