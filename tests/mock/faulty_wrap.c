/*
 * faulty_wrap.c — the wrappers of every Cryptoki function but C_Initialize, C_Finalize,
 * C_WaitForSlotEvent (faulty_core.c) and C_GetFunctionList (faulty_p11.c): each goes
 * through faulty_begin (trace, state, virtual slot, dead session, rules), then SoftHSM,
 * then faulty_end. Functions on slots map a virtual slot to its token's SoftHSM slot;
 * C_GetSlotList and C_GetSlotInfo answer for virtual slots themselves. A token with a
 * pinpad line sits in a PIN-pad reader: C_GetTokenInfo adds the flag, C_Login without a
 * PIN waits for the keypad.
 */
#include <stdio.h>
#include <string.h>

#include "faulty.h"

#define CALL(name, k) { .fn = #name, .kind = (k) }

static CK_RV
faulty_C_GetInfo(CK_INFO_PTR info)
{
	struct faulty_call c = CALL(C_GetInfo, FAULTY_GLOBAL);
	CK_RV rv = faulty_begin(&c);

	return rv != CKR_OK ? rv : faulty_end(&c, faulty_real->C_GetInfo(info));
}

static CK_RV
faulty_C_GetSlotList(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
	struct faulty_call c = CALL(C_GetSlotList, FAULTY_GLOBAL);
	CK_SLOT_ID ids[FAULTY_SLOTS];
	CK_ULONG n = 0;
	CK_RV rv = faulty_begin(&c);

	if (rv != CKR_OK)
		return rv;
	if (!c.virt)
		return faulty_end(&c, faulty_real->C_GetSlotList(present, list, count));
	if (count == NULL)
		return faulty_end(&c, CKR_ARGUMENTS_BAD);
	for (int s = 1; s <= FAULTY_SLOTS; s++) {
		char label[33];
		unsigned long gen;
		CK_SLOT_ID real;
		int declared;

		pthread_mutex_lock(&faulty_mu);
		faulty_vslot_locked(s, &declared, label, &gen);
		pthread_mutex_unlock(&faulty_mu);
		if (declared && (!present || faulty_token_slot(label, &real) == CKR_OK))
			ids[n++] = (CK_SLOT_ID)s;
	}
	if (list != NULL && *count < n)
		rv = CKR_BUFFER_TOO_SMALL;
	else if (list != NULL)
		memcpy(list, ids, n * sizeof(ids[0]));
	*count = n;
	return faulty_end(&c, rv);
}

static void
pad(CK_UTF8CHAR *field, size_t size, const char *text)
{
	size_t n = strlen(text);

	memset(field, ' ', size);
	memcpy(field, text, n < size ? n : size);
}

static CK_RV
faulty_C_GetSlotInfo(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
	struct faulty_call c = CALL(C_GetSlotInfo, FAULTY_SLOT);
	char desc[32];
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	if (!c.virt)
		return faulty_end(&c, faulty_real->C_GetSlotInfo(slot, info));
	if (info == NULL)
		return faulty_end(&c, CKR_ARGUMENTS_BAD);
	memset(info, 0, sizeof(*info));
	snprintf(desc, sizeof(desc), "kyso mock slot %lu", (unsigned long)slot);
	pad(info->slotDescription, sizeof(info->slotDescription), desc);
	pad(info->manufacturerID, sizeof(info->manufacturerID), "kyso tests");
	info->flags = CKF_REMOVABLE_DEVICE | (c.present ? CKF_TOKEN_PRESENT : 0);
	info->hardwareVersion.major = 1;
	info->firmwareVersion.major = 1;
	return faulty_end(&c, CKR_OK);
}

static CK_RV
faulty_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	struct faulty_call c = CALL(C_GetTokenInfo, FAULTY_TOKEN);
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	rv = faulty_real->C_GetTokenInfo(c.real_slot, info);
	if (rv == CKR_OK && c.pinpad.label[0] != '\0')
		info->flags |= CKF_PROTECTED_AUTHENTICATION_PATH;  /* in a PIN-pad reader */
	return faulty_end(&c, rv);
}

static CK_RV
faulty_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
	struct faulty_call c = CALL(C_GetMechanismList, FAULTY_TOKEN);
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	return faulty_end(&c, faulty_real->C_GetMechanismList(c.real_slot, list, count));
}

static CK_RV
faulty_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE type,
    CK_MECHANISM_INFO_PTR info)
{
	struct faulty_call c = CALL(C_GetMechanismInfo, FAULTY_TOKEN);
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	return faulty_end(&c, faulty_real->C_GetMechanismInfo(c.real_slot, type, info));
}

static CK_RV
faulty_C_InitToken(CK_SLOT_ID slot, CK_UTF8CHAR_PTR pin, CK_ULONG len, CK_UTF8CHAR_PTR label)
{
	struct faulty_call c = CALL(C_InitToken, FAULTY_TOKEN);
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	return faulty_end(&c, faulty_real->C_InitToken(c.real_slot, pin, len, label));
}

static CK_RV
faulty_C_OpenSession(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
    CK_SESSION_HANDLE_PTR h)
{
	struct faulty_call c = CALL(C_OpenSession, FAULTY_TOKEN);
	CK_RV rv;
	int i;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	rv = faulty_real->C_OpenSession(c.real_slot, flags, app, notify, h);
	if (rv != CKR_OK)
		return faulty_end(&c, rv);
	pthread_mutex_lock(&faulty_mu);
	if (c.virt && faulty_vslot_gen_locked(c.vslot) != c.vgen) {
		rv = CKR_DEVICE_REMOVED;  /* the token went away meanwhile */
	} else if ((i = faulty_sess_add_locked(*h, slot, c.virt ? c.vslot : 0, c.label)) < 0) {
		rv = CKR_SESSION_COUNT;
	}
	pthread_mutex_unlock(&faulty_mu);
	if (rv != CKR_OK) {
		(void)faulty_real->C_CloseSession(*h);
		*h = CK_INVALID_HANDLE;
	}
	return faulty_end(&c, rv);
}

static CK_RV
faulty_C_CloseSession(CK_SESSION_HANDLE h)
{
	struct faulty_call c = CALL(C_CloseSession, FAULTY_SESSION);
	CK_RV rv;
	int i;

	c.h = h;
	rv = faulty_begin(&c);
	if (c.dead && (rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_DEVICE_REMOVED)) {
		/* a dead session (perhaps dying during a delay): closing it only forgets it */
		pthread_mutex_lock(&faulty_mu);
		if ((i = faulty_sess_find_locked(h)) >= 0 && faulty_sess_at(i)->dead)
			faulty_sess_app_close_locked(i);
		pthread_mutex_unlock(&faulty_mu);
		return CKR_OK;
	}
	if (rv != CKR_OK)
		return rv;
	if (c.sess < 0)
		return faulty_end(&c, faulty_real->C_CloseSession(h));
	pthread_mutex_lock(&faulty_mu);
	if (faulty_sess_at(c.sess)->real_open) {
		rv = faulty_real->C_CloseSession(h);
		faulty_sess_at(c.sess)->real_open = 0;
	}
	faulty_sess_at(c.sess)->app_closed = 1;  /* freed as the call leaves */
	c.dead = faulty_sess_leave_locked(c.sess);
	c.sess = -1;
	pthread_mutex_unlock(&faulty_mu);
	return c.dead ? CKR_OK : rv;
}

static CK_RV
faulty_C_CloseAllSessions(CK_SLOT_ID slot)
{
	struct faulty_call c = CALL(C_CloseAllSessions, FAULTY_SLOT);
	CK_RV rv;

	c.slot = slot;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	if (!c.virt)
		rv = faulty_real->C_CloseAllSessions(slot);
	pthread_mutex_lock(&faulty_mu);
	if (rv == CKR_OK)
		faulty_sess_close_slot_locked(slot, c.virt);
	pthread_mutex_unlock(&faulty_mu);
	return faulty_end(&c, rv);
}

static CK_RV
faulty_C_GetSessionInfo(CK_SESSION_HANDLE h, CK_SESSION_INFO_PTR info)
{
	struct faulty_call c = CALL(C_GetSessionInfo, FAULTY_SESSION);
	CK_RV rv;

	c.h = h;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	rv = faulty_real->C_GetSessionInfo(h, info);
	if (rv == CKR_OK && c.vslot > 0)
		info->slotID = (CK_SLOT_ID)c.vslot;
	return faulty_end(&c, rv);
}

/* A failing C_Sign ends the operation, as the specification says a real one does. */
static CK_RV
faulty_C_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR s,
    CK_ULONG_PTR sl)
{
	struct faulty_call c = CALL(C_Sign, FAULTY_SESSION);
	unsigned char scratch[2048];
	CK_ULONG n = sizeof(scratch);
	CK_RV rv;

	c.h = h;
	if ((rv = faulty_begin(&c)) != CKR_OK) {
		if (!c.dead && rv != CKR_CRYPTOKI_NOT_INITIALIZED)
			(void)faulty_real->C_Sign(h, d, dl, scratch, &n);
		return rv;
	}
	return faulty_end(&c, faulty_real->C_Sign(h, d, dl, s, sl));
}

/*
 * On a token with a pinpad line, a C_Login without a PIN is typed on the keypad: the wait
 * of the line's delay (the person typing), then SoftHSM's C_Login with the line's PIN.
 */
static CK_RV
faulty_C_Login(CK_SESSION_HANDLE h, CK_USER_TYPE type, CK_UTF8CHAR_PTR pin, CK_ULONG len)
{
	struct faulty_call c = CALL(C_Login, FAULTY_SESSION);
	CK_RV rv;

	c.h = h;
	if ((rv = faulty_begin(&c)) != CKR_OK)
		return rv;
	if (pin != NULL || c.pinpad.label[0] == '\0')
		return faulty_end(&c, faulty_real->C_Login(h, type, pin, len));
	if ((rv = faulty_wait(&c, c.pinpad.line, c.pinpad.delay_ms)) != CKR_OK)
		return faulty_end(&c, rv);
	return faulty_end(&c, faulty_real->C_Login(h, type, (CK_UTF8CHAR_PTR)c.pinpad.pin,
	    (CK_ULONG)strlen(c.pinpad.pin)));
}

/* The other session functions: nothing but begin, SoftHSM, end. */
#define SESSION_FNS(X)                                                                    \
	X(C_InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG pl), (h, p, pl))   \
	X(C_SetPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG ol, CK_UTF8CHAR_PTR n, \
	    CK_ULONG nl), (h, o, ol, n, nl))                                              \
	X(C_GetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR st, CK_ULONG_PTR sl),    \
	    (h, st, sl))                                                                  \
	X(C_SetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR st, CK_ULONG sl,         \
	    CK_OBJECT_HANDLE e, CK_OBJECT_HANDLE a), (h, st, sl, e, a))                   \
	X(C_Logout, (CK_SESSION_HANDLE h), (h))                                           \
	X(C_CreateObject, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n,           \
	    CK_OBJECT_HANDLE_PTR o), (h, t, n, o))                                        \
	X(C_CopyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t,     \
	    CK_ULONG n, CK_OBJECT_HANDLE_PTR no), (h, o, t, n, no))                       \
	X(C_DestroyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o), (h, o))             \
	X(C_GetObjectSize, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ULONG_PTR sz),    \
	    (h, o, sz))                                                                   \
	X(C_GetAttributeValue, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,                  \
	    CK_ATTRIBUTE_PTR t, CK_ULONG n), (h, o, t, n))                                \
	X(C_SetAttributeValue, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,                  \
	    CK_ATTRIBUTE_PTR t, CK_ULONG n), (h, o, t, n))                                \
	X(C_FindObjectsInit, (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n),       \
	    (h, t, n))                                                                    \
	X(C_FindObjects, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR o, CK_ULONG m,        \
	    CK_ULONG_PTR n), (h, o, m, n))                                                \
	X(C_FindObjectsFinal, (CK_SESSION_HANDLE h), (h))                                 \
	X(C_EncryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),   \
	    (h, m, k))                                                                    \
	X(C_Encrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o,     \
	    CK_ULONG_PTR ol), (h, i, il, o, ol))                                          \
	X(C_EncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,              \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_EncryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol),          \
	    (h, o, ol))                                                                   \
	X(C_DecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),   \
	    (h, m, k))                                                                    \
	X(C_Decrypt, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o,     \
	    CK_ULONG_PTR ol), (h, i, il, o, ol))                                          \
	X(C_DecryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,              \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol),          \
	    (h, o, ol))                                                                   \
	X(C_DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m), (h, m))                \
	X(C_Digest, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o,      \
	    CK_ULONG_PTR ol), (h, i, il, o, ol))                                          \
	X(C_DigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il), (h, i, il))  \
	X(C_DigestKey, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE k), (h, k))                 \
	X(C_DigestFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, o, ol)) \
	X(C_SignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),      \
	    (h, m, k))                                                                    \
	X(C_SignUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il), (h, i, il))    \
	X(C_SignFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, o, ol)) \
	X(C_SignRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,                    \
	    CK_OBJECT_HANDLE k), (h, m, k))                                               \
	X(C_SignRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR o, \
	    CK_ULONG_PTR ol), (h, i, il, o, ol))                                          \
	X(C_VerifyInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),    \
	    (h, m, k))                                                                    \
	X(C_Verify, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il, CK_BYTE_PTR s,      \
	    CK_ULONG sl), (h, i, il, s, sl))                                              \
	X(C_VerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il), (h, i, il))  \
	X(C_VerifyFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sl), (h, s, sl))   \
	X(C_VerifyRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,                  \
	    CK_OBJECT_HANDLE k), (h, m, k))                                               \
	X(C_VerifyRecover, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sl,              \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, s, sl, o, ol))                           \
	X(C_DigestEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,        \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_DecryptDigestUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,        \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_SignEncryptUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,          \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_DecryptVerifyUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR i, CK_ULONG il,        \
	    CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, i, il, o, ol))                           \
	X(C_GenerateKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t,    \
	    CK_ULONG n, CK_OBJECT_HANDLE_PTR k), (h, m, t, n, k))                         \
	X(C_GenerateKeyPair, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m,                    \
	    CK_ATTRIBUTE_PTR pt, CK_ULONG pn, CK_ATTRIBUTE_PTR vt, CK_ULONG vn,           \
	    CK_OBJECT_HANDLE_PTR pk, CK_OBJECT_HANDLE_PTR vk), (h, m, pt, pn, vt, vn, pk, vk)) \
	X(C_WrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w,        \
	    CK_OBJECT_HANDLE k, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, m, w, k, o, ol))     \
	X(C_UnwrapKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE u,      \
	    CK_BYTE_PTR w, CK_ULONG wl, CK_ATTRIBUTE_PTR t, CK_ULONG n,                   \
	    CK_OBJECT_HANDLE_PTR k), (h, m, u, w, wl, t, n, k))                           \
	X(C_DeriveKey, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b,      \
	    CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k), (h, m, b, t, n, k))  \
	X(C_SeedRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR s, CK_ULONG sl), (h, s, sl))    \
	X(C_GenerateRandom, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG ol), (h, o, ol)) \
	X(C_GetFunctionStatus, (CK_SESSION_HANDLE h), (h))                                \
	X(C_CancelFunction, (CK_SESSION_HANDLE h), (h))

#define DEFINE(fn, params, args)                                     \
	static CK_RV faulty_##fn params                              \
	{                                                            \
		struct faulty_call c = CALL(fn, FAULTY_SESSION);     \
		CK_RV rv;                                            \
		c.h = h;                                             \
		if ((rv = faulty_begin(&c)) != CKR_OK)               \
			return rv;                                   \
		return faulty_end(&c, faulty_real->fn args);         \
	}
SESSION_FNS(DEFINE)

#define ASSIGN(fn, params, args) ours->fn = faulty_##fn;

void
faulty_wrap(CK_FUNCTION_LIST *ours)
{
	ours->C_Initialize = faulty_C_Initialize;
	ours->C_Finalize = faulty_C_Finalize;
	ours->C_WaitForSlotEvent = faulty_C_WaitForSlotEvent;
	ours->C_GetInfo = faulty_C_GetInfo;
	ours->C_GetSlotList = faulty_C_GetSlotList;
	ours->C_GetSlotInfo = faulty_C_GetSlotInfo;
	ours->C_GetTokenInfo = faulty_C_GetTokenInfo;
	ours->C_GetMechanismList = faulty_C_GetMechanismList;
	ours->C_GetMechanismInfo = faulty_C_GetMechanismInfo;
	ours->C_InitToken = faulty_C_InitToken;
	ours->C_OpenSession = faulty_C_OpenSession;
	ours->C_CloseSession = faulty_C_CloseSession;
	ours->C_CloseAllSessions = faulty_C_CloseAllSessions;
	ours->C_GetSessionInfo = faulty_C_GetSessionInfo;
	ours->C_Sign = faulty_C_Sign;
	ours->C_Login = faulty_C_Login;
	SESSION_FNS(ASSIGN)
}
