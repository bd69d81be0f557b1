/* tokens.c — tokens found, announced, changed and removed (see tokens.h). */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "conn.h"
#include "events.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "modwatch.h"
#include "tokens.h"
#include "worker.h"

void
tokens_submit(struct token *t, struct job *j)
{
	t->pending++;
	if (j->conn != NULL)
		j->conn->job = j;   /* its dialog ends if the client disconnects (conn_drop) */
	worker_submit(t->worker, j);
}

void
tokens_remove(struct agent *a, struct token *t, const char *why)
{
	int was_visible = t->visible;

	if (t->gone)
		return;
	t->gone = 1;
	t->visible = 0;
	t->logged_in = 0;
	worker_retire(t->worker);
	t->worker = NULL;
	log_info("token '%s' (serial %s) %s", t->desc.label, t->desc.serial, why);
	if (was_visible)
		events_token(a, "token-removed", t);
}

/* A new token in a slot: a worker and a first scan; announced when the scan is done. */
static void
tokens_add(struct agent *a, struct modwatch *mw, const struct p11_token_desc *d, int initial)
{
	int lanes = worker_lanes(a->policy.sessions_per_token, d);
	struct token *t;
	struct job *j;

	if (inventory_add_token(&a->inv, mw->m, d, &t) != KYSO_OK) {
		log_error("out of memory while adding token '%s'", d->label);
		return;
	}
	t->visible = 0;
	t->mw = mw;
	if (!modwatch_worker_enter(mw)) {
		/* a stale scan: the module broke meanwhile; a later scan finds the token */
		t->gone = 1;
		return;
	}
	if (worker_start(mw->m, d, lanes, &a->done, &mw->users, &t->worker) != KYSO_OK) {
		modwatch_worker_leave(mw);
		t->worker = NULL;
	}
	if (t->worker == NULL || (j = job_new(JOB_SCAN)) == NULL) {
		log_error("cannot serve token '%s' (serial %s): no thread or no memory",
		    d->label, d->serial);
		t->gone = 1;
		worker_retire(t->worker);
		t->worker = NULL;
		return;
	}
	log_info("token '%s' (serial %s) in %s, slot %lu: %d session(s)%s", d->label, d->serial,
	    p11_module_path(mw->m), d->slot, lanes, lanes > 1 ? " at once" : "");
	j->token = t;
	j->u.scan.initial = initial;
	if (initial)
		a->pending_scans++;
	tokens_submit(t, j);
}

/* The differences worth an event: what ListTokens shows. */
static int
desc_differs(const struct p11_token_desc *x, const struct p11_token_desc *y)
{
	return x->flags != y->flags || strcmp(x->label, y->label) != 0;
}

/* Logs a module failure the first time and then at 1, 2, 4, 8... attempts. */
static void
tokens_module_failed(struct agent *a, struct job *j)
{
	struct modwatch *mw = j->u.modscan.mw;
	const char *path = p11_module_path(mw->m);
	struct modwatch_status st;

	modwatch_status(mw, &st);
	if (!mw->loop_failing)
		log_warn("%s failed (%s in %s); its tokens are unavailable until it recovers; "
		    "retrying in %ld s", path, j->fail.cause != NULL ? j->fail.cause :
		    j->fail.ckr_name[0] ? j->fail.ckr_name : kyso_strerror(j->result),
		    j->fail.call[0] ? j->fail.call : "C_Initialize", (st.retry_in_ms + 999) / 1000);
	else if ((j->u.modscan.failures & (j->u.modscan.failures - 1)) == 0)
		log_warn("%s still fails after %d attempts (%s); next attempt in %ld s", path,
		    j->u.modscan.failures, j->fail.cause != NULL ? j->fail.cause : j->fail.ckr_name[0] ?
		    j->fail.ckr_name : "error", (st.retry_in_ms + 999) / 1000);
	mw->loop_failing = 1;
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next)
		if (t->mw == mw && !t->gone)
			tokens_remove(a, t, "is unavailable: its module failed");
}

void
tokens_module_scanned(struct agent *a, struct job *j)
{
	struct job_modscan *ms = &j->u.modscan;
	struct modwatch *mw = ms->mw;
	unsigned char *used;

	mw->loop_seen = 1;
	if (j->result != KYSO_OK) {
		tokens_module_failed(a, j);
		return;
	}
	if (mw->loop_failing) {
		log_info("%s works again", p11_module_path(mw->m));
		mw->loop_failing = 0;
	}
	if ((used = calloc(ms->nslots + 1, 1)) == NULL) {
		log_error("out of memory while comparing the tokens of %s",
		    p11_module_path(mw->m));
		return;
	}
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		size_t k;

		if (t->mw != mw || t->gone)
			continue;
		for (k = 0; k < ms->nslots; k++) {
			char id[17];

			if (used[k] || ms->slots[k].slot != t->desc.slot)
				continue;
			inventory_token_id(mw->m, &ms->slots[k], id);
			if (strcmp(id, t->id) == 0)
				break;
		}
		if (k == ms->nslots) {
			tokens_remove(a, t, "was removed");
			continue;
		}
		used[k] = 1;
		if (!t->visible && t->pending == 0 && !t->reread) {
			/* its first read failed, yet it is still there: one more try */
			struct job *again = job_new(JOB_SCAN);

			t->reread = 1;
			if (again != NULL) {
				again->token = t;
				tokens_submit(t, again);
			}
		}
		if (desc_differs(&t->desc, &ms->slots[k])) {
			inventory_set_desc(t, &ms->slots[k]);
			if (t->visible)
				events_token(a, "token-changed", t);
		}
	}
	for (size_t k = 0; k < ms->nslots; k++) {
		if (used[k])
			continue;
		if (!(ms->slots[k].flags & P11_TOKEN_INITIALIZED)) {
			if (ms->initial)  /* not again at every poll */
				log_debug("%s: slot %lu holds an uninitialised token; skipped",
				    p11_module_path(mw->m), ms->slots[k].slot);
			continue;
		}
		tokens_add(a, mw, &ms->slots[k], ms->initial);
	}
	free(used);
}

void
tokens_job_done(struct agent *a, struct job *j, const struct p11_token_desc *before,
    int was_logged_in)
{
	struct token *t = j->token;

	(void)a;
	if (t == NULL)
		return;
	t->pending--;
	if (t->gone)
		return;
	if (j->kind == JOB_SCAN && !t->visible) {
		if (j->result == KYSO_ERR_TOKEN_NOT_PRESENT ||
		    (j->rescan && !j->state.desc_valid)) {
			/* it left already, or the module broke: a scan settles it (and, if the
			 * token is still there, reads it once more: tokens_module_scanned) */
			if (t->mw != NULL)
				modwatch_request_scan(t->mw);
			return;
		}
		if (j->result != KYSO_OK)
			log_warn("token '%s' (serial %s) is listed without its certificates: they "
			    "could not be read (%s in %s)", t->desc.label, t->desc.serial,
			    j->fail.ckr_name, j->fail.call);
		t->visible = 1;
		log_info("token '%s' (serial %s) ready: %zu certificate(s)", t->desc.label,
		    t->desc.serial, t->ncerts);
		events_token(a, "token-added", t);
		return;
	}
	if (t->visible && (desc_differs(before, &t->desc) || was_logged_in != t->logged_in))
		events_token(a, "token-changed", t);
	if ((j->result == KYSO_ERR_TOKEN_NOT_PRESENT || j->rescan) && t->mw != NULL)
		modwatch_request_scan(t->mw);
}

int
tokens_logged_in(const struct token *t)
{
	return t->logged_in && !t->logout_queued;
}

void
tokens_rescan_all(struct agent *a, int burst)
{
	for (size_t i = 0; i < a->nmodules; i++) {
		if (burst)
			modwatch_burst(&a->watch[i]);
		else
			modwatch_request_scan(&a->watch[i]);
	}
}
