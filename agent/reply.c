/* reply.c — building varlink replies. */
#include <stdarg.h>
#include <stdio.h>

#include "encode.h"
#include "kyso_err.h"
#include "reply.h"

void
reply_ok(struct reply *r, json_t *params)
{
	reply_clear(r);
	r->params = params;
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
	return json_pack("{s:{}}", "parameters");
}

void
reply_clear(struct reply *r)
{
	json_decref(r->params);
	json_decref(r->eparams);
	r->params = NULL;
	r->eparams = NULL;
	r->error = NULL;
	r->err = KYSO_OK;
}
