/* batch.c — a SignDocuments batch on the loop's side (see batch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "audit.h"
#include "batch.h"
#include "conn.h"
#include "dispatch.h"
#include "doc_job.h"
#include "encode.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "logins.h"
#include "record.h"
#include "request.h"
#include "secret.h"
#include "tokens.h"
#include "wire.h"
#include "worker.h"

struct doc_batch *
batch_new(size_t n)
{
	struct doc_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	if ((b->docs = calloc(n > 0 ? n : 1, sizeof(*b->docs))) == NULL) {
		free(b);
		return NULL;
	}
	b->n = n;
	return b;
}

void
batch_free(struct doc_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->n; i++) {
		free(b->docs[i].name);
		free(b->docs[i].content_type);
		free(b->docs[i].message);
		free(b->docs[i].cms);
	}
	free(b->docs);
	free(b->key_id);
	secret_free(b->pin);
	request_info_free(b->ri);
	batch_share_unref(b->share);
	free(b);
}

static const char *
hash_name(unsigned bits)
{
	return bits == 384 ? "sha384" : bits == 512 ? "sha512" : "sha256";
}

/* Puts document i's own fields into ri (the batch's, or a copy of it for a job). */
static void
batch_ri_document(const struct doc_batch *b, size_t i, struct request_info *ri)
{
	const struct batch_doc *doc = &b->docs[i];

	ri->algorithm = doc->alg->name;
	memcpy(ri->digest, doc->digest, doc->hash_bits / 8);
	ri->digest_len = doc->hash_bits / 8;
	ri->digest_alg = hash_name(doc->hash_bits);
	ri->doc_index = i;
	ri->signing_time[0] = '\0';
	if (doc->has_time && b->profile == CMS_PROFILE_CADES)
		record_time_text(doc->when, ri->signing_time, sizeof(ri->signing_time));
}

/* The request of document i: who asks (the connection), for what, and which dialogs. */
static struct request_info *
batch_request_info(struct agent *a, struct doc_batch *b, size_t i)
{
	const struct request_info *t = b->ri;
	struct request_info *ri = request_info_new(a, b->conn, t->method, t->description);

	if (ri == NULL || (t->subject != NULL && (ri->subject = strdup(t->subject)) == NULL) ||
	    (ri->document = strdup(b->docs[i].name)) == NULL ||
	    (t->doc_list != NULL && (ri->doc_list = strdup(t->doc_list)) == NULL)) {
		request_info_free(ri);
		return NULL;
	}
	memcpy(ri->cert_id, t->cert_id, sizeof(ri->cert_id));
	memcpy(ri->batch_id, t->batch_id, sizeof(ri->batch_id));
	ri->profile = t->profile;
	ri->doc_count = b->n;
	ri->doc_time_count = t->doc_time_count;
	ri->doc_time_min = t->doc_time_min;
	ri->doc_time_max = t->doc_time_max;
	ri->last_pin_wrong = b->token->pin_wrong;
	/* one confirmation for the batch: the first document's job asks it */
	ri->confirm = i == 0 ? t->confirm : 0;
	batch_ri_document(b, i, ri);
	return ri;
}

/* Queues document i on the token's worker. Returns KYSO_OK or KYSO_ERR_NOMEM. */
static int
batch_submit(struct agent *a, struct doc_batch *b, size_t i)
{
	struct batch_doc *doc = &b->docs[i];
	struct token *t = b->token;
	struct job_sign *sg;
	struct doc_job *d;
	struct job *j;

	if ((j = job_new(JOB_DOCUMENT)) == NULL)
		return KYSO_ERR_NOMEM;
	sg = &j->u.document.sign;
	d = &j->u.document.doc;
	if ((b->key_id_len > 0 && (sg->key_id_buf = malloc(b->key_id_len)) == NULL) ||
	    (doc->content_type != NULL &&
	    (d->content_type = strdup(doc->content_type)) == NULL) ||
	    (b->pin != NULL && secret_new(secret_data(b->pin), secret_len(b->pin),
	    &sg->auth.pin) != KYSO_OK) ||
	    (sg->auth.ri = batch_request_info(a, b, i)) == NULL) {
		job_free(j);  /* and what its parts hold */
		return KYSO_ERR_NOMEM;
	}
	d->share = batch_share_ref(b->share);
	d->batch = b;
	d->index = i;
	memcpy(d->digest, doc->digest, doc->hash_bits / 8);
	d->cms.profile = b->profile;
	d->cms.scheme = doc->alg->scheme;
	d->cms.hash_bits = doc->hash_bits;
	d->cms.digest = d->digest;
	d->cms.content_type = d->content_type;
	d->has_time = doc->has_time;
	d->when = doc->when;
	d->input = doc->plan.input;
	sg->alg = doc->alg;
	memcpy(sg->cert_id, b->ri->cert_id, sizeof(sg->cert_id));
	if (b->key_id_len > 0)
		memcpy(sg->key_id_buf, b->key_id, b->key_id_len);
	sg->req.key_id = sg->key_id_buf;
	sg->req.key_id_len = b->key_id_len;
	sg->req.mech = doc->plan.mech;
	sg->req.pss_hash_bits = doc->alg->scheme == SCHEME_PSS ? doc->alg->hash_bits : 0;
	sg->ecdsa_der = doc->alg->scheme == SCHEME_ECDSA;  /* CMS carries ECDSA as DER */
	j->token = t;
	sg->login_required = !!(t->desc.flags & P11_TOKEN_LOGIN_REQUIRED);
	sg->was_logged_in = tokens_logged_in(t);
	sg->auth.protected_auth_path = !!(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH);
	sg->always_auth = b->always_auth;
	sg->auth.logout_after = a->policy.no_login_cache;  /* each document logs in and out */
	doc->state = DOC_QUEUED;
	atomic_fetch_add(&b->share->docs_out, 1);
	if (i + 1 == b->n)
		atomic_store(&b->share->all_queued, 1);  /* before its job can be recorded */
	for (size_t k = 0; k < BATCH_WINDOW; k++)
		if (b->running[k] == NULL) {
			b->running[k] = j;
			break;
		}
	b->inflight++;
	tokens_submit(t, j);
	return KYSO_OK;
}

/* One DocumentResult; with_cms: the CMS too (not in the final reply of a stream). */
static json_t *
batch_doc_json(const struct doc_batch *b, size_t i, int with_cms)
{
	const struct batch_doc *doc = &b->docs[i];
	json_t *o = json_pack("{s:I, s:s}", "index", (json_int_t)i, "name", doc->name);

	if (o == NULL)
		return NULL;
	if (doc->cms != NULL && with_cms)
		json_object_set_new(o, "cms", json_string(doc->cms));
	if (doc->error != NULL) {
		json_object_set_new(o, "error", json_string(doc->error));
		json_object_set_new(o, "message", json_string(doc->message != NULL ?
		    doc->message : ""));
	}
	return o;
}

/* The document of job j did not get signed: its error name and sentence. */
static void
batch_doc_failed(struct batch_doc *doc, const struct job *j)
{
	struct reply r = { 0 };

	if (j->u.document.doc.skipped) {
		doc->error = kyso_err_varlink(KYSO_ERR_CANCELLED);
		doc->message = strdup(j->why);
		return;
	}
	reply_from_job(&r, j);
	doc->error = r.error != NULL ? r.error : kyso_err_varlink(KYSO_ERR_INTERNAL);
	doc->message = strdup(json_string_value(json_object_get(r.eparams, "message")) !=
	    NULL ? json_string_value(json_object_get(r.eparams, "message")) : "");
	reply_clear(&r);
}

/* The final reply; the batch ends. */
static void
batch_finish(struct agent *a, struct doc_batch *b)
{
	enum batch_stop why = batch_share_stopped(b->share);
	struct conn *c = b->conn;
	struct reply r = { 0 };
	char msg[160];
	json_t *list = json_array();

	snprintf(msg, sizeof(msg), "not signed: the batch stopped before this document (%s)",
	    batch_stop_name(why));
	for (size_t i = 0; i < b->n; i++) {
		struct batch_doc *doc = &b->docs[i];

		if (doc->state == DOC_WAITING) {
			/* never queued: recorded here, as every document is */
			doc->error = kyso_err_varlink(KYSO_ERR_CANCELLED);
			doc->message = strdup(msg);
			b->ri->document = doc->name;
			batch_ri_document(b, i, b->ri);
			record_unsent(b->ri, &b->token->desc, doc->error, msg);
			b->ri->document = NULL;
		}
		if (list != NULL)
			json_array_append_new(list, batch_doc_json(b, i, !b->more));
	}
	log_info("client %lu: batch %s: %zu of %zu document(s) signed%s%s; %lu fsync(s) of the "
	    "audit log in %lld ms", c->serial, b->ri->batch_id, b->nsigned, b->n,
	    why != BATCH_GOING ? "; stopped: " : "", batch_stop_name(why),
	    a->audit != NULL ? audit_syncs(a->audit) - b->syncs0 : 0,
	    document_ops_now_ms() - b->t0_ms);
	if (a->policy.no_login_cache && !b->token->gone && b->token->logged_in)
		(void)logins_logout(b->token);  /* a document left it logged in: no login stays */
	if (list == NULL) {
		reply_fail(&r, KYSO_ERR_NOMEM, NULL, NULL);
	} else {
		reply_ok(&r, json_pack("{s:o, s:I, s:I, s:s}", "documents", list, "signed",
		    (json_int_t)b->nsigned, "failed", (json_int_t)(b->n - b->nsigned), "batch",
		    b->ri->batch_id));
		if (r.params != NULL && why != BATCH_GOING)
			json_object_set_new(r.params, "stopped", json_string(batch_stop_name(why)));
	}
	if (b->prev != NULL)
		b->prev->next = b->next;
	else
		a->batches = b->next;
	if (b->next != NULL)
		b->next->prev = b->prev;
	c->batch = NULL;
	batch_free(b);
	conn_reply(a, c, &r);  /* or, to a client gone, nothing: it is released */
	reply_clear(&r);
}

static void batch_progress(struct agent *a, struct doc_batch *b, size_t i);

/*
 * The held documents whose records are durable now go out (progress), those whose
 * records a failed sync took back fail with AuditFailed; the others wait (never synced
 * here: the worker syncs them, or batch_sync_start's thread when the batch ends).
 */
static void
batch_release(struct agent *a, struct doc_batch *b)
{
	struct audit_log *l = b->ri->audit;

	for (size_t i = 0; i < b->n && b->nheld > 0; i++) {
		struct batch_doc *doc = &b->docs[i];
		enum audit_durability st;

		if (!doc->held)
			continue;
		st = l != NULL ? audit_mark_state(l, &doc->mark) : AUDIT_DURABLE;
		if (st == AUDIT_PENDING)
			continue;
		doc->held = 0;
		b->nheld--;
		if (st == AUDIT_DURABLE) {
			b->nsigned++;
		} else {
			free(doc->cms);
			doc->cms = NULL;
			doc->error = kyso_err_varlink(KYSO_ERR_AUDIT);
			free(doc->message);
			doc->message = strdup("the audit record could not be made durable (a failed "
			    "sync of the audit log took it back): the signature was not given out");
			(void)batch_share_stop(b->share, BATCH_STOP_AUDIT_FAILED);
		}
		batch_progress(a, b, i);
	}
}

/* The thread of batch_sync_start: syncs, and hands the job back to the loop. */
static void *
batch_sync_main(void *arg)
{
	struct job *j = arg;
	struct doc_job *d = &j->u.document.doc;
	char err[256];

	j->result = audit_sync_to(d->sync_log, &d->mark, err, sizeof(err));
	if (j->result != KYSO_OK)
		snprintf(j->why, sizeof(j->why), "%s", err);
	completions_post(d->sync_done, j);  /* the loop joins this thread there */
	return NULL;
}

/*
 * b ends with held documents whose records no worker will sync (it stopped between two
 * of the worker's syncs): a thread syncs them, so that the loop never waits for the disk
 * (0.3-2 ms an fsync, much more on a slow disk), and posts a sync_only JOB_DOCUMENT back
 * (batch_synced). Returns 1 if the thread runs, 0 if nothing is pending (or, out of
 * threads or memory, once the loop synced them itself: the guarantee comes first).
 */
static int
batch_sync_start(struct agent *a, struct doc_batch *b)
{
	struct audit_log *l = b->ri->audit;
	struct audit_mark last = { 0, 0 };
	struct doc_job *d;
	struct job *j;
	char err[256];
	int pending = 0;

	for (size_t i = 0; l != NULL && i < b->n; i++)
		if (b->docs[i].held && audit_mark_state(l, &b->docs[i].mark) == AUDIT_PENDING &&
		    (!pending || b->docs[i].mark.n > last.n)) {
			last = b->docs[i].mark;  /* the last one: a sync to it covers the others */
			pending = 1;
		}
	if (!pending)
		return 0;
	if ((j = job_new(JOB_DOCUMENT)) != NULL) {
		d = &j->u.document.doc;
		d->sync_only = 1;
		d->batch = b;
		d->mark = last;
		d->sync_log = l;
		d->sync_done = &a->done;
		d->share = batch_share_ref(b->share);
		j->u.document.sign.recorded = 1;  /* no record of its own (agent_record_unserved) */
		if (pthread_create(&b->sync_thread, NULL, batch_sync_main, j) == 0) {
			log_debug("batch %s: its last records are synced off the loop",
			    b->ri->batch_id);
			b->syncing = 1;
			b->token->pending++;  /* the batch's token stays allocated meanwhile */
			return 1;
		}
		job_free(j);
	}
	log_error("batch %s: no thread to sync the audit log: kysod syncs it itself",
	    b->ri->batch_id);
	if (audit_sync_to(l, &last, err, sizeof(err)) != KYSO_OK)
		log_error("%s", err);
	return 0;
}

static void batch_pump(struct agent *a, struct doc_batch *b);

/*
 * The sync of batch_sync_start is back (j, freed by the caller as every completed job):
 * its documents go out (or fail), and the batch ends.
 */
static void
batch_synced(struct agent *a, struct job *j)
{
	struct doc_batch *b = j->u.document.doc.batch;

	(void)pthread_join(b->sync_thread, NULL);  /* it has posted j: it is ending */
	b->syncing = 0;
	b->token->pending--;
	if (j->result != KYSO_OK)
		log_error("%s", j->why);  /* taken back: batch_release fails those documents */
	batch_release(a, b);
	batch_pump(a, b);
}

/* Queues more documents, or finishes once the last is back or the batch stopped. */
static void
batch_pump(struct agent *a, struct doc_batch *b)
{
	enum batch_stop why = batch_share_stopped(b->share);

	if (why == BATCH_GOING && conn_gone(b->conn))
		why = batch_share_stop(b->share, BATCH_STOP_DISCONNECTED);
	if (why == BATCH_GOING && b->token->gone)
		why = batch_share_stop(b->share, BATCH_STOP_TOKEN_REMOVED);
	while (why == BATCH_GOING && b->next_doc < b->n && b->inflight < BATCH_WINDOW) {
		if (batch_submit(a, b, b->next_doc) != KYSO_OK) {
			log_error("out of memory: batch %s stops", b->ri->batch_id);
			why = batch_share_stop(b->share, BATCH_STOP_FAILED);
			break;
		}
		b->next_doc++;
	}
	if (why != BATCH_GOING)
		atomic_store(&b->share->all_queued, 1);
	if (b->inflight == 0 && !b->syncing && (why != BATCH_GOING || b->next_doc == b->n)) {
		/* normally synced by the worker with the last document; if not, off the loop */
		if (b->nheld > 0 && batch_sync_start(a, b))
			return;  /* batch_synced comes back here */
		batch_release(a, b);
		batch_finish(a, b);
	}
}

int
batch_start(struct agent *a, struct conn *c, struct doc_batch *b)
{
	b->conn = c;
	b->syncs0 = a->audit != NULL ? audit_syncs(a->audit) : 0;
	b->t0_ms = document_ops_now_ms();
	/* the first document now: a batch that cannot start is answered by its caller */
	if (batch_submit(a, b, 0) != KYSO_OK)
		return KYSO_ERR_NOMEM;
	b->next_doc = 1;
	c->batch = b;
	b->prev = NULL;
	b->next = a->batches;
	if (a->batches != NULL)
		a->batches->prev = b;
	a->batches = b;
	batch_pump(a, b);  /* the first is in flight: this does not finish the batch */
	return KYSO_OK;
}

/* Streams document i's result to the client, if it asked for "more". */
static void
batch_progress(struct agent *a, struct doc_batch *b, size_t i)
{
	struct conn *c = b->conn;
	json_t *doc;

	if (!b->more || conn_gone(c) || c->oneway)
		return;
	if ((doc = batch_doc_json(b, i, 1)) == NULL) {
		log_error("out of memory: the progress of batch %s is not sent", b->ri->batch_id);
		return;
	}
	/* the documents' replies are bounded (BATCH_DOCS_MAX of them): no TOO_SLOW here */
	(void)conn_stream(a, c, json_pack("{s:o, s:I}", "progress", doc, "total",
	    (json_int_t)b->n), (size_t)-1);
}

/*
 * The record of a document whose job never ran (worker_end_requests, worker_retire: it
 * was still queued), appended unsynced as a refused request's: nothing was signed, and
 * the loop does not wait for the disk. As record_sign_job would word it.
 */
static void
batch_record_unrun(struct job *j)
{
	struct job_sign *sg = &j->u.document.sign;
	char msg[320];

	if (sg->recorded || sg->auth.ri == NULL)
		return;
	if (j->result == KYSO_OK) {  /* not a job that never ran: its record is due, synced */
		record_sign_job(j, &j->token->desc);
		return;
	}
	sg->recorded = 1;
	if (j->why[0] != '\0')
		snprintf(msg, sizeof(msg), "%s: %s", kyso_strerror(j->result), j->why);
	else
		snprintf(msg, sizeof(msg), "%s", kyso_strerror(j->result));
	record_unsent(sg->auth.ri, &j->token->desc, kyso_err_varlink(j->result ==
	    KYSO_ERR_TIMEOUT ? KYSO_ERR_CANCELLED : j->result), msg);
}

void
complete_document(struct agent *a, struct job *j)
{
	struct job_sign *sg = &j->u.document.sign;
	struct doc_job *d = &j->u.document.doc;
	struct doc_batch *b = d->batch;
	struct batch_doc *doc;

	if (d->sync_only) {
		batch_synced(a, j);
		return;
	}
	doc = &b->docs[d->index];
	batch_record_unrun(j);  /* a job that never ran: Lock, or its token left first */
	for (size_t k = 0; k < BATCH_WINDOW; k++)
		if (b->running[k] == j)
			b->running[k] = NULL;
	b->inflight--;
	doc->state = DOC_DONE;
	doc->attempted = !d->skipped;
	if (j->result == KYSO_OK && sg->sig == NULL)
		j->result = KYSO_ERR_INTERNAL;
	if (j->result == KYSO_OK && (doc->cms = b64_encode(sg->sig, sg->siglen)) == NULL)
		j->result = KYSO_ERR_NOMEM;  /* its record says granted: it was signed */
	if (j->result == KYSO_OK && d->held) {
		doc->held = 1;  /* until its record is durable (batch_release) */
		doc->mark = d->mark;
		b->nheld++;
	} else if (j->result == KYSO_OK) {
		b->nsigned++;
	} else {
		batch_doc_failed(doc, j);
		/* also for the jobs that never ran (the token left, Lock) */
		(void)batch_share_stop(b->share, batch_stop_from_job(j));
	}
	if (doc->attempted && !doc->held)
		batch_progress(a, b, d->index);
	if (b->nheld > 0 && (d->synced || j->result != KYSO_OK))
		batch_release(a, b);
	batch_pump(a, b);
}

void
batch_conn_gone(struct doc_batch *b)
{
	(void)batch_share_stop(b->share, BATCH_STOP_DISCONNECTED);
	/* a dialog open for it (an always-authenticate key's PIN) closes at once */
	for (size_t k = 0; k < BATCH_WINDOW; k++) {
		struct job *j = b->running[k];

		if (j == NULL)
			continue;
		atomic_store(&j->abort_why, JOB_ABORT_DISCONNECTED);
		pinentry_abort_fire(&j->abort);
	}
}

void
batch_token_locked(struct agent *a, const struct token *t)
{
	for (struct doc_batch *b = a->batches; b != NULL; b = b->next)
		if (b->token == t)
			(void)batch_share_stop(b->share, BATCH_STOP_LOCKED);
}

void
batch_stop_all(struct agent *a)
{
	struct doc_batch *b, *next;

	for (b = a->batches; b != NULL; b = next) {
		next = b->next;
		(void)batch_share_stop(b->share, BATCH_STOP_AGENT_STOPPING);
		for (size_t i = 0; i < b->n; i++) {
			if (b->docs[i].state != DOC_WAITING)
				continue;
			b->ri->document = b->docs[i].name;
			batch_ri_document(b, i, b->ri);
			record_unsent(b->ri, &b->token->desc, kyso_err_varlink(KYSO_ERR_CANCELLED),
			    "not signed: kysod stopped before this document");
			b->ri->document = NULL;
		}
		if (b->syncing)  /* its job is then freed with the completion queue */
			(void)pthread_join(b->sync_thread, NULL);
		log_info("batch %s: kysod stops; %zu of %zu document(s) were signed",
		    b->ri->batch_id, b->nsigned, b->n);
		b->conn->batch = NULL;
		batch_free(b);
	}
	a->batches = NULL;
}
