/*
 * libkyso_objects.c — the accessors of libkyso's opaque objects (tokens, certificates,
 * events) and the signing request's constructor and setters (see kyso.h).
 */
#include <stdlib.h>
#include <string.h>

#include "libkyso_internal.h"
#include "secret.h"

/* The longest PIN a request carries (as the agent's limit, docs/protocol.md). */
#define REQUEST_PIN_MAX 256

static const char *
str_or_empty(const char *s)
{
	return s != NULL ? s : "";
}

const char *
kyso_token_id(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->id : NULL);
}

const char *
kyso_token_label(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->label : NULL);
}

const char *
kyso_token_manufacturer(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->manufacturer : NULL);
}

const char *
kyso_token_model(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->model : NULL);
}

const char *
kyso_token_serial(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->serial : NULL);
}

const char *
kyso_token_module(const kyso_token *t)
{
	return str_or_empty(t != NULL ? t->module : NULL);
}

unsigned
kyso_token_flags(const kyso_token *t)
{
	if (t == NULL)
		return 0;
	return (t->logged_in ? KYSO_TOKEN_LOGGED_IN : 0) |
	    (t->login_required ? KYSO_TOKEN_LOGIN_REQUIRED : 0) |
	    (t->protected_auth_path ? KYSO_TOKEN_PROTECTED_AUTH_PATH : 0) |
	    (t->user_pin_count_low ? KYSO_TOKEN_USER_PIN_COUNT_LOW : 0) |
	    (t->user_pin_final_try ? KYSO_TOKEN_USER_PIN_FINAL_TRY : 0) |
	    (t->user_pin_locked ? KYSO_TOKEN_USER_PIN_LOCKED : 0) |
	    (t->user_pin_to_be_changed ? KYSO_TOKEN_USER_PIN_TO_BE_CHANGED : 0);
}

const char *
kyso_token_json(const kyso_token *t)
{
	return t != NULL && t->json != NULL ? t->json : "{}";
}

const char *
kyso_cert_id(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->id : NULL);
}

const char *
kyso_cert_token(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->token : NULL);
}

const char *
kyso_cert_key_uri(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->key_uri : NULL);
}

const char *
kyso_cert_label(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->label : NULL);
}

const char *
kyso_cert_subject(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->subject : NULL);
}

const char *
kyso_cert_issuer(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->issuer : NULL);
}

const char *
kyso_cert_serial(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->serial : NULL);
}

const char *
kyso_cert_not_before(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->not_before : NULL);
}

const char *
kyso_cert_not_after(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->not_after : NULL);
}

const char *
kyso_cert_key_type(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->key_type : NULL);
}

const char *
kyso_cert_curve(const kyso_cert *c)
{
	return str_or_empty(c != NULL ? c->curve : NULL);
}

int
kyso_cert_key_bits(const kyso_cert *c)
{
	return c != NULL ? c->key_bits : 0;
}

const char *const *
kyso_cert_key_usage(const kyso_cert *c)
{
	return c != NULL ? (const char *const *)c->key_usage : NULL;
}

const char *const *
kyso_cert_algorithms(const kyso_cert *c)
{
	return c != NULL ? (const char *const *)c->algorithms : NULL;
}

unsigned
kyso_cert_flags(const kyso_cert *c)
{
	if (c == NULL)
		return 0;
	return (c->can_sign ? KYSO_CERT_CAN_SIGN : 0) |
	    (c->always_authenticate ? KYSO_CERT_ALWAYS_AUTHENTICATE : 0);
}

const unsigned char *
kyso_cert_der(const kyso_cert *c, size_t *len)
{
	if (len != NULL)
		*len = c != NULL && c->der != NULL ? c->der_len : 0;
	return c != NULL ? c->der : NULL;
}

const char *
kyso_cert_json(const kyso_cert *c)
{
	return c != NULL && c->json != NULL ? c->json : "{}";
}

const char *
kyso_event_name(const kyso_event *ev)
{
	return str_or_empty(ev != NULL ? ev->event : NULL);
}

const kyso_token *
kyso_event_token(const kyso_event *ev)
{
	return ev != NULL ? ev->token : NULL;
}

const char *
kyso_event_json(const kyso_event *ev)
{
	return ev != NULL && ev->json != NULL ? ev->json : "{}";
}

void
kyso_event_free(kyso_event *ev)
{
	if (ev == NULL)
		return;
	free(ev->event);
	kyso_token_free(ev->token);
	free(ev->json);
	free(ev);
}

/* Replaces *slot with a copy of s (NULL: none). Returns KYSO_OK or KYSO_ERR_NOMEM. */
static int
str_set(char **slot, const char *s)
{
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL)
		return KYSO_ERR_NOMEM;
	free(*slot);
	*slot = copy;
	return KYSO_OK;
}

/* Replaces *slot with a copy of len bytes of p (a 1-byte buffer when len is 0). */
static int
bytes_set(unsigned char **slot, size_t *slot_len, const unsigned char *p, size_t len)
{
	unsigned char *copy = malloc(len > 0 ? len : 1);

	if (copy == NULL)
		return KYSO_ERR_NOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	free(*slot);
	*slot = copy;
	*slot_len = len;
	return KYSO_OK;
}

int
kyso_sign_request_new(const char *certificate, const char *algorithm,
    kyso_sign_request **out)
{
	kyso_sign_request *r;

	*out = NULL;
	if (certificate == NULL || certificate[0] == '\0' || algorithm == NULL ||
	    algorithm[0] == '\0')
		return KYSO_ERR_INVALID_ARG;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return KYSO_ERR_NOMEM;
	if (str_set(&r->certificate, certificate) != KYSO_OK ||
	    str_set(&r->algorithm, algorithm) != KYSO_OK) {
		kyso_sign_request_free(r);
		return KYSO_ERR_NOMEM;
	}
	*out = r;
	return KYSO_OK;
}

int
kyso_sign_request_set_digest(kyso_sign_request *r, const unsigned char *digest, size_t len)
{
	if (r == NULL || digest == NULL || len == 0)
		return KYSO_ERR_INVALID_ARG;
	return bytes_set(&r->digest, &r->digest_len, digest, len);
}

int
kyso_sign_request_set_data(kyso_sign_request *r, const unsigned char *data, size_t len)
{
	if (r == NULL || (data == NULL && len > 0))
		return KYSO_ERR_INVALID_ARG;
	return bytes_set(&r->data, &r->data_len, data, len);
}

int
kyso_sign_request_set_pin(kyso_sign_request *r, const char *pin)
{
	struct kyso_secret *s = NULL;
	size_t len;
	int e;

	if (r == NULL)
		return KYSO_ERR_INVALID_ARG;
	if (pin != NULL) {
		if ((len = strlen(pin)) > REQUEST_PIN_MAX)
			return KYSO_ERR_INVALID_ARG;
		if ((e = secret_new(pin, len, &s)) != KYSO_OK)
			return e;
	}
	secret_free(r->pin);
	r->pin = s;
	return KYSO_OK;
}

int
kyso_sign_request_set_description(kyso_sign_request *r, const char *description)
{
	return r != NULL ? str_set(&r->description, description) : KYSO_ERR_INVALID_ARG;
}

int
kyso_sign_request_set_signature_format(kyso_sign_request *r, const char *format)
{
	return r != NULL ? str_set(&r->signature_format, format) : KYSO_ERR_INVALID_ARG;
}

void
kyso_sign_request_free(kyso_sign_request *r)
{
	if (r == NULL)
		return;
	free(r->certificate);
	free(r->algorithm);
	free(r->digest);
	free(r->data);
	secret_free(r->pin);
	free(r->description);
	free(r->signature_format);
	free(r);
}
