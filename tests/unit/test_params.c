/* test_params.c — agent/params.h, agent/reply.h and the error names of kyso_err.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "idl.h"
#include "kyso_err.h"
#include "params.h"
#include "reply.h"

/* The reply as the wire sees it, keys sorted. */
static char *
reply_text(const struct reply *r)
{
	json_t *m = reply_message(r);
	char *s;

	assert_non_null(m);
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	json_decref(m);
	return s;
}

static void
expect_reply(const struct reply *r, const char *want)
{
	char *s = reply_text(r);

	assert_string_equal(s, want);
	free(s);
}

/* r must be InvalidParameter naming parameter, with exactly this message. */
static void
expect_invalid(struct reply *r, const char *parameter, const char *message)
{
	assert_non_null(r->error);
	assert_string_equal(r->error, "org.varlink.service.InvalidParameter");
	assert_int_equal(r->err, KYSO_ERR_INVALID_PARAMETER);
	assert_non_null(r->eparams);
	assert_string_equal(json_string_value(json_object_get(r->eparams, "parameter")),
	    parameter);
	assert_string_equal(json_string_value(json_object_get(r->eparams, "message")), message);
	assert_int_equal(json_object_size(r->eparams), 2);
	reply_clear(r);
}

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (o == NULL)
		fail_msg("bad test JSON '%s': %s", text, e.text);
	return o;
}

/* r must be InvalidParameter naming parameter and element index, with this message. */
static void
expect_invalid_at(struct reply *r, const char *parameter, size_t index, const char *message)
{
	assert_non_null(r->error);
	assert_string_equal(r->error, "org.varlink.service.InvalidParameter");
	assert_string_equal(json_string_value(json_object_get(r->eparams, "parameter")),
	    parameter);
	assert_int_equal(json_integer_value(json_object_get(r->eparams, "index")), index);
	assert_string_equal(json_string_value(json_object_get(r->eparams, "message")), message);
	assert_int_equal(json_object_size(r->eparams), 3);
	reply_clear(r);
}

/* ---- params_only ---- */

static void
test_only_accepts_known(void **state)
{
	static const char *const allowed[] = { "token", "pin", NULL };
	struct reply r = { 0 };
	json_t *p;

	(void)state;
	p = load("{\"token\":\"a\",\"pin\":\"1234\"}");
	assert_int_equal(params_only(p, allowed, &r), KYSO_OK);
	assert_null(r.error);
	assert_null(r.eparams);
	json_decref(p);
	p = load("{}");
	assert_int_equal(params_only(p, allowed, &r), KYSO_OK);
	assert_null(r.error);
	json_decref(p);
}

static void
test_only_rejects_unknown(void **state)
{
	static const char *const allowed[] = { "token", "pin", NULL };
	static const char *const none[] = { NULL };
	struct reply r = { 0 };
	json_t *p;

	(void)state;
	p = load("{\"token\":\"a\",\"bogus\":1,\"pin\":\"x\"}");
	assert_int_equal(params_only(p, allowed, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "bogus", "unknown parameter 'bogus'");
	json_decref(p);
	/* names are compared whole */
	p = load("{\"tokens\":\"a\"}");
	assert_int_equal(params_only(p, allowed, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "tokens", "unknown parameter 'tokens'");
	json_decref(p);
	p = load("{\"Pin\":\"a\"}");
	assert_int_equal(params_only(p, allowed, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "Pin", "unknown parameter 'Pin'");
	json_decref(p);
	/* a method without parameters */
	p = load("{\"x\":null}");
	assert_int_equal(params_only(p, none, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "x", "unknown parameter 'x'");
	json_decref(p);
	p = load("{}");
	assert_int_equal(params_only(p, none, &r), KYSO_OK);
	assert_null(r.error);
	json_decref(p);
}

/* ---- params_string ---- */

static void
test_string_ok(void **state)
{
	struct reply r = { 0 };
	const char *s = NULL;
	json_t *p = load("{\"certificate\":\"abcd\",\"u\":\"\\u00fc\"}");

	(void)state;
	assert_int_equal(params_string(p, "certificate", 1, 64, &s, &r), KYSO_OK);
	assert_string_equal(s, "abcd");
	/* borrowed from params */
	assert_ptr_equal(s, json_string_value(json_object_get(p, "certificate")));
	assert_null(r.error);
	/* exactly maxlen bytes is fine */
	assert_int_equal(params_string(p, "certificate", 1, 4, &s, &r), KYSO_OK);
	assert_string_equal(s, "abcd");
	assert_int_equal(params_string(p, "u", 1, 2, &s, &r), KYSO_OK);
	assert_string_equal(s, "\xc3\xbc");
	json_decref(p);
}

static void
test_string_absent(void **state)
{
	struct reply r = { 0 };
	const char *s = "sentinel";
	json_t *p = load("{\"pin\":null}");

	(void)state;
	/* optional: absent or null gives NULL */
	assert_int_equal(params_string(p, "description", 0, 64, &s, &r), KYSO_OK);
	assert_null(s);
	assert_null(r.error);
	s = "sentinel";
	assert_int_equal(params_string(p, "pin", 0, 64, &s, &r), KYSO_OK);
	assert_null(s);
	assert_null(r.error);
	/* required */
	s = "sentinel";
	assert_int_equal(params_string(p, "certificate", 1, 64, &s, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	assert_null(s);
	expect_invalid(&r, "certificate", "parameter 'certificate' is required");
	assert_int_equal(params_string(p, "pin", 1, 64, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "pin", "parameter 'pin' is required");
	json_decref(p);
}

static void
test_string_wrong_type(void **state)
{
	static const char *const values[] = { "1", "1.5", "true", "false", "[]", "[\"a\"]",
		"{}", "{\"a\":\"b\"}" };
	struct reply r = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		char text[64];
		const char *s = "sentinel";
		json_t *p;

		snprintf(text, sizeof(text), "{\"token\":%s}", values[i]);
		p = load(text);
		/* optional or not, a wrong type is an error */
		assert_int_equal(params_string(p, "token", 0, 64, &s, &r),
		    KYSO_ERR_INVALID_PARAMETER);
		assert_null(s);
		expect_invalid(&r, "token", "parameter 'token' must be a string");
		assert_int_equal(params_string(p, "token", 1, 64, &s, &r),
		    KYSO_ERR_INVALID_PARAMETER);
		expect_invalid(&r, "token", "parameter 'token' must be a string");
		json_decref(p);
	}
}

static void
test_string_empty_long_nul(void **state)
{
	struct reply r = { 0 };
	const char *s = "sentinel";
	json_t *p = load("{\"e\":\"\",\"l\":\"abcde\",\"u\":\"\\u00fc\"}");

	(void)state;
	assert_int_equal(params_string(p, "e", 0, 64, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	assert_null(s);
	expect_invalid(&r, "e", "parameter 'e' must not be empty");
	assert_int_equal(params_string(p, "l", 1, 4, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	assert_null(s);
	expect_invalid(&r, "l", "parameter 'l' is longer than 4 bytes");
	/* the limit counts bytes, not characters */
	assert_int_equal(params_string(p, "u", 1, 1, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "u", "parameter 'u' is longer than 1 bytes");
	/* an embedded NUL */
	json_object_set_new(p, "n", json_stringn("ab\0cd", 5));
	assert_int_equal(params_string(p, "n", 1, 64, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	assert_null(s);
	expect_invalid(&r, "n", "parameter 'n' contains a NUL character");
	json_object_set_new(p, "n0", json_stringn("\0", 1));
	assert_int_equal(params_string(p, "n0", 0, 64, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "n0", "parameter 'n0' contains a NUL character");
	json_decref(p);
}

/* A failure replaces what the reply held before. */
static void
test_string_error_replaces_reply(void **state)
{
	struct reply r = { 0 };
	const char *s;
	json_t *p = load("{\"a\":1}");

	(void)state;
	reply_ok(&r, json_pack("{s:s}", "x", "y"));
	assert_int_equal(params_string(p, "a", 1, 8, &s, &r), KYSO_ERR_INVALID_PARAMETER);
	assert_null(r.params);
	expect_invalid(&r, "a", "parameter 'a' must be a string");
	json_decref(p);
}

/* ---- params_base64 ---- */

static void
test_base64_ok(void **state)
{
	struct reply r = { 0 };
	unsigned char *out = NULL;
	size_t len = 0;
	json_t *p = load("{\"digest\":\"Zm9vYmE=\",\"data\":null}");

	(void)state;
	assert_int_equal(params_base64(p, "digest", 1, &out, &len, &r), KYSO_OK);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_null(r.error);
	free(out);
	out = (unsigned char *)"sentinel";
	len = 9;
	assert_int_equal(params_base64(p, "data", 0, &out, &len, &r), KYSO_OK);
	assert_null(out);
	assert_int_equal(len, 0);
	assert_int_equal(params_base64(p, "absent", 0, &out, &len, &r), KYSO_OK);
	assert_null(out);
	assert_null(r.error);
	json_decref(p);
}

static void
test_base64_invalid(void **state)
{
	static const char *const bad[] = { "Zm9", "Zm9v\n", "Zm9v=", "Zm-v", "@@@@", "Z===" };
	struct reply r = { 0 };
	unsigned char *out;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *p = json_pack("{s:s}", "digest", bad[i]);

		out = (unsigned char *)"sentinel";
		len = 9;
		assert_int_equal(params_base64(p, "digest", 1, &out, &len, &r),
		    KYSO_ERR_INVALID_PARAMETER);
		assert_null(out);
		assert_int_equal(len, 0);
		expect_invalid(&r, "digest", "parameter 'digest' is not valid base64");
		json_decref(p);
	}
}

static void
test_base64_missing_or_mistyped(void **state)
{
	struct reply r = { 0 };
	unsigned char *out;
	size_t len;
	json_t *p = load("{\"data\":7,\"e\":\"\"}");

	(void)state;
	assert_int_equal(params_base64(p, "digest", 1, &out, &len, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	assert_null(out);
	expect_invalid(&r, "digest", "parameter 'digest' is required");
	assert_int_equal(params_base64(p, "data", 0, &out, &len, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	assert_null(out);
	expect_invalid(&r, "data", "parameter 'data' must be a string");
	/* an empty string is an empty document: valid, and not "absent" */
	assert_int_equal(params_base64(p, "e", 0, &out, &len, &r), KYSO_OK);
	assert_non_null(out);
	assert_int_equal(len, 0);
	free(out);
	json_decref(p);
}

/* ---- reply ---- */

static void
test_reply_ok_shapes(void **state)
{
	struct reply r = { 0 };

	(void)state;
	expect_reply(&r, "{\"parameters\":{}}");
	reply_ok(&r, NULL);
	expect_reply(&r, "{\"parameters\":{}}");
	assert_null(r.error);
	assert_int_equal(r.err, KYSO_OK);
	reply_ok(&r, json_pack("{s:i, s:[s]}", "n", 2, "list", "a"));
	expect_reply(&r, "{\"parameters\":{\"list\":[\"a\"],\"n\":2}}");
	/* the reply keeps its parameters: the message can be made twice */
	expect_reply(&r, "{\"parameters\":{\"list\":[\"a\"],\"n\":2}}");
	reply_clear(&r);
	assert_null(r.params);
	expect_reply(&r, "{\"parameters\":{}}");
}

static void
test_reply_fail_shapes(void **state)
{
	struct reply r = { 0 };
	char want[256];

	(void)state;
	reply_fail(&r, KYSO_ERR_PIN_INCORRECT,
	    json_pack("{s:s, s:b, s:b}", "token", "abc", "user_pin_count_low", 1,
	    "user_pin_final_try", 0), "wrong PIN for token %s (%d tries left)", "abc", 2);
	assert_int_equal(r.err, KYSO_ERR_PIN_INCORRECT);
	assert_string_equal(r.error, "io.kyso.Agent.PinIncorrect");
	expect_reply(&r, "{\"error\":\"io.kyso.Agent.PinIncorrect\",\"parameters\":{"
	    "\"message\":\"wrong PIN for token abc (2 tries left)\",\"token\":\"abc\","
	    "\"user_pin_count_low\":true,\"user_pin_final_try\":false}}");
	/* without a format the message is kyso_strerror() */
	reply_fail(&r, KYSO_ERR_NO_SUCH_TOKEN, json_pack("{s:s}", "token", "x"), NULL);
	snprintf(want, sizeof(want), "{\"error\":\"io.kyso.Agent.NoSuchToken\",\"parameters\":"
	    "{\"message\":\"%s\",\"token\":\"x\"}}", kyso_strerror(KYSO_ERR_NO_SUCH_TOKEN));
	expect_reply(&r, want);
	/* without parameters: only the message */
	reply_fail(&r, KYSO_ERR_INTERNAL, NULL, NULL);
	expect_reply(&r, "{\"error\":\"io.kyso.Agent.InternalError\",\"parameters\":"
	    "{\"message\":\"internal error\"}}");
	reply_invalid(&r, "signature_format", "'%s' is not der or raw", "pem");
	expect_reply(&r, "{\"error\":\"org.varlink.service.InvalidParameter\",\"parameters\":"
	    "{\"message\":\"'pem' is not der or raw\",\"parameter\":\"signature_format\"}}");
	/* success after failure leaves no error behind */
	reply_ok(&r, NULL);
	assert_null(r.error);
	assert_null(r.eparams);
	assert_int_equal(r.err, KYSO_OK);
	expect_reply(&r, "{\"parameters\":{}}");
	reply_clear(&r);
}

static void
test_reply_long_message_truncated(void **state)
{
	struct reply r = { 0 };
	char big[1000];
	const char *msg;

	(void)state;
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	reply_fail(&r, KYSO_ERR_TOKEN, NULL, "%s", big);
	msg = json_string_value(json_object_get(r.eparams, "message"));
	assert_non_null(msg);
	assert_int_equal(strlen(msg), 511);
	assert_memory_equal(msg, big, 511);
	reply_clear(&r);
}

/* An error reply whose eparams is NULL must not leak the {} it sends in its place. */
static void
test_reply_message_no_eparams(void **state)
{
	struct reply r = { .error = "io.kyso.Agent.InternalError", .err = KYSO_ERR_INTERNAL };
	json_t *m;
	size_t refs;

	(void)state;
	m = reply_message(&r);
	assert_non_null(m);
	assert_string_equal(json_string_value(json_object_get(m, "error")),
	    "io.kyso.Agent.InternalError");
	assert_true(json_is_object(json_object_get(m, "parameters")));
	/* the message must hold the only reference, or json_decref(m) leaks it */
	refs = json_object_get(m, "parameters")->refcount;
	json_decref(m);
	assert_int_equal(refs, 1);
}

/* The message holds its own references: clearing the reply does not break it. */
static void
test_reply_message_outlives_reply(void **state)
{
	struct reply r = { 0 };
	json_t *m;
	char *s;

	(void)state;
	reply_fail(&r, KYSO_ERR_PIN_LOCKED, json_pack("{s:s}", "token", "t"), "locked");
	m = reply_message(&r);
	reply_clear(&r);
	s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"error\":\"io.kyso.Agent.PinLocked\",\"parameters\":"
	    "{\"message\":\"locked\",\"token\":\"t\"}}");
	free(s);
	json_decref(m);
}

/* ---- error names ---- */

static const struct {
	const char *name;
	int code;
} canonical[] = {
	{ "io.kyso.Agent.NoSuchCertificate", KYSO_ERR_NO_SUCH_CERT },
	{ "io.kyso.Agent.NoSuchToken", KYSO_ERR_NO_SUCH_TOKEN },
	{ "io.kyso.Agent.TokenNotPresent", KYSO_ERR_TOKEN_NOT_PRESENT },
	{ "io.kyso.Agent.PinRequired", KYSO_ERR_PIN_REQUIRED },
	{ "io.kyso.Agent.PinIncorrect", KYSO_ERR_PIN_INCORRECT },
	{ "io.kyso.Agent.PinLocked", KYSO_ERR_PIN_LOCKED },
	{ "io.kyso.Agent.UnsupportedAlgorithm", KYSO_ERR_UNSUPPORTED_ALG },
	{ "io.kyso.Agent.InvalidDigest", KYSO_ERR_INVALID_DIGEST },
	{ "io.kyso.Agent.TokenError", KYSO_ERR_TOKEN },
	{ "io.kyso.Agent.PermissionDenied", KYSO_ERR_PERMISSION },
	{ "io.kyso.Agent.ProtocolError", KYSO_ERR_PROTOCOL },
	{ "io.kyso.Agent.MessageTooLarge", KYSO_ERR_TOO_LARGE },
	{ "io.kyso.Agent.InternalError", KYSO_ERR_INTERNAL },
	{ "org.varlink.service.InvalidParameter", KYSO_ERR_INVALID_PARAMETER },
	{ "org.varlink.service.MethodNotFound", KYSO_ERR_METHOD_NOT_FOUND },
	{ "org.varlink.service.InterfaceNotFound", KYSO_ERR_INTERFACE_NOT_FOUND },
};

static void
test_err_canonical_codes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
		int code = kyso_err_from_varlink(canonical[i].name);

		if (code != canonical[i].code)
			fail_msg("%s -> %d, wanted %d", canonical[i].name, code,
			    canonical[i].code);
		assert_string_equal(kyso_err_varlink(code), canonical[i].name);
	}
	assert_int_equal(kyso_err_from_varlink(NULL), KYSO_ERR_UNKNOWN_REMOTE);
	assert_int_equal(kyso_err_from_varlink(""), KYSO_ERR_UNKNOWN_REMOTE);
	assert_int_equal(kyso_err_from_varlink("io.kyso.Agent.NoSuchThing"),
	    KYSO_ERR_UNKNOWN_REMOTE);
	assert_int_equal(kyso_err_from_varlink("io.kyso.agent.PinLocked"),
	    KYSO_ERR_UNKNOWN_REMOTE);
	assert_int_equal(kyso_err_from_varlink("PinLocked"), KYSO_ERR_UNKNOWN_REMOTE);
}

/* Calls fn for every "error Name" in an interface description. */
static size_t
idl_errors(const char *idl, const char *iface, void (*fn)(const char *full))
{
	size_t count = 0;

	for (const char *line = idl; *line != '\0';) {
		const char *end = strchr(line, '\n');
		size_t len = end != NULL ? (size_t)(end - line) : strlen(line);

		if (len > 6 && strncmp(line, "error ", 6) == 0) {
			char full[128];
			size_t n = 0;

			while (6 + n < len && line[6 + n] != ' ' && line[6 + n] != '(')
				n++;
			snprintf(full, sizeof(full), "%s.%.*s", iface, (int)n, line + 6);
			fn(full);
			count++;
		}
		line += len + (end != NULL);
	}
	return count;
}

static void
round_trip_name(const char *full)
{
	int code = kyso_err_from_varlink(full);

	if (code == KYSO_ERR_UNKNOWN_REMOTE)
		fail_msg("%s (declared in the IDL) has no kyso_err code", full);
	if (strcmp(kyso_err_varlink(code), full) != 0)
		fail_msg("%s -> %d -> %s", full, code, kyso_err_varlink(code));
}

static void
test_err_every_idl_error_round_trips(void **state)
{
	(void)state;
	assert_int_equal(idl_errors(idl_io_kyso_agent, "io.kyso.Agent", round_trip_name), 18);
}

static int idl_seen;
static const char *idl_wanted;

static void
note_name(const char *full)
{
	if (strcmp(full, idl_wanted) == 0)
		idl_seen = 1;
}

/* Whatever the agent sends is declared in one of the interfaces it serves. */
static void
test_err_every_code_is_declared(void **state)
{
	(void)state;
	for (int code = KYSO_ERR_UNKNOWN_REMOTE; code < 0; code++) {
		const char *name = kyso_err_varlink(code);

		assert_non_null(name);
		assert_true(strlen(kyso_strerror(code)) > 0);
		idl_seen = 0;
		idl_wanted = name;
		idl_errors(idl_io_kyso_agent, "io.kyso.Agent", note_name);
		idl_errors(idl_org_varlink_service, "org.varlink.service", note_name);
		if (!idl_seen)
			fail_msg("code %d maps to %s, which no interface declares", code, name);
		/* and the name maps back to a code with the same name */
		assert_string_equal(kyso_err_varlink(kyso_err_from_varlink(name)), name);
	}
	assert_string_equal(kyso_err_varlink(KYSO_OK), "");
	assert_string_equal(kyso_strerror(KYSO_OK), "success");
	assert_string_equal(kyso_strerror(12345), "unknown error");
	assert_string_equal(kyso_err_varlink(12345), "io.kyso.Agent.InternalError");
}

/* ---- arrays of objects ---- */

static void
test_objects(void **state)
{
	json_t *p = load("{\"docs\":[{\"name\":\"a\"},{\"name\":\"b\"}],"
	    "\"none\":[],\"str\":\"x\",\"mixed\":[{},3],\"null\":null}"), *arr;
	struct reply r = { 0 };
	size_t n = 9;

	(void)state;
	assert_int_equal(params_objects(p, "docs", 2, &arr, &n, &r), KYSO_OK);
	assert_int_equal(n, 2);
	assert_ptr_equal(arr, json_object_get(p, "docs"));
	assert_null(r.error);
	assert_int_equal(params_objects(p, "docs", 1, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	assert_null(arr);
	assert_int_equal(n, 0);
	expect_invalid(&r, "docs", "parameter 'docs' must hold 1 to 1 elements, not 2");
	assert_int_equal(params_objects(p, "none", 5, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "none", "parameter 'none' must hold 1 to 5 elements, not 0");
	assert_int_equal(params_objects(p, "str", 5, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "str", "parameter 'str' must be an array");
	assert_int_equal(params_objects(p, "gone", 5, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "gone", "parameter 'gone' is required");
	assert_int_equal(params_objects(p, "null", 5, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid(&r, "null", "parameter 'null' is required");
	assert_int_equal(params_objects(p, "mixed", 5, &arr, &n, &r), KYSO_ERR_INVALID_PARAMETER);
	expect_invalid_at(&r, "mixed[1]", 1, "'mixed[1]' must be an object");
	json_decref(p);
}

static void
test_elements(void **state)
{
	static const char *const allowed[] = { "name", "digest", NULL };
	json_t *e = load("{\"name\":\"memo.pdf\",\"digest\":\"3q2+7w==\"}");
	json_t *bad = load("{\"name\":7,\"digest\":\"3q2+7w\",\"dgst\":1}");
	struct reply r = { 0 };
	unsigned char *d = NULL;
	const char *s;
	size_t len;

	(void)state;
	assert_int_equal(params_elem_only(e, "docs", 3, allowed, &r), KYSO_OK);
	assert_int_equal(params_elem_string(e, "docs", 3, "name", 1, 64, &s, &r), KYSO_OK);
	assert_string_equal(s, "memo.pdf");
	assert_int_equal(params_elem_base64(e, "docs", 3, "digest", 1, &d, &len, &r), KYSO_OK);
	assert_int_equal(len, 4);
	free(d);
	assert_int_equal(params_elem_string(e, "docs", 3, "other", 0, 64, &s, &r), KYSO_OK);
	assert_null(s);
	assert_null(r.error);

	assert_int_equal(params_elem_only(bad, "docs", 7, allowed, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	expect_invalid_at(&r, "docs[7].dgst", 7, "unknown parameter 'docs[7].dgst'");
	assert_int_equal(params_elem_string(bad, "docs", 7, "name", 1, 64, &s, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	expect_invalid_at(&r, "docs[7].name", 7, "parameter 'docs[7].name' must be a string");
	assert_int_equal(params_elem_string(e, "docs", 0, "name", 1, 3, &s, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	expect_invalid_at(&r, "docs[0].name", 0,
	    "parameter 'docs[0].name' is longer than 3 bytes");
	assert_int_equal(params_elem_string(e, "docs", 2, "gone", 1, 3, &s, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	expect_invalid_at(&r, "docs[2].gone", 2, "parameter 'docs[2].gone' is required");
	assert_int_equal(params_elem_base64(bad, "docs", 7, "digest", 1, &d, &len, &r),
	    KYSO_ERR_INVALID_PARAMETER);
	assert_null(d);
	expect_invalid_at(&r, "docs[7].digest", 7,
	    "parameter 'docs[7].digest' is not valid base64");
	json_decref(e);
	json_decref(bad);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_only_accepts_known),
		cmocka_unit_test(test_only_rejects_unknown),
		cmocka_unit_test(test_string_ok),
		cmocka_unit_test(test_string_absent),
		cmocka_unit_test(test_string_wrong_type),
		cmocka_unit_test(test_string_empty_long_nul),
		cmocka_unit_test(test_string_error_replaces_reply),
		cmocka_unit_test(test_base64_ok),
		cmocka_unit_test(test_base64_invalid),
		cmocka_unit_test(test_base64_missing_or_mistyped),
		cmocka_unit_test(test_objects),
		cmocka_unit_test(test_elements),
		cmocka_unit_test(test_reply_ok_shapes),
		cmocka_unit_test(test_reply_fail_shapes),
		cmocka_unit_test(test_reply_long_message_truncated),
		cmocka_unit_test(test_reply_message_no_eparams),
		cmocka_unit_test(test_reply_message_outlives_reply),
		cmocka_unit_test(test_err_canonical_codes),
		cmocka_unit_test(test_err_every_idl_error_round_trips),
		cmocka_unit_test(test_err_every_code_is_declared),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
