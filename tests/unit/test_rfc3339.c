/* test_rfc3339.c — common/rfc3339.h: the protocol's times and kyso audit's options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "rfc3339.h"

static int64_t
ms_of(const char *s, int strict)
{
	int64_t ms = -42;

	if (rfc3339_parse(s, strict, &ms) != 0)
		return -1;
	return ms;
}

static void
test_strict(void **state)
{
	(void)state;
	assert_true(ms_of("2026-12-06T10:00:00Z", 1) == 1796551200000LL);
	assert_true(ms_of("2026-12-06t10:00:00z", 1) == 1796551200000LL);
	assert_true(ms_of("2026-12-06T17:00:00+07:00", 1) == 1796551200000LL);
	assert_true(ms_of("2026-12-06T09:30:00-00:30", 1) == 1796551200000LL);
	assert_true(ms_of("2026-12-06T10:00:00.25Z", 1) == 1796551200250LL);
	assert_true(ms_of("2024-02-29T00:00:00Z", 1) > 0);  /* a leap day */
	/* what the protocol refuses */
	assert_int_equal(ms_of("2026-12-06", 1), -1);
	assert_int_equal(ms_of("2026-12-06T10:00Z", 1), -1);
	assert_int_equal(ms_of("2026-12-06T10:00:00", 1), -1);
	assert_int_equal(ms_of("2026-12-06 10:00:00Z", 1), -1);
	assert_int_equal(ms_of("2026-02-30T10:00:00Z", 1), -1);
	assert_int_equal(ms_of("2025-02-29T10:00:00Z", 1), -1);
	assert_int_equal(ms_of("2026-13-01T10:00:00Z", 1), -1);
	assert_int_equal(ms_of("2026-12-06T24:00:00Z", 1), -1);
	assert_int_equal(ms_of("2026-12-06T10:00:00.Z", 1), -1);
	assert_int_equal(ms_of("2026-12-06T10:00:00+7:00", 1), -1);
	assert_int_equal(ms_of("2026-12-06T10:00:00Z ", 1), -1);
	assert_int_equal(ms_of("yesterday", 1), -1);
	assert_int_equal(ms_of("", 1), -1);
	assert_int_equal(rfc3339_parse(NULL, 1, &(int64_t){ 0 }), -1);
}

static void
test_lenient(void **state)
{
	(void)state;
	setenv("TZ", "Asia/Ho_Chi_Minh", 1);
	tzset();
	assert_true(ms_of("2026-12-06", 0) == 1796490000000LL);  /* local midnight, +07 */
	assert_true(ms_of("2026-12-06 17:00", 0) == 1796551200000LL);
	assert_true(ms_of("2026-12-06T10:00Z", 0) == 1796551200000LL);
	assert_int_equal(ms_of("2026-12-6", 0), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strict),
		cmocka_unit_test(test_lenient),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
