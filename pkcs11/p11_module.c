/* p11_module.c — loading PKCS#11 modules through p11-kit and listing their tokens. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* p11_kit_set_progname: "unstable" in p11-kit's header, exported since 0.18 */
#define P11_KIT_FUTURE_UNSTABLE_API 1
#include <p11-kit/p11-kit.h>

#include "kyso_err.h"
#include "i18n.h"
#include "log.h"
#include "p11_internal.h"

CK_RV
p11_module_initialize(CK_FUNCTION_LIST *fn)
{
	CK_C_INITIALIZE_ARGS args;

	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	return fn->C_Initialize(&args);
}

static int
module_wrap(CK_FUNCTION_LIST *fn, const char *path, struct p11_module **out)
{
	struct p11_module *m;

	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		return KYSO_ERR_NOMEM;
	}
	m->fn = fn;
	m->initialized = 1;
	*out = m;
	return KYSO_OK;
}

int
p11_module_load(const char *path, struct p11_module **out, char *err, size_t errlen)
{
	CK_FUNCTION_LIST *fn;
	CK_RV rv;
	int r;

	*out = NULL;
	fn = p11_kit_module_load(path, P11_KIT_MODULE_UNMANAGED);
	if (fn == NULL) {
		if (p11_kit_message() != NULL)
			snprintf(err, errlen, _("cannot load PKCS#11 module %s: %s"), path,
			    p11_kit_message());
		else
			snprintf(err, errlen, _("cannot load PKCS#11 module %s: not found"), path);
		return KYSO_ERR_MODULE;
	}
	if (p11_loopguard_is_kyso(fn, path)) {
		/* not initialised: it would connect to this very agent */
		snprintf(err, errlen, _("%s is kyso-pkcs11, kyso's own module that forwards to "
		    "kysod: kysod never loads it (that would be a loop)"), path);
		log_error("refusing to load %s: it is kyso-pkcs11, the module that forwards to "
		    "kysod itself (a loop)", path);
		p11_kit_module_release(fn);
		return KYSO_ERR_MODULE;
	}
	rv = p11_module_initialize(fn);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(err, errlen, _("PKCS#11 module %s failed to initialise: %s"), path,
		    p11_ckr_name(rv));
		p11_kit_module_release(fn);
		return KYSO_ERR_MODULE;
	}
	if ((r = module_wrap(fn, path, out)) != KYSO_OK) {
		fn->C_Finalize(NULL);
		p11_kit_module_release(fn);
		snprintf(err, errlen, "%s", kyso_strerror(r));
	}
	return r;
}

static int
module_is_trust_policy(CK_FUNCTION_LIST *fn)
{
	char *opt = p11_kit_config_option(fn, "trust-policy");
	int yes = opt != NULL && (strcmp(opt, "yes") == 0 || strcmp(opt, "true") == 0);

	free(opt);
	return yes;
}

int
p11_modules_load_registered(struct p11_module ***out, size_t *n)
{
	CK_FUNCTION_LIST **list;
	struct p11_module **mods = NULL;
	size_t count = 0, i;

	*out = NULL;
	*n = 0;
	list = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	if (list == NULL) {
		log_warn("p11-kit could not load the registered modules: %s",
		    p11_kit_message() != NULL ? p11_kit_message() : "unknown reason");
		return KYSO_OK;
	}
	for (i = 0; list[i] != NULL; i++)
		;
	if ((mods = calloc(i + 1, sizeof(*mods))) == NULL) {
		p11_kit_modules_release(list);
		return KYSO_ERR_NOMEM;
	}
	for (i = 0; list[i] != NULL; i++) {
		CK_FUNCTION_LIST *fn = list[i];
		char *name = p11_kit_module_get_filename(fn);
		const char *shown = name != NULL ? name : "(unnamed module)";
		CK_RV rv;

		if (module_is_trust_policy(fn)) {
			log_debug("skipping trust-policy module %s", shown);
			p11_kit_module_release(fn);
		} else if (p11_loopguard_is_kyso(fn, name)) {
			log_error("refusing to load the registered module %s: it is kyso-pkcs11, "
			    "the module that forwards to kysod itself (a loop)", shown);
			p11_kit_module_release(fn);
		} else if ((rv = p11_module_initialize(fn)) != CKR_OK &&
		    rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
			log_warn("PKCS#11 module %s failed to initialise (%s); skipped", shown,
			    p11_ckr_name(rv));
			p11_kit_module_release(fn);
		} else if (module_wrap(fn, shown, &mods[count]) != KYSO_OK) {
			fn->C_Finalize(NULL);
			p11_kit_module_release(fn);
		} else {
			log_info("loaded PKCS#11 module %s", shown);
			count++;
		}
		free(name);
	}
	free(list);  /* the modules now belong to mods */
	*out = mods;
	*n = count;
	return KYSO_OK;
}

int
p11_modules_registered(char ***paths, size_t *n)
{
	CK_FUNCTION_LIST **list;
	char **out = NULL;
	size_t count = 0, i;
	int r = KYSO_OK;

	*paths = NULL;
	*n = 0;
	/* listed for kysod: a module file's enable-in / disable-in name kysod, not this
	 * helper */
	p11_kit_set_progname("kysod");
	list = p11_kit_modules_load(NULL, P11_KIT_MODULE_UNMANAGED);
	if (list == NULL) {
		log_warn("p11-kit could not load the registered modules: %s",
		    p11_kit_message() != NULL ? p11_kit_message() : "unknown reason");
		return KYSO_OK;
	}
	for (i = 0; list[i] != NULL; i++)
		;
	if ((out = calloc(i + 1, sizeof(*out))) == NULL)
		r = KYSO_ERR_NOMEM;
	for (i = 0; list[i] != NULL; i++) {
		char *name = p11_kit_module_get_filename(list[i]);

		if (r != KYSO_OK || name == NULL || module_is_trust_policy(list[i])) {
			;
		} else if (p11_loopguard_is_kyso(list[i], name)) {
			/* listed for kysod, which would start a helper for it: never */
			log_error("refusing to load the registered module %s: it is kyso-pkcs11, "
			    "the module that forwards to kysod itself (a loop)", name);
		} else {
			out[count++] = name;
			name = NULL;
		}
		free(name);
	}
	p11_kit_modules_release(list);
	if (r != KYSO_OK) {
		free(out);
		return r;
	}
	*paths = out;
	*n = count;
	return KYSO_OK;
}

void
p11_set_helper_options(const struct p11_helper_options *o)
{
	(void)o;  /* the module runs in this process: no helper */
}

void
p11_module_on_exit(struct p11_module *m, void (*fn)(void *arg), void *arg)
{
	(void)m;  /* no helper process that could end */
	(void)fn;
	(void)arg;
}

const char *
p11_module_path(const struct p11_module *m)
{
	return m->path;
}

/* Fills the mechanism bits of d from the slot's mechanism list. */
static void
module_mechs(struct p11_module *m, CK_SLOT_ID slot, struct p11_token_desc *d)
{
	CK_MECHANISM_TYPE *list = NULL;
	CK_ULONG count = 0, i;
	CK_MECHANISM_INFO info;

	d->mechs = 0;
	/* one spare element: p11-kit-client 0.24, purging mechanisms it cannot remote,
	 * moves the list with memmove one element too far (reads past the end) */
	if (m->fn->C_GetMechanismList(slot, NULL, &count) != CKR_OK || count == 0 ||
	    count > 4096 || (list = calloc(count + 1, sizeof(*list))) == NULL)
		return;
	if (m->fn->C_GetMechanismList(slot, list, &count) == CKR_OK) {
		for (int k = 0; k < P11_MECH_COUNT; k++)
			for (i = 0; i < count; i++)
				if (list[i] == p11_mech_ckm[k] &&
				    m->fn->C_GetMechanismInfo(slot, list[i], &info) == CKR_OK &&
				    (info.flags & CKF_SIGN))
					d->mechs |= P11_MECH_BIT(k);
	}
	free(list);
}

int
p11_describe_slot(struct p11_module *m, CK_SLOT_ID slot, struct p11_token_desc *d,
    struct p11_fail *fail)
{
	static const struct {
		CK_FLAGS ck;
		unsigned ours;
	} flagmap[] = {
		{ CKF_LOGIN_REQUIRED, P11_TOKEN_LOGIN_REQUIRED },
		{ CKF_PROTECTED_AUTHENTICATION_PATH, P11_TOKEN_PROTECTED_AUTH_PATH },
		{ CKF_USER_PIN_COUNT_LOW, P11_TOKEN_USER_PIN_COUNT_LOW },
		{ CKF_USER_PIN_FINAL_TRY, P11_TOKEN_USER_PIN_FINAL_TRY },
		{ CKF_USER_PIN_LOCKED, P11_TOKEN_USER_PIN_LOCKED },
		{ CKF_USER_PIN_TO_BE_CHANGED, P11_TOKEN_USER_PIN_TO_BE_CHANGED },
		{ CKF_USER_PIN_INITIALIZED, P11_TOKEN_USER_PIN_INITIALIZED },
		{ CKF_TOKEN_INITIALIZED, P11_TOKEN_INITIALIZED },
		{ CKF_WRITE_PROTECTED, P11_TOKEN_WRITE_PROTECTED },
	};
	CK_TOKEN_INFO ti;
	CK_SLOT_INFO si;
	CK_RV rv;

	if ((rv = m->fn->C_GetTokenInfo(slot, &ti)) != CKR_OK)
		return p11_fail_set(fail, "C_GetTokenInfo", rv);
	d->slot = slot;
	p11_trim_copy(d->label, ti.label, sizeof(ti.label));
	p11_trim_copy(d->manufacturer, ti.manufacturerID, sizeof(ti.manufacturerID));
	p11_trim_copy(d->model, ti.model, sizeof(ti.model));
	p11_trim_copy(d->serial, ti.serialNumber, sizeof(ti.serialNumber));
	d->slot_description[0] = '\0';
	d->removable = 0;
	if (m->fn->C_GetSlotInfo(slot, &si) == CKR_OK) {
		p11_trim_copy(d->slot_description, si.slotDescription,
		    sizeof(si.slotDescription));
		d->removable = (si.flags & CKF_REMOVABLE_DEVICE) != 0;
	}
	d->max_sessions = ti.ulMaxSessionCount == CK_UNAVAILABLE_INFORMATION ?
	    P11_SESSIONS_UNKNOWN : ti.ulMaxSessionCount > 0xfffffffeUL ? 0xfffffffeu :
	    (unsigned)ti.ulMaxSessionCount;
	d->flags = 0;
	for (size_t i = 0; i < sizeof(flagmap) / sizeof(flagmap[0]); i++)
		if (ti.flags & flagmap[i].ck)
			d->flags |= flagmap[i].ours;
	module_mechs(m, slot, d);
	p11_fail_clear(fail);
	return KYSO_OK;
}

int
p11_slot_ids(struct p11_module *m, int with_token, CK_SLOT_ID **out, CK_ULONG *n,
    struct p11_fail *fail)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG count = 0;
	CK_BBOOL present = with_token ? CK_TRUE : CK_FALSE;
	CK_RV rv = CKR_OK;

	*out = NULL;
	*n = 0;
	p11_fail_clear(fail);
	/* a slot may appear between the two calls: retry while the buffer is too small */
	for (int tries = 0; tries < 4; tries++) {
		if ((rv = m->fn->C_GetSlotList(present, NULL, &count)) != CKR_OK)
			break;
		if (count == 0) {
			free(slots);
			return KYSO_OK;
		}
		free(slots);
		if (count > 1024 || (slots = calloc(count, sizeof(*slots))) == NULL)
			return KYSO_ERR_NOMEM;
		if ((rv = m->fn->C_GetSlotList(present, slots, &count)) != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		free(slots);
		return p11_fail_set(fail, "C_GetSlotList", rv);
	}
	*out = slots;
	*n = count;
	return KYSO_OK;
}

int
p11_module_tokens(struct p11_module *m, struct p11_token_desc **out, size_t *n,
    struct p11_fail *fail)
{
	CK_SLOT_ID *slots;
	CK_ULONG count, i;
	struct p11_token_desc *d;
	size_t got = 0;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = p11_slot_ids(m, 1, &slots, &count, fail)) != KYSO_OK || count == 0)
		return r;
	if ((d = calloc(count, sizeof(*d))) == NULL) {
		free(slots);
		return KYSO_ERR_NOMEM;
	}
	for (i = 0; i < count; i++) {
		struct p11_fail f;

		/* kyso-pkcs11's own slots, passed on by a proxy or remoting module: a loop */
		if (p11_loopguard_slot(m, slots[i]))
			continue;
		/* a token that vanished or is unreadable is skipped, not fatal */
		if (p11_describe_slot(m, slots[i], &d[got], &f) == KYSO_OK)
			got++;
		else
			log_debug("%s: slot %lu: %s in %s", m->path, (unsigned long)slots[i],
			    f.ckr_name, f.call);
	}
	free(slots);
	*out = d;
	*n = got;
	return KYSO_OK;
}

void
p11_module_free(struct p11_module *m)
{
	if (m == NULL)
		return;
	p11_module_finalize(m);
	p11_kit_module_release(m->fn);
	free(m->path);
	free(m);
}
