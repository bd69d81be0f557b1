/* i18n.c — the "kyso" text domain: where its catalogs are, and the locale of a program. */
#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>

#include "i18n.h"

#ifndef KYSO_LOCALEDIR
#define KYSO_LOCALEDIR "/usr/local/share/locale"
#endif

static pthread_once_t bound = PTHREAD_ONCE_INIT;
/* the session's LC_MESSAGES (KYSO_I18N_SESSION), or 0 */
static locale_t session;

/*
 * Binds the domain once per process: KYSO_LOCALEDIR from the environment (ignored in a
 * set-uid or set-gid program that links libkyso), else the directory compiled in.
 */
static void
i18n_bind(void)
{
	const char *dir = secure_getenv("KYSO_LOCALEDIR");

	(void)bindtextdomain(KYSO_TEXTDOMAIN, dir != NULL && dir[0] == '/' ? dir :
	    KYSO_LOCALEDIR);
}

const char *
kyso_gettext(const char *msgid)
{
	(void)pthread_once(&bound, i18n_bind);
	return dgettext(KYSO_TEXTDOMAIN, msgid);
}

const char *
kyso_ngettext(const char *singular, const char *plural, unsigned long n)
{
	(void)pthread_once(&bound, i18n_bind);
	return dngettext(KYSO_TEXTDOMAIN, singular, plural, n);
}

const char *
kyso_pgettext(const char *ctx_msgid, const char *msgid)
{
	const char *r;

	(void)pthread_once(&bound, i18n_bind);
	r = dgettext(KYSO_TEXTDOMAIN, ctx_msgid);
	return r == ctx_msgid ? msgid : r;
}

int
kyso_i18n_active(void)
{
	/* a catalog's translation of "" is its header */
	return kyso_gettext("")[0] != '\0';
}

int
kyso_i18n_init(enum kyso_i18n_mode mode)
{
	int ok;

	(void)pthread_once(&bound, i18n_bind);
	if (mode == KYSO_I18N_SESSION) {
		/* LC_MESSAGES from LC_ALL, LC_MESSAGES or LANG; every other category C */
		session = newlocale(LC_MESSAGES_MASK, "", (locale_t)0);
		(void)bind_textdomain_codeset(KYSO_TEXTDOMAIN, "UTF-8");
		return session != (locale_t)0;
	}
	ok = setlocale(LC_MESSAGES, "") != NULL;
	return setlocale(LC_CTYPE, "") != NULL && ok;
}

locale_t
kyso_i18n_enter(void)
{
	if (session == (locale_t)0)
		return (locale_t)0;
	return uselocale(session);
}

void
kyso_i18n_leave(locale_t previous)
{
	if (previous != (locale_t)0)
		(void)uselocale(previous);
}
