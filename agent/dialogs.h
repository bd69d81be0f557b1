/*
 * dialogs.h — what a worker asks the officer, through pinentry: the PIN, a confirmation
 * before a signature, and the message shown while a PIN-pad reader waits for the PIN.
 *
 * Each dialog names the calling program (executable and pid, from the socket's peer
 * credentials), the certificate (subject), the token (label, serial) and the client's
 * description of what is signed, clearly marked as the program's own words (for a
 * SignDocuments batch: how many documents, the first names, one consent for them all,
 * and for a key that wants the PIN for every signature, which document; for a web
 * page's request: the page's origin and the browser, and the page's own words); a PIN
 * dialog warns when the token says few tries are left or after a wrong PIN, and says how
 * long the login it makes is kept for other programs (the policy's login_cache). A text
 * always fits one Assuan line: the program's words are shortened, never the dialog's
 * first and last lines. They run in
 * the token's worker thread: one dialog per token at a time, nothing else waits for
 * them.
 */
#ifndef KYSO_DIALOGS_H
#define KYSO_DIALOGS_H

#include <stddef.h>

struct kyso_secret;
struct p11_token_desc;
struct pinentry_abort;
struct pinentry_popup;
struct request_info;

/* A web page allowed "only for now" is asked about again after this long unused. */
#define WEB_ONCE_TTL_S 600

/*
 * Asks for the user PIN of token tok for the request ri (every_signature: the key wants
 * the PIN for each signature; the dialog says so). ab ends the dialog from another thread.
 * Returns KYSO_OK with *pin (an empty PIN is KYSO_ERR_CANCELLED), KYSO_ERR_CANCELLED,
 * KYSO_ERR_TIMEOUT (nobody answered in time), or KYSO_ERR_PINENTRY / KYSO_ERR_NOMEM with a
 * sentence in why.
 */
int dialog_pin(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, struct pinentry_abort *ab, struct kyso_secret **pin, char *why,
    size_t whylen);

/*
 * Asks the officer to confirm the signature ri asks for. Returns KYSO_OK (confirmed),
 * KYSO_ERR_CANCELLED (refused), KYSO_ERR_TIMEOUT, or KYSO_ERR_PINENTRY / KYSO_ERR_NOMEM
 * with a sentence in why.
 */
int dialog_confirm(const struct request_info *ri, const struct p11_token_desc *tok,
    struct pinentry_abort *ab, char *why, size_t whylen);

/*
 * Shows "enter the PIN on the reader" while a PIN-pad reader waits. Returns the popup to
 * close with dialog_pinpad_end, or NULL when none could be shown (logged; the login goes
 * on without it).
 */
struct pinentry_popup *dialog_pinpad(const struct request_info *ri,
    const struct p11_token_desc *tok);

/* Closes the PIN-pad message; NULL is allowed. */
void dialog_pinpad_end(struct pinentry_popup *p);

/*
 * The names a batch's consent dialog may list (request_info.doc_list): the first few of
 * the nfirst names given, cleaned (no control, separator or bidirectional character) and
 * cut in the middle when long, one a line. Returns a malloc'd string, or NULL on ENOMEM.
 */
char *dialog_document_names(const char *const *first, size_t nfirst);

/*
 * The list the consent dialog shows when it has room for it all: the names of
 * dialog_document_names, indented, one a line, then "and N more" for the rest of total.
 * Returns a malloc'd string, or NULL on ENOMEM.
 */
char *dialog_document_list(const char *const *first, size_t nfirst, size_t total);

/*
 * The text of the PIN dialog for ri on tok (what dialog_pin shows) into buf: as much of
 * the program's path, the subject, the names and the description as lets it fit one
 * Assuan line, the first lines (who asks, what) and the last (what to do) whole.
 * Returns 1 if the text fits one Assuan line escaped, 0 if even the shortest form does
 * not (pinentry then cuts its end).
 */
int dialog_pin_text(const struct request_info *ri, const struct p11_token_desc *tok,
    int every_signature, char *buf, size_t len);

/* Returns 1 if text, percent-escaped, fits one SETDESC line of Assuan, else 0. */
int dialog_text_fits(const char *text);

/*
 * Asks whether the web page of ri (ri->origin, not in web_origins) may ask at all: Allow
 * or Refuse; then, if allowed, whether to remember it (Always allow, or Only for now:
 * anything but "Always allow" means for now only, WEB_ONCE_TTL_S). Runs in a thread of its own (web.c).
 * Returns KYSO_OK with *always (1: remember), KYSO_ERR_CANCELLED (refused, or ab fired),
 * KYSO_ERR_TIMEOUT, or KYSO_ERR_PINENTRY / KYSO_ERR_NOMEM with a sentence in why.
 */
int dialog_web_allow(const struct request_info *ri, struct pinentry_abort *ab, int *always,
    char *why, size_t whylen);

#endif
