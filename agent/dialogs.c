/* dialogs.c — the texts of the PIN, confirmation and PIN-pad dialogs, and their calls. */
#include <stdio.h>
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

/*
 * Copies the client's description for display: at most DIALOG_DESC_SHOWN characters, cut
 * between two characters; control characters (other than line breaks, at most four of
 * them) and bytes that are not UTF-8 become spaces, so that it cannot redraw the dialog.
 */
static void
dialog_clean(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, chars = 0, k;
	int breaks = 0;

	for (; *p != '\0' && chars < DIALOG_DESC_SHOWN; p += k, chars++) {
		k = utf8_seq(p);
		if (i + (k > 0 ? k : 1) + 4 >= len)
			break;
		if (k > 1) {
			memcpy(out + i, p, k);
			i += k;
			continue;
		}
		k = 1;
		if (*p == '\n' && breaks < 4) {
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

/* The caller, certificate, token and description: the body every dialog shows. */
static void
dialog_body(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *ending, char *buf, size_t len)
{
	char what[DIALOG_DESC_SHOWN * 4 + 8];
	const char *exe = ri->exe[0] != '\0' && strcmp(ri->exe, "?") != 0 ? ri->exe :
	    "(a program whose executable cannot be read)";
	int n;

	if (ri->subject != NULL)
		n = snprintf(buf, len, "The program %s (pid %ld) asks to sign with your "
		    "certificate\n  %s\non token \"%s\" (serial %s).\n\n", exe, (long)ri->pid,
		    ri->subject, tok->label, tok->serial);
	else
		n = snprintf(buf, len, "The program %s (pid %ld) asks to log in to token "
		    "\"%s\" (serial %s).\n\n", exe, (long)ri->pid, tok->label, tok->serial);
	if (n < 0 || (size_t)n >= len)
		return;
	if (ri->subject != NULL && ri->description != NULL) {
		dialog_clean(ri->description, what, sizeof(what));
		n += snprintf(buf + n, len - (size_t)n, "What is signed, in the program's own "
		    "words:\n  \"%s\"\n\n", what);
	} else if (ri->subject != NULL) {
		n += snprintf(buf + n, len - (size_t)n, "The program did not say what it "
		    "signs.\n\n");
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

int
dialog_pin(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, struct pinentry_abort *ab, struct kyso_secret **pin, char *why,
    size_t whylen)
{
	char body[DIALOG_TEXT_MAX];
	struct pinentry_req q;
	int r;

	*pin = NULL;
	dialog_body(ri, tok, every_signature ? "This key needs the PIN for every signature. "
	    "Enter the PIN of the token to sign." : ri->subject != NULL ? "Enter the PIN of "
	    "the token to sign." : "Enter the PIN of the token to log in.", body, sizeof(body));
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

	dialog_body(ri, tok, "Sign it?", body, sizeof(body));
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
