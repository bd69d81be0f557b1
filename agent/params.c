/* params.c — parameter validation with errors that name the parameter. */
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "params.h"

int
params_only(json_t *params, const char *const *allowed, struct reply *r)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		size_t i;

		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(key, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL) {
			reply_invalid(r, key, "unknown parameter '%.*s'", utf8_prefix(key, 64), key);
			return KYSO_ERR_INVALID_PARAMETER;
		}
	}
	return KYSO_OK;
}

int
params_string(json_t *params, const char *name, int required, size_t maxlen,
    const char **out, struct reply *r)
{
	json_t *v = json_object_get(params, name);

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
params_base64(json_t *params, const char *name, int required, unsigned char **out,
    size_t *outlen, struct reply *r)
{
	json_t *v = json_object_get(params, name);
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
	if ((e = params_string(params, name, required, (size_t)-1, &s, r)) != KYSO_OK ||
	    s == NULL)
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
