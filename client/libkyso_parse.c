/* libkyso_parse.c — reply objects into libkyso's objects (kyso_token, kyso_cert). */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "libkyso_internal.h"

/* Copies string field key of o (missing or null: ""). Returns NULL on ENOMEM. */
static char *
str_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return strdup(s != NULL ? s : "");
}

static int
bool_get(json_t *o, const char *key)
{
	return json_is_true(json_object_get(o, key));
}

/* The JSON text of o ("{}" when o is not an object). Returns NULL on ENOMEM. */
static char *
json_text(json_t *o)
{
	return json_is_object(o) ? json_dumps(o, JSON_COMPACT) : strdup("{}");
}

/* Copies a JSON array of strings into a NULL-terminated vector. */
static char **
strv_dup(json_t *a)
{
	size_t n = json_is_array(a) ? json_array_size(a) : 0, i;
	char **v = calloc(n + 1, sizeof(*v));

	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if ((v[i] = strdup(s != NULL ? s : "")) == NULL) {
			while (i > 0)
				free(v[--i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

static void
strv_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

void
kyso_token_free(struct kyso_token *t)
{
	if (t == NULL)
		return;
	free(t->id);
	free(t->label);
	free(t->manufacturer);
	free(t->model);
	free(t->serial);
	free(t->module);
	free(t->json);
	free(t);
}

void
kyso_tokens_free(kyso_token **t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; t[i] != NULL; i++)
		kyso_token_free(t[i]);
	free(t);
}

int
kyso_parse_token(json_t *o, struct kyso_token **out)
{
	struct kyso_token *t;

	if ((*out = t = calloc(1, sizeof(*t))) == NULL)
		return KYSO_ERR_NOMEM;
	t->id = str_dup(o, "id");
	t->label = str_dup(o, "label");
	t->manufacturer = str_dup(o, "manufacturer");
	t->model = str_dup(o, "model");
	t->serial = str_dup(o, "serial");
	t->module = str_dup(o, "module");
	t->json = json_text(o);
	if (!t->id || !t->label || !t->manufacturer || !t->model || !t->serial || !t->module ||
	    !t->json) {
		kyso_token_free(t);
		*out = NULL;
		return KYSO_ERR_NOMEM;
	}
	t->logged_in = bool_get(o, "logged_in");
	t->login_required = bool_get(o, "login_required");
	t->protected_auth_path = bool_get(o, "protected_auth_path");
	t->user_pin_count_low = bool_get(o, "user_pin_count_low");
	t->user_pin_final_try = bool_get(o, "user_pin_final_try");
	t->user_pin_locked = bool_get(o, "user_pin_locked");
	t->user_pin_to_be_changed = bool_get(o, "user_pin_to_be_changed");
	return KYSO_OK;
}

int
kyso_parse_tokens(json_t *array, struct kyso_token ***out, size_t *n)
{
	struct kyso_token **t;
	size_t count, i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(array))
		return KYSO_ERR_PROTOCOL;
	count = json_array_size(array);
	if ((t = calloc(count + 1, sizeof(*t))) == NULL)
		return KYSO_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		if (kyso_parse_token(json_array_get(array, i), &t[i]) != KYSO_OK) {
			kyso_tokens_free(t);
			return KYSO_ERR_NOMEM;
		}
	}
	*out = t;
	*n = count;
	return KYSO_OK;
}

static void
cert_free(struct kyso_cert *c)
{
	char **s[] = { &c->id, &c->token, &c->key_uri, &c->label, &c->subject, &c->issuer,
		&c->serial, &c->not_before, &c->not_after, &c->key_type, &c->curve, &c->json };

	for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
		free(*s[k]);
	strv_free(c->key_usage);
	strv_free(c->algorithms);
	free(c->der);
	free(c);
}

void
kyso_certs_free(kyso_cert **c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c[i] != NULL; i++)
		cert_free(c[i]);
	free(c);
}

/* One Certificate object into a new certificate. */
static int
parse_cert(json_t *o, struct kyso_cert **out)
{
	static const char *const keys[] = { "id", "token", "key_uri", "label", "subject",
		"issuer", "serial", "not_before", "not_after", "key_type", "curve" };
	const char *der = json_string_value(json_object_get(o, "der"));
	struct kyso_cert *c;
	int bad = 0;

	if ((*out = c = calloc(1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	char **fields[] = { &c->id, &c->token, &c->key_uri, &c->label, &c->subject,
		&c->issuer, &c->serial, &c->not_before, &c->not_after, &c->key_type, &c->curve };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		if ((*fields[k] = str_dup(o, keys[k])) == NULL)
			bad = 1;
	c->key_bits = (int)json_integer_value(json_object_get(o, "key_bits"));
	c->can_sign = bool_get(o, "can_sign");
	c->always_authenticate = bool_get(o, "always_authenticate");
	c->key_usage = strv_dup(json_object_get(o, "key_usage"));
	c->algorithms = strv_dup(json_object_get(o, "algorithms"));
	c->json = json_text(o);
	if (der != NULL && b64_decode(der, &c->der, &c->der_len) != KYSO_OK)
		bad = 1;
	if (bad || c->key_usage == NULL || c->algorithms == NULL || c->json == NULL) {
		cert_free(c);
		*out = NULL;
		return KYSO_ERR_NOMEM;
	}
	return KYSO_OK;
}

int
kyso_parse_certs(json_t *array, struct kyso_cert ***out, size_t *n)
{
	struct kyso_cert **c;
	size_t count, i;

	*out = NULL;
	*n = 0;
	if (!json_is_array(array))
		return KYSO_ERR_PROTOCOL;
	count = json_array_size(array);
	if ((c = calloc(count + 1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		if (parse_cert(json_array_get(array, i), &c[i]) != KYSO_OK) {
			kyso_certs_free(c);
			return KYSO_ERR_NOMEM;
		}
	}
	*out = c;
	*n = count;
	return KYSO_OK;
}
