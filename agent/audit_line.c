/*
 * audit_line.c — one audit record as its line of the log: JSON written straight into a
 * buffer (audit.h lists the fields), and the text of its time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "audit_line.h"
#include "buf.h"
#include "encode.h"
#include "kyso_err.h"

/* a line can hold every field escaped (6 bytes for one): far more than requests allow */
#define AUDIT_LINE_MAX (1024 * 1024)

/* Appends ,"key":"v" (JSON) unless v is NULL or empty. */
static int
put_str(struct kbuf *b, const char *key, const char *v)
{
	int e;

	if (v == NULL || v[0] == '\0')
		return KYSO_OK;
	if ((e = kbuf_append(b, ",\"", 2)) != KYSO_OK ||
	    (e = kbuf_append(b, key, strlen(key))) != KYSO_OK ||
	    (e = kbuf_append(b, "\":", 2)) != KYSO_OK)
		return e;
	return json_quote(b, v);
}

void
audit_time_text(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	time_t t = ts->tv_sec;
	size_t n;

	gmtime_r(&t, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03ldZ", ts->tv_nsec / 1000000 % 1000);
}

/*
 * The line with its '\n' (malloc'd), or NULL on ENOMEM. Written straight into a buffer
 * (json_quote escapes as jansson would): building jansson objects for it took most of the
 * time of a record, and a record is written before every signature goes back.
 */
char *
audit_line_build(const struct audit_record *r, const char *when, const char *digest)
{
	const char *fields[][2] = {
		{ "exe", r->exe }, { "origin", r->origin }, { "browser", r->browser },
		{ "method", r->method },
		{ "token_serial", r->token_serial }, { "token_label", r->token_label },
		{ "certificate", r->cert_id }, { "subject", r->cert_subject },
		{ "algorithm", r->algorithm }, { "digest", digest },
		{ "digest_alg", digest[0] != '\0' ? r->digest_alg : NULL },
		{ "description", r->description }, { "document", r->document },
		{ "profile", r->profile }, { "batch", r->batch },
		{ "signing_time", r->signing_time }, { "result", r->result },
		{ "message", r->message },
	};
	struct kbuf b;
	char ids[64];
	int e, n;

	kbuf_init(&b, AUDIT_LINE_MAX);
	n = snprintf(ids, sizeof(ids), ",\"uid\":%lld,\"pid\":%lld", (long long)r->uid,
	    (long long)r->pid);
	e = kbuf_append(&b, "{\"time\":", 8);
	if (e == KYSO_OK)
		e = json_quote(&b, when);
	if (e == KYSO_OK)
		e = kbuf_append(&b, ids, (size_t)n);
	for (size_t i = 0; e == KYSO_OK && i < sizeof(fields) / sizeof(fields[0]); i++)
		e = put_str(&b, fields[i][0], fields[i][1]);
	if (e == KYSO_OK)
		e = kbuf_append(&b, "}\n", 3);  /* and the NUL that ends the string */
	/* JSON escapes every control character: a newline inside the line is a bug */
	if (e != KYSO_OK || memchr(b.data, '\n', b.len - 2) != NULL) {
		kbuf_free(&b);
		return NULL;
	}
	return (char *)b.data;  /* kbuf's memory is malloc'd */
}

int
audit_format(const struct audit_record *r, size_t n, struct kbuf *out)
{
	char when[40], digest[129];
	int e = KYSO_OK;

	for (size_t i = 0; i < n && e == KYSO_OK; i++) {
		char *line;

		if (r[i].result == NULL || r[i].result[0] == '\0')
			return KYSO_ERR_INVALID_ARG;
		audit_time_text(&r[i].when, when, sizeof(when));
		digest[0] = '\0';
		if (r[i].digest != NULL && r[i].digest_len > 0)
			hex_encode(r[i].digest, r[i].digest_len > 64 ? 64 : r[i].digest_len, digest);
		if ((line = audit_line_build(&r[i], when, digest)) == NULL)
			e = KYSO_ERR_NOMEM;
		else
			e = kbuf_append(out, line, strlen(line));
		free(line);
	}
	return e;
}
