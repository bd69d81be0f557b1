/* p11_ckr.c — Cryptoki return values: their names and the kyso errors they map to. */
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "p11_internal.h"

#define CKR(x) { x, #x }

static const struct {
	CK_RV rv;
	const char *name;
} ckr_names[] = {
	CKR(CKR_OK), CKR(CKR_CANCEL), CKR(CKR_HOST_MEMORY), CKR(CKR_SLOT_ID_INVALID),
	CKR(CKR_GENERAL_ERROR), CKR(CKR_FUNCTION_FAILED), CKR(CKR_ARGUMENTS_BAD),
	CKR(CKR_NO_EVENT), CKR(CKR_NEED_TO_CREATE_THREADS), CKR(CKR_CANT_LOCK),
	CKR(CKR_ATTRIBUTE_READ_ONLY), CKR(CKR_ATTRIBUTE_SENSITIVE),
	CKR(CKR_ATTRIBUTE_TYPE_INVALID), CKR(CKR_ATTRIBUTE_VALUE_INVALID),
	CKR(CKR_ACTION_PROHIBITED), CKR(CKR_DATA_INVALID), CKR(CKR_DATA_LEN_RANGE),
	CKR(CKR_DEVICE_ERROR), CKR(CKR_DEVICE_MEMORY), CKR(CKR_DEVICE_REMOVED),
	CKR(CKR_ENCRYPTED_DATA_INVALID), CKR(CKR_ENCRYPTED_DATA_LEN_RANGE),
	CKR(CKR_FUNCTION_CANCELED), CKR(CKR_FUNCTION_NOT_PARALLEL),
	CKR(CKR_FUNCTION_NOT_SUPPORTED), CKR(CKR_KEY_HANDLE_INVALID), CKR(CKR_KEY_SIZE_RANGE),
	CKR(CKR_KEY_TYPE_INCONSISTENT), CKR(CKR_KEY_NOT_NEEDED), CKR(CKR_KEY_CHANGED),
	CKR(CKR_KEY_NEEDED), CKR(CKR_KEY_INDIGESTIBLE), CKR(CKR_KEY_FUNCTION_NOT_PERMITTED),
	CKR(CKR_KEY_NOT_WRAPPABLE), CKR(CKR_KEY_UNEXTRACTABLE), CKR(CKR_MECHANISM_INVALID),
	CKR(CKR_MECHANISM_PARAM_INVALID), CKR(CKR_OBJECT_HANDLE_INVALID),
	CKR(CKR_OPERATION_ACTIVE), CKR(CKR_OPERATION_NOT_INITIALIZED), CKR(CKR_PIN_INCORRECT),
	CKR(CKR_PIN_INVALID), CKR(CKR_PIN_LEN_RANGE), CKR(CKR_PIN_EXPIRED), CKR(CKR_PIN_LOCKED),
	CKR(CKR_SESSION_CLOSED), CKR(CKR_SESSION_COUNT), CKR(CKR_SESSION_HANDLE_INVALID),
	CKR(CKR_SESSION_PARALLEL_NOT_SUPPORTED), CKR(CKR_SESSION_READ_ONLY),
	CKR(CKR_SESSION_EXISTS), CKR(CKR_SESSION_READ_ONLY_EXISTS),
	CKR(CKR_SESSION_READ_WRITE_SO_EXISTS), CKR(CKR_SIGNATURE_INVALID),
	CKR(CKR_SIGNATURE_LEN_RANGE), CKR(CKR_TEMPLATE_INCOMPLETE),
	CKR(CKR_TEMPLATE_INCONSISTENT), CKR(CKR_TOKEN_NOT_PRESENT),
	CKR(CKR_TOKEN_NOT_RECOGNIZED), CKR(CKR_TOKEN_WRITE_PROTECTED),
	CKR(CKR_USER_ALREADY_LOGGED_IN), CKR(CKR_USER_NOT_LOGGED_IN),
	CKR(CKR_USER_PIN_NOT_INITIALIZED), CKR(CKR_USER_TYPE_INVALID),
	CKR(CKR_USER_ANOTHER_ALREADY_LOGGED_IN), CKR(CKR_USER_TOO_MANY_TYPES),
	CKR(CKR_RANDOM_SEED_NOT_SUPPORTED), CKR(CKR_RANDOM_NO_RNG),
	CKR(CKR_DOMAIN_PARAMS_INVALID), CKR(CKR_BUFFER_TOO_SMALL),
	CKR(CKR_SAVED_STATE_INVALID), CKR(CKR_INFORMATION_SENSITIVE),
	CKR(CKR_STATE_UNSAVEABLE), CKR(CKR_CRYPTOKI_NOT_INITIALIZED),
	CKR(CKR_CRYPTOKI_ALREADY_INITIALIZED), CKR(CKR_MUTEX_BAD), CKR(CKR_MUTEX_NOT_LOCKED),
	CKR(CKR_FUNCTION_REJECTED),
};

const char *
p11_ckr_name(unsigned long ckr)
{
	for (size_t i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
		if (ckr_names[i].rv == ckr)
			return ckr_names[i].name;
	return "CKR_VENDOR_DEFINED";
}

void
p11_fail_clear(struct p11_fail *fail)
{
	if (fail == NULL)
		return;
	fail->ckr = 0;
	fail->ckr_name = "";
	fail->call = "";
	fail->cause = NULL;
}

int
p11_fail_set(struct p11_fail *fail, const char *call, CK_RV rv)
{
	if (fail != NULL) {
		fail->ckr = rv;
		fail->ckr_name = p11_ckr_name(rv);
		fail->call = call;
		fail->cause = NULL;
	}
	switch (rv) {
	case CKR_OK:
		return KYSO_OK;
	case CKR_HOST_MEMORY:
		return KYSO_ERR_NOMEM;
	case CKR_PIN_INCORRECT:
	case CKR_PIN_INVALID:
	case CKR_PIN_LEN_RANGE:
		return KYSO_ERR_PIN_INCORRECT;
	case CKR_PIN_LOCKED:
		return KYSO_ERR_PIN_LOCKED;
	case CKR_USER_NOT_LOGGED_IN:
		return KYSO_ERR_PIN_REQUIRED;
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_TOKEN_NOT_RECOGNIZED:
	case CKR_DEVICE_REMOVED:
	case CKR_SLOT_ID_INVALID:
		return KYSO_ERR_TOKEN_NOT_PRESENT;
	case CKR_MECHANISM_INVALID:
	case CKR_MECHANISM_PARAM_INVALID:
	case CKR_KEY_TYPE_INCONSISTENT:
		return KYSO_ERR_UNSUPPORTED_ALG;
	default:
		return KYSO_ERR_TOKEN;
	}
}

int
p11_fail_session_lost(const struct p11_fail *fail)
{
	/* an operation left active by a module that failed mid-way blocks the session too;
	 * a helper process that ended took its sessions with it */
	return fail->cause != NULL || fail->ckr == CKR_SESSION_HANDLE_INVALID ||
	    fail->ckr == CKR_SESSION_CLOSED || fail->ckr == CKR_OPERATION_ACTIVE;
}

int
p11_fail_module_broken(const struct p11_fail *fail)
{
	return fail->cause != NULL || fail->ckr == CKR_CRYPTOKI_NOT_INITIALIZED ||
	    fail->ckr == CKR_DEVICE_ERROR ||
	    fail->ckr == CKR_GENERAL_ERROR || fail->ckr == CKR_DEVICE_MEMORY ||
	    fail->ckr == CKR_FUNCTION_FAILED;
}

int
p11_fail_new_pin_refused(const struct p11_fail *fail)
{
	return fail->ckr == CKR_PIN_INVALID || fail->ckr == CKR_PIN_LEN_RANGE;
}

int
p11_fail_maybe_removed(const struct p11_fail *fail)
{
	return fail->ckr == CKR_DEVICE_REMOVED || fail->ckr == CKR_TOKEN_NOT_PRESENT ||
	    fail->ckr == CKR_SESSION_HANDLE_INVALID || fail->ckr == CKR_SESSION_CLOSED ||
	    fail->ckr == CKR_DEVICE_ERROR || fail->ckr == CKR_GENERAL_ERROR ||
	    fail->ckr == CKR_FUNCTION_FAILED || fail->ckr == CKR_CRYPTOKI_NOT_INITIALIZED;
}

void
p11_trim_copy(char *dst, const CK_UTF8CHAR *src, size_t srclen)
{
	size_t n = srclen;

	while (n > 0 && (src[n - 1] == ' ' || src[n - 1] == '\0'))
		n--;
	memcpy(dst, src, n);
	dst[n] = '\0';
	/* token strings must be UTF-8 by the standard; not all tokens keep to it */
	utf8_sanitize(dst);
}
