/*
 * fuzz_call.c — feeds arbitrary bytes to what a client can reach: the message framing, the
 * JSON parser, the varlink envelope and every method's parameter validation (an agent with
 * no token: nothing reaches a worker), the reply encoder; and, selected by the first byte,
 * the base64/hex decoders, the key-URI parser and the certificate parser.
 *
 * Built with clang -fsanitize=fuzzer for `make fuzz`, or with driver.c as a deterministic
 * smoke test that `make check` runs under ASan+UBSan.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "certinfo.h"
#include "conn.h"
#include "dispatch.h"
#include "encode.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_calls(const uint8_t *data, size_t size)
{
	static struct agent a;
	static struct conn c;
	struct kbuf in, out;
	char err[256];
	size_t len;

	kbuf_init(&in, KYSO_WIRE_MAX);
	kbuf_init(&out, KYSO_WIRE_REPLY_MAX);
	c.fd = -1;
	c.serial = 1;
	if (kbuf_append(&in, data, size) != KYSO_OK)
		goto out;
	while (wire_frame_find(&in, &len) == 1) {
		struct reply r = { 0 };
		json_t *msg = NULL, *wire;
		int oneway = 0;

		if (wire_parse((const char *)in.data, len, &msg, err, sizeof(err)) == KYSO_OK) {
			/* no token: every method answers at once, none goes to a worker */
			if (dispatch_call(&a, &c, msg, &r, &oneway) != DISPATCH_DONE)
				abort();
			if ((wire = reply_message(&r)) != NULL) {
				(void)wire_append(&out, wire);
				json_decref(wire);
			}
			reply_clear(&r);
			json_decref(msg);
		}
		kbuf_consume(&in, len + 1);
	}
out:
	kbuf_free(&in);
	kbuf_free(&out);
}

static void
fuzz_decoders(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	unsigned char *out = NULL;
	struct p11_uri_key u;
	struct certinfo ci;
	size_t n;

	if (s == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (b64_decode(s, &out, &n) == KYSO_OK)
		free(out);
	if (hex_decode(s, &out, &n) == KYSO_OK)
		free(out);
	(void)p11_uri_parse_key(s, &u);
	if (certinfo_parse(data, size, &ci) == KYSO_OK)
		certinfo_clear(&ci);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;

	if (!ready) {
		log_init("fuzz", LOG_LVL_ERROR, 0);
		ready = 1;
	}
	if (size > 0 && data[0] == 0x01)
		fuzz_decoders(data + 1, size - 1);
	else
		fuzz_calls(data, size);
	return 0;
}
