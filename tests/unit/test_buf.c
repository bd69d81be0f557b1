/* test_buf.c — common/buf.h: the bounded byte buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "kyso_err.h"

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

static void
test_init_empty(void **state)
{
	struct kbuf b;

	(void)state;
	memset(&b, 0xa5, sizeof(b));
	kbuf_init(&b, 123);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 123);
	kbuf_free(&b);
}

static void
test_append_content(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(kbuf_append(&b, "hello", 5), KYSO_OK);
	assert_int_equal(kbuf_append(&b, ", ", 2), KYSO_OK);
	assert_int_equal(kbuf_append(&b, "world", 5), KYSO_OK);
	assert_int_equal(b.len, 12);
	assert_true(b.cap >= b.len);
	assert_memory_equal(b.data, "hello, world", 12);
	/* n == 0 is a no-op, even with a NULL pointer */
	assert_int_equal(kbuf_append(&b, NULL, 0), KYSO_OK);
	assert_int_equal(b.len, 12);
	kbuf_free(&b);
}

static void
test_append_up_to_max(void **state)
{
	unsigned char src[100];
	struct kbuf b;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)i;
	kbuf_init(&b, 100);
	assert_int_equal(kbuf_append(&b, src, 60), KYSO_OK);
	assert_int_equal(kbuf_append(&b, src + 60, 40), KYSO_OK);
	assert_int_equal(b.len, 100);
	assert_memory_equal(b.data, src, 100);
	/* full: one more byte is refused */
	assert_int_equal(kbuf_append(&b, "x", 1), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 100);
	assert_memory_equal(b.data, src, 100);
	kbuf_free(&b);
}

static void
test_append_beyond_max_changes_nothing(void **state)
{
	unsigned char big[300];
	struct kbuf b;
	unsigned char *data_before;
	size_t cap_before;

	(void)state;
	memset(big, 'Z', sizeof(big));
	kbuf_init(&b, 10);
	assert_int_equal(kbuf_append(&b, "abcdef", 6), KYSO_OK);
	data_before = b.data;
	cap_before = b.cap;
	assert_int_equal(kbuf_append(&b, "12345", 5), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 6);
	assert_ptr_equal(b.data, data_before);
	assert_int_equal(b.cap, cap_before);
	assert_memory_equal(b.data, "abcdef", 6);
	assert_int_equal(kbuf_append(&b, big, sizeof(big)), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcdef", 6);
	/* what does fit still goes in */
	assert_int_equal(kbuf_append(&b, "1234", 4), KYSO_OK);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "abcdef1234", 10);
	kbuf_free(&b);
}

static void
test_max_zero(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 0);
	assert_int_equal(kbuf_append(&b, "x", 1), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, 1), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, 0), KYSO_OK);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	kbuf_free(&b);
}

static void
test_reserve_huge_is_refused_without_overflow(void **state)
{
	struct kbuf b;

	(void)state;
	/* a limit of SIZE_MAX: len + extra would wrap around */
	kbuf_init(&b, SIZE_MAX);
	assert_int_equal(kbuf_append(&b, "0123456789", 10), KYSO_OK);
	assert_int_equal(kbuf_reserve(&b, SIZE_MAX), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, SIZE_MAX - 5), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, SIZE_MAX - 9), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "0123456789", 10);
	kbuf_free(&b);

	/* an ordinary limit */
	kbuf_init(&b, 1000);
	assert_int_equal(kbuf_append(&b, "abc", 3), KYSO_OK);
	assert_int_equal(kbuf_reserve(&b, SIZE_MAX), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, SIZE_MAX - 2), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, 998), KYSO_ERR_TOO_LARGE);
	assert_int_equal(kbuf_reserve(&b, 997), KYSO_OK);
	assert_true(b.cap >= 1000);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "abc", 3);
	kbuf_free(&b);
}

static void
test_reserve_grows_and_keeps_content(void **state)
{
	unsigned char src[5000];
	struct kbuf b;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(i * 7 + 3);
	kbuf_init(&b, sizeof(src));
	for (size_t i = 0; i < sizeof(src); i += 17) {
		size_t n = sizeof(src) - i < 17 ? sizeof(src) - i : 17;

		assert_int_equal(kbuf_append(&b, src + i, n), KYSO_OK);
		assert_true(b.cap >= b.len);
	}
	assert_int_equal(b.len, sizeof(src));
	assert_memory_equal(b.data, src, sizeof(src));
	/* the allocation is never larger than the limit once past the first block */
	assert_int_equal(b.cap, sizeof(src));
	kbuf_free(&b);
}

static void
test_consume_partial(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(kbuf_append(&b, "abcdefgh", 8), KYSO_OK);
	kbuf_consume(&b, 3);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "defgh", 5);
	/* the vacated tail is wiped */
	assert_true(all_zero(b.data + 5, 3));
	kbuf_consume(&b, 0);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "defgh", 5);
	kbuf_consume(&b, 4);
	assert_int_equal(b.len, 1);
	assert_int_equal(b.data[0], 'h');
	assert_true(all_zero(b.data + 1, 7));
	/* appending after a consume goes after what is left */
	assert_int_equal(kbuf_append(&b, "ij", 2), KYSO_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "hij", 3);
	kbuf_free(&b);
}

static void
test_consume_all(void **state)
{
	struct kbuf b;
	size_t cap;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(kbuf_append(&b, "secret-pin", 10), KYSO_OK);
	cap = b.cap;
	kbuf_consume(&b, 10);
	assert_int_equal(b.len, 0);
	assert_non_null(b.data);
	assert_int_equal(b.cap, cap);
	assert_true(all_zero(b.data, 10));
	assert_int_equal(kbuf_append(&b, "xyz", 3), KYSO_OK);
	/* more than held empties the buffer too */
	kbuf_consume(&b, 1000);
	assert_int_equal(b.len, 0);
	assert_true(all_zero(b.data, 3));
	kbuf_free(&b);
}

static void
test_reset(void **state)
{
	struct kbuf b;
	unsigned char *data;
	size_t cap;

	(void)state;
	kbuf_init(&b, 64);
	kbuf_reset(&b);  /* on an empty, never allocated buffer */
	assert_int_equal(b.len, 0);
	assert_null(b.data);
	assert_int_equal(kbuf_append(&b, "123456", 6), KYSO_OK);
	data = b.data;
	cap = b.cap;
	kbuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);  /* memory kept for reuse */
	assert_int_equal(b.cap, cap);
	assert_int_equal(b.max, 64);
	assert_true(all_zero(b.data, 6));
	assert_int_equal(kbuf_append(&b, "ab", 2), KYSO_OK);
	assert_memory_equal(b.data, "ab", 2);
	assert_int_equal(b.len, 2);
	kbuf_free(&b);
}

static void
test_free_and_reuse(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 16);
	assert_int_equal(kbuf_append(&b, "0123456789abcdef", 16), KYSO_OK);
	kbuf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	assert_int_equal(b.max, 16);
	kbuf_free(&b);  /* twice is harmless */
	assert_int_equal(kbuf_append(&b, "again", 5), KYSO_OK);
	assert_memory_equal(b.data, "again", 5);
	assert_int_equal(kbuf_append(&b, "0123456789ab", 12), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 5);
	kbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_empty),
		cmocka_unit_test(test_append_content),
		cmocka_unit_test(test_append_up_to_max),
		cmocka_unit_test(test_append_beyond_max_changes_nothing),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_reserve_huge_is_refused_without_overflow),
		cmocka_unit_test(test_reserve_grows_and_keeps_content),
		cmocka_unit_test(test_consume_partial),
		cmocka_unit_test(test_consume_all),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_free_and_reuse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
