/* test_origin.c — common/origin.h: web origins checked, normalised and matched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kyso_err.h"
#include "origin.h"

static const struct {
	const char *in, *out;
	unsigned flags;
} good[] = {
	{ "https://vanban.example.vn", "https://vanban.example.vn", 0 },
	{ "HTTPS://VanBan.Example.VN", "https://vanban.example.vn", 0 },
	{ "https://vanban.example.vn:443", "https://vanban.example.vn", 0 },
	{ "https://vanban.example.vn:8443", "https://vanban.example.vn:8443", 0 },
	{ "https://vanban.example.vn:008443", "https://vanban.example.vn:8443", 0 },
	{ "https://intranet", "https://intranet", 0 },
	{ "https://xn--vnbn-3qa.example.vn", "https://xn--vnbn-3qa.example.vn", 0 },
	{ "https://10.1.2.3", "https://10.1.2.3", 0 },
	{ "https://[2001:DB8:0:0::1]:9443", "https://[2001:db8::1]:9443", 0 },
	{ "http://localhost:8080", "http://localhost:8080", 0 },
	{ "http://127.0.0.1:80", "http://127.0.0.1", 0 },
	{ "http://127.8.9.10:3000", "http://127.8.9.10:3000", 0 },
	{ "http://[::1]:3000", "http://[::1]:3000", 0 },
	{ "https://vanban.example.vn/", "https://vanban.example.vn", ORIGIN_SLASH_OK },
	{ "https://*.example.vn", "https://*.example.vn", ORIGIN_PATTERN },
	{ "https://*.Mof.Gov.VN:8443/", "https://*.mof.gov.vn:8443",
	    ORIGIN_PATTERN | ORIGIN_SLASH_OK },
};

static const struct {
	const char *in;
	unsigned flags;
	const char *why;   /* a word the reason must hold */
} bad[] = {
	{ "", 0, "scheme" },
	{ "vanban.example.vn", 0, "scheme" },
	{ "ftp://vanban.example.vn", 0, "scheme" },
	{ "chrome-extension://abcdefghijklmnopabcdefghijklmnop", 0, "scheme" },
	{ "file:///etc/passwd", 0, "scheme" },
	{ "http://vanban.example.vn", 0, "https" },
	{ "http://localhost.evil.vn", 0, "https" },
	{ "http://128.0.0.1", 0, "https" },
	{ "https://", 0, "host" },
	{ "https://vanban.example.vn/", 0, "path" },
	{ "https://vanban.example.vn/path", ORIGIN_SLASH_OK, "path" },
	{ "https://vanban.example.vn?q", 0, "path" },
	{ "https://vanban.example.vn#f", 0, "path" },
	{ "https://user@vanban.example.vn", 0, "user" },
	{ "https://vanban.example.vn.", 0, "DNS" },
	{ "https://van ban.example.vn", 0, "character" },
	{ "https://vanbän.example.vn", 0, "character" },
	{ "https://van_ban.example.vn", 0, "DNS" },
	{ "https://-vanban.example.vn", 0, "DNS" },
	{ "https://vanban-.example.vn", 0, "DNS" },
	{ "https://vanban..example.vn", 0, "DNS" },
	{ "https://1.2.3.256", 0, "IPv4" },
	{ "https://01.2.3.4", 0, "IPv4" },
	{ "https://[::g]", 0, "IPv6" },
	{ "https://[::1", 0, "IPv6" },
	{ "https://vanban.example.vn:0", 0, "port" },
	{ "https://vanban.example.vn:65536", 0, "port" },
	{ "https://vanban.example.vn:99999999999999999999", 0, "port" },
	{ "https://vanban.example.vn:", 0, "port" },
	{ "https://vanban.example.vn:12a", 0, "port" },
	{ "https://vanban.example.vn:443:443", 0, "port" },
	{ "https://*.example.vn", 0, "DNS" },
	{ "https://*.vn", ORIGIN_PATTERN, "two labels" },
	{ "https://*.10.0.0.1", ORIGIN_PATTERN, "address" },
	{ "https://a.*.example.vn", ORIGIN_PATTERN, "leading label" },
	{ "https://*example.vn", ORIGIN_PATTERN, "leading label" },
	{ "http://*.example.vn", ORIGIN_PATTERN, "http origin" },
};

static void
test_origin_good(void **state)
{
	char out[ORIGIN_MAX + 1];
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = origin_normalize(good[i].in, good[i].flags, out, sizeof(out), &why);

		if (r != KYSO_OK)
			fail_msg("%s: %s", good[i].in, why);
		assert_string_equal(out, good[i].out);
		/* normalising a normalised origin changes nothing */
		assert_int_equal(origin_normalize(out, good[i].flags & ORIGIN_PATTERN, out,
		    sizeof(out), NULL), KYSO_OK);
		assert_string_equal(out, good[i].out);
	}
}

static void
test_origin_bad(void **state)
{
	char out[ORIGIN_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		int r = origin_normalize(bad[i].in, bad[i].flags, out, sizeof(out), &why);

		if (r != KYSO_ERR_INVALID_ARG)
			fail_msg("'%s' accepted (%d)", bad[i].in, r);
		assert_non_null(why);
		if (strstr(why, bad[i].why) == NULL)
			fail_msg("'%s': reason '%s' does not say '%s'", bad[i].in, why, bad[i].why);
		/* the reason never quotes the input */
		if (strlen(bad[i].in) > 8)
			assert_null(strstr(why, bad[i].in + 8));
	}
}

static void
test_origin_lengths(void **state)
{
	char in[600], out[ORIGIN_MAX + 1], small[16];
	size_t n;

	(void)state;
	/* 253-byte host of 63-byte labels: accepted; one more label byte: refused */
	n = (size_t)snprintf(in, sizeof(in), "https://");
	for (int i = 0; i < 3; i++) {
		memset(in + n, 'a', 63);
		n += 63;
		in[n++] = '.';
	}
	memset(in + n, 'b', 61);
	n += 61;
	in[n] = '\0';
	assert_int_equal(strlen(in) - 8, 253);
	assert_int_equal(origin_normalize(in, 0, out, sizeof(out), NULL), KYSO_OK);
	strcat(in, ":65535");
	assert_int_equal(origin_normalize(in, 0, out, sizeof(out), NULL), KYSO_OK);
	assert_true(strlen(out) <= ORIGIN_MAX);
	in[8 + 253] = '\0';
	strcat(in, "c");
	assert_int_equal(origin_normalize(in, 0, out, sizeof(out), NULL), KYSO_ERR_INVALID_ARG);
	/* a label of 64 bytes */
	n = (size_t)snprintf(in, sizeof(in), "https://");
	memset(in + n, 'a', 64);
	strcpy(in + n + 64, ".vn");
	assert_int_equal(origin_normalize(in, 0, out, sizeof(out), NULL), KYSO_ERR_INVALID_ARG);
	/* far too long */
	memset(in + 8, 'a', 500);
	in[508] = '\0';
	assert_int_equal(origin_normalize(in, 0, out, sizeof(out), NULL), KYSO_ERR_TOO_LARGE);
	/* an output buffer too small is refused, not overflowed */
	assert_int_equal(origin_normalize("https://a.vn", 0, small, sizeof(small), NULL),
	    KYSO_ERR_TOO_LARGE);
	assert_int_equal(origin_normalize(NULL, 0, out, sizeof(out), NULL),
	    KYSO_ERR_INVALID_ARG);
}

static void
test_origin_match(void **state)
{
	(void)state;
	assert_true(origin_match("https://a.vn", "https://a.vn"));
	assert_false(origin_match("https://a.vn", "https://a.vn:8443"));
	assert_false(origin_match("https://a.vn", "http://a.vn"));
	assert_true(origin_match("https://*.mof.gov.vn", "https://vanban.mof.gov.vn"));
	assert_true(origin_match("https://*.mof.gov.vn", "https://x.y.mof.gov.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "https://mof.gov.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "https://evilmof.gov.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "https://mof.gov.vn.evil.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "https://vanban.mof.gov.vn:8443"));
	assert_true(origin_match("https://*.mof.gov.vn:8443", "https://a.mof.gov.vn:8443"));
	assert_false(origin_match("https://*.mof.gov.vn:8443", "https://a.mof.gov.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "http://a.mof.gov.vn"));
	assert_false(origin_match("https://*.mof.gov.vn", "https://[::1]"));
	assert_true(origin_match("http://localhost:8080", "http://localhost:8080"));
	assert_false(origin_match("http://localhost:8080", "http://localhost:8081"));
	assert_true(origin_is_http("http://localhost"));
	assert_false(origin_is_http("https://localhost"));
	assert_true(origin_is_wildcard("https://*.a.vn"));
	assert_false(origin_is_wildcard("https://a.vn"));
}

static void
test_origin_within(void **state)
{
	(void)state;
	assert_true(origin_pattern_within("https://a.vn", "https://a.vn"));
	assert_true(origin_pattern_within("https://x.a.vn", "https://*.a.vn"));
	assert_true(origin_pattern_within("https://*.a.vn", "https://*.a.vn"));
	assert_true(origin_pattern_within("https://*.x.a.vn", "https://*.a.vn"));
	assert_false(origin_pattern_within("https://*.a.vn", "https://*.x.a.vn"));
	assert_false(origin_pattern_within("https://*.a.vn", "https://x.a.vn"));
	assert_false(origin_pattern_within("https://*.a.vn:8443", "https://*.a.vn"));
	assert_false(origin_pattern_within("https://*.ba.vn", "https://*.a.vn"));
	assert_false(origin_pattern_within("https://b.vn", "https://a.vn"));
	assert_false(origin_pattern_within("http://localhost:1", "https://*.localhost.vn"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin_good),
		cmocka_unit_test(test_origin_bad),
		cmocka_unit_test(test_origin_lengths),
		cmocka_unit_test(test_origin_match),
		cmocka_unit_test(test_origin_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
