/*
 * p11_loopguard.c — kysod never loads kyso-pkcs11.so, the module kyso offers to other
 * programs: it forwards to kysod, so loading it into kysod is a loop (every token twice,
 * signatures that call the agent from inside the agent). The module is recognised by
 * the marker it exports (common/loopguard.h), whatever its file is called and whoever
 * names it (p11-kit's registry, --module, the policy's modules list), before it is
 * initialised; slots that it offers through another module (a proxy, p11-kit remoting)
 * are recognised by their manufacturer and skipped.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/p11-kit.h>

#include "log.h"
#include "loopguard.h"
#include "p11_internal.h"

/* Whether the loaded shared object file exports the marker (it is not loaded again). */
static int
file_has_marker(const char *file)
{
	void *h;
	int yes;

	if (file == NULL || file[0] == '\0')
		return 0;
	if ((h = dlopen(file, RTLD_LAZY | RTLD_LOCAL | RTLD_NOLOAD)) == NULL)
		return 0;
	yes = dlsym(h, KYSO_PKCS11_MARKER) != NULL;
	dlclose(h);  /* drops the reference RTLD_NOLOAD took, nothing more */
	return yes;
}

int
p11_loopguard_is_kyso(CK_FUNCTION_LIST *fn, const char *path)
{
	char full[4096];
	char *name;
	Dl_info di;
	int yes = 0;

	/* where the module's own functions live (p11-kit hands out the module's list when
	 * it does not wrap it) */
	if (fn != NULL && dladdr((void *)(uintptr_t)fn->C_GetFunctionList, &di) != 0)
		yes = file_has_marker(di.dli_fname);
	/* the file p11-kit loaded, by its path */
	if (!yes && path != NULL) {
		if (path[0] == '/')
			yes = file_has_marker(path);
		else if (snprintf(full, sizeof(full), "%s/%s", KYSO_P11_MODULE_DIR, path) <
		    (int)sizeof(full))
			yes = file_has_marker(full) || file_has_marker(path);
	}
	if (!yes && fn != NULL && (name = p11_kit_module_get_filename(fn)) != NULL) {
		if (name[0] == '/')
			yes = file_has_marker(name);
		else if (snprintf(full, sizeof(full), "%s/%s", KYSO_P11_MODULE_DIR, name) <
		    (int)sizeof(full))
			yes = file_has_marker(full);
		free(name);
	}
	return yes;
}

/* a loop through a proxy is said once, not at every scan */
static int said;

int
p11_loopguard_slot(struct p11_module *m, CK_SLOT_ID slot)
{
	CK_SLOT_INFO si;
	size_t n = strlen(KYSO_PKCS11_SLOT_MANUFACTURER);

	if (m->fn->C_GetSlotInfo(slot, &si) != CKR_OK)
		return 0;
	if (memcmp(si.manufacturerID, KYSO_PKCS11_SLOT_MANUFACTURER, n) != 0)
		return 0;
	for (size_t i = n; i < sizeof(si.manufacturerID); i++)
		if (si.manufacturerID[i] != ' ')
			return 0;
	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		log_error("%s offers the tokens of kyso-pkcs11 (the module that forwards to "
		    "kysod itself, through a proxy or remoting): its slots are skipped", m->path);
	return 1;
}
