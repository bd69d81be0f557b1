/* reply.c — building varlink replies. */
#include <stdarg.h>
#include <stdio.h>

#include <stdlib.h>

#include "buf.h"
#include "encode.h"
#include "kyso_err.h"
#include "reply.h"
#include "wire.h"

void
reply_ok(struct reply *r, json_t *params)
{
	reply_clear(r);
	r->params = params;
}

void
reply_ok_text(struct reply *r, struct kbuf *text)
{
	reply_clear(r);
	r->text = text;
}

static void
reply_vfail(struct reply *r, int err, json_t *eparams, const char *fmt, va_list ap)
{
	char msg[512];

	reply_clear(r);
	if (fmt != NULL)
		vsnprintf(msg, sizeof(msg), fmt, ap);
	else
		snprintf(msg, sizeof(msg), "%s", kyso_strerror(err));
	/* jansson refuses a string that is not UTF-8: the message would be lost (client
	 * text cut in half a character, a sentence cut by the buffer's end) */
	(void)utf8_repair(msg);
	r->err = err;
	r->error = kyso_err_varlink(err);
	r->eparams = eparams != NULL ? eparams : json_object();
	if (r->eparams != NULL)
		json_object_set_new(r->eparams, "message", json_string(msg));
}

void
reply_fail(struct reply *r, int err, json_t *eparams, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vfail(r, err, eparams, fmt, ap);
	va_end(ap);
}

void
reply_invalid(struct reply *r, const char *parameter, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_vfail(r, KYSO_ERR_INVALID_PARAMETER, json_pack("{s:s}", "parameter", parameter),
	    fmt, ap);
	va_end(ap);
}

json_t *
reply_message(const struct reply *r)
{
	if (r->error != NULL)
		return json_pack("{s:s, s:o}", "error", r->error, "parameters",
		    r->eparams != NULL ? json_incref(r->eparams) : json_object());
	if (r->params != NULL)
		return json_pack("{s:O}", "parameters", r->params);
	if (r->text != NULL)
		return json_pack("{s:o}", "parameters", json_loadb((const char *)r->text->data,
		    r->text->len, 0, NULL));
	return json_pack("{s:{}}", "parameters");
}

int
reply_append(const struct reply *r, struct kbuf *out)
{
	static const char head[] = "{\"parameters\":", tail[] = "}";
	size_t start = out->len;
	json_t *msg;
	int e;

	if (r->error != NULL || r->text == NULL) {
		msg = reply_message(r);
		e = msg != NULL ? wire_append(out, msg) : KYSO_ERR_NOMEM;
		json_decref(msg);
		return e;
	}
	/* the text as it is, framed as wire_append frames (compact, NUL-terminated) */
	if ((e = kbuf_append(out, head, sizeof(head) - 1)) != KYSO_OK ||
	    (e = kbuf_append(out, r->text->data, r->text->len)) != KYSO_OK ||
	    (e = kbuf_append(out, tail, sizeof(tail))) != KYSO_OK)
		out->len = start;
	return e;
}

void
reply_clear(struct reply *r)
{
	json_decref(r->params);
	json_decref(r->eparams);
	if (r->text != NULL) {
		kbuf_free(r->text);
		free(r->text);
	}
	r->text = NULL;
	r->params = NULL;
	r->eparams = NULL;
	r->error = NULL;
	r->err = KYSO_OK;
}
