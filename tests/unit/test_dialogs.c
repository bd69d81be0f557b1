/*
 * test_dialogs.c — agent/dialogs.h: what a batch's consent dialog shows of the names a
 * program gives its documents. The names are the program's; the dialog's own lines
 * (how many documents, "and N more", the certificate, the question) are the agent's, and
 * no name may redraw them: no control character (C0 or C1), no line or paragraph
 * separator, no bidirectional override or isolate reaches the dialog.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialogs.h"

/* The list the dialog shows for these names (all of them listed, total = n). */
static char *
list_of(const char *const *names, size_t n, size_t total)
{
	char *s = dialog_document_list(names, n, total);

	assert_non_null(s);
	return s;
}

/* Fails if s holds the UTF-8 bytes of code point cp. */
static void
assert_no_cp(const char *s, const char *utf8, const char *what)
{
	if (strstr(s, utf8) != NULL)
		fail_msg("the dialog text holds %s: %s", what, s);
}

static void
test_plain_names(void **state)
{
	const char *names[] = { "letter-01.pdf", "Công văn số 17/2026.pdf" };
	char *s;

	(void)state;
	s = list_of(names, 2, 2);
	/* Vietnamese diacritics go through as they are */
	assert_string_equal(s, "  letter-01.pdf\n  Công văn số 17/2026.pdf\n");
	free(s);
}

static void
test_more(void **state)
{
	const char *names[] = { "a", "b", "c", "d", "e" };
	char *s;

	(void)state;
	s = list_of(names, 5, 1000);
	assert_string_equal(s, "  a\n  b\n  c\n  d\n  e\n  and 995 more\n");
	free(s);
}

static void
test_long_name_cut(void **state)
{
	char name[600];
	const char *names[] = { name };
	char *s;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	s = list_of(names, 1, 1);
	/* 48 characters, then the sign that it was cut */
	assert_int_equal(strlen(s), 2 + 48 + 3 + 1);
	assert_non_null(strstr(s, "x..."));
	free(s);
}

static void
test_c0_controls(void **state)
{
	const char *names[] = { "a\x1b[2Jb\tc\rd\ne" };
	char *s;

	(void)state;
	s = list_of(names, 1, 1);
	assert_string_equal(s, "  a [2Jb c d e\n");
	free(s);
}

static void
test_c1_controls(void **state)
{
	/* NEL (U+0085) is a line break to some toolkits; CSI (U+009B) an escape */
	const char *names[] = { "one\xc2\x85two", "x\xc2\x9b" "2Jy" };
	char *s;

	(void)state;
	s = list_of(names, 2, 2);
	assert_no_cp(s, "\xc2\x85", "U+0085 NEXT LINE");
	assert_no_cp(s, "\xc2\x9b", "U+009B CSI");
	assert_string_equal(s, "  one two\n  x 2Jy\n");
	free(s);
}

static void
test_separators(void **state)
{
	/* a name that would draw lines of its own under the agent's */
	const char *names[] = { "memo.pdf\xe2\x80\xa8" "and 0 more",
		"x\xe2\x80\xa9y" };
	char *s;

	(void)state;
	s = list_of(names, 2, 2);
	assert_no_cp(s, "\xe2\x80\xa8", "U+2028 LINE SEPARATOR");
	assert_no_cp(s, "\xe2\x80\xa9", "U+2029 PARAGRAPH SEPARATOR");
	assert_string_equal(s, "  memo.pdf and 0 more\n  x y\n");
	free(s);
}

static void
test_bidi_controls(void **state)
{
	/* "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf" */
	const char *names[] = { "invoice\xe2\x80\xae" "fdp.exe", "a\xe2\x80\xab" "b",
		"c\xe2\x81\xa6" "d\xe2\x81\xa9", "e\xe2\x80\x8f" "f\xe2\x80\x8e", "g\xd8\x9c" "h" };
	static const char *const bad[][2] = {
		{ "\xe2\x80\xaa", "U+202A" }, { "\xe2\x80\xab", "U+202B" },
		{ "\xe2\x80\xac", "U+202C" }, { "\xe2\x80\xad", "U+202D" },
		{ "\xe2\x80\xae", "U+202E" }, { "\xe2\x81\xa6", "U+2066" },
		{ "\xe2\x81\xa7", "U+2067" }, { "\xe2\x81\xa8", "U+2068" },
		{ "\xe2\x81\xa9", "U+2069" }, { "\xe2\x80\x8e", "U+200E" },
		{ "\xe2\x80\x8f", "U+200F" }, { "\xd8\x9c", "U+061C" } };
	char *s;

	(void)state;
	s = list_of(names, 5, 5);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_no_cp(s, bad[i][0], bad[i][1]);
	assert_string_equal(s, "  invoice fdp.exe\n  a b\n  c d \n  e f \n  g h\n");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_names),
		cmocka_unit_test(test_more),
		cmocka_unit_test(test_long_name_cut),
		cmocka_unit_test(test_c0_controls),
		cmocka_unit_test(test_c1_controls),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_bidi_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
