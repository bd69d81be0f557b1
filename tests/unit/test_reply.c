/* test_reply.c — agent/reply.h: a reply whose parameters are JSON text made elsewhere. */
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
#include "kyso_err.h"
#include "reply.h"
#include "wire.h"

static struct kbuf *
text(const char *s)
{
	struct kbuf *b = malloc(sizeof(*b));

	assert_non_null(b);
	kbuf_init(b, 1024);
	assert_int_equal(kbuf_append(b, s, strlen(s)), KYSO_OK);
	return b;
}

/* The text goes out as it is, framed as every other reply: {"parameters":…} and a NUL. */
static void
test_text_sent_as_it_is(void **state)
{
	static const char want[] = "{\"parameters\":{\"signatures\":[\"AAE=\",\"AgM=\"],"
	    "\"batch\":\"00ff\"}}";
	struct reply r = { 0 };
	struct kbuf out;
	json_t *m;

	(void)state;
	reply_ok_text(&r, text("{\"signatures\":[\"AAE=\",\"AgM=\"],\"batch\":\"00ff\"}"));
	kbuf_init(&out, 4096);
	assert_int_equal(kbuf_append(&out, "x", 1), KYSO_OK);  /* a reply queued before */
	assert_int_equal(reply_append(&r, &out), KYSO_OK);
	assert_int_equal(out.len, 1 + sizeof(want));
	assert_memory_equal(out.data + 1, want, sizeof(want));  /* the NUL included */
	/* and as an object, for whoever looks at it that way */
	m = reply_message(&r);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_array_get(json_object_get(json_object_get(m,
	    "parameters"), "signatures"), 1)), "AgM=");
	json_decref(m);
	reply_clear(&r);
	assert_null(r.text);
	kbuf_free(&out);
}

/* A reply too large for the connection's buffer: refused, the buffer as it was. */
static void
test_text_too_large(void **state)
{
	struct reply r = { 0 };
	struct kbuf out;

	(void)state;
	reply_ok_text(&r, text("{\"signatures\":[\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\"]}"));
	kbuf_init(&out, 40);
	assert_int_equal(kbuf_append(&out, "queued", 6), KYSO_OK);
	assert_int_equal(reply_append(&r, &out), KYSO_ERR_TOO_LARGE);
	assert_int_equal(out.len, 6);
	reply_clear(&r);
	kbuf_free(&out);
}

/* An error replaces the text (reply_fail clears what r held). */
static void
test_fail_after_text(void **state)
{
	struct reply r = { 0 };
	struct kbuf out;

	(void)state;
	reply_ok_text(&r, text("{}"));
	reply_fail(&r, KYSO_ERR_NOMEM, NULL, NULL);
	assert_null(r.text);
	kbuf_init(&out, 4096);
	assert_int_equal(reply_append(&r, &out), KYSO_OK);
	assert_non_null(strstr((const char *)out.data, "\"error\":"));
	reply_clear(&r);
	kbuf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_sent_as_it_is),
		cmocka_unit_test(test_text_too_large),
		cmocka_unit_test(test_fail_after_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
