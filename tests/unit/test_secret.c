/* test_secret.c — common/secret.h: secrets in their own wiped pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kyso_err.h"
#include "log.h"
#include "secret.h"

static void
test_content(void **state)
{
	struct kyso_secret *s = NULL;

	(void)state;
	assert_int_equal(secret_new("123456", 6, &s), KYSO_OK);
	assert_non_null(s);
	assert_int_equal(secret_len(s), 6);
	assert_memory_equal(secret_data(s), "123456", 7);  /* NUL included */
	assert_string_equal(secret_data(s), "123456");
	secret_free(s);
}

static void
test_copy_not_reference(void **state)
{
	char src[] = "correct horse";
	struct kyso_secret *s;

	(void)state;
	assert_int_equal(secret_new(src, strlen(src), &s), KYSO_OK);
	assert_ptr_not_equal(secret_data(s), src);
	memset(src, 'x', strlen(src));
	assert_string_equal(secret_data(s), "correct horse");
	secret_free(s);
}

static void
test_binary_and_terminated(void **state)
{
	static const unsigned char bin[] = { 'a', 0x00, 0xff, 'b' };
	struct kyso_secret *s;

	(void)state;
	/* only len bytes are taken, and a NUL is added after them */
	assert_int_equal(secret_new("abcdef", 3, &s), KYSO_OK);
	assert_int_equal(secret_len(s), 3);
	assert_string_equal(secret_data(s), "abc");
	secret_free(s);
	assert_int_equal(secret_new(bin, sizeof(bin), &s), KYSO_OK);
	assert_int_equal(secret_len(s), 4);
	assert_memory_equal(secret_data(s), bin, 4);
	assert_int_equal(secret_data(s)[4], '\0');
	secret_free(s);
}

static void
test_empty(void **state)
{
	struct kyso_secret *s = NULL;

	(void)state;
	assert_int_equal(secret_new(NULL, 0, &s), KYSO_OK);
	assert_non_null(s);
	assert_int_equal(secret_len(s), 0);
	assert_string_equal(secret_data(s), "");
	secret_free(s);
	assert_int_equal(secret_new("x", 0, &s), KYSO_OK);
	assert_int_equal(secret_len(s), 0);
	assert_string_equal(secret_data(s), "");
	secret_free(s);
}

static void
test_size_limit(void **state)
{
	static char big[4097];
	struct kyso_secret *s = (struct kyso_secret *)&s;

	(void)state;
	memset(big, 'p', sizeof(big));
	/* 4 KiB exactly is allowed */
	assert_int_equal(secret_new(big, 4096, &s), KYSO_OK);
	assert_int_equal(secret_len(s), 4096);
	assert_memory_equal(secret_data(s), big, 4096);
	assert_int_equal(secret_data(s)[4096], '\0');
	secret_free(s);
	/* one more is refused, and *out is cleared */
	s = (struct kyso_secret *)&s;
	assert_int_equal(secret_new(big, 4097, &s), KYSO_ERR_INVALID_ARG);
	assert_null(s);
	s = (struct kyso_secret *)&s;
	assert_int_equal(secret_new(big, SIZE_MAX, &s), KYSO_ERR_INVALID_ARG);
	assert_null(s);
}

static void
test_many_independent(void **state)
{
	struct kyso_secret *s[16];

	(void)state;
	for (int i = 0; i < 16; i++) {
		char pin[16];
		int n = snprintf(pin, sizeof(pin), "pin-%d", i * 1111);

		assert_int_equal(secret_new(pin, (size_t)n, &s[i]), KYSO_OK);
	}
	for (int i = 0; i < 16; i++) {
		char pin[16];

		snprintf(pin, sizeof(pin), "pin-%d", i * 1111);
		assert_string_equal(secret_data(s[i]), pin);
		assert_int_equal(secret_len(s[i]), strlen(pin));
	}
	/* freeing one leaves the others intact */
	secret_free(s[3]);
	assert_string_equal(secret_data(s[4]), "pin-4444");
	for (int i = 0; i < 16; i++)
		if (i != 3)
			secret_free(s[i]);
}

static void
test_free_null(void **state)
{
	(void)state;
	secret_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_content),
		cmocka_unit_test(test_copy_not_reference),
		cmocka_unit_test(test_binary_and_terminated),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_many_independent),
		cmocka_unit_test(test_free_null),
	};

	/* mlock may be refused under a low RLIMIT_MEMLOCK: that only logs a warning */
	log_init("test_secret", LOG_LVL_ERROR, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
