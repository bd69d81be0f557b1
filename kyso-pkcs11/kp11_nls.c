/*
 * kp11_nls.c — the module's kyso_gettext: none. libkyso's objects and common/ that the
 * module links mark their sentences for translation (common/i18n.h); inside a PKCS#11
 * module nothing reaches a person (its messages go to its debug log, which stays
 * English), and binding a text domain would touch the host program's gettext. So the
 * module links these identities instead of common/i18n.c.
 */
#include "i18n.h"

const char *
kyso_gettext(const char *msgid)
{
	return msgid;
}

const char *
kyso_pgettext(const char *ctx_msgid, const char *msgid)
{
	(void)ctx_msgid;
	return msgid;
}

const char *
kyso_ngettext(const char *singular, const char *plural, unsigned long n)
{
	return n == 1 ? singular : plural;
}
