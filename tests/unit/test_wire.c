/* test_wire.c — common/wire.h: framing, JSON rules, and the socket calls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "monotime.h"
#include "wire.h"

static void
buf_set(struct kbuf *b, size_t max, const void *p, size_t n)
{
	kbuf_init(b, max);
	assert_int_equal(kbuf_append(b, p, n), KYSO_OK);
}

/* ---- wire_frame_find ---- */

static void
test_frame_empty(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(wire_frame_find(&b, &len), 0);
	assert_int_equal(len, 0);
	kbuf_free(&b);
}

static void
test_frame_incomplete(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	buf_set(&b, 64, "{\"a\":1}", 7);
	assert_int_equal(wire_frame_find(&b, &len), 0);
	assert_int_equal(len, 0);
	kbuf_free(&b);
}

static void
test_frame_one(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	buf_set(&b, 64, "{\"a\":1}\0", 8);
	assert_int_equal(wire_frame_find(&b, &len), 1);
	assert_int_equal(len, 7);
	assert_int_equal(b.data[len], '\0');
	kbuf_free(&b);
}

static void
test_frame_two_back_to_back(void **state)
{
	static const char msgs[] = "{\"a\":1}\0{}\0{\"b\"";
	struct kbuf b;
	size_t len = 77;

	(void)state;
	buf_set(&b, 64, msgs, sizeof(msgs) - 1);
	assert_int_equal(wire_frame_find(&b, &len), 1);
	assert_int_equal(len, 7);
	kbuf_consume(&b, len + 1);
	assert_int_equal(wire_frame_find(&b, &len), 1);
	assert_int_equal(len, 2);
	assert_memory_equal(b.data, "{}", 2);
	kbuf_consume(&b, len + 1);
	/* the third is not complete */
	assert_int_equal(wire_frame_find(&b, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(b.len, 4);
	kbuf_free(&b);
}

static void
test_frame_full_without_nul(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	buf_set(&b, 8, "{\"a\":123", 8);
	assert_int_equal(wire_frame_find(&b, &len), KYSO_ERR_TOO_LARGE);
	kbuf_free(&b);
	/* one byte short of full: still waiting */
	buf_set(&b, 8, "{\"a\":12", 7);
	assert_int_equal(wire_frame_find(&b, &len), 0);
	kbuf_free(&b);
	/* full, NUL as the last byte: a message */
	buf_set(&b, 8, "{\"a\":1}\0", 8);
	assert_int_equal(wire_frame_find(&b, &len), 1);
	assert_int_equal(len, 7);
	kbuf_free(&b);
}

static void
test_frame_at_offset(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	/* two messages and the start of a third: served from offsets, consumed at once */
	buf_set(&b, 16, "{}\0[1]\0{\"a", 10);
	assert_int_equal(wire_frame_find_at(&b, 0, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(wire_frame_find_at(&b, 3, &len), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(b.data + 3, "[1]", 3);
	assert_int_equal(wire_frame_find_at(&b, 7, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(wire_frame_find_at(&b, 10, &len), 0);  /* off == len: nothing */
	kbuf_free(&b);
	/* a full buffer without a NUL is too large only for a message that began at 0 */
	buf_set(&b, 8, "{}\0abcde", 8);
	assert_int_equal(wire_frame_find_at(&b, 3, &len), 0);
	kbuf_free(&b);
	buf_set(&b, 8, "abcdefgh", 8);
	assert_int_equal(wire_frame_find_at(&b, 0, &len), KYSO_ERR_TOO_LARGE);
	kbuf_free(&b);
}

static void
test_frame_empty_message(void **state)
{
	struct kbuf b;
	size_t len = 77;

	(void)state;
	buf_set(&b, 8, "\0{}", 3);
	assert_int_equal(wire_frame_find(&b, &len), 1);
	assert_int_equal(len, 0);
	kbuf_free(&b);
}

/* ---- wire_parse ---- */

static void
expect_parse_error(const char *text, const char *needle1, const char *needle2)
{
	char err[256];
	json_t *o = (json_t *)&o;

	memset(err, 0, sizeof(err));
	assert_int_equal(wire_parse(text, strlen(text), &o, err, sizeof(err)),
	    KYSO_ERR_PROTOCOL);
	assert_null(o);
	if (needle1 != NULL && strstr(err, needle1) == NULL)
		fail_msg("'%s': \"%s\" lacks \"%s\"", text, err, needle1);
	if (needle2 != NULL && strstr(err, needle2) == NULL)
		fail_msg("'%s': \"%s\" lacks \"%s\"", text, err, needle2);
}

static void
test_parse_ok(void **state)
{
	static const char text[] = "{\"method\":\"io.kyso.Agent.Lock\",\"n\":3}GARBAGE";
	char err[128] = "";
	json_t *o = NULL;

	(void)state;
	/* len stops before the garbage: text need not be NUL-terminated */
	assert_int_equal(wire_parse(text, sizeof(text) - 1 - 7, &o, err, sizeof(err)), KYSO_OK);
	assert_non_null(o);
	assert_true(json_is_object(o));
	assert_string_equal(json_string_value(json_object_get(o, "method")),
	    "io.kyso.Agent.Lock");
	assert_int_equal(json_integer_value(json_object_get(o, "n")), 3);
	assert_int_equal(json_object_size(o), 2);
	json_decref(o);
}

static void
test_parse_malformed(void **state)
{
	(void)state;
	expect_parse_error("{\"a\":", "line 1", "column");
	expect_parse_error("{\"a\" 1}", "line 1, column 6", NULL);
	expect_parse_error("{\n\"a\": tru}", "line 2", "column");
	expect_parse_error("", "line", "column");
	expect_parse_error("{} {}", "line 1", "column");
	expect_parse_error("{}x", "line 1", "column");
	expect_parse_error("{'a':1}", "line 1", "column");
}

static void
test_parse_not_object(void **state)
{
	(void)state;
	expect_parse_error("[1,2]", "a message must be a JSON object", NULL);
	expect_parse_error("[]", "a message must be a JSON object", NULL);
	/* jansson refuses bare scalars while parsing: then the sentence names the place */
	expect_parse_error("42", "line 1", "column");
	expect_parse_error("\"str\"", "line 1", "column");
	expect_parse_error("null", "line 1", "column");
	expect_parse_error("true", "line 1", "column");
}

static void
test_parse_duplicate_keys(void **state)
{
	(void)state;
	expect_parse_error("{\"a\":1,\"a\":2}", "duplicate", "line 1");
	expect_parse_error("{\"p\":{\"pin\":\"1\",\"pin\":\"2\"}}", "duplicate", "line 1");
}

/* ---- wire_append ---- */

static void
test_append(void **state)
{
	json_t *o = json_pack("{s:i}", "a", 1);
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 64);
	assert_int_equal(wire_append(&b, o), KYSO_OK);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "{\"a\":1}\0", 8);
	assert_int_equal(wire_append(&b, o), KYSO_OK);
	assert_int_equal(b.len, 16);
	assert_memory_equal(b.data, "{\"a\":1}\0{\"a\":1}\0", 16);
	json_decref(o);
	kbuf_free(&b);
}

static void
test_append_compact(void **state)
{
	json_t *o = json_pack("{s:[i,i], s:{s:s}}", "list", 1, 2, "obj", "k", "v");
	char *want = json_dumps(o, JSON_COMPACT);
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 256);
	assert_int_equal(wire_append(&b, o), KYSO_OK);
	assert_int_equal(b.len, strlen(want) + 1);
	assert_memory_equal(b.data, want, strlen(want) + 1);
	assert_null(memchr(b.data, ' ', b.len));
	assert_null(memchr(b.data, '\n', b.len));
	free(want);
	json_decref(o);
	kbuf_free(&b);
}

static void
test_append_respects_cap(void **state)
{
	json_t *o = json_pack("{s:i}", "a", 1);  /* 7 bytes + NUL */
	json_t *big = json_pack("{s:s%}", "s", "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy", (size_t)36);
	struct kbuf b;

	(void)state;
	/* exactly fits */
	kbuf_init(&b, 8);
	assert_int_equal(wire_append(&b, o), KYSO_OK);
	assert_int_equal(b.len, 8);
	kbuf_free(&b);
	/* the NUL does not fit */
	kbuf_init(&b, 7);
	assert_int_equal(wire_append(&b, o), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 0);
	kbuf_free(&b);
	/* what was there before is left as it was */
	kbuf_init(&b, 20);
	assert_int_equal(kbuf_append(&b, "prefix", 6), KYSO_OK);
	assert_int_equal(wire_append(&b, big), KYSO_ERR_TOO_LARGE);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "prefix", 6);
	assert_int_equal(wire_append(&b, o), KYSO_OK);
	assert_int_equal(b.len, 14);
	assert_memory_equal(b.data, "prefix{\"a\":1}\0", 14);
	json_decref(o);
	json_decref(big);
	kbuf_free(&b);
}

/* ---- over a socketpair ---- */

struct writer {
	int fd;
	const unsigned char *const *parts;
	const size_t *lens;
	size_t nparts;
	int close_after;
	int result;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void *
writer_main(void *arg)
{
	struct writer *w = arg;

	w->result = KYSO_OK;
	for (size_t i = 0; i < w->nparts; i++) {
		sleep_ms(20);
		if ((w->result = wire_send_all(w->fd, w->parts[i], w->lens[i])) != KYSO_OK)
			break;
	}
	if (w->close_after) {
		close(w->fd);
		w->fd = -1;
	}
	return NULL;
}

static void
make_pair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

static void
test_recv_split_message(void **state)
{
	static const unsigned char p1[] = "{\"he", p2[] = "llo\":", p3[] = "\"world\"", p4[] = "}";
	const unsigned char *parts[] = { p1, p2, p3, p4, (const unsigned char *)"" };
	const size_t lens[] = { 4, 5, 7, 1, 1 };  /* the last is the NUL */
	struct writer w = { 0, parts, lens, 5, 0, -1 };
	struct kbuf in;
	json_t *o = NULL;
	pthread_t th;
	int sv[2];

	(void)state;
	make_pair(sv);
	w.fd = sv[1];
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.result, KYSO_OK);
	assert_non_null(o);
	assert_string_equal(json_string_value(json_object_get(o, "hello")), "world");
	assert_int_equal(in.len, 0);
	json_decref(o);
	kbuf_free(&in);
	close(sv[0]);
	close(sv[1]);
}

static void
test_recv_two_messages_then_disconnect(void **state)
{
	static const unsigned char msgs[] = "{\"n\":1}\0{\"n\":2}\0{\"n\":";
	struct kbuf in;
	json_t *o = NULL;
	int sv[2];

	(void)state;
	make_pair(sv);
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(wire_send_all(sv[1], msgs, sizeof(msgs) - 1), KYSO_OK);
	close(sv[1]);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "n")), 1);
	json_decref(o);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_OK);
	assert_int_equal(json_integer_value(json_object_get(o, "n")), 2);
	json_decref(o);
	/* the third message is cut short by the close */
	o = (json_t *)&o;
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_ERR_DISCONNECTED);
	assert_null(o);
	kbuf_free(&in);
	close(sv[0]);
}

static void
test_recv_peer_closes(void **state)
{
	struct writer w = { 0, NULL, NULL, 0, 1, -1 };
	struct kbuf in;
	json_t *o = (json_t *)&o;
	pthread_t th;
	int sv[2];

	(void)state;
	make_pair(sv);
	w.fd = sv[1];
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_ERR_DISCONNECTED);
	assert_null(o);
	assert_int_equal(pthread_join(th, NULL), 0);
	kbuf_free(&in);
	close(sv[0]);
}

static void
test_recv_malformed_then_next(void **state)
{
	static const unsigned char msgs[] = "{\"a\":}\0[1]\0{\"ok\":true}\0";
	struct kbuf in;
	json_t *o = NULL;
	int sv[2];

	(void)state;
	make_pair(sv);
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(wire_send_all(sv[1], msgs, sizeof(msgs) - 1), KYSO_OK);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_ERR_PROTOCOL);
	assert_null(o);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_ERR_PROTOCOL);
	assert_null(o);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_OK);
	assert_true(json_is_true(json_object_get(o, "ok")));
	assert_int_equal(in.len, 0);
	json_decref(o);
	kbuf_free(&in);
	close(sv[0]);
	close(sv[1]);
}

/* A message of exactly KYSO_WIRE_MAX bytes, NUL included. */
static unsigned char *
big_message(size_t total, int with_nul)
{
	unsigned char *m = malloc(total);

	assert_non_null(m);
	memcpy(m, "{\"s\":\"", 6);
	memset(m + 6, 'x', total - 6 - 3);
	memcpy(m + total - 3, "\"}", 2);
	m[total - 1] = with_nul ? '\0' : 'x';
	return m;
}

static void
test_recv_exactly_max(void **state)
{
	unsigned char *m = big_message(KYSO_WIRE_MAX, 1);
	const unsigned char *parts[] = { m };
	const size_t lens[] = { KYSO_WIRE_MAX };
	struct writer w = { 0, parts, lens, 1, 0, -1 };
	struct kbuf in;
	json_t *o = NULL;
	pthread_t th;
	int sv[2];

	(void)state;
	make_pair(sv);
	w.fd = sv[1];
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_OK);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(w.result, KYSO_OK);
	assert_int_equal(json_string_length(json_object_get(o, "s")), KYSO_WIRE_MAX - 9);
	json_decref(o);
	kbuf_free(&in);
	free(m);
	close(sv[0]);
	close(sv[1]);
}

static void
test_recv_too_large(void **state)
{
	/* one byte over: the NUL would be byte KYSO_WIRE_MAX + 1 */
	unsigned char *m = big_message(KYSO_WIRE_MAX + 1, 1);
	const unsigned char *parts[] = { m };
	const size_t lens[] = { KYSO_WIRE_MAX + 1 };
	struct writer w = { 0, parts, lens, 1, 0, -1 };
	struct kbuf in;
	json_t *o = (json_t *)&o;
	pthread_t th;
	int sv[2];

	(void)state;
	make_pair(sv);
	w.fd = sv[1];
	kbuf_init(&in, KYSO_WIRE_MAX);
	assert_int_equal(pthread_create(&th, NULL, writer_main, &w), 0);
	assert_int_equal(wire_recv(sv[0], &in, &o), KYSO_ERR_TOO_LARGE);
	assert_null(o);
	assert_int_equal(in.len, KYSO_WIRE_MAX);  /* never read past the cap */
	/* the writer still has the last byte to send: closing our end fails it */
	close(sv[0]);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(w.result == KYSO_OK || w.result == KYSO_ERR_IO);
	kbuf_free(&in);
	free(m);
	close(sv[1]);
}

static void
test_send_all_to_closed_peer(void **state)
{
	unsigned char *m = big_message(4 * 1024 * 1024, 1);
	int sv[2];

	(void)state;
	make_pair(sv);
	close(sv[0]);
	/* no SIGPIPE: the process survives and gets KYSO_ERR_IO */
	assert_int_equal(wire_send_all(sv[1], (const unsigned char *)"{}", 3), KYSO_ERR_IO);
	assert_int_equal(wire_send_all(sv[1], m, 4 * 1024 * 1024), KYSO_ERR_IO);
	free(m);
	close(sv[1]);
}

static void
test_nonblocking_calls(void **state)
{
	struct kbuf in, out;
	json_t *o = json_pack("{s:s}", "method", "io.kyso.Agent.Lock");
	size_t len;
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	kbuf_init(&in, 64);
	kbuf_init(&out, 64);
	assert_int_equal(wire_read_some(sv[0], &in), WIRE_AGAIN);
	assert_int_equal(wire_append(&out, o), KYSO_OK);
	assert_int_equal(wire_write_some(sv[1], &out), KYSO_OK);
	assert_int_equal(out.len, 0);
	assert_int_equal(wire_read_some(sv[0], &in), 32);
	assert_int_equal(wire_frame_find(&in, &len), 1);
	assert_int_equal(len, 31);
	assert_memory_equal(in.data, "{\"method\":\"io.kyso.Agent.Lock\"}", 32);
	/* full: refused before reading */
	kbuf_free(&in);
	kbuf_init(&in, 4);
	assert_int_equal(kbuf_append(&in, "abcd", 4), KYSO_OK);
	assert_int_equal(wire_read_some(sv[0], &in), KYSO_ERR_TOO_LARGE);
	/* never past the cap */
	kbuf_free(&in);
	kbuf_init(&in, 10);
	assert_int_equal(kbuf_append(&in, "abcdefgh", 8), KYSO_OK);
	assert_int_equal(wire_send_all(sv[1], (const unsigned char *)"0123456789", 10), KYSO_OK);
	assert_int_equal(wire_read_some(sv[0], &in), 2);
	assert_int_equal(in.len, 10);
	assert_memory_equal(in.data, "abcdefgh01", 10);
	/* end of file */
	close(sv[1]);
	kbuf_reset(&in);
	assert_int_equal(wire_read_some(sv[0], &in), 8);
	assert_memory_equal(in.data, "23456789", 8);
	assert_int_equal(wire_read_some(sv[0], &in), 0);
	json_decref(o);
	kbuf_free(&in);
	kbuf_free(&out);
	close(sv[0]);
}

static void
test_write_some_peer_gone(void **state)
{
	struct kbuf out;
	int sv[2];

	(void)state;
	make_pair(sv);
	close(sv[0]);
	kbuf_init(&out, 64);
	assert_int_equal(kbuf_append(&out, "{}\0", 3), KYSO_OK);
	assert_int_equal(wire_write_some(sv[1], &out), KYSO_ERR_IO);
	kbuf_free(&out);
	close(sv[1]);
}

/* A peer that sends half a message and then nothing: the timed read gives up, keeps
 * what came, and the rest still completes the message afterwards. */
static void
test_recv_ms_silent_peer(void **state)
{
	struct kbuf in;
	json_t *obj = NULL;
	struct timespec t0;
	int sv[2];

	(void)state;
	make_pair(sv);
	kbuf_init(&in, 4096);
	assert_int_equal(wire_send_all(sv[1], (const unsigned char *)"{\"a\":", 5), KYSO_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(wire_recv_ms(sv[0], &in, &obj, 100), KYSO_ERR_TIMEOUT);
	assert_true(mono_us_since(&t0) >= 100000);
	assert_null(obj);
	assert_int_equal(in.len, 5);
	assert_int_equal(wire_send_all(sv[1], (const unsigned char *)"1}", 3), KYSO_OK);
	assert_int_equal(wire_recv_ms(sv[0], &in, &obj, 100), KYSO_OK);
	assert_int_equal(json_integer_value(json_object_get(obj, "a")), 1);
	json_decref(obj);
	kbuf_free(&in);
	close(sv[0]);
	close(sv[1]);
}

/* A peer that reads nothing: the timed send gives up once the socket's buffer is full,
 * also on a blocking socket (libkyso's). */
static void
test_send_all_ms_peer_not_reading(void **state)
{
	static unsigned char big[1 << 20];
	int sv[2];

	(void)state;
	make_pair(sv);
	assert_int_equal(wire_send_all_ms(sv[0], big, sizeof(big), 100), KYSO_ERR_TIMEOUT);
	close(sv[0]);
	close(sv[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_empty),
		cmocka_unit_test(test_frame_incomplete),
		cmocka_unit_test(test_frame_one),
		cmocka_unit_test(test_frame_at_offset),
		cmocka_unit_test(test_frame_two_back_to_back),
		cmocka_unit_test(test_frame_full_without_nul),
		cmocka_unit_test(test_frame_empty_message),
		cmocka_unit_test(test_parse_ok),
		cmocka_unit_test(test_parse_malformed),
		cmocka_unit_test(test_parse_not_object),
		cmocka_unit_test(test_parse_duplicate_keys),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_append_compact),
		cmocka_unit_test(test_append_respects_cap),
		cmocka_unit_test(test_recv_split_message),
		cmocka_unit_test(test_recv_two_messages_then_disconnect),
		cmocka_unit_test(test_recv_peer_closes),
		cmocka_unit_test(test_recv_malformed_then_next),
		cmocka_unit_test(test_recv_exactly_max),
		cmocka_unit_test(test_recv_too_large),
		cmocka_unit_test(test_send_all_to_closed_peer),
		cmocka_unit_test(test_nonblocking_calls),
		cmocka_unit_test(test_write_some_peer_gone),
		cmocka_unit_test(test_recv_ms_silent_peer),
		cmocka_unit_test(test_send_all_ms_peer_not_reading),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
