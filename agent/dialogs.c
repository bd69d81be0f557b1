/*
 * dialogs.c — the texts of the PIN, confirmation and PIN-pad dialogs, and their calls.
 * Every text is a whole sentence or paragraph for translators (common/i18n.h), in the
 * language of kysod's environment (the officer's session), always UTF-8 (pinentry's
 * Assuan texts are UTF-8). Only the texts are built in that language
 * (kyso_i18n_enter/leave around them): the reasons a dialog failed ('why') go into
 * replies and the log, which stay English.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialog_text.h"
#include "dialogs.h"
#include "encode.h"
#include "i18n.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "pinentry.h"
#include "request.h"
#include "secret.h"

#define DIALOG_TEXT_MAX 4096
#define DIALOG_DESC_SHOWN 400  /* characters of the client's description, in a dialog */
#define DIALOG_DOCS_LISTED 5
#define DIALOG_DOC_NAME_SHOWN 48
#define DIALOG_NAME_CLEAN_MAX 512   /* characters of a name cleaned before it is cut */
/* "SETDESC " and the text, escaped, in one Assuan line (pinentry.c cuts the rest) */
#define DIALOG_LINE_ROOM (1000 - 8)

/* A program's executable as shown: its path (cut in the middle to max characters, 0:
 * whole) into buf, or a phrase when it cannot be read. */
static const char *
dialog_exe_cut(const char *exe, size_t max, char *buf, size_t len)
{
	if (exe[0] == '\0' || strcmp(exe, "?") == 0)
		return _("(a program whose executable cannot be read)");
	if (max == 0)
		return exe;
	dialog_mid_cut(exe, buf, len, max);
	return buf;
}

static const char *
dialog_exe(const char *exe)
{
	return dialog_exe_cut(exe, 0, NULL, 0);
}

/*
 * How much of each part of a dialog is shown: the dialog must fit one Assuan line
 * (DIALOG_LINE_ROOM escaped), so that pinentry is not left to cut its end, where the
 * question is; dialog_body tries these in turn until the text fits.
 */
struct dialog_fit {
	size_t names;    /* document names listed (at most DIALOG_DOCS_LISTED) */
	size_t desc;     /* characters of the description; 0: not shown */
	size_t exe;      /* characters of the executables' paths; 0: whole */
	size_t subject;  /* characters of the certificate's subject; 0: whole */
};

static const struct dialog_fit dialog_fits[] = {
	{ 5, DIALOG_DESC_SHOWN, 0, 0 }, { 5, 160, 0, 0 }, { 4, 100, 0, 0 },
	{ 3, 80, 0, 0 }, { 3, 60, 96, 160 }, { 2, 48, 80, 128 }, { 2, 32, 64, 96 },
	{ 1, 32, 48, 80 }, { 1, 0, 40, 64 },
};

/* For a web page's request: "It asks through the browser B (pid) and its kyso host..." */
static int
dialog_web_via(const struct request_info *ri, const struct dialog_fit *fit, char *buf,
    size_t len)
{
	char b[1024], h[1024];

	/* TRANSLATORS: the browser's executable and pid, then kyso-browser-host's */
	return snprintf(buf, len, _("It asks through the browser %1$s (pid %2$ld) and its kyso "
	    "host %3$s (pid %4$ld).\n"), dialog_exe_cut(ri->browser, fit->exe, b, sizeof(b)),
	    (long)ri->browser_pid, dialog_exe_cut(ri->exe, fit->exe, h, sizeof(h)),
	    (long)ri->pid);
}

/* "The web page X asks to sign with your certificate ... It asks through ..." */
static int
dialog_web_head(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *subject, const struct dialog_fit *fit, char *buf, size_t len)
{
	/* TRANSLATORS: the page's origin (https://...), the certificate's subject, the
	 * token's label and serial number */
	int n = snprintf(buf, len, _("The web page %1$s asks to sign with your certificate\n"
	    "  %2$s\non token \"%3$s\" (serial %4$s).\n"), ri->origin, subject, tok->label,
	    tok->serial);

	if (n < 0 || (size_t)n >= len)
		return n;
	n += dialog_web_via(ri, fit, buf + n, len - (size_t)n);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\n");
	return n;
}

/*
 * Writes to f the first shown of the names (one a line, as dialog_document_names makes
 * them), then "and N more" for the rest of total. In the dialog's language already.
 */
static void
dialog_list_write(FILE *f, const char *names, size_t shown, size_t total)
{
	size_t listed = 0;

	for (const char *p = names; p != NULL && *p != '\0' && listed < shown; listed++) {
		const char *e = strchr(p, '\n');
		size_t k = e != NULL ? (size_t)(e - p) : strlen(p);

		fprintf(f, "  %.*s\n", (int)k, p);
		p = e != NULL ? e + 1 : p + k;
	}
	if (total > listed) {
		fputs("  ", f);
		/* TRANSLATORS: after the first names of a batch's documents */
		fprintf(f, P_("and %zu more", "and %zu more", total - listed), total - listed);
		fputc('\n', f);
	}
}

/* The date of a signing_time, in the session's time zone: "2026-11-30 10:00 (UTC+07:00)". */
static void
dialog_date(time_t t, char *buf, size_t len)
{
	struct tm tm;
	char zone[40];
	long off;

	if (localtime_r(&t, &tm) == NULL) {
		snprintf(buf, len, "?");
		return;
	}
	off = tm.tm_gmtoff;
	snprintf(zone, sizeof(zone), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
	    labs(off) % 3600 / 60);
	snprintf(buf, len, "%04d-%02d-%02d %02d:%02d (UTC%.6s)", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, zone);
}

/* A line about the documents whose signing_time is not now, or nothing. */
static void
dialog_times_write(FILE *f, const struct request_info *ri)
{
	char a[128], b[128];

	if (ri->doc_time_count == 0)
		return;
	dialog_date(ri->doc_time_min, a, sizeof(a));
	dialog_date(ri->doc_time_max, b, sizeof(b));
	if (ri->doc_time_count == ri->doc_count && strcmp(a, b) == 0)
		/* TRANSLATORS: a date and time such as 2026-11-30 10:00 (UTC+07:00) */
		fprintf(f, P_("It is signed with the date %1$s, not now.\n",
		    "They are signed with the date %1$s, not now.\n", ri->doc_count), a);
	else if (strcmp(a, b) == 0)
		/* TRANSLATORS: the number of documents, a date and time */
		fprintf(f, P_("%1$zu of them is signed with the date %2$s, not now.\n",
		    "%1$zu of them are signed with the date %2$s, not now.\n",
		    ri->doc_time_count), ri->doc_time_count, a);
	else
		/* TRANSLATORS: the number of documents, two dates and times */
		fprintf(f, P_("%1$zu of them is signed with a date from %2$s to %3$s, not now.\n",
		    "%1$zu of them are signed with dates from %2$s to %3$s, not now.\n",
		    ri->doc_time_count), ri->doc_time_count, a, b);
}

/* The caller, the batch's documents, the certificate, the token and the description. */
static void
dialog_batch_body(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *exe, const char *subject, const struct dialog_fit *fit, const char *ending,
    FILE *f)
{
	char what[DIALOG_DESC_SHOWN * 4 + 8], via[DIALOG_TEXT_MAX];
	int web = ri->origin[0] != '\0';
	size_t count = ri->doc_count;

	if (web)
		/* TRANSLATORS: the page's origin, the number of documents, the certificate's
		 * subject, the token's label and serial number */
		fprintf(f, P_("The web page %1$s asks to sign %2$zu document with "
		    "your certificate\n  %3$s\non token \"%4$s\" (serial %5$s).\n",
		    "The web page %1$s asks to sign %2$zu documents with your certificate\n"
		    "  %3$s\non token \"%4$s\" (serial %5$s).\n", count), ri->origin, count,
		    subject, tok->label, tok->serial);
	else
		/* TRANSLATORS: the program's executable, its pid, the number of documents,
		 * the certificate's subject, the token's label and serial number */
		fprintf(f, P_("The program %1$s (pid %2$ld) asks to sign %3$zu "
		    "document with your certificate\n  %4$s\non token \"%5$s\" (serial %6$s).\n",
		    "The program %1$s (pid %2$ld) asks to sign %3$zu documents with your "
		    "certificate\n  %4$s\non token \"%5$s\" (serial %6$s).\n", count), exe,
		    (long)ri->pid, count, subject, tok->label, tok->serial);
	if (web) {
		dialog_web_via(ri, fit, via, sizeof(via));
		fputs(via, f);
	}
	fprintf(f, "\n%s\n", web ?
	    P_("The document, as the web page names it:",
	    "The documents, as the web page names them:", count) :
	    P_("The document, as the program names it:",
	    "The documents, as the program names them:", count));
	dialog_list_write(f, ri->doc_list, fit->names, count);
	dialog_times_write(f, ri);
	if (ri->description != NULL && fit->desc > 0) {
		dialog_clean(ri->description, what, sizeof(what), fit->desc, 1);
		fprintf(f, "%s\n  \"%s\"\n", web ?
		    P_("What it is, in the web page's own words:",
		    "What they are, in the web page's own words:", count) :
		    P_("What it is, in the program's own words:",
		    "What they are, in the program's own words:", count), what);
	}
	fprintf(f, "\n%s", ending);
}

char *
dialog_document_names(const char *const *first, size_t nfirst)
{
	char clean[DIALOG_NAME_CLEAN_MAX * 4 + 8], name[DIALOG_DOC_NAME_SHOWN * 4 + 8];
	char *text = NULL;
	size_t size, shown = nfirst < DIALOG_DOCS_LISTED ? nfirst : DIALOG_DOCS_LISTED;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < shown; i++) {
		dialog_clean(first[i], clean, sizeof(clean), DIALOG_NAME_CLEAN_MAX, 0);
		dialog_mid_cut(clean, name, sizeof(name), DIALOG_DOC_NAME_SHOWN);
		fprintf(f, "%s%s", i > 0 ? "\n" : "", name);
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

char *
dialog_document_list(const char *const *first, size_t nfirst, size_t total)
{
	char *names = dialog_document_names(first, nfirst), *text = NULL;
	size_t size;
	FILE *f;
	locale_t old;

	if (names == NULL || (f = open_memstream(&text, &size)) == NULL) {
		free(names);
		return NULL;
	}
	old = kyso_i18n_enter();
	dialog_list_write(f, names, DIALOG_DOCS_LISTED, total);
	kyso_i18n_leave(old);
	free(names);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The body for one fit (dialog_fits) into f. */
static void
dialog_body_fit(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *ending, const struct dialog_fit *fit, FILE *f)
{
	char what[DIALOG_DESC_SHOWN * 4 + 8], e[1024], subj[1024], head[DIALOG_TEXT_MAX];
	const char *exe = dialog_exe_cut(ri->exe, fit->exe, e, sizeof(e));
	const char *subject = ri->subject != NULL ? ri->subject : "?";
	int web = ri->origin[0] != '\0';

	if (fit->subject > 0) {
		dialog_mid_cut(subject, subj, sizeof(subj), fit->subject);
		subject = subj;
	}
	if (ri->doc_count > 0) {
		dialog_batch_body(ri, tok, exe, subject, fit, ending, f);
		return;
	}
	if (ri->subject != NULL && web) {
		dialog_web_head(ri, tok, subject, fit, head, sizeof(head));
		fputs(head, f);
	} else if (ri->subject != NULL) {
		/* TRANSLATORS: the program's executable, its pid, the certificate's subject,
		 * the token's label and serial number */
		fprintf(f, _("The program %1$s (pid %2$ld) asks to sign with your "
		    "certificate\n  %3$s\non token \"%4$s\" (serial %5$s).\n\n"), exe,
		    (long)ri->pid, subject, tok->label, tok->serial);
	} else {
		/* TRANSLATORS: the program's executable, its pid, the token's label and
		 * serial number */
		fprintf(f, _("The program %1$s (pid %2$ld) asks to log in to token "
		    "\"%3$s\" (serial %4$s).\n\n"), exe, (long)ri->pid, tok->label, tok->serial);
	}
	if (ri->subject != NULL && ri->description != NULL && fit->desc > 0) {
		dialog_clean(ri->description, what, sizeof(what), fit->desc, 4);
		fprintf(f, "%s\n  \"%s\"\n\n", web ?
		    _("What is signed, in the web page's own words:") :
		    _("What is signed, in the program's own words:"), what);
	} else if (ri->subject != NULL && ri->description == NULL) {
		fprintf(f, "%s\n\n", web ?
		    _("The web page did not say what it signs.") :
		    _("The program did not say what it signs."));
	}
	fputs(ending, f);
}

/*
 * The caller, certificate, token and description, then ending: the body every dialog
 * shows, as much of each part as lets the whole fit one Assuan line (dialog_fits).
 */
static void
dialog_body(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *ending, char *buf, size_t len)
{
	char esc[DIALOG_TEXT_MAX * 3 + 1];  /* only its length is used */
	size_t nfits = sizeof(dialog_fits) / sizeof(dialog_fits[0]);

	buf[0] = '\0';
	for (size_t i = 0; i < nfits; i++) {
		char *text = NULL;
		size_t size = 0;
		FILE *f = open_memstream(&text, &size);

		if (f == NULL)
			return;
		dialog_body_fit(ri, tok, ending, &dialog_fits[i], f);
		if (fclose(f) != 0) {
			free(text);
			return;
		}
		snprintf(buf, len, "%s", text);
		free(text);
		if (size < len && pinentry_escape(buf, esc, sizeof(esc)) <= DIALOG_LINE_ROOM)
			return;
	}
}

int
dialog_text_fits(const char *text)
{
	char esc[DIALOG_TEXT_MAX * 3 + 1];

	return strlen(text) < DIALOG_TEXT_MAX &&
	    pinentry_escape(text, esc, sizeof(esc)) <= DIALOG_LINE_ROOM;
}

/* The warning above the PIN field, or NULL. */
static const char *
dialog_warning(const struct request_info *ri, const struct p11_token_desc *tok)
{
	int wrong = ri->last_pin_wrong;

	if (tok->flags & P11_TOKEN_USER_PIN_FINAL_TRY)
		return wrong ? _("The last PIN entered was wrong. This is the LAST try: one "
		    "more wrong PIN locks the token.") : _("This is the LAST try: a wrong PIN "
		    "locks the token.");
	if (tok->flags & P11_TOKEN_USER_PIN_COUNT_LOW)
		return wrong ? _("The last PIN entered was wrong. Few tries are left before the "
		    "PIN locks.") : _("Few tries are left before the PIN locks.");
	return wrong ? _("The last PIN entered was wrong.") : NULL;
}

/*
 * The session's locale, as setlocale(3) reads it from kysod's environment (LC_ALL, else
 * the category's variable, else LANG), for pinentry: pinentry-curses draws in the
 * character set of lc-ctype, and says its own words in the language of lc-messages (the
 * texts kysod sends are UTF-8 whatever the locale). NULL when none is set.
 */
static const char *
dialog_env_locale(const char *category)
{
	const char *v = getenv("LC_ALL");

	if (v == NULL || v[0] == '\0')
		v = getenv(category);
	if (v == NULL || v[0] == '\0')
		v = getenv("LANG");
	return v != NULL && v[0] != '\0' ? v : NULL;
}

static void
dialog_req(const struct request_info *ri, struct pinentry_req *q)
{
	memset(q, 0, sizeof(*q));
	q->program = ri->pinentry;
	q->timeout_s = ri->pinentry_timeout;
	q->tty = ri->tty;
	q->ttytype = ri->ttytype;
	q->lc_ctype = dialog_env_locale("LC_CTYPE");
	q->lc_messages = dialog_env_locale("LC_MESSAGES");
}

/* "10 minutes", "2 hours": a duration of the policy, in the dialog's language. */
static void
dialog_duration(long s, char *buf, size_t len)
{
	if (s % 3600 == 0)
		snprintf(buf, len, P_("%ld hour", "%ld hours", (unsigned long)(s / 3600)), s / 3600);
	else if (s % 60 == 0)
		snprintf(buf, len, P_("%ld minute", "%ld minutes", (unsigned long)(s / 60)), s / 60);
	else
		snprintf(buf, len, P_("%ld second", "%ld seconds", (unsigned long)s), s);
}

/*
 * What a login lasts under the policy, said where the PIN logs the token in and the login
 * is kept for other requests (login_cache): "" when it is not.
 */
static void
dialog_login_notice(const struct request_info *ri, char *buf, size_t len)
{
	char idle[64], max[64];

	buf[0] = '\0';
	if (!ri->login_cached)
		return;
	dialog_duration(ri->login_idle_s, idle, sizeof(idle));
	dialog_duration(ri->login_max_s, max, sizeof(max));
	if (ri->login_idle_s > 0 && ri->login_max_s > 0)
		/* TRANSLATORS: two durations, such as "10 minutes" and "2 hours"; leave
		 * "kyso lock" as it is (a command) */
		snprintf(buf, len, _("After this, programs you run can sign with this token "
		    "without asking for the PIN for up to %1$s of inactivity (%2$s at most); kyso "
		    "lock ends it."), idle, max);
	else if (ri->login_idle_s > 0)
		/* TRANSLATORS: a duration, such as "10 minutes" */
		snprintf(buf, len, _("After this, programs you run can sign with this token "
		    "without asking for the PIN for up to %s of inactivity; kyso lock ends it."),
		    idle);
	else if (ri->login_max_s > 0)
		/* TRANSLATORS: a duration, such as "2 hours" */
		snprintf(buf, len, _("After this, programs you run can sign with this token "
		    "without asking for the PIN for up to %s; kyso lock ends it."), max);
	else
		snprintf(buf, len, "%s", _("After this, programs you run can sign with this "
		    "token without asking for the PIN until you run kyso lock or remove the "
		    "token."));
}

/* What the PIN dialog asks for, under its body: what the login lasts, then the question. */
static void
dialog_pin_ending(const struct request_info *ri, int every_signature, char *buf, size_t len)
{
	char name[DIALOG_DOC_NAME_SHOWN * 4 + 8], clean[DIALOG_NAME_CLEAN_MAX * 4 + 8];
	int n = 0;

	/* a key that wants the PIN for every signature is not signed with unasked */
	if (!every_signature) {
		dialog_login_notice(ri, buf, len);
		if (buf[0] != '\0')
			snprintf(buf + strlen(buf), len - strlen(buf), "\n\n");
		n = (int)strlen(buf);
	}
	buf += n;
	len -= (size_t)n;
	if (ri->doc_count > 0 && every_signature) {
		dialog_clean(ri->document != NULL ? ri->document : "", clean, sizeof(clean),
		    DIALOG_NAME_CLEAN_MAX, 0);
		dialog_mid_cut(clean, name, sizeof(name), DIALOG_DOC_NAME_SHOWN);
		/* TRANSLATORS: the document's number in the batch, how many there are, and
		 * its name */
		snprintf(buf, len, _("This key needs the PIN for every signature. Enter the PIN "
		    "of the token to sign document %1$zu of %2$zu:\n  %3$s"), ri->doc_index + 1,
		    ri->doc_count, name);
	} else if (ri->doc_count > 0) {
		snprintf(buf, len, "%s", P_("Enter the PIN of the token to sign it.",
		    "Enter the PIN of the token to sign them all.", ri->doc_count));
	} else {
		snprintf(buf, len, "%s", every_signature ? _("This key needs the PIN for every "
		    "signature. Enter the PIN of the token to sign.") : ri->subject != NULL ?
		    _("Enter the PIN of the token to sign.") : _("Enter the PIN of the token to "
		    "log in."));
	}
}

int
dialog_pin_text(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, char *buf, size_t len)
{
	char ending[DIALOG_DOC_NAME_SHOWN * 4 + 1024];
	locale_t old = kyso_i18n_enter();

	dialog_pin_ending(ri, every_signature, ending, sizeof(ending));
	dialog_body(ri, tok, ending, buf, len);
	kyso_i18n_leave(old);
	return dialog_text_fits(buf);
}

int
dialog_pin(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, struct pinentry_abort *ab, struct kyso_secret **pin, char *why,
    size_t whylen)
{
	char body[DIALOG_TEXT_MAX];
	struct pinentry_req q;
	locale_t old;
	int r;

	*pin = NULL;
	(void)dialog_pin_text(ri, tok, every_signature, body, sizeof(body));
	old = kyso_i18n_enter();
	dialog_req(ri, &q);
	/* TRANSLATORS: the title of the PIN dialog's window */
	q.title = _("kyso: PIN");
	q.desc = body;
	/* TRANSLATORS: the label of the PIN field */
	q.prompt = _("PIN:");
	q.error = dialog_warning(ri, tok);
	/* TRANSLATORS: buttons of the PIN dialog */
	q.ok = ri->subject != NULL ? _("Sign") : _("Log in");
	q.cancel = _("Cancel");
	kyso_i18n_leave(old);
	r = pinentry_getpin(&q, ab, pin, why, whylen);
	if (r == KYSO_OK && secret_len(*pin) == 0) {
		secret_free(*pin);
		*pin = NULL;
		snprintf(why, whylen, "no PIN was entered");
		r = KYSO_ERR_CANCELLED;
	}
	return r;
}

int
dialog_confirm(const struct request_info *ri, const struct p11_token_desc *tok,
    struct pinentry_abort *ab, char *why, size_t whylen)
{
	char body[DIALOG_TEXT_MAX];
	struct pinentry_req q;
	locale_t old = kyso_i18n_enter();

	dialog_body(ri, tok, P_("Sign it?", "Sign them all?", ri->doc_count > 1 ?
	    ri->doc_count : 1), body, sizeof(body));
	dialog_req(ri, &q);
	q.title = _("kyso: confirm the signature");
	q.desc = body;
	q.ok = _("Sign");
	/* TRANSLATORS: the button that refuses a signature or a web page */
	q.cancel = _("Refuse");
	kyso_i18n_leave(old);
	return pinentry_confirm(&q, ab, why, whylen);
}

struct pinentry_popup *
dialog_pinpad(const struct request_info *ri, const struct p11_token_desc *tok)
{
	char body[DIALOG_TEXT_MAX], why[256], ending[1024];
	struct pinentry_popup *p = NULL;
	struct pinentry_req q;
	locale_t old;

	if (ri == NULL || ri->pinentry == NULL)
		return NULL;
	old = kyso_i18n_enter();
	dialog_login_notice(ri, ending, sizeof(ending));
	snprintf(ending + strlen(ending), sizeof(ending) - strlen(ending), "%s%s",
	    ending[0] != '\0' ? "\n\n" : "", _("Enter the PIN on the reader's PIN pad."));
	dialog_body(ri, tok, ending, body, sizeof(body));
	dialog_req(ri, &q);
	q.title = _("kyso: PIN pad");
	q.desc = body;
	kyso_i18n_leave(old);
	if (pinentry_popup_start(&q, &p, why, sizeof(why)) != KYSO_OK) {
		log_warn("cannot show the PIN-pad message: %s", why);
		return NULL;
	}
	return p;
}

void
dialog_pinpad_end(struct pinentry_popup *p)
{
	pinentry_popup_stop(p);
}

int
dialog_web_allow(const struct request_info *ri, struct pinentry_abort *ab, int *always,
    char *why, size_t whylen)
{
	char body[DIALOG_TEXT_MAX];
	struct pinentry_req q;
	locale_t old = kyso_i18n_enter();
	int r;

	*always = 0;
	/* TRANSLATORS: the page's origin (https://...), the browser's executable and pid */
	snprintf(body, sizeof(body), _("The web page\n  %1$s\nasks to use your signing "
	    "certificates: to see them, and to ask you for signatures.\nIt asks through the "
	    "browser %2$s (pid %3$ld).\n\nThis page is not among those your unit allows. Allow "
	    "it only if you know this site and opened it yourself.\nEvery signature it asks "
	    "for is still shown to you first."), ri->origin, dialog_exe(ri->browser),
	    (long)ri->browser_pid);
	dialog_req(ri, &q);
	q.title = _("kyso: a web page asks");
	q.desc = body;
	q.ok = _("Allow");
	q.cancel = _("Refuse");
	kyso_i18n_leave(old);
	if ((r = pinentry_confirm(&q, ab, why, whylen)) != KYSO_OK)
		return r;
	old = kyso_i18n_enter();
	/* a second question, so that no answer but a clear "always" remembers the page */
	/* TRANSLATORS: the page's origin, the minutes "only for now" lasts, the origin again
	 * (in a command: leave "kyso web-origins --forget" as it is) */
	snprintf(body, sizeof(body), _("Allow the web page\n  %1$s\nfrom now on, without "
	    "asking again?\n\nOnly for now: it is asked about again once it has not asked for "
	    "%2$d minutes.\n(kyso web-origins --forget %3$s takes either back.)"), ri->origin,
	    WEB_ONCE_TTL_S / 60, ri->origin);
	q.title = _("kyso: remember this web page?");
	/* TRANSLATORS: buttons of the second web question */
	q.ok = _("Always allow");
	q.cancel = _("Only for now");
	kyso_i18n_leave(old);
	r = pinentry_confirm(&q, ab, why, whylen);
	if (r == KYSO_OK)
		*always = 1;
	else if (r == KYSO_ERR_CANCELLED && pinentry_abort_fired(ab))
		return r;   /* ended from outside: the call is not served */
	return KYSO_OK;
}
