/*
 * test_dialogs.c — agent/dialogs.h: what a batch's consent dialog shows of the names a
 * program gives its documents. The names are the program's; the dialog's own lines
 * (how many documents, "and N more", the certificate, the question) are the agent's, and
 * no name may redraw them: no control character (C0 or C1), no line or paragraph
 * separator, no bidirectional override or isolate reaches the dialog.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dialogs.h"
#include "p11.h"
#include "request.h"

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
	char name[513];  /* BATCH_NAME_MAX bytes, the longest a call may give */
	const char *names[] = { name };
	char *s;

	(void)state;
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	name[0] = 'A';
	name[sizeof(name) - 2] = 'Z';
	s = list_of(names, 1, 1);
	/* 48 characters, cut in the middle: 47 of the name and "…" (3 bytes) */
	assert_int_equal(strlen(s), 2 + 47 + 3 + 1);
	assert_non_null(strstr(s, "x\xe2\x80\xa6x"));
	assert_int_equal(s[2], 'A');
	assert_int_equal(s[strlen(s) - 2], 'Z');
	free(s);
}

/* Counts the characters of UTF-8 s. */
static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
test_vi_name_cut_middle(void **state)
{
	/* the start and the end tell official letters apart: keep both */
	const char *names[] = { "Công văn số 42-2026 về việc điều động cán bộ chỉ huy "
		"trung đoàn và bổ nhiệm.pdf" };
	char *s;

	(void)state;
	s = list_of(names, 1, 1);
	assert_int_equal(strncmp(s, "  Công văn số 42-2026 về việc", strlen("  Công văn số "
	    "42-2026 về việc")), 0);
	assert_non_null(strstr(s, "\xe2\x80\xa6"));
	assert_non_null(strstr(s, "bổ nhiệm.pdf\n"));
	assert_int_equal(utf8_chars(s), 2 + 48 + 1);
	free(s);
}

/* ---- the whole dialog: one Assuan line ---- */

#define LONG_VI_NAME "Quyết định số 1234/QĐ-BQP ngày 30 tháng 11 năm 2026 của Bộ trưởng " \
	"Bộ Quốc phòng về việc điều động, bổ nhiệm cán bộ chỉ huy các đơn vị trực thuộc " \
	"Quân khu 7 và Bộ Tư lệnh Thành phố Hồ Chí Minh, kèm theo danh sách trích ngang " \
	"(bản chính thức có chữ ký và đóng dấu) — phụ lục số "

static char vi_names[5][520];
static const char *vi_name_ptrs[5];

static struct request_info *
worst_request(int web, size_t total)
{
	static struct request_info ri;
	static char desc[1100], subject[700];
	char *names;

	memset(&ri, 0, sizeof(ri));
	ri.pid = 2147483;
	/* a 255-byte path in Vietnamese */
	snprintf(ri.exe, sizeof(ri.exe), "/home/nguyễn.văn.ánh/Ứng dụng/Phần mềm quản lý văn "
	    "bản điều hành điện tử phiên bản thử nghiệm số hai mươi "
	    "mốt/thư mục chính/bin/trình-ký-số-văn-bản-điện-tử-hàng-loạt");
	if (web) {
		snprintf(ri.origin, sizeof(ri.origin), "https://quanlyvanban.quankhu7.bqp.vn");
		ri.browser_pid = 2147482;
		memcpy(ri.browser, ri.exe, sizeof(ri.browser));
	}
	desc[0] = '\0';
	while (strlen(desc) + 80 < sizeof(desc) - 80)
		strcat(desc, "Đợt ký các văn bản điều động cán bộ tháng mười một,\n");
	ri.description = desc;
	subject[0] = '\0';
	strcat(subject, "CN=Nguyễn Thị Phương Thảo Hoàng Trọng Nghĩa,OU=Phòng Tham mưu "
	    "Tác chiến Điện tử và Không gian mạng,O=Bộ Tư lệnh Tác chiến không gian mạng,"
	    "L=Thành phố Hồ Chí Minh,ST=Thành phố Hồ Chí Minh,C=VN,"
	    "emailAddress=nguyen.thi.phuong.thao@quanlyvanban.quankhu7.bqp.vn");
	ri.subject = subject;
	for (size_t i = 0; i < 5; i++) {
		snprintf(vi_names[i], sizeof(vi_names[i]), "%s%zu bổ nhiệm.pdf", LONG_VI_NAME,
		    i + 1);
		vi_name_ptrs[i] = vi_names[i];
	}
	names = dialog_document_names(vi_name_ptrs, 5);
	assert_non_null(names);
	ri.doc_list = names;
	ri.doc_count = total;
	ri.document = vi_names[2];
	ri.doc_index = 2;
	ri.doc_time_count = total;
	ri.doc_time_min = 1796007600;  /* 2026-11-30 */
	ri.doc_time_max = 1796007600 + 86400 * 3;
	ri.login_cached = 1;
	ri.login_idle_s = 600;
	ri.login_max_s = 7200;
	return &ri;
}

static const struct p11_token_desc worst_token = {
	.label = "Token Quân khu 7 — Phòng TM", .serial = "0123456789abcdef",
};

/* Checks the text of a worst-case dialog: it fits, its first and last lines are whole. */
static void
check_worst(int web, int every_signature, size_t total)
{
	struct request_info *ri = worst_request(web, total);
	char text[4096], more[64];
	const char *ending = every_signature ? "bổ nhiệm.pdf" :
	    "Enter the PIN of the token to sign them all.";
	const char *p;
	size_t listed = 0;

	assert_int_equal(dialog_pin_text(ri, &worst_token, every_signature, text,
	    sizeof(text)), 1);
	assert_true(dialog_text_fits(text));
	/* the last line: what to do */
	assert_true(strlen(text) > strlen(ending));
	assert_string_equal(text + strlen(text) - strlen(ending), ending);
	if (every_signature)
		assert_non_null(strstr(text, "sign document 3 of"));
	else
		assert_non_null(strstr(text, "After this, programs you run can sign with this "
		    "token without asking for the PIN for up to 10 minutes of inactivity (2 hours "
		    "at most); kyso lock ends it.\n\nEnter"));
	/* the first line: who asks, how many documents */
	snprintf(more, sizeof(more), "asks to sign %zu documents with your certificate\n",
	    total);
	assert_non_null(strstr(text, more));
	assert_true(strncmp(text, web ? "The web page https://quanlyvanban.quankhu7.bqp.vn "
	    "asks" : "The program /home/", web ? 54 : 18) == 0);
	/* the names listed and "and N more" count every document */
	p = strstr(text, "names them:\n");
	assert_non_null(p);
	for (p = strchr(p, '\n') + 1; strncmp(p, "  Quy", 5) == 0; p = strchr(p, '\n') + 1)
		listed++;
	assert_true(listed >= 1 && listed <= 5);
	if (total > listed) {
		snprintf(more, sizeof(more), "  and %zu more\n", total - listed);
		assert_int_equal(strncmp(p, more, strlen(more)), 0);
	}
	assert_non_null(strstr(text, "signed with dates from 2026-"));
	free(ri->doc_list);
}

static void
test_worst_program(void **state)
{
	(void)state;
	check_worst(0, 0, 1000);
	check_worst(0, 1, 1000);
	check_worst(0, 0, 5);
}

static void
test_worst_web(void **state)
{
	(void)state;
	check_worst(1, 0, 1000);
	check_worst(1, 1, 1000);
}

/* A short batch keeps everything: five names and the description's start. */
static void
test_short_whole(void **state)
{
	const char *names[] = { "a.pdf", "b.pdf" };
	struct request_info ri;
	char text[4096];

	(void)state;
	memset(&ri, 0, sizeof(ri));
	ri.pid = 42;
	snprintf(ri.exe, sizeof(ri.exe), "/usr/bin/office");
	ri.subject = (char *)"CN=Test";
	ri.description = (char *)"Công văn tháng 12";
	ri.doc_list = dialog_document_names(names, 2);
	ri.doc_count = 2;
	assert_int_equal(dialog_pin_text(&ri, &worst_token, 0, text, sizeof(text)), 1);
	/* login_cache = no: nothing said about a login kept */
	assert_null(strstr(text, "After this"));
	assert_non_null(strstr(text, "  a.pdf\n  b.pdf\n"));
	assert_null(strstr(text, "more"));
	assert_non_null(strstr(text, "\"Công văn tháng 12\""));
	assert_null(strstr(text, "not now"));
	ri.login_cached = 1;
	ri.login_idle_s = 90;
	ri.login_max_s = 0;
	assert_int_equal(dialog_pin_text(&ri, &worst_token, 0, text, sizeof(text)), 1);
	assert_non_null(strstr(text, "for up to 90 seconds of inactivity; kyso lock ends it."));
	free(ri.doc_list);
}

/* A single Sign's PIN dialog says what the login lasts too; a Login's as well. */
static void
test_single_sign_notice(void **state)
{
	struct request_info ri;
	char text[4096];

	(void)state;
	memset(&ri, 0, sizeof(ri));
	snprintf(ri.exe, sizeof(ri.exe), "/usr/bin/office");
	ri.subject = (char *)"CN=Test";
	ri.login_cached = 1;
	ri.login_idle_s = 0;
	ri.login_max_s = 3600;
	assert_int_equal(dialog_pin_text(&ri, &worst_token, 0, text, sizeof(text)), 1);
	assert_non_null(strstr(text, "without asking for the PIN for up to 1 hour; kyso lock "
	    "ends it.\n\nEnter the PIN of the token to sign."));
	ri.subject = NULL;
	ri.login_max_s = 0;
	assert_int_equal(dialog_pin_text(&ri, &worst_token, 0, text, sizeof(text)), 1);
	assert_non_null(strstr(text, "until you run kyso lock or remove the token.\n\nEnter "
	    "the PIN of the token to log in."));
	/* a key that wants the PIN for every signature: no such promise */
	ri.subject = (char *)"CN=Test";
	assert_int_equal(dialog_pin_text(&ri, &worst_token, 1, text, sizeof(text)), 1);
	assert_null(strstr(text, "After this"));
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
		cmocka_unit_test(test_vi_name_cut_middle),
		cmocka_unit_test(test_worst_program),
		cmocka_unit_test(test_worst_web),
		cmocka_unit_test(test_short_whole),
		cmocka_unit_test(test_single_sign_notice),
		cmocka_unit_test(test_c0_controls),
		cmocka_unit_test(test_c1_controls),
		cmocka_unit_test(test_separators),
		cmocka_unit_test(test_bidi_controls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
