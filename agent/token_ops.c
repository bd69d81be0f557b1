/*
 * token_ops.c — what a worker does with its token for each job. Runs in the worker thread
 * and touches only the job and the worker's own session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dialogs.h"
#include "digests_ops.h"
#include "doc_job.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "monotime.h"
#include "p11.h"
#include "pinentry.h"
#include "record.h"
#include "request.h"
#include "secret.h"
#include "token_ops.h"
#include "worker.h"

/* Returns 1 if d describes the token the worker serves (another may sit in its slot). */
static int
ops_same_token(const struct p11_token_desc *expect, const struct p11_token_desc *d)
{
	return strcmp(expect->manufacturer, d->manufacturer) == 0 &&
	    strcmp(expect->model, d->model) == 0 && strcmp(expect->serial, d->serial) == 0 &&
	    (expect->serial[0] != '\0' || strcmp(expect->label, d->label) == 0);
}

/*
 * Opens a session on the slot and checks that the token in it is still the worker's:
 * after a swap the slot holds another token, which must not get this token's jobs (nor
 * its PIN). Returns KYSO_OK, KYSO_ERR_TOKEN_NOT_PRESENT for another token, or an error.
 */
static int
ops_open(struct p11_module *m, unsigned long slot, const struct p11_token_desc *expect,
    struct p11_session **out, struct p11_fail *fail)
{
	struct p11_token_desc d;
	int r;

	if ((r = p11_session_open(m, slot, out, fail)) != KYSO_OK)
		return r;
	if ((r = p11_session_describe(*out, &d, fail)) == KYSO_OK && !ops_same_token(expect, &d))
		r = KYSO_ERR_TOKEN_NOT_PRESENT;
	if (r != KYSO_OK) {
		p11_session_close(*out);
		*out = NULL;
	}
	return r;
}

/* Opens the session if there is none. Returns KYSO_OK or an error + j->fail. */
static int
ops_session(struct p11_module *m, unsigned long slot, const struct p11_token_desc *expect,
    struct p11_session **sess, struct job *j)
{
	if (*sess != NULL)
		return KYSO_OK;
	return ops_open(m, slot, expect, sess, &j->fail);
}

/*
 * Replaces a session the token no longer honours. The new session is opened before the
 * old one is closed, so that a login (shared by the application's sessions) survives;
 * if none can be opened the next job tries again.
 */
static void
ops_session_check(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job *j)
{
	struct p11_session *fresh = NULL;
	struct p11_fail f;

	if (j->result != KYSO_ERR_TOKEN_NOT_PRESENT && !p11_fail_session_lost(&j->fail) &&
	    (*sess == NULL || !p11_session_stuck(*sess)))
		return;
	if (j->result != KYSO_ERR_TOKEN_NOT_PRESENT &&
	    ops_open(m, slot, expect, &fresh, &f) != KYSO_OK)
		fresh = NULL;
	p11_session_close(*sess);
	*sess = fresh;
}

/* Re-reads the token's description (kept only if it is still the worker's token). */
static int
ops_describe(struct p11_session *s, const struct p11_token_desc *expect, struct job *j,
    struct p11_fail *fail)
{
	int r = p11_session_describe(s, &j->state.desc, fail);

	if (r == KYSO_OK && !ops_same_token(expect, &j->state.desc))
		r = KYSO_ERR_TOKEN_NOT_PRESENT;
	j->state.desc_valid = r == KYSO_OK;
	return r;
}

static int
ops_certs(struct p11_session *s, struct job *j, struct p11_fail *fail)
{
	struct job_state *st = &j->state;
	int r;

	p11_certs_free(st->certs, st->ncerts);
	st->certs = NULL;
	st->ncerts = 0;
	r = p11_session_certs(s, &st->certs, &st->ncerts, fail);
	st->certs_valid = r == KYSO_OK;
	if (!st->certs_valid)
		log_warn("cannot list the certificates of token '%s': %s in %s",
		    st->desc.label, fail->ckr_name, fail->call);
	return r;
}

/* Turns a dialog's outcome into the job's result (a sentence stays in j->why). */
static int
ops_dialog_result(struct job *j, struct pinentry_abort *ab, int r, enum job_cancel refused)
{
	struct job_auth *au = job_auth_part(j);

	if (r != KYSO_OK && pinentry_abort_fired(ab)) {
		if (atomic_load(&j->abort_why) == JOB_ABORT_REMOVED)
			return KYSO_ERR_TOKEN_NOT_PRESENT;  /* the dialog ended: the token left */
		if (atomic_load(&j->abort_why) == JOB_ABORT_DISCONNECTED) {
			au->cancel = JOB_CANCEL_DISCONNECTED;
			snprintf(j->why, sizeof(j->why), "the client closed its connection: its "
			    "dialog was closed");
		} else {
			au->cancel = JOB_CANCEL_LOCKED;
		}
		return KYSO_ERR_CANCELLED;
	}
	switch (r) {
	case KYSO_ERR_CANCELLED:
		au->cancel = refused;
		return r;
	case KYSO_ERR_TIMEOUT:
		au->cancel = JOB_CANCEL_TIMEOUT;
		return KYSO_ERR_CANCELLED;
	case KYSO_ERR_PINENTRY:
		log_warn("no PIN dialog could be shown: %s", j->why);
		return r;
	default:
		return r;
	}
}

/*
 * Whether the loop ended the job while it ran outside a dialog: Lock, session lock or
 * sleep (worker_end_requests), the token left (worker_retire), or the client of a
 * document's batch went away (batch_conn_gone) fired its abort. From then on it must not
 * log in nor sign: Lock promises that nothing signs after it, and a job the worker had
 * just taken is no different from one still queued. Returns KYSO_OK, KYSO_ERR_CANCELLED
 * (the cancel reason set) or KYSO_ERR_TOKEN_NOT_PRESENT.
 */
static int
ops_interrupted(struct job *j)
{
	struct job_auth *au = job_auth_part(j);

	if (!pinentry_abort_fired(&j->abort))
		return KYSO_OK;
	switch (atomic_load(&j->abort_why)) {
	case JOB_ABORT_REMOVED:
		return KYSO_ERR_TOKEN_NOT_PRESENT;
	case JOB_ABORT_DISCONNECTED:
		/* a document whose client went away: the batch signs nothing more for nobody */
		au->cancel = JOB_CANCEL_DISCONNECTED;
		snprintf(j->why, sizeof(j->why), "the client closed its connection (disconnected): "
		    "the request was ended before it was served");
		return KYSO_ERR_CANCELLED;
	default:
		au->cancel = JOB_CANCEL_LOCKED_UNSERVED;
		return KYSO_ERR_CANCELLED;
	}
}

/* Returns 1 if the job may ask the officer through a dialog. */
static int
ops_can_ask(const struct job *j)
{
	const struct job_auth *au = job_auth_part(j);

	return au->ri != NULL && au->ri->pinentry != NULL;
}

/*
 * Gets the PIN into the job's login part: the client's, else from the officer (a dialog
 * that names the caller and warns of the tries left, as the token tells them now). Returns KYSO_OK,
 * KYSO_ERR_PIN_REQUIRED (no PIN and no dialog allowed), or the dialog's failure.
 */
static int
ops_pin(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j, int every_signature)
{
	struct job_auth *au = job_auth_part(j);
	struct p11_token_desc now;
	struct p11_fail f;
	int r;

	if (au->pin != NULL)
		return KYSO_OK;
	if (!ops_can_ask(j))
		return KYSO_ERR_PIN_REQUIRED;
	if (p11_session_describe(s, &now, &f) != KYSO_OK ||
	    strcmp(now.serial, expect->serial) != 0 || strcmp(now.label, expect->label) != 0)
		now = *expect;  /* the dialog names the token the worker serves */
	r = dialog_pin(au->ri, &now, every_signature, ab, &au->pin, j->why, sizeof(j->why));
	return ops_dialog_result(j, ab, r, JOB_CANCEL_PIN);
}

/*
 * Logs in with the job's PIN (asking the officer for it if need be), or on the PIN pad
 * with a message shown meanwhile. The PIN stays in the job (locked memory) until the job
 * ends, for a key that wants it again before each signature.
 */
static int
ops_login(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j)
{
	struct job_auth *au = job_auth_part(j);
	struct pinentry_popup *popup;
	int r;

	if ((r = ops_interrupted(j)) != KYSO_OK)
		return r;
	if (au->pin == NULL && au->protected_auth_path) {
		popup = dialog_pinpad(au->ri, expect);
		r = p11_session_login(s, NULL, &j->fail);
		dialog_pinpad_end(popup);
		return r;
	}
	if ((r = ops_pin(s, expect, ab, j, 0)) != KYSO_OK || (r = ops_interrupted(j)) != KYSO_OK)
		return r;
	return p11_session_login(s, au->pin, &j->fail);
}

/* One p11_session_sign with the job's PIN for a context login (PIN pad: a message). */
static int
ops_sign_once(struct p11_session *s, const struct p11_token_desc *expect, struct job *j)
{
	struct job_sign *sg = job_sign_part(j);
	struct pinentry_popup *popup = NULL;
	int r;

	if ((r = ops_interrupted(j)) != KYSO_OK)
		return r;
	sg->req.context_pin = sg->auth.pin;
	sg->req.context_pin_pad = sg->auth.protected_auth_path && sg->auth.pin == NULL;
	/* the loop knows a key wants its PIN every time only once it has seen it after a
	 * login: ask the token when the reader is about to wait for the PIN */
	if (sg->req.context_pin_pad && !sg->always_auth)
		sg->always_auth = p11_session_key_always_auth(s, sg->req.key_id,
		    sg->req.key_id_len);
	if (sg->req.context_pin_pad && sg->always_auth)
		popup = dialog_pinpad(sg->auth.ri, expect);
	r = p11_session_sign(s, &sg->req, &sg->sig, &sg->siglen, &j->fail);
	dialog_pinpad_end(popup);
	return r;
}

/*
 * The first signature attempt of a Sign or document: with its record written ahead when
 * token_ops_ahead allows, else as ops_sign_once. The retries after it (a login, the PIN
 * of an always-authenticate key) are ops_sign_once's: a record written ahead and still in
 * the file stays the request's "granted" record, so there is one per signature.
 */
static int
ops_sign_first(struct p11_session *s, const struct p11_token_desc *expect, struct job *j)
{
	struct job_sign *sg = job_sign_part(j);
	int r;

	if (sg->ahead && audit_mark_state(sg->auth.ri->audit, &sg->ahead_mark) == AUDIT_CUT)
		sg->ahead = 0;  /* taken back by a failed sync (a group's): no longer there */
	if (sg->ahead || !token_ops_ahead(j))
		return ops_sign_once(s, expect, j);
	r = token_ops_sign_ahead(s, expect, j);
	/* a key that wants its PIN at every signature, not known to: the client sent it */
	if (r == KYSO_ERR_PIN_REQUIRED && sg->auth.pin != NULL && p11_session_logged_in(s))
		r = ops_sign_once(s, expect, j);
	return r;
}

/*
 * SignDigests: signatures per call to the module's helper (p11_session_sign_many), as
 * many as the token signs in about OPS_SIGN_CHUNK_US (from the time the last ones took):
 * Lock and removal are looked at between chunks, so a slow token (a smart card: 0.1–1 s
 * a signature) gets one or a few at a time and a fast one (an HSM, SoftHSM: 50–600 µs)
 * hundreds, with few hand-overs between the agent and the token. The last chunk has at
 * most OPS_SIGN_TAIL, since what is made of it is not overlapped by signing.
 */
#define OPS_SIGN_CHUNK_US 16000
#define OPS_SIGN_TAIL 16

/* How many of rest digests go in the next chunk, the last ones having taken us_each. */
static size_t
ops_chunk_size(size_t rest, long us_each)
{
	size_t k = us_each > 0 ? (size_t)(OPS_SIGN_CHUNK_US / us_each) : 1;

	if (k < 1)
		k = 1;
	if (k > P11_SIGN_MANY_MAX)
		k = P11_SIGN_MANY_MAX;
	if (k > rest)
		k = rest;
	if (rest > OPS_SIGN_TAIL && rest - k < OPS_SIGN_TAIL)
		k = rest - OPS_SIGN_TAIL;  /* a small last chunk: little work after it */
	return k;
}

/* An ECDSA signature turned into DER in place. Returns KYSO_OK or an error. */
static int
ops_der(unsigned char **sig, size_t *len)
{
	unsigned char *der;
	size_t derlen;
	int r;

	if ((r = alg_ecdsa_raw_to_der(*sig, *len, &der, &derlen)) != KYSO_OK)
		return r;
	explicit_bzero(*sig, *len);
	free(*sig);
	*sig = der;
	*len = derlen;
	return KYSO_OK;
}

/*
 * SignDigests: the first digest is signed (with the login and dialogs of a Sign); the
 * others follow on the same session, each checked for Lock and removal first. A key
 * without a PIN per signature gets chunks in one call each to the module's helper,
 * pipelined: chunk k+1 is sent before the worker makes chunk k ready for the reply and
 * the records (digests_ops_chunk), so that the token signs meanwhile. All or nothing:
 * the job fails with the first error. Returns KYSO_OK or that error.
 */
static int
ops_sign_rest(struct p11_session *s, const struct p11_token_desc *expect, struct job *j)
{
	struct job_sign *sg = job_sign_part(j);
	struct job_digests *m = sg->many;
	struct p11_sign_many_call *call;
	struct timespec t0;
	size_t i = 1, prev = 1, prev_k = 0;
	long us_each = 0;  /* not known yet: one digest alone first */
	int r = KYSO_OK, made;

	m->sig[0] = sg->sig;
	m->siglen[0] = sg->siglen;
	sg->sig = NULL;
	sg->siglen = 0;
	made = digests_ops_chunk(j, expect, 0, 1);
	/* (Lock and removal are looked at between chunks); one by one otherwise, or from
	 * the chunk on which the key turned out to want its PIN */
	while (i < m->n && r == KYSO_OK && made == KYSO_OK && !sg->always_auth &&
	    !sg->key_wants_pin && !sg->req.context_pin_pad) {
		size_t k = ops_chunk_size(m->n - i, us_each);

		if ((r = ops_interrupted(j)) != KYSO_OK)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		r = p11_session_sign_many_send(s, &sg->req, m->in + i * m->in_len, m->in_len, k,
		    &call, &j->fail);
		if (r != KYSO_OK)
			break;
		if (prev_k > 0)  /* while the token signs chunk i */
			made = digests_ops_chunk(j, expect, prev, prev_k);
		prev_k = 0;
		r = p11_session_sign_many_recv(call, &m->sig[i], &m->siglen[i], &j->fail);
		us_each = mono_us_since(&t0) / (long)k;
		if (r == KYSO_ERR_PIN_REQUIRED) {
			sg->key_wants_pin = 1;
			r = KYSO_OK;
			break;
		}
		prev = i;
		prev_k = r == KYSO_OK ? k : 0;
		i += k;
	}
	if (prev_k > 0 && r == KYSO_OK && made == KYSO_OK)
		made = digests_ops_chunk(j, expect, prev, prev_k);
	for (; i < m->n && r == KYSO_OK && made == KYSO_OK; i++) {
		sg->req.in = m->in + i * m->in_len;
		r = ops_sign_once(s, expect, j);
		m->sig[i] = sg->sig;
		m->siglen[i] = sg->siglen;
		sg->sig = NULL;
		sg->siglen = 0;
		if (r == KYSO_OK)
			made = digests_ops_chunk(j, expect, i, 1);
	}
	sg->req.in = sg->in_buf;
	return r != KYSO_OK ? r : made;
}

/*
 * Whether the officer confirms this signature first: the policy says so for every one
 * (confirm = yes; for a batch the first document's, batch.c); a web page's signature is
 * always confirmed (a batch once), unless a PIN is about to be asked for it anyway (the
 * PIN dialog names the page too, and typing the PIN agrees).
 */
static int
ops_wants_confirm(struct p11_session *s, const struct job *j)
{
	const struct job_sign *sg = job_sign_part(j);
	const struct request_info *ri = sg->auth.ri;
	int login_coming;

	if (ri == NULL)
		return 0;
	if (ri->confirm)
		return 1;
	if (ri->origin[0] == '\0')
		return 0;
	if (ri->doc_count > 0 && ri->doc_index != 0)
		return 0;   /* a batch: one consent, by its first document */
	login_coming = sg->login_required && !sg->was_logged_in && !p11_session_logged_in(s);
	return !login_coming && !sg->always_auth;
}

static int
ops_sign(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j)
{
	struct job_sign *sg = job_sign_part(j);
	int r, logged_in_now = 0;

	/* a client that left gets no signature, so none is made (conn_drop) */
	if ((r = ops_interrupted(j)) != KYSO_OK)
		return r;
	if (ops_wants_confirm(s, j)) {
		/* policy: the officer confirms every signature, even with the login cached */
		if (!ops_can_ask(j)) {
			snprintf(j->why, sizeof(j->why), "pinentry = none");
			r = KYSO_ERR_PINENTRY;
		} else {
			r = dialog_confirm(sg->auth.ri, expect, ab, j->why, sizeof(j->why));
		}
		if (r == KYSO_ERR_PINENTRY && !pinentry_abort_fired(ab)) {
			log_warn("no confirmation dialog could be shown: %s", j->why);
			sg->auth.cancel = JOB_CANCEL_NO_DIALOG;
			return KYSO_ERR_CANCELLED;
		}
		if ((r = ops_dialog_result(j, ab, r, JOB_CANCEL_REFUSED)) != KYSO_OK)
			return r;
	}
	/* a token the last job left logged in is trusted to be so: if it was logged out
	 * behind our back, C_Sign says CKR_USER_NOT_LOGGED_IN and the login follows below */
	if (sg->login_required && !sg->was_logged_in && !p11_session_logged_in(s)) {
		if ((r = ops_login(s, expect, ab, j)) != KYSO_OK)
			return r;
		logged_in_now = 1;
	}
	r = ops_sign_first(s, expect, j);   /* which ends a job whose client left */
	if ((r == KYSO_ERR_PIN_REQUIRED || (r == KYSO_ERR_KEY_NOT_FOUND && sg->login_required)) &&
	    !logged_in_now && !p11_session_logged_in(s) &&
	    (sg->auth.pin != NULL || sg->auth.protected_auth_path || ops_can_ask(j))) {
		/* the key needs a login the token flags did not announce, or the login the
		 * loop counted on is gone (logged out meanwhile: the key is hidden) */
		if ((r = ops_login(s, expect, ab, j)) != KYSO_OK)
			return r;
		logged_in_now = 1;
		r = ops_sign_once(s, expect, j);
	} else if (r == KYSO_ERR_KEY_NOT_FOUND && sg->login_required && !logged_in_now &&
	    !p11_session_logged_in(s)) {
		/* logged out behind our back (another program's C_Logout logs out every
		 * session) and no PIN to be had: the key is hidden, not missing */
		r = KYSO_ERR_PIN_REQUIRED;
	}
	if (r == KYSO_ERR_PIN_REQUIRED && p11_session_logged_in(s) && sg->auth.pin == NULL &&
	    ops_can_ask(j)) {
		/* CKA_ALWAYS_AUTHENTICATE: the officer gives the PIN for this signature */
		sg->always_auth = 1;
		if ((r = ops_pin(s, expect, ab, j, 1)) == KYSO_OK)
			r = ops_sign_once(s, expect, j);
	}
	if (r == KYSO_ERR_PIN_REQUIRED && p11_session_logged_in(s))
		sg->key_wants_pin = 1;  /* CKA_ALWAYS_AUTHENTICATE: a PIN for every signature */
	sg->did_login = logged_in_now;
	if (logged_in_now) {
		struct p11_fail f;

		(void)ops_certs(s, j, &f);  /* private keys are visible now */
	}
	if (r == KYSO_OK && sg->many != NULL)
		return ops_sign_rest(s, expect, j);
	if (r != KYSO_OK || !sg->ecdsa_der)
		return r;
	return ops_der(&sg->sig, &sg->siglen);
}

int
token_ops_sign(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j)
{
	return ops_sign(s, expect, ab, j);
}

/*
 * After a failure that a pulled token also causes (CKR_DEVICE_ERROR, a lost session...),
 * asks the slot. A card reader may take a moment to notice: a removable slot that still
 * says "present" is asked again for up to REMOVAL_SETTLE_MS.
 */
#define REMOVAL_SETTLE_MS 500

static int
ops_token_gone(struct p11_module *m, unsigned long slot, const struct p11_token_desc *expect)
{
	struct timespec pause = { 0, 50 * 1000000L };
	struct p11_token_desc d;
	struct p11_fail f;
	int present = p11_slot_present(m, slot);

	if (present == 1 && p11_slot_removable(m, slot))
		for (int waited = 0; present == 1 && waited < REMOVAL_SETTLE_MS; waited += 50) {
			nanosleep(&pause, NULL);
			present = p11_slot_present(m, slot);
		}
	/* swapped: another token sits in the slot */
	if (present == 1 && p11_slot_describe(m, slot, &d, &f) == KYSO_OK &&
	    !ops_same_token(expect, &d))
		present = 0;
	return present == 0;
}

/* Names the cause of a failure: the token left, or the module may be broken. */
static int
ops_failure(struct p11_module *m, unsigned long slot, const struct p11_token_desc *expect,
    struct job *j, int r)
{
	if (r == KYSO_OK)
		return r;
	if (r != KYSO_ERR_TOKEN_NOT_PRESENT && p11_fail_maybe_removed(&j->fail) &&
	    ops_token_gone(m, slot, expect))
		r = KYSO_ERR_TOKEN_NOT_PRESENT;
	/* the module's view of its slots may have changed: the loop asks it again */
	j->rescan = r == KYSO_ERR_TOKEN_NOT_PRESENT || p11_fail_module_broken(&j->fail) ||
	    p11_fail_maybe_removed(&j->fail);
	return r;
}

/*
 * The end of every job: the audit record written (synced) before the job goes back, a
 * failed document stops its batch, and the PIN is wiped.
 */
static void
ops_finish(struct job *j, const struct p11_token_desc *expect)
{
	struct job_auth *au = job_auth_part(j);

	if (j->kind == JOB_DOCUMENT)
		document_ops_record(j, expect);  /* synced with the batch's next ones */
	else
		record_sign_job(j, expect);
	if (j->kind == JOB_DOCUMENT)
		document_ops_done(j);  /* may keep the PIN for the batch (login_cache = no) */
	if (au != NULL) {
		secret_free(au->pin);
		au->pin = NULL;
	}
}

void
token_ops_run(struct p11_module *m, unsigned long slot, const struct p11_token_desc *expect,
    struct p11_session **sess, struct job *j)
{
	struct pinentry_abort *ab = &j->abort;
	struct job_auth *au;
	struct p11_fail f;
	int r, logout_after;

	if (j->kind == JOB_DOCUMENT && document_ops_skip(j)) {
		/* its batch stopped: not attempted, the token is not asked to sign */
		j->state.logged_in = *sess != NULL && p11_session_logged_in(*sess);
		ops_finish(j, expect);
		return;
	}
	if ((r = ops_session(m, slot, expect, sess, j)) != KYSO_OK) {
		j->result = ops_failure(m, slot, expect, j, r);
		ops_finish(j, expect);
		return;
	}
	switch (j->kind) {
	case JOB_SCAN:
		if ((r = ops_describe(*sess, expect, j, &j->fail)) == KYSO_OK)
			r = ops_certs(*sess, j, &j->fail);
		break;
	case JOB_LOGIN:
		if (p11_session_logged_in(*sess)) {
			j->u.login.already_logged_in = 1;  /* the PIN is not checked: say so */
			r = KYSO_OK;
			break;
		}
		r = ops_login(*sess, expect, ab, j);
		if (r == KYSO_OK)
			(void)ops_certs(*sess, j, &f);
		break;
	case JOB_LOGOUT:
		r = p11_session_logout(*sess, &j->fail);
		break;
	case JOB_SIGN:
		r = ops_sign(*sess, expect, ab, j);
		break;
	case JOB_DOCUMENT:
		r = document_ops_run(*sess, expect, ab, j);
		break;
	default:
		r = KYSO_ERR_INTERNAL;
		break;
	}
	j->result = r = ops_failure(m, slot, expect, j, r);
	/* PIN failures change the token's counters; a login changes what is visible. A
	 * signature that came with a PIN the logged-in token did not need changed nothing:
	 * no description (a client sending its PIN in every request pays nothing for it) */
	au = job_auth_part(j);
	if (!j->state.desc_valid && r != KYSO_ERR_TOKEN_NOT_PRESENT &&
	    (r == KYSO_ERR_PIN_INCORRECT || r == KYSO_ERR_PIN_LOCKED || !job_signs(j) ||
	    j->state.certs_valid || (au != NULL && au->pin != NULL &&
	    (job_sign_part(j)->did_login || job_sign_part(j)->always_auth))))
		(void)ops_describe(*sess, expect, j, &f);
	ops_session_check(m, slot, expect, sess, j);
	logout_after = au != NULL && au->logout_after;
	if (logout_after && *sess != NULL && p11_session_logged_in(*sess) &&
	    p11_session_logout(*sess, &f) != KYSO_OK)  /* policy: no login cache */
		log_warn("cannot log out of token '%s' after the request: %s", expect->label,
		    f.ckr_name);
	if (logout_after)
		j->state.logged_in = *sess != NULL && p11_session_logged_in(*sess);
	else if (job_signs(j) && r == KYSO_OK && !job_sign_part(j)->did_login)
		/* the state did not change, unless a login was needed and so was there */
		j->state.logged_in = job_sign_part(j)->login_required ||
		    job_sign_part(j)->was_logged_in;
	else
		j->state.logged_in = *sess != NULL && p11_session_logged_in(*sess);
	ops_finish(j, expect);
}

/* ---- what token_ahead.c shares (token_ops.h) ---- */

int
token_ops_session(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job *j)
{
	return ops_session(m, slot, expect, sess, j);
}

int
token_ops_interrupted(struct job *j)
{
	return ops_interrupted(j);
}

int
token_ops_der(unsigned char **sig, size_t *len)
{
	return ops_der(sig, len);
}

void
token_ops_finish(struct job *j, const struct p11_token_desc *expect)
{
	ops_finish(j, expect);
}
