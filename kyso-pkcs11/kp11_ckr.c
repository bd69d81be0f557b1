/*
 * kp11_ckr.c — the one table from kysod's errors (kyso_err, from the agent's varlink
 * error) to the CK_RV the module returns, and the names of the CK_RVs it returns.
 * docs/kyso-pkcs11.7 (ERRORS) documents the same table for programs and officers.
 */
#include <string.h>

#include "kp11.h"
#include "kyso_err.h"

#define KP_ANY_OP (-1)
#define KP_ANY_DETAIL (-1)

static const struct {
	int err;
	int op;       /* enum kp_op, or KP_ANY_OP */
	int detail;   /* enum kp_detail, or KP_ANY_DETAIL */
	CK_RV rv;
} table[] = {
	/* the PIN */
	{ KYSO_ERR_PIN_REQUIRED, KP_OP_SIGN, KP_ANY_DETAIL, CKR_USER_NOT_LOGGED_IN },
	/* C_Login without a PIN, and kysod can show no dialog (pinentry = none) */
	{ KYSO_ERR_PIN_REQUIRED, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_FAILED },
	{ KYSO_ERR_PINENTRY, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_FAILED },
	{ KYSO_ERR_PIN_INCORRECT, KP_ANY_OP, KP_ANY_DETAIL, CKR_PIN_INCORRECT },
	{ KYSO_ERR_PIN_LOCKED, KP_ANY_OP, KP_ANY_DETAIL, CKR_PIN_LOCKED },
	/* a PIN kysod cannot take: not UTF-8 text, or over its 256 bytes */
	{ KYSO_ERR_INVALID_ARG, KP_OP_LOGIN, KP_ANY_DETAIL, CKR_PIN_INVALID },
	{ KYSO_ERR_INVALID_PARAMETER, KP_OP_LOGIN, KP_ANY_DETAIL, CKR_PIN_LEN_RANGE },
	/* the officer: a dialog cancelled, not answered or closed by a lock; a signature
	 * refused in the confirmation dialog (or confirmation wanted and impossible) */
	{ KYSO_ERR_CANCELLED, KP_OP_SIGN, KP_DETAIL_REFUSED, CKR_FUNCTION_REJECTED },
	{ KYSO_ERR_CANCELLED, KP_OP_SIGN, KP_DETAIL_NO_DIALOG, CKR_FUNCTION_REJECTED },
	{ KYSO_ERR_CANCELLED, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_CANCELED },
	/* the policy: with login_cache = no kysod keeps no login, and each C_Sign asks;
	 * the application's own login state still begins */
	{ KYSO_ERR_POLICY, KP_OP_LOGIN, KP_DETAIL_LOGIN_CACHE, CKR_OK },
	{ KYSO_ERR_POLICY, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_REJECTED },
	{ KYSO_ERR_AUDIT, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_FAILED },
	/* the token or the agent went away */
	{ KYSO_ERR_TOKEN_NOT_PRESENT, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_NO_SUCH_TOKEN, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_NO_SUCH_CERT, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_KEY_NOT_FOUND, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_CONNECT, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_DISCONNECTED, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	{ KYSO_ERR_IO, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_REMOVED },
	/* the token failed */
	{ KYSO_ERR_TOKEN, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_ERROR },
	{ KYSO_ERR_MODULE, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_ERROR },
	{ KYSO_ERR_TIMEOUT, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_ERROR },  /* agent silent */
	/* what was asked */
	{ KYSO_ERR_INVALID_DIGEST, KP_ANY_OP, KP_ANY_DETAIL, CKR_DATA_LEN_RANGE },
	{ KYSO_ERR_TOO_LARGE, KP_ANY_OP, KP_ANY_DETAIL, CKR_DATA_LEN_RANGE },
	{ KYSO_ERR_UNSUPPORTED_ALG, KP_ANY_OP, KP_ANY_DETAIL, CKR_FUNCTION_FAILED },
	{ KYSO_ERR_NOMEM, KP_ANY_OP, KP_ANY_DETAIL, CKR_HOST_MEMORY },
	/* another user's socket, too many connections, and what should not happen */
	{ KYSO_ERR_PERMISSION, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_ERROR },
	{ KYSO_ERR_BUSY, KP_ANY_OP, KP_ANY_DETAIL, CKR_DEVICE_MEMORY },
};

CK_RV
kp_ckr(int err, enum kp_detail detail, enum kp_op op)
{
	if (err == KYSO_OK)
		return CKR_OK;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].err == err && (table[i].op == KP_ANY_OP || table[i].op == (int)op) &&
		    (table[i].detail == KP_ANY_DETAIL || table[i].detail == (int)detail))
			return table[i].rv;
	/* a protocol error, an invalid parameter, an internal error: the module's or the
	 * agent's fault, not the program's; the module goes on working */
	return CKR_FUNCTION_FAILED;
}

enum kp_detail
kp_detail_parse(const char *params_json)
{
	static const struct {
		const char *key, *value;
		enum kp_detail detail;
	} details[] = {
		{ "reason", "cancelled", KP_DETAIL_CANCELLED },
		{ "reason", "timeout", KP_DETAIL_TIMEOUT },
		{ "reason", "refused", KP_DETAIL_REFUSED },
		{ "reason", "no-dialog", KP_DETAIL_NO_DIALOG },
		{ "reason", "locked", KP_DETAIL_LOCKED },
		{ "setting", "client_pin", KP_DETAIL_CLIENT_PIN },
		{ "setting", "login_cache", KP_DETAIL_LOGIN_CACHE },
	};
	enum kp_detail d = KP_DETAIL_NONE;
	json_t *o;

	if (params_json == NULL || (o = json_loads(params_json, 0, NULL)) == NULL)
		return KP_DETAIL_NONE;
	for (size_t i = 0; i < sizeof(details) / sizeof(details[0]); i++) {
		const char *v = json_string_value(json_object_get(o, details[i].key));

		if (v != NULL && strcmp(v, details[i].value) == 0) {
			d = details[i].detail;
			break;
		}
	}
	json_decref(o);
	return d;
}

const char *
kp_ckr_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
		{ CKR_OK, "CKR_OK" },
		{ CKR_HOST_MEMORY, "CKR_HOST_MEMORY" },
		{ CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID" },
		{ CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR" },
		{ CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED" },
		{ CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD" },
		{ CKR_NO_EVENT, "CKR_NO_EVENT" },
		{ CKR_CANT_LOCK, "CKR_CANT_LOCK" },
		{ CKR_ATTRIBUTE_SENSITIVE, "CKR_ATTRIBUTE_SENSITIVE" },
		{ CKR_ATTRIBUTE_TYPE_INVALID, "CKR_ATTRIBUTE_TYPE_INVALID" },
		{ CKR_DATA_INVALID, "CKR_DATA_INVALID" },
		{ CKR_DATA_LEN_RANGE, "CKR_DATA_LEN_RANGE" },
		{ CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR" },
		{ CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY" },
		{ CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED" },
		{ CKR_FUNCTION_CANCELED, "CKR_FUNCTION_CANCELED" },
		{ CKR_FUNCTION_NOT_SUPPORTED, "CKR_FUNCTION_NOT_SUPPORTED" },
		{ CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID" },
		{ CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT" },
		{ CKR_KEY_FUNCTION_NOT_PERMITTED, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID" },
		{ CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID" },
		{ CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID" },
		{ CKR_OPERATION_ACTIVE, "CKR_OPERATION_ACTIVE" },
		{ CKR_OPERATION_NOT_INITIALIZED, "CKR_OPERATION_NOT_INITIALIZED" },
		{ CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT" },
		{ CKR_PIN_LOCKED, "CKR_PIN_LOCKED" },
		{ CKR_PIN_INVALID, "CKR_PIN_INVALID" },
		{ CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE" },
		{ CKR_SESSION_READ_ONLY_EXISTS, "CKR_SESSION_READ_ONLY_EXISTS" },
		{ CKR_SESSION_COUNT, "CKR_SESSION_COUNT" },
		{ CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID" },
		{ CKR_SESSION_PARALLEL_NOT_SUPPORTED, "CKR_SESSION_PARALLEL_NOT_SUPPORTED" },
		{ CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT" },
		{ CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED" },
		{ CKR_USER_ALREADY_LOGGED_IN, "CKR_USER_ALREADY_LOGGED_IN" },
		{ CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN" },
		{ CKR_USER_TYPE_INVALID, "CKR_USER_TYPE_INVALID" },
		{ CKR_BUFFER_TOO_SMALL, "CKR_BUFFER_TOO_SMALL" },
		{ CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED" },
		{ CKR_CRYPTOKI_ALREADY_INITIALIZED, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
		{ CKR_FUNCTION_REJECTED, "CKR_FUNCTION_REJECTED" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	return "CKR_VENDOR_DEFINED";
}
