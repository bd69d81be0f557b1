/*
 * libkyso_internal.h — shared by the files of libkyso, and by code in this tree that links
 * libkyso's objects (not the installed library) and needs more than the API: the
 * definitions of the objects kyso.h keeps opaque.
 */
#ifndef KYSO_LIBKYSO_INTERNAL_H
#define KYSO_LIBKYSO_INTERNAL_H

#include <jansson.h>

#include "buf.h"
#include "i18n.h"
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
	int timeout_ms;      /* > 0: the longest a call waits to send, then for its reply
	                      * (kyso-pkcs11 sets it); 0: no limit */
};

/* A token (kyso_token); strings are never NULL ("" when the agent sent none). */
struct kyso_token {
	char *id, *label, *manufacturer, *model, *serial, *module;
	int logged_in;
	int login_required;
	int protected_auth_path;
	int user_pin_count_low;
	int user_pin_final_try;
	int user_pin_locked;
	int user_pin_to_be_changed;
	char *json;                    /* the Token object as the agent sent it */
};

/* A certificate (kyso_cert); strings are never NULL. */
struct kyso_cert {
	char *id, *token, *key_uri, *label, *subject, *issuer, *serial;
	char *not_before, *not_after;  /* RFC 3339 UTC */
	char *key_type;                /* "rsa", "ec", "ed25519" */
	int key_bits;
	char *curve;                   /* "P-256", ..., "" for RSA */
	char **key_usage;              /* NULL-terminated */
	int can_sign;
	int always_authenticate;       /* the key needs the PIN with every signature */
	char **algorithms;             /* NULL-terminated */
	unsigned char *der;            /* NULL when the agent sent none */
	size_t der_len;
	char *json;                    /* the Certificate object as the agent sent it */
};

/* An event (kyso_event). */
struct kyso_event {
	char *event;                   /* its name */
	struct kyso_token *token;      /* NULL when the event carries no token */
	char *json;                    /* its parameters */
};

struct kyso_secret;

/* A signing request (kyso_sign_request); unset pointers are NULL. */
struct kyso_sign_request {
	char *certificate, *algorithm;
	unsigned char *digest;         /* the hash to sign, or NULL */
	size_t digest_len;
	unsigned char *data;           /* the document, or NULL (set and empty: not NULL) */
	size_t data_len;
	struct kyso_secret *pin;       /* locked, wiped memory */
	char *description;
	char *signature_format;
};

/*
 * Sends the call and waits for its reply. Returns KYSO_OK with *params (the reply's
 * parameters, a new reference), or an error with the client's error fields set.
 */
int kyso_rpc(kyso_client *c, const char *method, json_t *params, json_t **reply);

/*
 * Sends the call framed in out (wire_append's framing; e: the error of making it, if
 * any) and reads the reply as kyso_rpc does; out is wiped and freed either way. For a
 * call written as text (kyso_sign_digests: 1000 digests without 1000 JSON objects).
 */
int kyso_rpc_frame(kyso_client *c, struct kbuf *out, int e, json_t **reply);

/* The same as kyso_rpc, with "more": true in the call when more is set (a streaming
 * method). */
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

/*
 * Parsers of reply objects into libkyso's objects (libkyso_parse.c). Each returns
 * KYSO_OK, KYSO_ERR_PROTOCOL (not an array) or KYSO_ERR_NOMEM, with *out NULL on failure.
 */
/* A Token array into a NULL-terminated array of *n new tokens (kyso_tokens_free). */
int kyso_parse_tokens(json_t *array, struct kyso_token ***out, size_t *n);
/* One Token object (not an object, or missing fields: "" and false) into a new token. */
int kyso_parse_token(json_t *o, struct kyso_token **out);
/* Frees one token; NULL is allowed. */
void kyso_token_free(struct kyso_token *t);
/* A Certificate array into a NULL-terminated array of *n new certificates. */
int kyso_parse_certs(json_t *array, struct kyso_cert ***out, size_t *n);

#endif
