/* dialogs.c — the texts of the PIN, confirmation and PIN-pad dialogs, and their calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dialogs.h"
#include "encode.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "pinentry.h"
#include "request.h"
#include "secret.h"

#define DIALOG_TEXT_MAX 4096
#define DIALOG_DESC_SHOWN 400  /* characters of the client's description, in a dialog */
/* A batch's dialog lists a few documents and says what they are more briefly: the text
 * must fit one Assuan line (1000 bytes, escapes included) */
#define DIALOG_BATCH_DESC_SHOWN 160
#define DIALOG_DOCS_LISTED 5
#define DIALOG_DOC_NAME_SHOWN 48

/*
 * Returns 1 if the character of the k-byte UTF-8 sequence at p (k > 1) would let a
 * program's text redraw the dialog around it: a C1 control (U+0080..U+009F, such as
 * NEXT LINE, a line break to some toolkits), the line and paragraph separators, and the
 * bidirectional marks, embeddings, overrides and isolates, which reorder what follows
 * them ("invoice<U+202E>fdp.exe" reads "invoiceexe.pdf").
 */
static int
dialog_format_char(const unsigned char *p, size_t k)
{
	unsigned cp = k == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu) :
	    k == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu) : 0;

	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	    (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/*
 * Copies the client's text for display: at most max characters, cut between two
 * characters; control characters (other than line breaks, at most breaks_max of them),
 * separators and bidirectional controls (dialog_format_char) and bytes that are not
 * UTF-8 become spaces, so that it cannot redraw the dialog.
 */
static void
dialog_clean(const char *in, char *out, size_t len, size_t max, int breaks_max)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, chars = 0, k;
	int breaks = 0;

	for (; *p != '\0' && chars < max; p += k, chars++) {
		k = utf8_seq(p);
		if (i + (k > 0 ? k : 1) + 4 >= len)
			break;
		if (k > 1 && dialog_format_char(p, k)) {
			out[i++] = ' ';
			continue;
		}
		if (k > 1) {
			memcpy(out + i, p, k);
			i += k;
			continue;
		}
		k = 1;
		if (*p == '\n' && breaks < breaks_max) {
			breaks++;
			out[i++] = '\n';
		} else {
			out[i++] = *p < 0x20 || *p >= 0x7f ? ' ' : (char)*p;
		}
	}
	if (*p != '\0')
		i += (size_t)snprintf(out + i, len - i, "...");
	out[i < len ? i : len - 1] = '\0';
}

/* A program's executable as shown: its path, or a phrase when it cannot be read. */
static const char *
dialog_exe(const char *exe)
{
	return exe[0] != '\0' && strcmp(exe, "?") != 0 ? exe :
	    "(a program whose executable cannot be read)";
}

/* For a web page's request: "It asks through the browser B (pid) and its kyso host..." */
static int
dialog_web_via(const struct request_info *ri, char *buf, size_t len)
{
	return snprintf(buf, len, "It asks through the browser %s (pid %ld) and its kyso host "
	    "%s (pid %ld).\n", dialog_exe(ri->browser), (long)ri->browser_pid,
	    dialog_exe(ri->exe), (long)ri->pid);
}

/* "The web page X asks to sign with your certificate ... It asks through ..." */
static int
dialog_web_head(const struct request_info *ri, const struct p11_token_desc *tok, char *buf,
    size_t len)
{
	int n = snprintf(buf, len, "The web page %s asks to sign with your certificate\n  %s\n"
	    "on token \"%s\" (serial %s).\n", ri->origin, ri->subject, tok->label, tok->serial);

	if (n < 0 || (size_t)n >= len)
		return n;
	n += dialog_web_via(ri, buf + n, len - (size_t)n);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\n");
	return n;
}

/* The caller, the batch's documents, the certificate, the token and the description. */
static void
dialog_batch_body(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *exe, const char *ending, char *buf, size_t len)
{
	char what[DIALOG_BATCH_DESC_SHOWN * 4 + 8], count[40];
	const char *who = ri->origin[0] != '\0' ? "web page" : "program";
	int one = ri->doc_count == 1, n;

	snprintf(count, sizeof(count), one ? "a document" : "%zu documents", ri->doc_count);
	if (ri->origin[0] != '\0')
		n = snprintf(buf, len, "The web page %s asks to sign %s with your certificate\n"
		    "  %s\non token \"%s\" (serial %s).\n", ri->origin, count,
		    ri->subject != NULL ? ri->subject : "?", tok->label, tok->serial);
	else
		n = snprintf(buf, len, "The program %s (pid %ld) asks to sign %s with your "
		    "certificate\n  %s\non token \"%s\" (serial %s).\n", exe, (long)ri->pid,
		    count, ri->subject != NULL ? ri->subject : "?", tok->label, tok->serial);
	if (n >= 0 && (size_t)n < len && ri->origin[0] != '\0')
		n += dialog_web_via(ri, buf + n, len - (size_t)n);
	if (n >= 0 && (size_t)n < len)
		n += snprintf(buf + n, len - (size_t)n, "\nThe document%s, as the %s names %s:\n%s\n",
		    one ? "" : "s", who, one ? "it" : "them", ri->doc_list != NULL ?
		    ri->doc_list : "");
	if (n < 0 || (size_t)n >= len)
		return;
	if (ri->description != NULL) {
		dialog_clean(ri->description, what, sizeof(what), DIALOG_BATCH_DESC_SHOWN, 1);
		n += snprintf(buf + n, len - (size_t)n, "What %s, in the %s's own words:\n"
		    "  \"%s\"\n", one ? "it is" : "they are", who, what);
	}
	if (n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "\n%s", ending);
}

char *
dialog_document_list(const char *const *first, size_t nfirst, size_t total)
{
	char name[DIALOG_DOC_NAME_SHOWN * 4 + 8], *text = NULL;
	size_t size, shown = nfirst < DIALOG_DOCS_LISTED ? nfirst : DIALOG_DOCS_LISTED;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return NULL;
	for (size_t i = 0; i < shown; i++) {
		dialog_clean(first[i], name, sizeof(name), DIALOG_DOC_NAME_SHOWN, 0);
		fprintf(f, "  %s\n", name);
	}
	if (total > shown)
		fprintf(f, "  and %zu more\n", total - shown);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The caller, certificate, token and description: the body every dialog shows. */
static void
dialog_body(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *ending, char *buf, size_t len)
{
	char what[DIALOG_DESC_SHOWN * 4 + 8];
	const char *exe = dialog_exe(ri->exe);
	const char *who = ri->origin[0] != '\0' ? "web page" : "program";
	int n;

	if (ri->doc_count > 0) {
		dialog_batch_body(ri, tok, exe, ending, buf, len);
		return;
	}
	if (ri->subject != NULL && ri->origin[0] != '\0')
		n = dialog_web_head(ri, tok, buf, len);
	else if (ri->subject != NULL)
		n = snprintf(buf, len, "The program %s (pid %ld) asks to sign with your "
		    "certificate\n  %s\non token \"%s\" (serial %s).\n\n", exe, (long)ri->pid,
		    ri->subject, tok->label, tok->serial);
	else
		n = snprintf(buf, len, "The program %s (pid %ld) asks to log in to token "
		    "\"%s\" (serial %s).\n\n", exe, (long)ri->pid, tok->label, tok->serial);
	if (n < 0 || (size_t)n >= len)
		return;
	if (ri->subject != NULL && ri->description != NULL) {
		dialog_clean(ri->description, what, sizeof(what), DIALOG_DESC_SHOWN, 4);
		n += snprintf(buf + n, len - (size_t)n, "What is signed, in the %s's own "
		    "words:\n  \"%s\"\n\n", who, what);
	} else if (ri->subject != NULL) {
		n += snprintf(buf + n, len - (size_t)n, "The %s did not say what it signs.\n\n",
		    who);
	}
	if (n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n, "%s", ending);
}

/* The warning above the PIN field, or NULL. */
static const char *
dialog_warning(const struct request_info *ri, const struct p11_token_desc *tok)
{
	int wrong = ri->last_pin_wrong;

	if (tok->flags & P11_TOKEN_USER_PIN_FINAL_TRY)
		return wrong ? "The last PIN entered was wrong. This is the LAST try: one more "
		    "wrong PIN locks the token." : "This is the LAST try: a wrong PIN locks the "
		    "token.";
	if (tok->flags & P11_TOKEN_USER_PIN_COUNT_LOW)
		return wrong ? "The last PIN entered was wrong. Few tries are left before the "
		    "PIN locks." : "Few tries are left before the PIN locks.";
	return wrong ? "The last PIN entered was wrong." : NULL;
}

static void
dialog_req(const struct request_info *ri, struct pinentry_req *q)
{
	memset(q, 0, sizeof(*q));
	q->program = ri->pinentry;
	q->timeout_s = ri->pinentry_timeout;
	q->tty = ri->tty;
	q->ttytype = ri->ttytype;
}

/* What the PIN dialog asks for, under its body. */
static void
dialog_pin_ending(const struct request_info *ri, int every_signature, char *buf, size_t len)
{
	char name[DIALOG_DOC_NAME_SHOWN * 4 + 8];

	if (ri->doc_count > 0 && every_signature) {
		dialog_clean(ri->document != NULL ? ri->document : "", name, sizeof(name),
		    DIALOG_DOC_NAME_SHOWN, 0);
		snprintf(buf, len, "This key needs the PIN for every signature. Enter the PIN "
		    "of the token to sign document %zu of %zu:\n  %s", ri->doc_index + 1,
		    ri->doc_count, name);
	} else if (ri->doc_count > 0) {
		snprintf(buf, len, "Enter the PIN of the token to sign %s.", ri->doc_count == 1 ?
		    "it" : "them all");
	} else {
		snprintf(buf, len, "%s", every_signature ? "This key needs the PIN for every "
		    "signature. Enter the PIN of the token to sign." : ri->subject != NULL ?
		    "Enter the PIN of the token to sign." : "Enter the PIN of the token to log "
		    "in.");
	}
}

int
dialog_pin(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, struct pinentry_abort *ab, struct kyso_secret **pin, char *why,
    size_t whylen)
{
	char body[DIALOG_TEXT_MAX], ending[DIALOG_DOC_NAME_SHOWN * 4 + 160];
	struct pinentry_req q;
	int r;

	*pin = NULL;
	dialog_pin_ending(ri, every_signature, ending, sizeof(ending));
	dialog_body(ri, tok, ending, body, sizeof(body));
	dialog_req(ri, &q);
	q.title = "kyso: PIN";
	q.desc = body;
	q.prompt = "PIN:";
	q.error = dialog_warning(ri, tok);
	q.ok = ri->subject != NULL ? "Sign" : "Log in";
	q.cancel = "Cancel";
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

	dialog_body(ri, tok, ri->doc_count > 1 ? "Sign them all?" : "Sign it?", body,
	    sizeof(body));
	dialog_req(ri, &q);
	q.title = "kyso: confirm the signature";
	q.desc = body;
	q.ok = "Sign";
	q.cancel = "Refuse";
	return pinentry_confirm(&q, ab, why, whylen);
}

struct pinentry_popup *
dialog_pinpad(const struct request_info *ri, const struct p11_token_desc *tok)
{
	char body[DIALOG_TEXT_MAX], why[256];
	struct pinentry_popup *p = NULL;
	struct pinentry_req q;

	if (ri == NULL || ri->pinentry == NULL)
		return NULL;
	dialog_body(ri, tok, "Enter the PIN on the reader's PIN pad.", body, sizeof(body));
	dialog_req(ri, &q);
	q.title = "kyso: PIN pad";
	q.desc = body;
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
	int r;

	*always = 0;
	snprintf(body, sizeof(body), "The web page\n  %s\nasks to use your signing "
	    "certificates: to see them, and to ask you for signatures.\nIt asks through the "
	    "browser %s (pid %ld).\n\nThis page is not among those your unit allows. Allow it "
	    "only if you know this site and opened it yourself.\nEvery signature it asks for "
	    "is still shown to you first.", ri->origin, dialog_exe(ri->browser),
	    (long)ri->browser_pid);
	dialog_req(ri, &q);
	q.title = "kyso: a web page asks";
	q.desc = body;
	q.ok = "Allow";
	q.cancel = "Refuse";
	if ((r = pinentry_confirm(&q, ab, why, whylen)) != KYSO_OK)
		return r;
	/* a second question, so that no answer but a clear "always" remembers the page */
	snprintf(body, sizeof(body), "Allow the web page\n  %s\nfrom now on, without asking "
	    "again?\n\nOnly for now: it is asked about again once it has not asked for %d "
	    "minutes.\n(kyso web-origins --forget %s takes either back.)", ri->origin,
	    WEB_ONCE_TTL_S / 60, ri->origin);
	q.title = "kyso: remember this web page?";
	q.ok = "Always allow";
	q.cancel = "Only for now";
	r = pinentry_confirm(&q, ab, why, whylen);
	if (r == KYSO_OK)
		*always = 1;
	else if (r == KYSO_ERR_CANCELLED && pinentry_abort_fired(ab))
		return r;   /* ended from outside: the call is not served */
	return KYSO_OK;
}
