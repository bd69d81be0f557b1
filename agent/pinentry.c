/*
 * pinentry.c — the pinentry client's dialogs (see pinentry.h): the abort object, the PIN,
 * confirmation and popup calls, and the Assuan conversation of each dialog (the options
 * and texts, the question, the PIN collected in a locked page, how it went, in a code and
 * a sentence). The pinentry process itself, its watchdog and libassuan's set-up are in
 * pinentry_proc.c.
 */
#include <assuan.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "pinentry.h"
#include "pinentry_internal.h"
#include "secret.h"

#define LINE_MAX_BYTES (ASSUAN_LINELENGTH - 2)  /* an Assuan line without CR LF: 1000 */

enum { STAGE_CONNECT, STAGE_SETUP, STAGE_ASK };
enum { ASK_PIN, ASK_CONFIRM, ASK_POPUP };

/* ---- the dialog ---- */

static void
say(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
bad_option(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;

	if (v == NULL)
		return 0;
	if (strlen(v) > 512)
		return 1;
	for (; *s; s++)
		if (*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static void
dlg_free(struct pinentry_dialog *d)
{
	pthread_cond_destroy(&d->cv);
	pthread_mutex_destroy(&d->mu);
	free(d);
}

static void
ab_unlink(struct pinentry_dialog *d)
{
	struct pinentry_dialog **pp;

	if (d->ab == NULL)
		return;
	pthread_mutex_lock(&d->ab->mu);
	for (pp = &d->ab->dialogs; *pp != NULL && *pp != d; pp = &(*pp)->ab_next)
		;
	if (*pp == d)
		*pp = d->ab_next;
	pthread_mutex_unlock(&d->ab->mu);
	d->ab = NULL;
}

/* Checks q, registers with ab and starts the watchdog. */
static int
dlg_new(const struct pinentry_req *q, struct pinentry_abort *ab, int use_timeout,
    struct pinentry_dialog **out, char *why, size_t whylen)
{
	struct pinentry_dialog *d;
	pthread_condattr_t ca;

	*out = NULL;
	if (q == NULL || q->program == NULL || q->program[0] == '\0') {
		say(why, whylen, "no pinentry program was given");
		return KYSO_ERR_INVALID_ARG;
	}
	if (bad_option(q->tty) || bad_option(q->ttytype) || bad_option(q->lc_ctype) ||
	    bad_option(q->lc_messages)) {
		say(why, whylen, "the terminal name or type for pinentry is not valid");
		return KYSO_ERR_INVALID_ARG;
	}
	if (!pinproc_init()) {
		say(why, whylen, "libassuan or libgpg-error failed to initialise");
		return KYSO_ERR_PINENTRY;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		goto nomem;
	pthread_mutex_init(&d->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cv, &ca);
	pthread_condattr_destroy(&ca);
	d->program = q->program;
	if (use_timeout && q->timeout_s > 0) {
		d->limit_ms = (q->timeout_s + PINENTRY_GRACE_S) * 1000L;
		pinproc_arm(d);
	}
	if (ab != NULL) {
		pthread_mutex_lock(&ab->mu);
		if (ab->aborted) {
			pthread_mutex_unlock(&ab->mu);
			dlg_free(d);
			say(why, whylen, "the dialog was aborted before pinentry '%s' started",
			    q->program);
			return KYSO_ERR_CANCELLED;
		}
		d->ab = ab;
		d->ab_next = ab->dialogs;
		ab->dialogs = d;
		pthread_mutex_unlock(&ab->mu);
	}
	if (pthread_create(&d->wd, NULL, pinproc_watchdog, d) != 0) {
		ab_unlink(d);
		dlg_free(d);
		goto nomem;
	}
	*out = d;
	return KYSO_OK;
nomem:
	say(why, whylen, "out of memory starting pinentry '%s'", q->program);
	return KYSO_ERR_NOMEM;
}

static gpg_error_t
send_text(struct pinentry_dialog *d, const char *verb, const char *text)
{
	char line[LINE_MAX_BYTES + 1];
	size_t n = strlen(verb);

	if (text == NULL)
		return 0;
	d->what = verb;
	memcpy(line, verb, n);
	line[n++] = ' ';
	pinentry_escape(text, line + n, sizeof(line) - n);
	return assuan_transact(d->ctx, line, NULL, NULL, NULL, NULL, NULL, NULL);
}

static gpg_error_t
send_option(struct pinentry_dialog *d, const char *name, const char *value)
{
	char line[LINE_MAX_BYTES + 1];

	if (value == NULL)
		return 0;
	d->what = "OPTION";
	snprintf(line, sizeof(line), "OPTION %s=%s", name, value);
	return assuan_transact(d->ctx, line, NULL, NULL, NULL, NULL, NULL, NULL);
}

/* Starts the pinentry and gives it the texts. */
static gpg_error_t
dlg_setup(struct pinentry_dialog *d, const struct pinentry_req *q, int use_timeout)
{
	const char *argv[] = { q->program, NULL };
	char line[64];
	gpg_error_t err;

	d->stage = STAGE_CONNECT;
	err = pinproc_ctx_new(d);
	if (err)
		return err;
	err = assuan_pipe_connect(d->ctx, q->program, argv, NULL, NULL, NULL, 0);
	if (err)
		return err;
	d->stage = STAGE_SETUP;
	if ((err = send_option(d, "ttyname", q->tty)) ||
	    (err = send_option(d, "ttytype", q->ttytype)) ||
	    (err = send_option(d, "lc-ctype", q->lc_ctype)) ||
	    (err = send_option(d, "lc-messages", q->lc_messages)))
		return err;
	if (use_timeout && q->timeout_s > 0) {
		d->what = "SETTIMEOUT";
		snprintf(line, sizeof(line), "SETTIMEOUT %ld", q->timeout_s);
		err = assuan_transact(d->ctx, line, NULL, NULL, NULL, NULL, NULL, NULL);
		if (err && gpg_err_code(err) != GPG_ERR_ASS_UNKNOWN_CMD)
			return err;
	}
	if ((err = send_text(d, "SETTITLE", q->title)) ||
	    (err = send_text(d, "SETDESC", q->desc)) ||
	    (err = send_text(d, "SETPROMPT", q->prompt)) ||
	    (err = send_text(d, "SETERROR", q->error)) ||
	    (err = send_text(d, "SETOK", q->ok)) ||
	    (err = send_text(d, "SETCANCEL", q->cancel)))
		return err;
	if (d->limit_ms > 0)
		pinproc_arm(d);
	d->stage = STAGE_ASK;
	return 0;
}

/*
 * Says BYE and closes the pipes, waits for the child to leave (the watchdog kills it if it
 * stays), leaves ab, stops the watchdog, reaps. Returns the child's wait status or -1.
 */
static int
dlg_end(struct pinentry_dialog *d)
{
	pid_t pid = pinproc_bye(d);

	ab_unlink(d);
	return pinproc_reap(d, pid);
}

/* Turns how the dialog went into a kyso code and a sentence. */
static int
dlg_outcome(struct pinentry_dialog *d, int kind, gpg_error_t err, int status, long timeout_s,
    char *why, size_t whylen)
{
	const char *p = d->program;
	gpg_err_code_t code = gpg_err_code(err);
	char st[64];
	int killed;

	pthread_mutex_lock(&d->mu);
	killed = d->killed;
	pthread_mutex_unlock(&d->mu);
	if (killed == KILL_ABORT) {
		say(why, whylen, "the dialog of pinentry '%s' was aborted", p);
		return KYSO_ERR_CANCELLED;
	}
	if (!err)
		return KYSO_OK;
	if (killed == KILL_TIMEOUT) {
		say(why, whylen, "pinentry '%s' did not answer within %ld s and was stopped", p,
		    timeout_s);
		return KYSO_ERR_TIMEOUT;
	}
	if (d->spawn_err == ENOENT) {
		say(why, whylen, "pinentry program '%s' not found", p);
		return KYSO_ERR_PINENTRY;
	}
	if (d->spawn_err != 0) {
		say(why, whylen, "cannot run pinentry program '%s': %s", p, strerror(d->spawn_err));
		return d->spawn_err == ENOMEM ? KYSO_ERR_NOMEM : KYSO_ERR_PINENTRY;
	}
	if (code == GPG_ERR_ENOMEM) {
		say(why, whylen, "out of memory talking to pinentry '%s'", p);
		return KYSO_ERR_NOMEM;
	}
	if (d->stage == STAGE_ASK) {
		if (code == GPG_ERR_CANCELED || code == GPG_ERR_FULLY_CANCELED ||
		    code == GPG_ERR_ASS_CANCELED || code == GPG_ERR_NOT_CONFIRMED) {
			say(why, whylen, kind == ASK_CONFIRM ? "the confirmation was refused" :
			    "the PIN dialog was cancelled");
			return KYSO_ERR_CANCELLED;
		}
		if (code == GPG_ERR_TIMEOUT) {
			say(why, whylen, "nobody answered the dialog within %ld s", timeout_s);
			return KYSO_ERR_TIMEOUT;
		}
		if (code == GPG_ERR_TOO_LARGE) {
			say(why, whylen, "pinentry '%s' returned a PIN longer than %d bytes", p,
			    PINENTRY_PIN_MAX);
			return KYSO_ERR_PINENTRY;
		}
	}
	pinproc_describe_status(status, st, sizeof(st));
	if (code == GPG_ERR_EOF || code == GPG_ERR_ASS_READ_ERROR ||
	    code == GPG_ERR_ASS_WRITE_ERROR) {
		say(why, whylen, d->stage == STAGE_CONNECT ? "pinentry '%s' ended at once%s" :
		    "pinentry '%s' ended without answering%s", p, st);
	} else if (d->stage == STAGE_CONNECT) {
		say(why, whylen, "pinentry '%s' did not start as an Assuan server: %s", p,
		    gpg_strerror(err));
	} else if (d->stage == STAGE_SETUP) {
		say(why, whylen, "pinentry '%s' refused %s: %s", p, d->what, gpg_strerror(err));
	} else if (gpg_err_code(err) == GPG_ERR_ENOTTY) {
		/* pinentry-curses or -tty without a terminal (no GPG_TTY), and no display */
		say(why, whylen, "pinentry '%s' could not show a dialog: it found no display "
		    "and no terminal to show it on", p);
	} else {
		say(why, whylen, "pinentry '%s' could not show a dialog: %s", p,
		    gpg_strerror(err));
	}
	return KYSO_ERR_PINENTRY;
}

/* ---- the PIN, collected in a locked page ---- */

struct pinbuf {
	char *buf;      /* PINENTRY_PIN_MAX bytes, locked */
	size_t len;
	size_t map_len;
};

static gpg_error_t
pin_data(void *arg, const void *data, size_t n)
{
	struct pinbuf *b = arg;

	if (n > PINENTRY_PIN_MAX - b->len)
		return gpg_error(GPG_ERR_TOO_LARGE);
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	return 0;
}

static int
pinbuf_open(struct pinbuf *b)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p;

	b->len = 0;
	b->map_len = (PINENTRY_PIN_MAX + (size_t)page - 1) / (size_t)page * (size_t)page;
	p = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return KYSO_ERR_NOMEM;
	(void)madvise(p, b->map_len, MADV_DONTDUMP);
	(void)mlock(p, b->map_len);  /* secret.c warns once when locking is not allowed */
	b->buf = p;
	return KYSO_OK;
}

static void
pinbuf_close(struct pinbuf *b)
{
	explicit_bzero(b->buf, b->map_len);
	(void)munlock(b->buf, b->map_len);
	(void)munmap(b->buf, b->map_len);
	b->buf = NULL;
	b->len = 0;
}

/* ---- the API ---- */

static int
run_dialog(const struct pinentry_req *q, struct pinentry_abort *ab, int kind,
    struct kyso_secret **pin, char *why, size_t whylen)
{
	struct pinentry_dialog *d;
	struct pinbuf pb = { 0 };
	gpg_error_t err;
	int rc, status;

	if (kind == ASK_PIN && pin == NULL) {
		say(why, whylen, "no place for the PIN was given");
		return KYSO_ERR_INVALID_ARG;
	}
	if (pin != NULL)
		*pin = NULL;
	if (kind == ASK_PIN && pinbuf_open(&pb) != KYSO_OK) {
		say(why, whylen, "out of memory for the PIN");
		return KYSO_ERR_NOMEM;
	}
	rc = dlg_new(q, ab, 1, &d, why, whylen);
	if (rc != KYSO_OK) {
		if (pb.buf != NULL)
			pinbuf_close(&pb);
		return rc;
	}
	err = dlg_setup(d, q, 1);
	if (!err && kind == ASK_PIN) {
		assuan_begin_confidential(d->ctx);
		err = assuan_transact(d->ctx, "GETPIN", pin_data, &pb, NULL, NULL, NULL, NULL);
		assuan_end_confidential(d->ctx);
	} else if (!err) {
		err = assuan_transact(d->ctx, "CONFIRM", NULL, NULL, NULL, NULL, NULL, NULL);
	}
	status = dlg_end(d);
	rc = dlg_outcome(d, kind, err, status, q->timeout_s, why, whylen);
	if (rc == KYSO_OK && kind == ASK_PIN && secret_new(pb.buf, pb.len, pin) != KYSO_OK) {
		say(why, whylen, "out of memory for the PIN");
		rc = KYSO_ERR_NOMEM;
	}
	if (pb.buf != NULL)
		pinbuf_close(&pb);
	dlg_free(d);
	return rc;
}

int
pinentry_getpin(const struct pinentry_req *q, struct pinentry_abort *ab,
    struct kyso_secret **pin, char *why, size_t whylen)
{
	return run_dialog(q, ab, ASK_PIN, pin, why, whylen);
}

int
pinentry_confirm(const struct pinentry_req *q, struct pinentry_abort *ab, char *why,
    size_t whylen)
{
	return run_dialog(q, ab, ASK_CONFIRM, NULL, why, whylen);
}

struct pinentry_popup {
	struct pinentry_dialog *d;
	pthread_t th;
};

static void *
popup_thread(void *arg)
{
	struct pinentry_dialog *d = arg;

	(void)assuan_transact(d->ctx, "CONFIRM --one-button", NULL, NULL, NULL, NULL, NULL,
	    NULL);
	pthread_mutex_lock(&d->mu);
	d->asked = 1;
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

int
pinentry_popup_start(const struct pinentry_req *q, struct pinentry_popup **out, char *why,
    size_t whylen)
{
	struct pinentry_popup *p;
	gpg_error_t err;
	int rc, status;

	if (out == NULL) {
		say(why, whylen, "no place for the popup was given");
		return KYSO_ERR_INVALID_ARG;
	}
	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		say(why, whylen, "out of memory for a pinentry popup");
		return KYSO_ERR_NOMEM;
	}
	rc = dlg_new(q, NULL, 0, &p->d, why, whylen);
	if (rc != KYSO_OK) {
		free(p);
		return rc;
	}
	err = dlg_setup(p->d, q, 0);
	if (!err && pthread_create(&p->th, NULL, popup_thread, p->d) != 0)
		err = gpg_error(GPG_ERR_ENOMEM);
	if (err) {
		status = dlg_end(p->d);
		rc = dlg_outcome(p->d, ASK_POPUP, err, status, 0, why, whylen);
		dlg_free(p->d);
		free(p);
		return rc;
	}
	*out = p;
	return KYSO_OK;
}

void
pinentry_popup_stop(struct pinentry_popup *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->d->mu);
	if (!p->d->asked)
		pinproc_kill_locked(p->d, KILL_STOP);
	pthread_mutex_unlock(&p->d->mu);
	pthread_join(p->th, NULL);
	(void)dlg_end(p->d);
	dlg_free(p->d);
	free(p);
}

void
pinentry_abort_init(struct pinentry_abort *ab)
{
	pthread_mutex_init(&ab->mu, NULL);
	ab->aborted = 0;
	ab->dialogs = NULL;
}

void
pinentry_abort_fire(struct pinentry_abort *ab)
{
	struct pinentry_dialog *d;

	pthread_mutex_lock(&ab->mu);
	ab->aborted = 1;
	for (d = ab->dialogs; d != NULL; d = d->ab_next) {
		pthread_mutex_lock(&d->mu);
		pinproc_kill_locked(d, KILL_ABORT);
		pthread_mutex_unlock(&d->mu);
	}
	pthread_mutex_unlock(&ab->mu);
}

int
pinentry_abort_fired(struct pinentry_abort *ab)
{
	int r;

	pthread_mutex_lock(&ab->mu);
	r = ab->aborted;
	pthread_mutex_unlock(&ab->mu);
	return r;
}

void
pinentry_abort_destroy(struct pinentry_abort *ab)
{
	if (ab != NULL)
		pthread_mutex_destroy(&ab->mu);
}
