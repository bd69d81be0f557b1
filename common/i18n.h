/*
 * i18n.h — translations of what people read (GNU gettext, one text domain "kyso" for
 * kysod, kyso, kyso-admin, kyso-browser-host, libkyso and libkyso-pdf).
 *
 *   _("text")            the translation of a string for people, in the current locale
 *   N_("text")           marks a string in a table for translation; translate it with
 *                        _() where it is shown
 *   P_("one", "many", n) the singular or plural form for n (English has two; Vietnamese
 *                        one; the catalog's Plural-Forms decides)
 *   C_("context", "text") a short word that means different things in different places
 *                        ("ok" as a module's state), told apart for translators
 *
 * The catalog comes from KYSO_LOCALEDIR in the environment (tests: build/locale), else
 * the LOCALEDIR compiled in ($(DATADIR)/locale). Libraries translate with dgettext in
 * their own domain, so a program's textdomain() changes nothing here. What is not for
 * people stays English and unmarked: protocol and error names, JSON fields, audit-log
 * fields, and kysod's log lines (docs/translating.md says why). kyso-pkcs11.so links
 * kyso-pkcs11/kp11_nls.c instead of i18n.c: the module translates nothing and leaves the
 * host program's gettext alone.
 */
#ifndef KYSO_I18N_H
#define KYSO_I18N_H

#include <locale.h>

#define KYSO_TEXTDOMAIN "kyso"

/* Returns the translation of msgid (static storage), or msgid itself; never NULL. */
const char *kyso_gettext(const char *msgid) __attribute__((format_arg(1)));

/* Returns the form of singular/plural for n, translated, or one of them; never NULL. */
const char *kyso_ngettext(const char *singular, const char *plural, unsigned long n)
    __attribute__((format_arg(1), format_arg(2)));

/* Returns the translation of msgid in context ctx_msgid ("ctx\004msgid"), or msgid. */
const char *kyso_pgettext(const char *ctx_msgid, const char *msgid) __attribute__((format_arg(2)));

#define _(s) kyso_gettext(s)
#define C_(ctx, s) kyso_pgettext(ctx "\004" s, s)
#define N_(s) s
#define P_(s, p, n) kyso_ngettext((s), (p), (unsigned long)(n))

enum kyso_i18n_mode {
	/* a program on a terminal (kyso, kyso-admin): the character set (LC_CTYPE) and the
	 * language (LC_MESSAGES, LANGUAGE) from the environment, for the whole process */
	KYSO_I18N_TERMINAL = 0,
	/* kysod: the process's locale stays C, so that everything it logs and sends over
	 * the socket (replies' messages, the audit log, kyso_strerror) is English; the
	 * session's language (LC_ALL, LC_MESSAGES or LANG, and LANGUAGE) is kept for the
	 * texts it shows the officer itself, between kyso_i18n_enter and kyso_i18n_leave,
	 * always in UTF-8 */
	KYSO_I18N_SESSION = 1,
};

/* Returns 1 when messages are translated (a catalog of the "kyso" domain serves the
 * current language), else 0 (English). */
int kyso_i18n_active(void);

/*
 * A program's start (before any thread): TERMINAL sets the locale's LC_CTYPE and
 * LC_MESSAGES from the environment (numbers and times stay the C locale's); SESSION
 * only reads the session's language for kyso_i18n_enter. Binds the "kyso" domain.
 * Returns 1 when the environment's locale exists here, 0 when it is not installed (then
 * messages are English).
 */
int kyso_i18n_init(enum kyso_i18n_mode mode);

/*
 * Makes the calling thread speak the session's language (KYSO_I18N_SESSION) until
 * kyso_i18n_leave(the value returned). Returns the thread's previous locale, or
 * (locale_t)0 when there is no session language (then _() stays English and
 * kyso_i18n_leave does nothing). Does nothing without kyso_i18n_init(SESSION).
 */
locale_t kyso_i18n_enter(void);

/* Restores the thread's locale that kyso_i18n_enter returned (0: nothing to do). */
void kyso_i18n_leave(locale_t previous);

#endif
