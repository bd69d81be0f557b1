/*
 * p11_events.c — a module's life after loading: slot events, presence checks, and
 * re-initialisation of a module that broke.
 */
#include <string.h>

#include "kyso_err.h"
#include "p11_internal.h"

int
p11_module_wait_event(struct p11_module *m, unsigned long *slot, struct p11_fail *fail)
{
	CK_SLOT_ID s = 0;
	CK_RV rv;

	p11_fail_clear(fail);
	*slot = 0;
	rv = m->fn->C_WaitForSlotEvent(0, &s, NULL);
	if (rv == CKR_OK) {
		*slot = s;
		return KYSO_OK;
	}
	if (rv == CKR_FUNCTION_NOT_SUPPORTED) {
		p11_fail_set(fail, "C_WaitForSlotEvent", rv);
		return KYSO_ERR_UNSUPPORTED;
	}
	p11_fail_set(fail, "C_WaitForSlotEvent", rv);
	return KYSO_ERR_TOKEN;
}

int
p11_slot_present(struct p11_module *m, unsigned long slot)
{
	CK_SLOT_INFO si;
	CK_RV rv = m->fn->C_GetSlotInfo(slot, &si);

	if (rv == CKR_OK)
		return (si.flags & CKF_TOKEN_PRESENT) ? 1 : 0;
	if (rv == CKR_SLOT_ID_INVALID || rv == CKR_TOKEN_NOT_PRESENT ||
	    rv == CKR_DEVICE_REMOVED)
		return 0;
	return -1;
}

int
p11_slot_removable(struct p11_module *m, unsigned long slot)
{
	CK_SLOT_INFO si;

	return m->fn->C_GetSlotInfo(slot, &si) == CKR_OK &&
	    (si.flags & CKF_REMOVABLE_DEVICE) != 0;
}

void
p11_module_finalize(struct p11_module *m)
{
	if (m->initialized) {
		(void)m->fn->C_Finalize(NULL);
		m->initialized = 0;
	}
}

int
p11_module_init(struct p11_module *m, struct p11_fail *fail)
{
	CK_RV rv;

	p11_fail_clear(fail);
	if (m->initialized)
		return KYSO_OK;
	rv = p11_module_initialize(m->fn);
	if (rv == CKR_OK || rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		m->initialized = 1;
		return KYSO_OK;
	}
	p11_fail_set(fail, "C_Initialize", rv);
	return KYSO_ERR_MODULE;
}

int
p11_module_slot_count(struct p11_module *m, size_t *n)
{
	CK_ULONG count = 0;
	CK_RV rv = m->fn->C_GetSlotList(CK_FALSE, NULL, &count);

	*n = rv == CKR_OK ? (size_t)count : 0;
	return rv == CKR_OK ? KYSO_OK : KYSO_ERR_TOKEN;
}

int
p11_slot_describe(struct p11_module *m, unsigned long slot, struct p11_token_desc *d,
    struct p11_fail *fail)
{
	return p11_describe_slot(m, slot, d, fail);
}
