/*
 * test_rpc.c — p11rpc/rpc.h, the wire between kysod and kyso-p11-helper: every call's
 * request and response written and read back field by field; reads checked against the
 * table (a field of the wrong type, too few bytes, bytes left over, a length over its
 * cap, an unknown call, a request flagged as a response, a secret in a large frame);
 * writes that do not follow the table refused; thousands of corrupted frames read without
 * a crash (under ASan in make check); and rpc_recv over a socketpair: frames cut, too
 * large, followed by more bytes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "kyso_err.h"
#include "rpc.h"
#include "rpc_chan.h"
#include "secret.h"

static struct kbuf out;

static const struct p11_token_desc tok = { 7, "alpha", "kyso tests", "model x", "0123456789abcdef",
	"slot seven", P11_TOKEN_LOGIN_REQUIRED | P11_TOKEN_INITIALIZED,
	P11_MECH_BIT(P11_MECH_ECDSA), 16, 1 };

static void
test_table(void **state)
{
	(void)state;
	assert_null(rpc_call_find(0));
	assert_null(rpc_call_find(RPC_CALL_COUNT));
	for (unsigned id = 1; id < RPC_CALL_COUNT; id++) {
		const struct rpc_call *c = rpc_call_find(id);

		assert_non_null(c);
		assert_non_null(c->name);
		/* every response starts with the result; only the PIN calls carry a secret */
		assert_int_equal(c->response[0], 'i');
		assert_int_equal(c->secret, strchr(c->request, 'P') != NULL);
		assert_true(strspn(c->request, "iyuUbksPFTDC") == strlen(c->request));
		assert_true(strspn(c->response, "iyuUbksPFTDC") == strlen(c->response));
	}
}

/* Writes the response to RPC_TOKENS and reads it back. */
static void
test_round_trip(void **state)
{
	struct p11_token_desc list[2] = { tok, tok }, *got;
	struct p11_fail f = { 0x30, "CKR_DEVICE_ERROR", "C_GetSlotList", NULL }, g;
	struct rpc_msg w, r;
	size_t n;

	(void)state;
	list[1].slot = 8;
	strcpy(list[1].label, "b\xc3\xa9ta");  /* UTF-8 goes through */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_TOKENS, 1), KYSO_OK);
	rpc_put_i32(&w, KYSO_ERR_TOKEN);
	rpc_put_fail(&w, &f);
	rpc_put_tokens(&w, list, 2);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(rpc_frame_len(out.data), out.len);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 1), KYSO_OK);
	assert_int_equal(r.id, RPC_TOKENS);
	assert_int_equal(rpc_get_i32(&r), KYSO_ERR_TOKEN);
	rpc_get_fail(&r, &g);
	assert_int_equal(g.ckr, 0x30);
	assert_string_equal(g.ckr_name, "CKR_DEVICE_ERROR");
	assert_string_equal(g.call, "C_GetSlotList");
	assert_null(g.cause);
	got = rpc_get_tokens(&r, &n);
	assert_int_equal(rpc_read_end(&r), KYSO_OK);
	assert_int_equal(n, 2);
	/* field by field: a struct's padding is not part of it */
	assert_int_equal(got[0].slot, tok.slot);
	assert_string_equal(got[0].label, tok.label);
	assert_string_equal(got[0].manufacturer, tok.manufacturer);
	assert_string_equal(got[0].model, tok.model);
	assert_string_equal(got[0].serial, tok.serial);
	assert_string_equal(got[0].slot_description, tok.slot_description);
	assert_int_equal(got[0].flags, tok.flags);
	assert_int_equal(got[0].mechs, tok.mechs);
	assert_int_equal(got[0].max_sessions, tok.max_sessions);
	assert_int_equal(got[0].removable, tok.removable);
	assert_string_equal(got[1].label, "b\xc3\xa9ta");
	assert_int_equal(got[1].slot, 8);
	free(got);
}

static void
test_certs_and_secret(void **state)
{
	unsigned char der[300], id[3] = { 1, 2, 3 };
	struct p11_cert_desc c = { der, sizeof(der), id, 3, "cert", NULL, 1, 0, 1, 1 }, *got;
	struct kyso_secret *pin, *back;
	struct rpc_msg w, r;
	size_t n;

	(void)state;
	memset(der, 0x30, sizeof(der));
	assert_int_equal(rpc_write_begin(&w, &out, RPC_CERTS, 1), KYSO_OK);
	rpc_put_i32(&w, KYSO_OK);
	rpc_put_fail(&w, &(struct p11_fail){ 0, "", "", NULL });
	rpc_put_u8(&w, 0);
	rpc_put_certs(&w, &c, 1);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 1), KYSO_OK);
	(void)rpc_get_i32(&r);
	rpc_get_fail(&r, &(struct p11_fail){ 0 });
	assert_int_equal(rpc_get_u8(&r), 0);
	got = rpc_get_certs(&r, &n);
	assert_int_equal(rpc_read_end(&r), KYSO_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(got[0].der, der, sizeof(der));
	assert_memory_equal(got[0].id, id, 3);
	assert_string_equal(got[0].label, "cert");
	assert_null(got[0].key_label);
	assert_true(got[0].has_private_key && !got[0].has_public_key && got[0].key_can_sign &&
	    got[0].key_always_auth);
	p11_certs_free(got, n);
	/* a PIN: written from and read into locked memory */
	assert_int_equal(secret_new("918273", 6, &pin), KYSO_OK);
	assert_int_equal(rpc_write_begin(&w, &out, RPC_LOGIN, 0), KYSO_OK);
	rpc_put_u32(&w, 5);
	rpc_put_secret(&w, pin);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 0), KYSO_OK);
	assert_int_equal(rpc_get_u32(&r), 5);
	back = rpc_get_secret(&r);
	assert_int_equal(rpc_read_end(&r), KYSO_OK);
	assert_non_null(back);
	assert_string_equal(secret_data(back), "918273");
	secret_free(back);
	secret_free(pin);
	kbuf_reset(&out);
}

/* Reads checked against the table: each wrong frame is refused with a reason. */
static void
test_reads_checked(void **state)
{
	struct rpc_msg w, r;
	unsigned char frame[64];
	uint32_t len;

	(void)state;
	/* a u64 where the table has a u32 */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_CLOSE, 0), KYSO_OK);
	rpc_put_u32(&w, 1);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 0), KYSO_OK);
	(void)rpc_get_u64(&r);
	assert_int_equal(r.err, KYSO_ERR_PROTOCOL);
	assert_non_null(strstr(r.why, "the table says 'u'"));
	/* a request read as a response, and a response as a request */
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 1), KYSO_ERR_PROTOCOL);
	/* bytes left over */
	assert_int_equal(kbuf_append(&out, "x", 1), KYSO_OK);
	len = (uint32_t)out.len - 4;
	memcpy(out.data, &len, 4);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 0), KYSO_OK);
	(void)rpc_get_u32(&r);
	assert_int_equal(rpc_read_end(&r), KYSO_ERR_PROTOCOL);
	assert_non_null(strstr(r.why, "after the last field"));
	/* too few bytes: a frame that ends before its field */
	memset(frame, 0, sizeof(frame));
	len = RPC_HEADER - 4 + 2;
	memcpy(frame, &len, 4);
	frame[4] = RPC_CLOSE;
	assert_int_equal(rpc_read_begin(&r, frame, RPC_HEADER + 2, 0), KYSO_OK);
	(void)rpc_get_u32(&r);
	assert_int_equal(r.err, KYSO_ERR_PROTOCOL);
	/* an unknown call, unknown flags, a length that does not match */
	frame[4] = 200;
	assert_int_equal(rpc_read_begin(&r, frame, RPC_HEADER + 2, 0), KYSO_ERR_PROTOCOL);
	frame[4] = RPC_CLOSE;
	frame[6] = 1;
	assert_int_equal(rpc_read_begin(&r, frame, RPC_HEADER + 2, 0), KYSO_ERR_PROTOCOL);
	frame[6] = 0;
	assert_int_equal(rpc_read_begin(&r, frame, RPC_HEADER + 3, 0), KYSO_ERR_PROTOCOL);
	/* a byte string whose length passes its cap (a key id of 300 bytes) */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_ALWAYS_AUTH, 0), KYSO_OK);
	rpc_put_u32(&w, 1);
	rpc_put_bytes(&w, frame, 4);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	len = 300;
	memcpy(out.data + RPC_HEADER + 4, &len, 4);
	assert_int_equal(rpc_read_begin(&r, out.data, out.len, 0), KYSO_OK);
	(void)rpc_get_u32(&r);
	{
		size_t n;

		assert_null(rpc_get_bytes(&r, &n));
	}
	assert_non_null(strstr(r.why, "at most 256"));
	kbuf_reset(&out);
}

/* Writes that do not follow the table are refused (a bug on the writer's side). */
static void
test_writes_checked(void **state)
{
	struct rpc_msg w;

	(void)state;
	assert_int_equal(rpc_write_begin(&w, &out, RPC_CALL_COUNT, 0), KYSO_ERR_INVALID_ARG);
	assert_int_equal(rpc_write_begin(&w, &out, RPC_OPEN, 0), KYSO_OK);
	rpc_put_u32(&w, 1);  /* the table says U */
	assert_int_equal(rpc_write_end(&w), KYSO_ERR_INTERNAL);
	assert_int_equal(rpc_write_begin(&w, &out, RPC_OPEN, 0), KYSO_OK);
	assert_int_equal(rpc_write_end(&w), KYSO_ERR_INTERNAL);  /* U not written */
	/* a key id over its cap */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_ALWAYS_AUTH, 0), KYSO_OK);
	rpc_put_u32(&w, 1);
	{
		unsigned char big[RPC_KEYID_MAX + 1] = { 0 };

		rpc_put_bytes(&w, big, sizeof(big));
	}
	assert_int_equal(rpc_write_end(&w), KYSO_ERR_TOO_LARGE);
	/* every response can be written empty (the answer to a request that failed) */
	for (unsigned id = 1; id < RPC_CALL_COUNT; id++) {
		struct rpc_msg r;

		assert_int_equal(rpc_write_failure(&w, &out, id, KYSO_ERR_TOKEN), KYSO_OK);
		assert_int_equal(rpc_read_begin(&r, out.data, out.len, 1), KYSO_OK);
		assert_int_equal(rpc_get_i32(&r), KYSO_ERR_TOKEN);
	}
	kbuf_reset(&out);
}

/* Reads every field the signature of frame's call expects, freeing what it returns. */
static void
read_all(const unsigned char *f, size_t len, int response)
{
	struct rpc_msg r;
	struct p11_fail fail;
	struct p11_token_desc t;

	if (rpc_read_begin(&r, f, len, response) != KYSO_OK)
		return;
	while (r.err == KYSO_OK && *r.sig != '\0') {
		size_t n;

		switch (*r.sig) {
		case 'i': (void)rpc_get_i32(&r); break;
		case 'y': (void)rpc_get_u8(&r); break;
		case 'u': (void)rpc_get_u32(&r); break;
		case 'U': (void)rpc_get_u64(&r); break;
		case 'b': case 'k': free(rpc_get_bytes(&r, &n)); break;
		case 's': free(rpc_get_string(&r)); break;
		case 'P': secret_free(rpc_get_secret(&r)); break;
		case 'F': rpc_get_fail(&r, &fail); break;
		case 'T': rpc_get_token(&r, &t); break;
		case 'D': free(rpc_get_tokens(&r, &n)); break;
		case 'C': {
			struct p11_cert_desc *c = rpc_get_certs(&r, &n);

			p11_certs_free(c, n);
			break;
		}
		default: return;
		}
	}
	(void)rpc_read_end(&r);
}

/* Corrupted frames of every call: refused or read, never a crash or a leak (ASan). */
static void
test_corrupted(void **state)
{
	unsigned char der[40], id[2] = { 9, 9 };
	struct p11_cert_desc c = { der, sizeof(der), id, 2, "l", "k", 1, 1, 1, 0 };
	struct p11_token_desc list[2] = { tok, tok };
	unsigned seed = 4242;

	(void)state;
	memset(der, 0x31, sizeof(der));
	for (unsigned id0 = 1; id0 < RPC_CALL_COUNT; id0++) {
		for (int response = 0; response < 2; response++) {
			const struct rpc_call *call = rpc_call_find(id0);
			const char *sig = response ? call->response : call->request;
			struct kyso_secret *pin = NULL;
			struct rpc_msg w;

			assert_int_equal(secret_new("1234", 4, &pin), KYSO_OK);
			assert_int_equal(rpc_write_begin(&w, &out, id0, response), KYSO_OK);
			for (const char *s = sig; *s != '\0'; s++) {
				switch (*s) {
				case 'i': rpc_put_i32(&w, -3); break;
				case 'y': rpc_put_u8(&w, 1); break;
				case 'u': rpc_put_u32(&w, 77); break;
				case 'U': rpc_put_u64(&w, 1ull << 40); break;
				case 'b': case 'k': rpc_put_bytes(&w, der, 10); break;
				case 's': rpc_put_string(&w, "why"); break;
				case 'P': rpc_put_secret(&w, pin); break;
				case 'F': rpc_put_fail(&w, &(struct p11_fail){ 6, "", "C_Sign",
				    NULL }); break;
				case 'T': rpc_put_token(&w, &tok); break;
				case 'D': rpc_put_tokens(&w, list, 2); break;
				case 'C': rpc_put_certs(&w, &c, 1); break;
				}
			}
			secret_free(pin);
			assert_int_equal(rpc_write_end(&w), KYSO_OK);
			read_all(out.data, out.len, response);  /* whole: fine */
			for (int k = 0; k < 300; k++) {
				unsigned char *copy = malloc(out.len);
				size_t len = out.len;

				assert_non_null(copy);
				memcpy(copy, out.data, len);
				for (int m = 0; m < 1 + k % 4; m++) {
					size_t at = RPC_HEADER + rand_r(&seed) % (len - RPC_HEADER + 1);

					if (at < len)
						copy[at] = (unsigned char)rand_r(&seed);
				}
				if (k % 5 == 0 && len > RPC_HEADER)  /* cut short, header adjusted */
					len -= 1 + rand_r(&seed) % (len - RPC_HEADER);
				{
					uint32_t l = (uint32_t)len - 4;

					memcpy(copy, &l, 4);
				}
				read_all(copy, len, response);
				free(copy);
			}
		}
	}
	kbuf_reset(&out);
}

static void
test_recv(void **state)
{
	unsigned char small[64];
	struct rpc_rx rx = { .small = small, .small_cap = sizeof(small) };
	struct rpc_msg w;
	int sv[2];
	uint32_t huge = RPC_FRAME_MAX;

	(void)state;
	kbuf_init(&rx.big, RPC_FRAME_MAX);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* a frame larger than the small buffer lands in the big one */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_SIGN, 1), KYSO_OK);
	rpc_put_i32(&w, KYSO_OK);
	rpc_put_fail(&w, &(struct p11_fail){ 0, "", "", NULL });
	rpc_put_u8(&w, 0);
	{
		unsigned char sig[200];

		memset(sig, 7, sizeof(sig));
		rpc_put_bytes(&w, sig, sizeof(sig));
	}
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(rpc_send(sv[0], out.data, out.len, -1), KYSO_OK);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), KYSO_OK);
	assert_int_equal(rx.len, out.len);
	assert_ptr_equal(rx.frame, rx.big.data);
	assert_memory_equal(rx.frame, out.data, out.len);
	rpc_rx_wipe(&rx);
	/* two frames at once: the second must not follow the first before its answer */
	assert_int_equal(rpc_write_begin(&w, &out, RPC_CLOSE, 0), KYSO_OK);
	rpc_put_u32(&w, 1);
	assert_int_equal(rpc_write_end(&w), KYSO_OK);
	assert_int_equal(kbuf_append(&out, out.data, out.len), KYSO_OK);
	assert_int_equal(rpc_send(sv[0], out.data, out.len, -1), KYSO_OK);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), KYSO_ERR_PROTOCOL);
	/* a length over the cap is refused before anything is buffered */
	huge += 1;
	assert_int_equal(write(sv[0], &huge, 4), 4);
	assert_int_equal(write(sv[0], "\1\0\0\0", 4), 4);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), KYSO_ERR_PROTOCOL);
	/* the end between frames, and in the middle of one */
	assert_int_equal(write(sv[0], "\10\0\0", 3), 3);
	close(sv[0]);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), KYSO_ERR_PROTOCOL);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), RPC_EOF);
	close(sv[1]);
	/* no answer within the wait; then half a frame, and nothing more within the wait */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	rx.wait_ms = 50;
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), RPC_AGAIN);
	assert_int_equal(write(sv[0], "\20\0\0\0", 4), 4);
	assert_int_equal(rpc_recv(sv[1], &rx, NULL), RPC_AGAIN);
	close(sv[0]);
	close(sv[1]);
	kbuf_free(&rx.big);
	kbuf_reset(&out);
}

static int
teardown(void **state)
{
	(void)state;
	kbuf_free(&out);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_certs_and_secret),
		cmocka_unit_test(test_reads_checked),
		cmocka_unit_test(test_writes_checked),
		cmocka_unit_test(test_corrupted),
		cmocka_unit_test(test_recv),
	};

	kbuf_init(&out, RPC_FRAME_MAX);
	return cmocka_run_group_tests(tests, NULL, teardown);
}
