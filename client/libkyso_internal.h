/* libkyso_internal.h — shared by the files of libkyso only. */
#ifndef KYSO_LIBKYSO_INTERNAL_H
#define KYSO_LIBKYSO_INTERNAL_H

#include <jansson.h>

#include "buf.h"
#include "kyso.h"

struct kyso_client {
	int fd;
	char path[108];
	struct kbuf in;
	char message[512];
	char error_name[128];
	char *error_params;  /* JSON text */
	int subscribed;      /* kyso_subscribe succeeded: only events come now */
	json_t *first_event; /* the "subscribed" reply, kept as the first event when
	                      * kyso_subscribe was not asked for the tokens */
};

/*
 * Sends the call and waits for its reply. Returns KYSO_OK with *params (the reply's
 * parameters, a new reference), or an error with the client's error fields set.
 */
int kyso_rpc(kyso_client *c, const char *method, json_t *params, json_t **reply);

/* The same, with "more": true in the call when more is set (a streaming method). */
int kyso_rpc_more(kyso_client *c, const char *method, json_t *params, int more,
    json_t **reply);

/*
 * Records the agent's error reply (name and parameters) as the client's error and returns
 * the kyso_err it stands for.
 */
int kyso_remote_error(kyso_client *c, const char *name, json_t *params);

/* Sets the client's error to err with a formatted sentence and returns err. */
int kyso_set_error(kyso_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forgets the last error (a new call starts). */
void kyso_clear_error(kyso_client *c);

/* Parsers of reply objects into the public structs (libkyso_parse.c). */
int kyso_parse_tokens(json_t *array, struct kyso_token **out, size_t *n);
/* One Token object (not an object, or missing fields: "" and false) into *t. */
int kyso_parse_token(json_t *o, struct kyso_token *t);
/* Frees the strings of one token and zeroes it. */
void kyso_token_clear(struct kyso_token *t);
int kyso_parse_certs(json_t *array, struct kyso_cert **out, size_t *n);

#endif
