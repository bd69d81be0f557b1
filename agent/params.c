/* params.c — parameter validation with errors that name the parameter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "params.h"

/* The first key of obj that allowed (NULL-terminated) does not list, or NULL. */
static const char *
unknown_key(json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return key;
	}
	return NULL;
}

int
params_only(json_t *params, const char *const *allowed, struct reply *r)
{
	const char *key = unknown_key(params, allowed);

	if (key == NULL)
		return KYSO_OK;
	reply_invalid(r, key, "unknown parameter '%.*s'", utf8_prefix(key, 64), key);
	return KYSO_ERR_INVALID_PARAMETER;
}

/* params_string on the value v, named name in the errors. */
static int
string_value(json_t *v, const char *name, int required, size_t maxlen, const char **out,
    struct reply *r)
{
	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return KYSO_OK;
		reply_invalid(r, name, "parameter '%s' is required", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (!json_is_string(v)) {
		reply_invalid(r, name, "parameter '%s' must be a string", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (json_string_length(v) == 0) {
		reply_invalid(r, name, "parameter '%s' must not be empty", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (json_string_length(v) > maxlen) {
		reply_invalid(r, name, "parameter '%s' is longer than %zu bytes", name, maxlen);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (strlen(json_string_value(v)) != json_string_length(v)) {
		reply_invalid(r, name, "parameter '%s' contains a NUL character", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	*out = json_string_value(v);
	return KYSO_OK;
}

int
params_string(json_t *params, const char *name, int required, size_t maxlen,
    const char **out, struct reply *r)
{
	return string_value(json_object_get(params, name), name, required, maxlen, out, r);
}

/* params_base64 on the value v, named name in the errors. */
static int
base64_value(json_t *v, const char *name, int required, unsigned char **out,
    size_t *outlen, struct reply *r)
{
	const char *s;
	int e;

	*out = NULL;
	*outlen = 0;
	/* an empty string is valid base64 (an empty document) */
	if (v != NULL && json_is_string(v) && json_string_length(v) == 0) {
		*out = malloc(1);
		return *out != NULL ? KYSO_OK : (reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL),
		    KYSO_ERR_NOMEM);
	}
	if ((e = string_value(v, name, required, (size_t)-1, &s, r)) != KYSO_OK || s == NULL)
		return e;
	if ((e = b64_decode(s, out, outlen)) == KYSO_ERR_NOMEM) {
		reply_fail(r, e, NULL, NULL);
		return e;
	}
	if (e != KYSO_OK) {
		reply_invalid(r, name, "parameter '%s' is not valid base64", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	return KYSO_OK;
}

int
params_base64(json_t *params, const char *name, int required, unsigned char **out,
    size_t *outlen, struct reply *r)
{
	return base64_value(json_object_get(params, name), name, required, out, outlen, r);
}

void
params_error_index(struct reply *r, size_t i)
{
	if (r->eparams != NULL)
		json_object_set_new(r->eparams, "index", json_integer((json_int_t)i));
}

int
params_objects(json_t *params, const char *name, size_t max, json_t **out, size_t *n,
    struct reply *r)
{
	json_t *v = json_object_get(params, name);
	char label[96];

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v)) {
		reply_invalid(r, name, "parameter '%s' is required", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (!json_is_array(v)) {
		reply_invalid(r, name, "parameter '%s' must be an array", name);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (json_array_size(v) == 0 || json_array_size(v) > max) {
		reply_invalid(r, name, "parameter '%s' must hold 1 to %zu elements, not %zu", name,
		    max, json_array_size(v));
		return KYSO_ERR_INVALID_PARAMETER;
	}
	for (size_t i = 0; i < json_array_size(v); i++)
		if (!json_is_object(json_array_get(v, i))) {
			snprintf(label, sizeof(label), "%s[%zu]", name, i);
			reply_invalid(r, label, "'%s' must be an object", label);
			params_error_index(r, i);
			return KYSO_ERR_INVALID_PARAMETER;
		}
	*out = v;
	*n = json_array_size(v);
	return KYSO_OK;
}

int
params_elem_only(json_t *elem, const char *array, size_t i, const char *const *allowed,
    struct reply *r)
{
	const char *key = unknown_key(elem, allowed);
	char label[160];

	if (key == NULL)
		return KYSO_OK;
	snprintf(label, sizeof(label), "%s[%zu].%.*s", array, i, utf8_prefix(key, 64), key);
	reply_invalid(r, label, "unknown parameter '%s'", label);
	params_error_index(r, i);
	return KYSO_ERR_INVALID_PARAMETER;
}

int
params_elem_string(json_t *elem, const char *array, size_t i, const char *key,
    int required, size_t maxlen, const char **out, struct reply *r)
{
	char label[160];
	int e;

	snprintf(label, sizeof(label), "%s[%zu].%s", array, i, key);
	if ((e = string_value(json_object_get(elem, key), label, required, maxlen, out, r)) !=
	    KYSO_OK)
		params_error_index(r, i);
	return e;
}

int
params_elem_base64(json_t *elem, const char *array, size_t i, const char *key,
    int required, unsigned char **out, size_t *outlen, struct reply *r)
{
	char label[160];
	int e;

	snprintf(label, sizeof(label), "%s[%zu].%s", array, i, key);
	if ((e = base64_value(json_object_get(elem, key), label, required, out, outlen, r)) !=
	    KYSO_OK)
		params_error_index(r, i);
	return e;
}
