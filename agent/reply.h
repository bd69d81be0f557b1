/*
 * reply.h — one varlink reply: parameters on success, or an error name with parameters
 * that always include a "message" sentence.
 */
#ifndef KYSO_REPLY_H
#define KYSO_REPLY_H

#include <jansson.h>

struct kbuf;

struct reply {
	json_t *params;     /* success parameters (owned); NULL means {} */
	const char *error;  /* varlink error name, NULL on success */
	json_t *eparams;    /* error parameters (owned) */
	int err;            /* the kyso_err behind error, KYSO_OK on success */
	struct kbuf *text;  /* or the success parameters as this JSON object's text (owned):
	                     * a large reply written while the worker waited for the token,
	                     * which the loop then sends without building it again */
};

/* Makes r a success reply with params (stolen; NULL for none). */
void reply_ok(struct reply *r, json_t *params);

/* Makes r a success reply whose parameters are the JSON object text (stolen, freed with
 * free() after kbuf_free; it must be valid JSON: made by json_quote and the like). */
void reply_ok_text(struct reply *r, struct kbuf *text);

/*
 * Makes r an error reply for err: error name from kyso_err_varlink(), parameters eparams
 * (stolen; NULL for none) plus "message" formatted from fmt (kyso_strerror(err) if NULL).
 */
void reply_fail(struct reply *r, int err, json_t *eparams, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Shorthand: org.varlink.service.InvalidParameter naming parameter, with a sentence. */
void reply_invalid(struct reply *r, const char *parameter, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Returns the wire object {"parameters":..} or {"error":..,"parameters":..}; NULL on ENOMEM. */
json_t *reply_message(const struct reply *r);

/* Appends r's wire message (wire_append's framing) to out. Returns KYSO_OK, or
 * KYSO_ERR_NOMEM / KYSO_ERR_TOO_LARGE with out as it was. */
int reply_append(const struct reply *r, struct kbuf *out);

/* Frees what r holds and resets it. */
void reply_clear(struct reply *r);

#endif
