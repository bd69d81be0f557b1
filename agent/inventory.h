/*
 * inventory.h — the tokens and certificates the agent knows, owned by the event loop.
 *
 * Listings are answered from here without touching a token; workers send fresh
 * descriptions and certificate lists in their job results and the loop stores them.
 */
#ifndef KYSO_INVENTORY_H
#define KYSO_INVENTORY_H

#include <stddef.h>

#include <jansson.h>

#include "certinfo.h"
#include "p11.h"

struct worker;
struct token;
struct modwatch;

struct cert {
	struct certinfo ci;
	struct token *token;
	unsigned char *key_id;  /* CKA_ID */
	size_t key_id_len;
	char *label;            /* the certificate's CKA_LABEL */
	char *key_label;        /* the key's CKA_LABEL, or NULL when unknown */
	char *key_uri;
	int can_sign;
	int always_auth;        /* the key needs the PIN for every signature (known after login) */
	json_t *json;           /* the protocol's Certificate object */
	unsigned char *der;     /* the certificate (SignDocuments puts it in the CMS) */
	size_t der_len;
};

struct token {
	char id[17];
	struct p11_module *module;
	struct modwatch *mw;    /* the watcher of its module (NULL in unit tests) */
	struct p11_token_desc desc;
	int logged_in;
	long login_at_ms;       /* agent_now_ms() when the login began (logins.c) */
	long used_at_ms;        /* ... and when it was last used */
	int logout_queued;      /* logouts on their way (expiry, Lock, session lock) */
	int pin_wrong;          /* the last PIN tried on it was wrong (said in the next dialog) */
	int visible;            /* listed and usable (set once its certificates were read) */
	int gone;               /* removed: freed by inventory_reap once no job points to it */
	int pending;            /* jobs submitted for it and not yet completed */
	int reread;             /* its first read failed and was tried once more */
	struct worker *worker;
	struct cert *certs;
	size_t ncerts;
	struct token *next;
};

struct inventory {
	struct token *tokens;
	size_t ntokens;
};

/*
 * Adds a token described by d in module m, visible at once (tokens.c hides it until its
 * certificates are read). Returns KYSO_OK with *out, or KYSO_ERR_NOMEM.
 */
int inventory_add_token(struct inventory *inv, struct p11_module *m,
    const struct p11_token_desc *d, struct token **out);

/* Computes the id a token described by d in module m has (16 hex digits). */
void inventory_token_id(struct p11_module *m, const struct p11_token_desc *d, char id[17]);

/* Frees the gone tokens that no job points to any more. */
void inventory_reap(struct inventory *inv);

/* Replaces t's description (after a login, a failed PIN, ...). */
void inventory_set_desc(struct token *t, const struct p11_token_desc *d);

/*
 * Replaces t's certificates with those in c (the array stays the caller's). Certificates
 * that cannot be parsed are skipped with a warning. Returns KYSO_OK or KYSO_ERR_NOMEM.
 */
int inventory_set_certs(struct token *t, const struct p11_cert_desc *c, size_t n);

/* Returns a new Token object for the protocol, or NULL on ENOMEM. */
json_t *inventory_token_json(const struct token *t);

/*
 * Lookups see visible tokens only.
 * Finds the token named by ref: its id, serial or label (exact). Returns KYSO_OK with
 * *out, KYSO_ERR_NO_SUCH_TOKEN, or KYSO_ERR_INVALID_PARAMETER when ref matches several
 * tokens (a sentence in why).
 */
int inventory_find_token(const struct inventory *inv, const char *ref, struct token **out,
    char *why, size_t whylen);

/*
 * Finds the certificate named by ref: a certificate id, a unique prefix of at least 8 hex
 * digits, or a PKCS#11 key URI. Returns KYSO_OK with *out, KYSO_ERR_NO_SUCH_CERT, or
 * KYSO_ERR_INVALID_PARAMETER (malformed or ambiguous; a sentence in why).
 */
int inventory_find_cert(const struct inventory *inv, const char *ref, struct cert **out,
    char *why, size_t whylen);

/* Returns a new JSON array of the names of the algorithms usable with c. */
json_t *inventory_cert_algorithms(const struct cert *c);

/* Frees every token and certificate (workers must be stopped first). */
void inventory_free(struct inventory *inv);

#endif
