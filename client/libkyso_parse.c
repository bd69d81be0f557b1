/* libkyso_parse.c — reply objects into the public structs of kyso.h. */
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
kyso_token_clear(struct kyso_token *t)
{
	free(t->id);
	free(t->label);
	free(t->manufacturer);
	free(t->model);
	free(t->serial);
	free(t->module);
	memset(t, 0, sizeof(*t));
}

void
kyso_tokens_free(struct kyso_token *t, size_t n)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		kyso_token_clear(&t[i]);
	free(t);
}

int
kyso_parse_token(json_t *o, struct kyso_token *t)
{
	t->id = str_dup(o, "id");
	t->label = str_dup(o, "label");
	t->manufacturer = str_dup(o, "manufacturer");
	t->model = str_dup(o, "model");
	t->serial = str_dup(o, "serial");
	t->module = str_dup(o, "module");
	if (!t->id || !t->label || !t->manufacturer || !t->model || !t->serial || !t->module) {
		kyso_token_clear(t);
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
kyso_parse_tokens(json_t *array, struct kyso_token **out, size_t *n)
{
	size_t count, i;
	struct kyso_token *t;

	*out = NULL;
	*n = 0;
	if (!json_is_array(array))
		return KYSO_ERR_PROTOCOL;
	count = json_array_size(array);
	if ((t = calloc(count + 1, sizeof(*t))) == NULL)
		return KYSO_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		if (kyso_parse_token(json_array_get(array, i), &t[i]) != KYSO_OK) {
			kyso_tokens_free(t, i);
			return KYSO_ERR_NOMEM;
		}
	}
	*out = t;
	*n = count;
	return KYSO_OK;
}

void
kyso_certs_free(struct kyso_cert *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		char **s[] = { &c[i].id, &c[i].token, &c[i].key_uri, &c[i].label, &c[i].subject,
			&c[i].issuer, &c[i].serial, &c[i].not_before, &c[i].not_after,
			&c[i].key_type, &c[i].curve };

		for (size_t k = 0; k < sizeof(s) / sizeof(s[0]); k++)
			free(*s[k]);
		strv_free(c[i].key_usage);
		strv_free(c[i].algorithms);
		free(c[i].der);
	}
	free(c);
}

int
kyso_parse_certs(json_t *array, struct kyso_cert **out, size_t *n)
{
	static const char *const keys[] = { "id", "token", "key_uri", "label", "subject",
		"issuer", "serial", "not_before", "not_after", "key_type", "curve" };
	size_t count, i;
	struct kyso_cert *c;

	*out = NULL;
	*n = 0;
	if (!json_is_array(array))
		return KYSO_ERR_PROTOCOL;
	count = json_array_size(array);
	if ((c = calloc(count + 1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	for (i = 0; i < count; i++) {
		json_t *o = json_array_get(array, i);
		char **fields[] = { &c[i].id, &c[i].token, &c[i].key_uri, &c[i].label,
			&c[i].subject, &c[i].issuer, &c[i].serial, &c[i].not_before,
			&c[i].not_after, &c[i].key_type, &c[i].curve };
		const char *der = json_string_value(json_object_get(o, "der"));
		int bad = 0;

		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			if ((*fields[k] = str_dup(o, keys[k])) == NULL)
				bad = 1;
		c[i].key_bits = (int)json_integer_value(json_object_get(o, "key_bits"));
		c[i].can_sign = bool_get(o, "can_sign");
		c[i].always_authenticate = bool_get(o, "always_authenticate");
		c[i].key_usage = strv_dup(json_object_get(o, "key_usage"));
		c[i].algorithms = strv_dup(json_object_get(o, "algorithms"));
		if (der != NULL && b64_decode(der, &c[i].der, &c[i].der_len) != KYSO_OK)
			bad = 1;
		if (bad || c[i].key_usage == NULL || c[i].algorithms == NULL) {
			kyso_certs_free(c, i + 1);
			return KYSO_ERR_NOMEM;
		}
	}
	*out = c;
	*n = count;
	return KYSO_OK;
}
