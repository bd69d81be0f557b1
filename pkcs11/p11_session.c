/* p11_session.c — one session per token: open, describe, log in and out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "p11_internal.h"
#include "secret.h"

int
p11_session_open(struct p11_module *m, unsigned long slot, struct p11_session **out,
    struct p11_fail *fail)
{
	struct p11_session *s;
	CK_RV rv;

	*out = NULL;
	p11_fail_clear(fail);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KYSO_ERR_NOMEM;
	s->m = m;
	s->slot = slot;
	rv = m->fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s->h);
	if (rv != CKR_OK) {
		free(s);
		return p11_fail_set(fail, "C_OpenSession", rv);
	}
	*out = s;
	return KYSO_OK;
}

void
p11_session_close(struct p11_session *s)
{
	if (s == NULL)
		return;
	(void)s->m->fn->C_CloseSession(s->h);
	free(s);
}

int
p11_session_describe(struct p11_session *s, struct p11_token_desc *out, struct p11_fail *fail)
{
	return p11_describe_slot(s->m, s->slot, out, fail);
}

int
p11_session_stuck(const struct p11_session *s)
{
	return s->stuck;
}

int
p11_session_logged_in(struct p11_session *s)
{
	CK_SESSION_INFO si;

	if (s->m->fn->C_GetSessionInfo(s->h, &si) != CKR_OK)
		return 0;
	return si.state == CKS_RO_USER_FUNCTIONS || si.state == CKS_RW_USER_FUNCTIONS;
}

int
p11_session_login(struct p11_session *s, const struct kyso_secret *pin, struct p11_fail *fail)
{
	CK_RV rv;

	p11_fail_clear(fail);
	if (pin != NULL)
		rv = s->m->fn->C_Login(s->h, CKU_USER,
		    (CK_UTF8CHAR_PTR)(uintptr_t)secret_data(pin), (CK_ULONG)secret_len(pin));
	else
		rv = s->m->fn->C_Login(s->h, CKU_USER, NULL, 0);
	if (rv == CKR_OK)
		p11_keys_forget(s);  /* private objects are visible now */
	return p11_fail_set(fail, "C_Login", rv);
}

int
p11_session_logout(struct p11_session *s, struct p11_fail *fail)
{
	CK_RV rv = s->m->fn->C_Logout(s->h);

	p11_keys_forget(s);
	if (rv == CKR_USER_NOT_LOGGED_IN)
		rv = CKR_OK;
	return p11_fail_set(fail, "C_Logout", rv);
}
