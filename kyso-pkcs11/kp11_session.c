/*
 * kp11_session.c — sessions, and the application's login.
 *
 * Sessions are read-only (the module writes nothing to a token). The login is this
 * application's, as PKCS#11 has it (one state for all its sessions with the token):
 * C_Login asks kysod to log the token in — kysod's dialog asks the officer, or kysod
 * finds the token logged in already for the user's programs — and from then on the
 * application's private key objects are visible. kysod's login is shared by the user's
 * programs and may end (idle time, `kyso lock`); a C_Sign after that makes kysod ask
 * again. C_Logout ends this application's login only: logging the token out for every
 * program is `kyso lock`'s.
 */
#include <stdlib.h>
#include <string.h>

#include "kp11_v3.h"
#include "kyso_err.h"

CK_RV
kp_session_get(CK_SESSION_HANDLE h, struct kp_session **out)
{
	struct kp_slot *s;

	*out = NULL;
	for (size_t i = 0; i < kp.nsessions; i++) {
		if (kp.sessions[i]->h != h)
			continue;
		s = kp_slot_get(kp.sessions[i]->slot);
		if (s == NULL || !s->present || s->gen != kp.sessions[i]->gen)
			return CKR_DEVICE_REMOVED;  /* its token left: the session is over */
		*out = kp.sessions[i];
		return CKR_OK;
	}
	return CKR_SESSION_HANDLE_INVALID;
}

static void
session_free(struct kp_session *se)
{
	kp_find_free(se->find);
	kp_sign_free(se->sign);
	free(se);
}

void
kp_session_done(struct kp_session *se)
{
	se->busy = 0;
	if (se->h == CK_INVALID_HANDLE)
		session_free(se);
}

/* Removes session i from the list (and frees it unless a thread still uses it). */
static void
session_remove(size_t i)
{
	struct kp_session *se = kp.sessions[i];

	kp.sessions[i] = kp.sessions[--kp.nsessions];
	if (se->busy)
		se->h = CK_INVALID_HANDLE;  /* the thread that waits frees it (kp11_sign.c) */
	else
		session_free(se);
}

/* The application's login ends when its last session with the token closes. */
static void
login_end_if_last(CK_SLOT_ID slot)
{
	struct kp_slot *s = kp_slot_get(slot);

	for (size_t i = 0; i < kp.nsessions; i++)
		if (kp.sessions[i]->slot == slot && s != NULL && kp.sessions[i]->gen == s->gen)
			return;
	if (s != NULL)
		s->app_logged_in = 0;
}

void
kp_sessions_drop_slot(CK_SLOT_ID slot)
{
	struct kp_slot *s = kp_slot_get(slot);

	for (size_t i = kp.nsessions; i-- > 0;)
		if (kp.sessions[i]->slot == slot)
			session_remove(i);
	if (s != NULL)
		s->app_logged_in = 0;
}

void
kp_sessions_free(void)
{
	while (kp.nsessions > 0)
		session_remove(kp.nsessions - 1);
	free(kp.sessions);
	kp.sessions = NULL;
	kp.capsessions = 0;
}

CK_RV
C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
    CK_SESSION_HANDLE_PTR phSession)
{
	struct kp_session *se;
	struct kp_slot *s;
	CK_RV rv;

	(void)pApplication;
	(void)Notify;  /* the module makes no callbacks */
	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_sub_drain();
	if (phSession == NULL)
		rv = CKR_ARGUMENTS_BAD;
	else if ((s = kp_slot_get(slotID)) == NULL)
		rv = CKR_SLOT_ID_INVALID;
	else if (!s->present)
		rv = CKR_TOKEN_NOT_PRESENT;
	else if (!(flags & CKF_SERIAL_SESSION))
		rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
	else if (flags & CKF_RW_SESSION)
		rv = CKR_TOKEN_WRITE_PROTECTED;
	else if (kp.nsessions >= KP_MAX_SESSIONS)
		rv = CKR_SESSION_COUNT;
	if (rv != CKR_OK)
		goto out;
	if (kp.nsessions == kp.capsessions) {
		size_t cap = kp.capsessions ? 2 * kp.capsessions : 16;
		struct kp_session **p = realloc(kp.sessions, cap * sizeof(*p));

		if (p == NULL) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		kp.sessions = p;
		kp.capsessions = cap;
	}
	if ((se = calloc(1, sizeof(*se))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	se->h = kp.next_session++;
	se->slot = slotID;
	se->gen = s->gen;
	se->flags = CKF_SERIAL_SESSION;
	kp.sessions[kp.nsessions++] = se;
	*phSession = se->h;
out:
	kp_leave();
	return rv;
}

CK_RV
C_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	rv = CKR_SESSION_HANDLE_INVALID;
	for (size_t i = 0; i < kp.nsessions; i++) {
		if (kp.sessions[i]->h == hSession) {
			CK_SLOT_ID slot = kp.sessions[i]->slot;

			session_remove(i);
			login_end_if_last(slot);
			rv = CKR_OK;  /* also for a session whose token left */
			break;
		}
	}
	kp_leave();
	return rv;
}

CK_RV
C_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (kp_slot_get(slotID) == NULL)
		rv = CKR_SLOT_ID_INVALID;
	else
		kp_sessions_drop_slot(slotID);
	kp_leave();
	return rv;
}

CK_RV
C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	struct kp_session *se;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_sub_drain();
	if ((rv = kp_session_get(hSession, &se)) == CKR_OK) {
		if (pInfo == NULL) {
			rv = CKR_ARGUMENTS_BAD;
		} else {
			memset(pInfo, 0, sizeof(*pInfo));
			pInfo->slotID = se->slot;
			pInfo->state = kp_slot_get(se->slot)->app_logged_in ?
			    CKS_RO_USER_FUNCTIONS : CKS_RO_PUBLIC_SESSION;
			pInfo->flags = se->flags;
		}
	}
	kp_leave();
	return rv;
}

/* C_Login's work; userType and the PIN as C_Login got them. */
static CK_RV
login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen)
{
	unsigned long epoch;
	struct kp_session *se;
	struct kp_slot *s;
	struct kp_fail f;
	char token[17];
	CK_SLOT_ID slot;
	unsigned gen;
	int e, unchecked = 0;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_sub_drain();
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	s = kp_slot_get(se->slot);
	switch (userType) {
	case CKU_USER:
		break;
	case CKU_CONTEXT_SPECIFIC:
		/* for a key that wants the PIN with every signature: kysod asks for it with
		 * the C_Sign that follows, or takes the PIN given here (kp11_sign.c) */
		rv = se->sign == NULL ? CKR_OPERATION_NOT_INITIALIZED :
		    se->busy ? CKR_OPERATION_ACTIVE : CKR_OK;
		if (rv == CKR_OK && pPin == NULL && ulPinLen != 0)
			rv = CKR_ARGUMENTS_BAD;
		else if (rv == CKR_OK && pPin != NULL)
			rv = kp_sign_context_pin(se->sign, (const char *)pPin, ulPinLen);
		goto out;
	case CKU_SO:
		/* the token is write-protected: there is nothing for a security officer here
		 * (kyso-admin administers tokens through their own module) */
		rv = CKR_USER_TYPE_INVALID;
		goto out;
	default:
		rv = CKR_USER_TYPE_INVALID;
		goto out;
	}
	if (s->app_logged_in) {
		rv = CKR_USER_ALREADY_LOGGED_IN;
		goto out;
	}
	if (pPin == NULL && ulPinLen != 0) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	memcpy(token, s->tok.id, sizeof(token));
	slot = s->id;
	gen = s->gen;
	epoch = kp.epoch;
	kp_leave();
	/* a PIN the program gives goes to kysod, whose policy (client_pin) decides; without
	 * one, kysod's dialog (or the token's PIN pad) asks */
	e = kp_agent_login(token, (const char *)pPin, pPin != NULL ? ulPinLen : 0, &unchecked,
	    &f);
	rv = kp_ckr(e, f.detail, KP_OP_LOGIN);
	if (e != KYSO_OK)
		kp_log("C_Login on token %s: %s -> %s", token, f.message, kp_ckr_name(rv));
	/* the token was logged in already: the PIN the program gave was not checked. Still
	 * CKR_OK: CKR_USER_ALREADY_LOGGED_IN is a failure to programs such as pkcs11-tool
	 * (kyso-pkcs11(7): C_Login cannot verify a PIN) */
	if (rv == CKR_OK && pPin != NULL && unchecked)
		kp_log("C_Login on token %s: logged in already for the user's programs; the PIN "
		    "given was not checked", token);
	pthread_mutex_lock(&kp.mu);
	if (kp_still(epoch) != CKR_OK) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	s = kp_slot_get(slot);
	if (s == NULL || !s->present || s->gen != gen)
		rv = CKR_DEVICE_REMOVED;
	else if (rv == CKR_OK)
		s->app_logged_in = 1;
out:
	kp_leave();
	return rv;
}

CK_RV
C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen)
{
	return login(hSession, userType, pPin, ulPinLen);
}

/* PKCS#11 3.0: a user name has no meaning for these tokens; the rest is C_Login. */
CK_RV
C_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
    CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	(void)pUsername;
	(void)ulUsernameLen;
	return login(hSession, userType, pPin, ulPinLen);
}

CK_RV
C_Logout(CK_SESSION_HANDLE hSession)
{
	struct kp_session *se;
	struct kp_slot *s;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = kp_session_get(hSession, &se)) == CKR_OK) {
		s = kp_slot_get(se->slot);
		if (!s->app_logged_in)
			rv = CKR_USER_NOT_LOGGED_IN;
		s->app_logged_in = 0;
	}
	kp_leave();
	return rv;
}
