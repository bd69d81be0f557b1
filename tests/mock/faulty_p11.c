/*
 * faulty_p11.c — a PKCS#11 module for tests that wraps a real one (SoftHSM) and injects
 * failures and delays on demand, for what no real soft token can do: a locked PIN, a
 * device error, a removed token, a slow signature.
 *
 *   KYSO_FAULTY_MODULE=/usr/lib/softhsm/libsofthsm2.so   the module to wrap
 *   KYSO_FAULTY_CONTROL=/path/rules                      rules, re-read on every call
 *
 *   KYSO_FAULTY_TRACE=/path/trace                        appends "FUNCTION LABEL" per call
 *
 * Each line of the rules file is "FUNCTION ACTION ARG [TOKEN-LABEL]":
 *   C_Login fail CKR_PIN_LOCKED      the call returns that code (name or 0x hex)
 *   C_Sign delay 2000 slow           the call sleeps 2000 ms first (only on token "slow")
 *   C_Sign fail-once CKR_DEVICE_ERROR  fails once, then the line is ignored
 * Without a label a rule applies to every token. Lines starting with '#' are ignored.
 * Only the functions wrapped below honour rules.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static CK_FUNCTION_LIST real_copy;
static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST ours;
static pthread_mutex_t once_mu = PTHREAD_MUTEX_INITIALIZER;
static char fired[64][32];  /* functions whose fail-once rule already fired */
static int nfired;

/* Token label of each open session, to apply per-token rules. */
#define SESSIONS_MAX 256
static struct {
	CK_SESSION_HANDLE h;
	char label[33];
} sessions[SESSIONS_MAX];
static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;

static void
label_of_slot(CK_SLOT_ID slot, char out[33])
{
	CK_TOKEN_INFO ti;
	int n = 32;

	out[0] = '\0';
	if (real->C_GetTokenInfo(slot, &ti) != CKR_OK)
		return;
	memcpy(out, ti.label, 32);
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void
label_of_session(CK_SESSION_HANDLE h, char out[33])
{
	out[0] = '\0';
	pthread_mutex_lock(&sessions_mu);
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (sessions[i].h == h && h != 0)
			memcpy(out, sessions[i].label, 33);
	pthread_mutex_unlock(&sessions_mu);
}

static const struct {
	const char *name;
	CK_RV rv;
} codes[] = {
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED }, { "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_DEVICE_ERROR", CKR_DEVICE_ERROR }, { "CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED },
	{ "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT },
	{ "CKR_GENERAL_ERROR", CKR_GENERAL_ERROR }, { "CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED },
	{ "CKR_MECHANISM_INVALID", CKR_MECHANISM_INVALID },
	{ "CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID },
	{ "CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN },
	{ "CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID },
};

static CK_RV
code_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (strcmp(s, codes[i].name) == 0)
			return codes[i].rv;
	return (CK_RV)strtoul(s, NULL, 0);
}

/*
 * Applies the rules for fn on the token labelled label: sleeps for delays; returns CKR_OK
 * or the code to fail with.
 */
static CK_RV
rules(const char *fn, const char *label)
{
	const char *path = getenv("KYSO_FAULTY_CONTROL");
	const char *trace = getenv("KYSO_FAULTY_TRACE");
	char line[256], name[64], action[32], arg[64], only[64];
	CK_RV rv = CKR_OK;
	FILE *f;
	int n;

	if (trace != NULL && (f = fopen(trace, "ae")) != NULL) {
		fprintf(f, "%s %s\n", fn, label);
		fclose(f);
	}
	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return CKR_OK;
	while (rv == CKR_OK && fgets(line, sizeof(line), f) != NULL) {
		only[0] = '\0';
		if (line[0] == '#' ||
		    (n = sscanf(line, "%63s %31s %63s %63s", name, action, arg, only)) < 3 ||
		    strcmp(name, fn) != 0 || (n == 4 && strcmp(only, label) != 0))
			continue;
		if (strcmp(action, "delay") == 0) {
			long ms = strtol(arg, NULL, 10);
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		} else if (strcmp(action, "fail") == 0) {
			rv = code_parse(arg);
		} else if (strcmp(action, "fail-once") == 0) {
			int done = 0;

			pthread_mutex_lock(&once_mu);
			for (int i = 0; i < nfired; i++)
				done |= strcmp(fired[i], fn) == 0;
			if (!done && nfired < 64) {
				snprintf(fired[nfired++], sizeof(fired[0]), "%s", fn);
				rv = code_parse(arg);
			}
			pthread_mutex_unlock(&once_mu);
		}
	}
	fclose(f);
	return rv;
}

/* A wrapper for a call on a session (LABEL from the session) or a slot. */
#define WRAP_SESSION(fn, params, args)                       \
	static CK_RV faulty_##fn params                      \
	{                                                    \
		char label[33];                              \
		CK_RV rv;                                    \
		label_of_session(h, label);                  \
		if ((rv = rules(#fn, label)) != CKR_OK)      \
			return rv;                           \
		return real->fn args;                        \
	}
#define WRAP_SLOT(fn, params, args)                          \
	static CK_RV faulty_##fn params                      \
	{                                                    \
		char label[33];                              \
		CK_RV rv;                                    \
		label_of_slot(slot, label);                  \
		if ((rv = rules(#fn, label)) != CKR_OK)      \
			return rv;                           \
		return real->fn args;                        \
	}

static CK_RV
faulty_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	CK_RV rv = rules("C_GetSlotList", "");

	return rv != CKR_OK ? rv : real->C_GetSlotList(present, list, count);
}

WRAP_SLOT(C_GetTokenInfo, (CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info), (slot, info))
WRAP_SESSION(C_Login, (CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin,
    CK_ULONG len), (h, type, pin, len))
WRAP_SESSION(C_Logout, (CK_SESSION_HANDLE h), (h))
WRAP_SESSION(C_FindObjectsInit, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n),
    (h, t, n))
WRAP_SESSION(C_SignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),
    (h, m, k))

/* A failing C_Sign ends the operation, as the specification says a real one does. */
static CK_RV
faulty_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s,
    CK_ULONG_PTR sl)
{
	unsigned char scratch[2048];
	CK_ULONG n = sizeof(scratch);
	char label[33];
	CK_RV rv;

	label_of_session(h, label);
	if ((rv = rules("C_Sign", label)) != CKR_OK) {
		(void)real->C_Sign(h, d, dl, scratch, &n);
		return rv;
	}
	return real->C_Sign(h, d, dl, s, sl);
}

static CK_RV
faulty_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
    CK_SESSION_HANDLE_PTR h)
{
	char label[33];
	CK_RV rv;

	label_of_slot(slot, label);
	if ((rv = rules("C_OpenSession", label)) != CKR_OK ||
	    (rv = real->C_OpenSession(slot, flags, app, notify, h)) != CKR_OK)
		return rv;
	pthread_mutex_lock(&sessions_mu);
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (sessions[i].h == 0) {
			sessions[i].h = *h;
			memcpy(sessions[i].label, label, 33);
			break;
		}
	pthread_mutex_unlock(&sessions_mu);
	return CKR_OK;
}

static CK_RV
faulty_C_CloseSession(CK_SESSION_HANDLE h)
{
	pthread_mutex_lock(&sessions_mu);
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (sessions[i].h == h)
			sessions[i].h = 0;
	pthread_mutex_unlock(&sessions_mu);
	return real->C_CloseSession(h);
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	CK_RV (*get)(CK_FUNCTION_LIST_PTR_PTR);
	const char *path = getenv("KYSO_FAULTY_MODULE");
	CK_FUNCTION_LIST *fl;
	void *h;

	if (real == NULL) {
		if (path == NULL || (h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL ||
		    (get = (CK_RV (*)(CK_FUNCTION_LIST_PTR_PTR))dlsym(h, "C_GetFunctionList")) ==
		    NULL || get(&fl) != CKR_OK)
			return CKR_GENERAL_ERROR;
		real_copy = *fl;
		real = &real_copy;
		ours = *fl;
		ours.C_GetSlotList = faulty_C_GetSlotList;
		ours.C_GetTokenInfo = faulty_C_GetTokenInfo;
		ours.C_OpenSession = faulty_C_OpenSession;
		ours.C_CloseSession = faulty_C_CloseSession;
		ours.C_Login = faulty_C_Login;
		ours.C_Logout = faulty_C_Logout;
		ours.C_FindObjectsInit = faulty_C_FindObjectsInit;
		ours.C_SignInit = faulty_C_SignInit;
		ours.C_Sign = faulty_C_Sign;
	}
	*list = &ours;
	return CKR_OK;
}
