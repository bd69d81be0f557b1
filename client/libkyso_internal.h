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
};

/*
 * Sends the call and waits for its reply. Returns KYSO_OK with *params (the reply's
 * parameters, a new reference), or an error with the client's error fields set.
 */
int kyso_rpc(kyso_client *c, const char *method, json_t *params, json_t **reply);

/* Sets the client's error to err with a formatted sentence and returns err. */
int kyso_set_error(kyso_client *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parsers of reply objects into the public structs (libkyso_parse.c). */
int kyso_parse_tokens(json_t *array, struct kyso_token **out, size_t *n);
int kyso_parse_certs(json_t *array, struct kyso_cert **out, size_t *n);

#endif
