/* test_encode.c — common/encode.h: strict base64 (RFC 4648), hex, UTF-8, JSON strings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "encode.h"
#include "kyso_err.h"

/* RFC 4648, section 10 */
static const struct {
	const char *plain, *b64;
} rfc4648[] = {
	{ "", "" },
	{ "f", "Zg==" },
	{ "fo", "Zm8=" },
	{ "foo", "Zm9v" },
	{ "foob", "Zm9vYg==" },
	{ "fooba", "Zm9vYmE=" },
	{ "foobar", "Zm9vYmFy" },
};

static void
test_b64_encode_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		char *s = b64_encode((const unsigned char *)rfc4648[i].plain,
		    strlen(rfc4648[i].plain));

		assert_non_null(s);
		assert_string_equal(s, rfc4648[i].b64);
		free(s);
	}
}

/* b64_append: the same text, after what the buffer held, and nothing past it */
static void
test_b64_append_rfc4648(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(kbuf_append(&b, "[", 1), KYSO_OK);
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		size_t before = b.len;

		assert_int_equal(b64_append(&b, (const unsigned char *)rfc4648[i].plain,
		    strlen(rfc4648[i].plain)), KYSO_OK);
		assert_int_equal(b.len - before, strlen(rfc4648[i].b64));
		assert_memory_equal(b.data + before, rfc4648[i].b64, strlen(rfc4648[i].b64));
	}
	assert_int_equal(b.len, 1 + 0 + 4 + 4 + 4 + 8 + 8 + 8);
	/* over the buffer's limit: refused, the buffer as it was */
	assert_int_equal(b64_append(&b, (const unsigned char *)"0123456789012345678901234567",
	    28), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 37);
	kbuf_free(&b);
}

/* json_b64_item: a JSON array of base64 strings written as text, as jansson reads it */
static void
test_json_b64_item(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0xfb, 0xff, 0x10, 0x80 };
	struct kbuf b;
	json_t *arr;
	unsigned char *back;
	size_t backlen;

	(void)state;
	kbuf_init(&b, 256);
	assert_int_equal(kbuf_append(&b, "[", 1), KYSO_OK);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(json_b64_item(&b, i == 0, bytes, i + 3), KYSO_OK);
	assert_int_equal(kbuf_append(&b, "]", 1), KYSO_OK);
	arr = json_loadb((const char *)b.data, b.len, 0, NULL);
	assert_non_null(arr);
	assert_int_equal(json_array_size(arr), 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(b64_decode(json_string_value(json_array_get(arr, i)), &back,
		    &backlen), KYSO_OK);
		assert_int_equal(backlen, i + 3);
		assert_memory_equal(back, bytes, i + 3);
		free(back);
	}
	json_decref(arr);
	kbuf_free(&b);
}

/* json_member: ,"key":"value" escaped as jansson would; nothing for NULL or non-UTF-8 */
static void
test_json_member(void **state)
{
	struct kbuf b;
	json_t *o;

	(void)state;
	kbuf_init(&b, 256);
	assert_int_equal(kbuf_append(&b, "{\"a\":1", 6), KYSO_OK);
	assert_int_equal(json_member(&b, "d", "say \"c\xc3\xb4ng v\xc4\x83n\"\n"), KYSO_OK);
	assert_int_equal(json_member(&b, "none", NULL), KYSO_OK);
	assert_int_equal(json_member(&b, "pin", "12\xff" "34"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kbuf_append(&b, "}", 2), KYSO_OK);
	o = json_loads((const char *)b.data, 0, NULL);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "d")),
	    "say \"c\xc3\xb4ng v\xc4\x83n\"\n");
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
	kbuf_free(&b);
}

static void
test_b64_decode_rfc4648(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rfc4648) / sizeof(rfc4648[0]); i++) {
		unsigned char *out = (unsigned char *)"sentinel";
		size_t outlen = 999;

		assert_int_equal(b64_decode(rfc4648[i].b64, &out, &outlen), KYSO_OK);
		assert_non_null(out);
		assert_int_equal(outlen, strlen(rfc4648[i].plain));
		if (outlen > 0)
			assert_memory_equal(out, rfc4648[i].plain, outlen);
		free(out);
	}
}

static void
test_b64_binary_round_trip(void **state)
{
	unsigned char src[300];

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)(255 - i * 13);
	for (size_t len = 0; len <= sizeof(src); len++) {
		unsigned char *out;
		size_t outlen;
		char *s = b64_encode(src, len);

		assert_non_null(s);
		assert_int_equal(strlen(s), 4 * ((len + 2) / 3));
		assert_int_equal(b64_decode(s, &out, &outlen), KYSO_OK);
		assert_int_equal(outlen, len);
		if (len > 0)
			assert_memory_equal(out, src, len);
		free(out);
		free(s);
	}
}

static void
test_b64_all_alphabet(void **state)
{
	/* 0x00 0x10 0x83 ... 0xff: exercises '+' (62) and '/' (63) */
	static const unsigned char bytes[] = { 0xfb, 0xff, 0xbf };
	unsigned char *out;
	size_t outlen;
	char *s;

	(void)state;
	s = b64_encode(bytes, sizeof(bytes));
	assert_string_equal(s, "+/+/");
	assert_int_equal(b64_decode(s, &out, &outlen), KYSO_OK);
	assert_int_equal(outlen, 3);
	assert_memory_equal(out, bytes, 3);
	free(out);
	free(s);
}

static void
expect_b64_invalid(const char *s)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t outlen = 999;

	int r = b64_decode(s, &out, &outlen);

	if (r != KYSO_ERR_INVALID_ARG)
		fail_msg("b64_decode(\"%s\") returned %d, not KYSO_ERR_INVALID_ARG", s, r);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void
test_b64_rejects_bad_length(void **state)
{
	(void)state;
	expect_b64_invalid("Z");
	expect_b64_invalid("Zg");
	expect_b64_invalid("Zg=");
	expect_b64_invalid("Zm9vY");
	expect_b64_invalid("Zm9vYg=");
	expect_b64_invalid("Zm9vYmFy=");
}

static void
test_b64_rejects_bad_chars(void **state)
{
	(void)state;
	expect_b64_invalid("Zm9!");
	expect_b64_invalid("Zm9-");      /* base64url is not accepted */
	expect_b64_invalid("Zm9_");
	expect_b64_invalid("Zm9v\x80Zm9");
	expect_b64_invalid("Zm.v");
	expect_b64_invalid("*m9v");
}

static void
test_b64_rejects_whitespace(void **state)
{
	(void)state;
	expect_b64_invalid(" Zm9");
	expect_b64_invalid("Zm9 ");
	expect_b64_invalid("Zm 9");
	expect_b64_invalid("Zm9v\nZm9");
	expect_b64_invalid("Zm9\n");
	expect_b64_invalid("\tZm9");
	expect_b64_invalid("Zg=\n");
	expect_b64_invalid("Zm9vYmFy\r\n\r\n");
}

static void
test_b64_rejects_misplaced_padding(void **state)
{
	(void)state;
	expect_b64_invalid("====");
	expect_b64_invalid("=Zm9");
	expect_b64_invalid("Z===");
	expect_b64_invalid("Z=g=");
	expect_b64_invalid("Zg=a");
	expect_b64_invalid("Zm=v");
	expect_b64_invalid("Zm9v=m9v");
	expect_b64_invalid("Zg==Zm9v");
	expect_b64_invalid("Zm8=Zm8=");
}

static void
test_hex_encode(void **state)
{
	static const unsigned char bytes[] = { 0x00, 0xff, 0x1a, 0xb0, 0x09 };
	char out[2 * sizeof(bytes) + 1];
	char *s;

	(void)state;
	memset(out, 'X', sizeof(out));
	hex_encode(bytes, sizeof(bytes), out);
	assert_string_equal(out, "00ff1ab009");
	hex_encode(bytes, 0, out);
	assert_string_equal(out, "");
	s = hex_encode_new(bytes, sizeof(bytes));
	assert_string_equal(s, "00ff1ab009");
	free(s);
	s = hex_encode_new(bytes, 0);
	assert_string_equal(s, "");
	free(s);
}

static void
expect_hex(const char *s, const unsigned char *want, size_t wantlen)
{
	unsigned char *out = NULL;
	size_t outlen = 999;

	int r = hex_decode(s, &out, &outlen);

	if (r != KYSO_OK)
		fail_msg("hex_decode(\"%s\") returned %d", s, r);
	assert_non_null(out);
	assert_int_equal(outlen, wantlen);
	if (wantlen > 0)
		assert_memory_equal(out, want, wantlen);
	free(out);
}

static void
expect_hex_invalid(const char *s)
{
	unsigned char *out = (unsigned char *)"sentinel";
	size_t outlen = 999;

	int r = hex_decode(s, &out, &outlen);

	if (r != KYSO_ERR_INVALID_ARG)
		fail_msg("hex_decode(\"%s\") returned %d, not KYSO_ERR_INVALID_ARG", s, r);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void
test_hex_decode(void **state)
{
	static const unsigned char b[] = { 0x00, 0xff, 0x1a, 0xb0, 0x09 };

	(void)state;
	expect_hex("", b, 0);
	expect_hex("00ff1ab009", b, 5);
	expect_hex("00FF1AB009", b, 5);
	expect_hex("00Ff1aB009", b, 5);
	expect_hex("00:ff:1a:b0:09", b, 5);
	expect_hex("00:FF:1A:B0:09", b, 5);
	expect_hex("00ff:1ab0:09", b, 5);  /* separators are optional between any bytes */
	expect_hex("ff", b + 1, 1);
}

static void
test_hex_decode_rejects(void **state)
{
	(void)state;
	expect_hex_invalid("0");
	expect_hex_invalid("abc");
	expect_hex_invalid("00f");
	expect_hex_invalid("0g");
	expect_hex_invalid("g0");
	expect_hex_invalid("zz");
	expect_hex_invalid("0x00");
	expect_hex_invalid(" 00");
	expect_hex_invalid("00 ");
	expect_hex_invalid("00 11");
	expect_hex_invalid("-1");
	expect_hex_invalid(":00");     /* no leading separator */
	expect_hex_invalid("00:");     /* no trailing separator */
	expect_hex_invalid("00::11");  /* one separator at a time */
	expect_hex_invalid("0:0");     /* separators only between whole bytes */
	expect_hex_invalid("00:1");
	expect_hex_invalid(":");
}

static void
test_hex_round_trip(void **state)
{
	unsigned char src[256], *out;
	size_t outlen;
	char *s;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (unsigned char)i;
	s = hex_encode_new(src, sizeof(src));
	assert_non_null(s);
	assert_int_equal(strlen(s), 512);
	assert_memory_equal(s, "000102", 6);
	assert_string_equal(s + 506, "fdfeff");
	assert_int_equal(hex_decode(s, &out, &outlen), KYSO_OK);
	assert_int_equal(outlen, sizeof(src));
	assert_memory_equal(out, src, sizeof(src));
	free(out);
	free(s);
}

static void
test_utf8_sanitize(void **state)
{
	char ascii[] = "plain ASCII", ok[] = "Minist\xc3\xa8re \xe2\x82\xac \xf0\x9f\x94\x91";
	char latin1[] = "Minist\xe8re", overlong[] = "a\xc0\xaf" "b", surrogate[] = "x\xed\xa0\x80y";
	char cut[] = "end\xe2\x82";

	(void)state;
	assert_int_equal(utf8_sanitize(ascii), 0);
	assert_string_equal(ascii, "plain ASCII");
	assert_int_equal(utf8_sanitize(ok), 0);
	assert_string_equal(ok, "Minist\xc3\xa8re \xe2\x82\xac \xf0\x9f\x94\x91");
	assert_int_equal(utf8_sanitize(latin1), 1);
	assert_string_equal(latin1, "Minist?re");
	assert_int_equal(utf8_sanitize(overlong), 2);
	assert_string_equal(overlong, "a??b");
	assert_int_equal(utf8_sanitize(surrogate), 3);
	assert_string_equal(surrogate, "x???y");
	assert_int_equal(utf8_sanitize(cut), 2);
	assert_string_equal(cut, "end??");
}

/* "%.*s" with utf8_prefix never ends in half a character; jansson takes the result. */
static void
test_utf8_prefix(void **state)
{
	/* "aé" and 40 × "é": the repro of the attack campaign, cut at 64 bytes */
	char key[128] = "a", out[80];
	json_t *j;

	(void)state;
	for (int i = 0; i < 40; i++)
		strcat(key, "\xc3\xa9");
	assert_int_equal(utf8_prefix(key, 64), 63);  /* "a" + 31 × "é"; 64 would split one */
	snprintf(out, sizeof(out), "%.*s", utf8_prefix(key, 64), key);
	assert_int_equal(utf8_sanitize(out), 0);
	assert_non_null(j = json_string(out));
	json_decref(j);
	assert_int_equal(utf8_prefix("abc", 64), 3);
	assert_int_equal(utf8_prefix("abc", 2), 2);
	assert_int_equal(utf8_prefix("abc", 0), 0);
	assert_int_equal(utf8_prefix(NULL, 8), 0);
	assert_int_equal(utf8_prefix("\xe2\x82\xac\xe2\x82\xac", 5), 3);  /* € € */
	assert_int_equal(utf8_prefix("\xf0\x9f\x94\x91", 3), 0);  /* one 4-byte character */
	assert_int_equal(utf8_prefix("x\xe8y", 2), 2);  /* a bad byte counts as one */
}

static void
test_utf8_repair(void **state)
{
	char cut2[] = "caf\xc3", cut3[] = "end\xe2\x82", cut4[] = "key \xf0\x9f\x94";
	char whole[] = "Minist\xc3\xa8re \xe2\x82\xac", bad[] = "a\xe8" "b\xc3";

	(void)state;
	assert_int_equal(utf8_repair(cut2), 1);
	assert_string_equal(cut2, "caf");
	assert_int_equal(utf8_repair(cut3), 2);
	assert_string_equal(cut3, "end");
	assert_int_equal(utf8_repair(cut4), 3);
	assert_string_equal(cut4, "key ");
	assert_int_equal(utf8_repair(whole), 0);
	assert_string_equal(whole, "Minist\xc3\xa8re \xe2\x82\xac");
	assert_int_equal(utf8_repair(bad), 2);  /* the end cut, the bad byte replaced */
	assert_string_equal(bad, "a?b");
}

/* json_quote(s) as a NUL-terminated string (asserts success). */
static char *
quoted(const char *s)
{
	struct kbuf b;
	char *out;

	kbuf_init(&b, 1 << 20);
	assert_int_equal(json_quote(&b, s), KYSO_OK);
	assert_int_equal(kbuf_append(&b, "", 1), KYSO_OK);
	out = strdup((const char *)b.data);
	kbuf_free(&b);
	assert_non_null(out);
	return out;
}

static void
test_json_quote_cases(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "\"\"" },
		{ "memo.pdf", "\"memo.pdf\"" },
		{ "say \"hi\" \\ bye", "\"say \\\"hi\\\" \\\\ bye\"" },
		{ "a\bb\fc\nd\re\tf", "\"a\\bb\\fc\\nd\\re\\tf\"" },
		{ "\x01\x1f\x7f/", "\"\\u0001\\u001F\x7f/\"" },
		{ "Minist\xc3\xa8re \xe2\x82\xac \xf0\x9f\x94\x91",
		  "\"Minist\xc3\xa8re \xe2\x82\xac \xf0\x9f\x94\x91\"" },
		/* not UTF-8: each bad byte becomes U+FFFD */
		{ "Minist\xe8re", "\"Minist\xef\xbf\xbdre\"" },
		{ "a\xc0\xaf" "b", "\"a\xef\xbf\xbd\xef\xbf\xbd" "b\"" },
		{ "end\xe2\x82", "\"end\xef\xbf\xbd\xef\xbf\xbd\"" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *q = quoted(cases[i].in);

		assert_string_equal(q, cases[i].out);
		free(q);
	}
}

/* What jansson writes for s once its bad bytes are U+FFFD (the reference). */
static char *
jansson_quoted(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t len = strlen(s), o = 0, k;
	char *fixed = malloc(len * 3 + 1), *out;
	json_t *j;

	assert_non_null(fixed);
	for (size_t n = 0; n < len; n += k ? k : 1) {
		k = utf8_seq(p + n);
		memcpy(fixed + o, k ? s + n : "\xef\xbf\xbd", k ? k : 3);
		o += k ? k : 3;
	}
	j = json_stringn(fixed, o);
	assert_non_null(j);  /* jansson refuses strings that are not UTF-8 */
	out = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
	assert_non_null(out);
	json_decref(j);
	free(fixed);
	return out;
}

/* Random strings, rich in what needs escaping: the same bytes as jansson's, parse back. */
static void
test_json_quote_like_jansson(void **state)
{
	static const unsigned char pick[] = { '"', '\\', '\n', '\t', 0x01, 0x1f, 0x7f, 'a', ' ',
		0xc3, 0xa8, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x94, 0x91, 0xed, 0xa0, 0x80, 0xc0,
		0xff, 0xbf };
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 20000; round++) {
		char in[48], *q, *ref;
		size_t len;
		json_t *back;
		json_error_t jerr;

		seed = seed * 1103515245u + 12345u;
		len = (seed >> 16) % sizeof(in);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			in[i] = (char)((seed >> 16) % 3 == 0 ? (seed >> 20) % 255 + 1 :
			    pick[(seed >> 18) % sizeof(pick)]);
		}
		in[len] = '\0';
		q = quoted(in);
		ref = jansson_quoted(in);
		assert_string_equal(q, ref);
		back = json_loads(q, JSON_DECODE_ANY, &jerr);
		assert_non_null(back);
		assert_true(json_is_string(back));
		json_decref(back);
		free(q);
		free(ref);
	}
}

static void
test_json_quote_limit(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 8);
	assert_int_equal(json_quote(&b, "123456"), KYSO_OK);  /* 8 bytes with the quotes */
	kbuf_reset(&b);
	assert_int_equal(json_quote(&b, "1234567"), KYSO_ERR_TOO_LARGE);
	kbuf_reset(&b);
	assert_int_equal(json_quote(&b, "12345\n"), KYSO_ERR_TOO_LARGE);  /* \n takes two */
	kbuf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_sanitize),
		cmocka_unit_test(test_utf8_prefix),
		cmocka_unit_test(test_utf8_repair),
		cmocka_unit_test(test_b64_encode_rfc4648),
		cmocka_unit_test(test_b64_append_rfc4648),
		cmocka_unit_test(test_json_member),
		cmocka_unit_test(test_json_b64_item),
		cmocka_unit_test(test_b64_decode_rfc4648),
		cmocka_unit_test(test_b64_binary_round_trip),
		cmocka_unit_test(test_b64_all_alphabet),
		cmocka_unit_test(test_b64_rejects_bad_length),
		cmocka_unit_test(test_b64_rejects_bad_chars),
		cmocka_unit_test(test_b64_rejects_whitespace),
		cmocka_unit_test(test_b64_rejects_misplaced_padding),
		cmocka_unit_test(test_hex_encode),
		cmocka_unit_test(test_hex_decode),
		cmocka_unit_test(test_hex_decode_rejects),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_json_quote_cases),
		cmocka_unit_test(test_json_quote_like_jansson),
		cmocka_unit_test(test_json_quote_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
