/* test_pdf_text.c — the pure parts of libkyso-pdf: text strings, dates, templates, hex,
 * the PDF writer's escapes, the options' checks, and writing files atomically. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kyso_err.h"
#include "pdf_internal.h"

static void
test_utf16(void **state)
{
	unsigned char *u;
	size_t n;

	(void)state;
	/* "Thắng": T h U+1EAF n g, and an emoji outside the BMP (a surrogate pair) */
	assert_int_equal(pdf_utf16be("Th\xe1\xba\xaft\xf0\x9f\x98\x80", &u, &n), KYSO_OK);
	assert_int_equal(n, 2 + 2 * 4 + 4);
	assert_memory_equal(u, "\xfe\xff\x00T\x00h\x1e\xaf\x00t\xd8\x3d\xde\x00", n);
	free(u);
	assert_int_equal(pdf_utf16be("bad \xc3", &u, &n), KYSO_ERR_INVALID_ARG);
	assert_int_equal(pdf_utf16be("over\xc0\xaf", &u, &n), KYSO_ERR_INVALID_ARG);
	assert_int_equal(pdf_utf16be("", &u, &n), KYSO_OK);
	assert_int_equal(n, 2);
	free(u);
}

static void
test_dates(void **state)
{
	char b[64];

	(void)state;
	/* 2026-12-07 03:00:05 UTC */
	pdf_date(1796612405, 420, b, sizeof(b));
	assert_string_equal(b, "D:20261207100005+07'00'");
	pdf_date(1796612405, 0, b, sizeof(b));
	assert_string_equal(b, "D:20261207030005Z");
	pdf_date(1796612405, -150, b, sizeof(b));
	assert_string_equal(b, "D:20261207003005-02'30'");
	assert_int_equal(pdf_time_text(1796612405, 420, "%Y-%m-%dT%H:%M:%S%z", b, sizeof(b)),
	    KYSO_OK);
	assert_string_equal(b, "2026-12-07T10:00:05+07:00");
	assert_int_equal(pdf_time_text(1796612405, 420, "%H:%M:%S ngày %d/%m/%Y (%z) 100%%",
	    b, sizeof(b)), KYSO_OK);
	assert_string_equal(b, "10:00:05 ngày 07/12/2026 (+07:00) 100%");
	assert_int_equal(pdf_time_text(0, 0, "", b, sizeof(b)), KYSO_ERR_INVALID_ARG);
}

static void
test_template(void **state)
{
	struct pdf_fields f = { "Nguyễn Văn Thắng", "Bộ Quốc phòng", "", "T", "", "Hà Nội", NULL };
	char *s;

	(void)state;
	s = pdf_template_expand(KYSO_PDF_DEFAULT_TEXT, &f);
	assert_non_null(s);
	/* the reason is empty: its line goes; the location stays */
	assert_string_equal(s, "Ký số bởi: Nguyễn Văn Thắng\nBộ Quốc phòng\nThời gian ký: T\n"
	    "Nơi ký: Hà Nội");
	free(s);
	s = pdf_template_expand("%u\n100%% %n %x\nplain", &f);
	assert_string_equal(s, "100% Nguyễn Văn Thắng %x\nplain");
	free(s);
	s = pdf_template_expand("", &f);
	assert_string_equal(s, "");
	free(s);
}

static void
test_hex(void **state)
{
	unsigned char *b;
	size_t n;

	(void)state;
	assert_int_equal(pdf_hex_gap((const unsigned char *)"<0a1B>", 6), 4);
	assert_int_equal(pdf_hex_gap((const unsigned char *)"<>", 2), 0);
	assert_int_equal(pdf_hex_gap((const unsigned char *)"<0a 1B>", 7), -1);
	assert_int_equal(pdf_hex_gap((const unsigned char *)"(0a1B)", 6), -1);
	assert_int_equal(pdf_hex_gap((const unsigned char *)"<", 1), -1);
	assert_int_equal(pdf_hex_decode((const unsigned char *)"<0a1B3>", 7, &b, &n), KYSO_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "\x0a\x1b\x30", 3);
	free(b);
	assert_int_equal(pdf_hex_decode((const unsigned char *)"<zz>", 4, &b, &n),
	    KYSO_ERR_INVALID_ARG);
	assert_non_null(pdf_digest_md("sha384"));
	assert_null(pdf_digest_md("sha1"));
	assert_string_equal(pdf_digest_name(pdf_digest_md("sha512")), "sha512");
}

static void
test_writer(void **state)
{
	struct pdfw w;

	(void)state;
	pdfw_init(&w, 1000);
	pdfw_text_string(&w, "a (b) \\c");
	pdfw_bytes(&w, " ", 1);
	pdfw_text_string(&w, "Lý");
	pdfw_bytes(&w, " ", 1);
	pdfw_name(&w, "A B#/(x)");
	assert_int_equal(w.err, KYSO_OK);
	assert_int_equal(pdfw_offset(&w), 1000 + w.b.len);
	pdfw_bytes(&w, "", 1);
	assert_string_equal((char *)w.b.data,
	    "(a \\(b\\) \\\\c) <FEFF004C00FD> /A#20B#23#2F#28x#29");
	/* a bad string is an error that sticks */
	pdfw_text_string(&w, "\xff");
	assert_int_equal(w.err, KYSO_ERR_INVALID_ARG);
	pdfw_printf(&w, "more");
	assert_int_equal(w.err, KYSO_ERR_INVALID_ARG);
	pdfw_free(&w);
}

static void
test_options(void **state)
{
	kyso_pdf_options *o;

	(void)state;
	assert_int_equal(kyso_pdf_options_new(&o), KYSO_OK);
	assert_string_equal(pdfopt_text(o, KYSO_PDF_FONT), "DejaVu Sans");
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_FIELD, "a.b"), KYSO_ERR_INVALID_ARG);
	assert_non_null(strstr(kyso_pdf_options_error(o), "'.'"));
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_COLOR, "12345g"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_DIGEST, "md5"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_TSA_URL, "ftp://x"), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_REASON, "\xc3("), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_REASON, "Phê duyệt"), KYSO_OK);
	assert_string_equal(pdfopt_text(o, KYSO_PDF_REASON), "Phê duyệt");
	assert_int_equal(kyso_pdf_options_set(o, KYSO_PDF_REASON, NULL), KYSO_OK);
	assert_string_equal(pdfopt_text(o, KYSO_PDF_REASON), "");
	assert_int_equal(kyso_pdf_options_set_visible(o, 0, 1, 1, 10, 10), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set_visible(o, 1, 1, 1, 0, 10), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set_visible(o, -1, 1, 1, 10, 10), KYSO_OK);
	assert_int_equal(kyso_pdf_options_set_time(o, 0, 15 * 60), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set_reserve(o, 2 * 1024 * 1024), KYSO_ERR_INVALID_ARG);
	assert_int_equal(kyso_pdf_options_set((kyso_pdf_options *)o, 99, "x"), KYSO_ERR_INVALID_ARG);
	kyso_pdf_options_free(o);
}

static void
test_atomic_write(void **state)
{
	char dir[] = "/tmp/kyso-unit-XXXXXX", path[128], err[256], buf[16];
	struct file_part parts[2] = { { "hello ", 6 }, { "world", 5 } };
	struct stat st;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.pdf", dir);
	assert_int_equal(file_write_atomic(path, parts, 2, 0, err, sizeof(err)), KYSO_OK);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 11);
	fclose(f);
	assert_memory_equal(buf, "hello world", 11);
	assert_int_equal(file_write_atomic(path, parts, 1, 0, err, sizeof(err)), KYSO_ERR_EXISTS);
	assert_non_null(strstr(err, "--force"));
	assert_int_equal(file_write_atomic(path, parts, 1, 1, err, sizeof(err)), KYSO_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 6);
	snprintf(path, sizeof(path), "%s/missing/out.pdf", dir);
	assert_int_equal(file_write_atomic(path, parts, 1, 0, err, sizeof(err)), KYSO_ERR_IO);
	assert_non_null(strstr(err, "cannot write in"));
	snprintf(path, sizeof(path), "%s/out.pdf", dir);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);  /* no temporary file was left */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf16),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_atomic_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
