/*
 * reply.h — one varlink reply: parameters on success, or an error name with parameters
 * that always include a "message" sentence.
 */
#ifndef KYSO_REPLY_H
#define KYSO_REPLY_H

#include <jansson.h>

struct reply {
	json_t *params;     /* success parameters (owned); NULL means {} */
	const char *error;  /* varlink error name, NULL on success */
	json_t *eparams;    /* error parameters (owned) */
	int err;            /* the kyso_err behind error, KYSO_OK on success */
};

/* Makes r a success reply with params (stolen; NULL for none). */
void reply_ok(struct reply *r, json_t *params);

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

/* Frees what r holds and resets it. */
void reply_clear(struct reply *r);

#endif
