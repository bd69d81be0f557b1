/*
 * params.h — typed access to a call's parameters. Each getter checks presence and type
 * and, when something is wrong, fills the reply with InvalidParameter naming the field.
 */
#ifndef KYSO_PARAMS_H
#define KYSO_PARAMS_H

#include <stddef.h>

#include <jansson.h>

#include "reply.h"

/*
 * Checks that params holds no field outside allowed (NULL-terminated). Returns KYSO_OK,
 * or KYSO_ERR_INVALID_PARAMETER with r naming the first unknown field.
 */
int params_only(json_t *params, const char *const *allowed, struct reply *r);

/*
 * Reads string field name into *out (borrowed from params; NULL if absent and optional).
 * A JSON null counts as absent. Returns KYSO_OK or KYSO_ERR_INVALID_PARAMETER (missing
 * when required, not a string, empty, or longer than maxlen bytes).
 */
int params_string(json_t *params, const char *name, int required, size_t maxlen,
    const char **out, struct reply *r);

/*
 * Reads base64 field name, decoded into *out (malloc'd) and *outlen; absent optional
 * fields give *out NULL, an empty string an empty (non-NULL) buffer. Returns KYSO_OK or
 * KYSO_ERR_INVALID_PARAMETER.
 */
int params_base64(json_t *params, const char *name, int required, unsigned char **out,
    size_t *outlen, struct reply *r);

/*
 * Reads array field name, which must hold 1 to max JSON objects. Returns KYSO_OK with
 * *out (borrowed from params) and *n, or KYSO_ERR_INVALID_PARAMETER: missing, not an
 * array, empty, longer than max, or an element that is not an object (then the error
 * names "name[i]" and carries "index": i).
 */
int params_objects(json_t *params, const char *name, size_t max, json_t **out, size_t *n,
    struct reply *r);

/*
 * The getters above for the field key of element i of array (an object from
 * params_objects). Their errors name the parameter "array[i].key" (params_elem_only:
 * "array[i].unknown") and carry "index": i.
 */
int params_elem_only(json_t *elem, const char *array, size_t i,
    const char *const *allowed, struct reply *r);
int params_elem_string(json_t *elem, const char *array, size_t i, const char *key,
    int required, size_t maxlen, const char **out, struct reply *r);
int params_elem_base64(json_t *elem, const char *array, size_t i, const char *key,
    int required, unsigned char **out, size_t *outlen, struct reply *r);

/* Adds "index": i to the error parameters of r (an error reply about element i). */
void params_error_index(struct reply *r, size_t i);

#endif
