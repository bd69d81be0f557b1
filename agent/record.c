/* record.c — audit records of Sign requests (see record.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "agent.h"
#include "audit.h"
#include "buf.h"
#include "batch.h"
#include "conn.h"
#include "encode.h"
#include "inventory.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "record.h"
#include "rfc3339.h"
#include "reply.h"
#include "request.h"
#include "web.h"

/* The varlink error name a job's result is answered with (reply_from_job's choice). */
static const char *
record_result_name(const struct job *j)
{
	switch (j->result) {
	case KYSO_OK:
		return "granted";
	case KYSO_ERR_TIMEOUT:
		return kyso_err_varlink(KYSO_ERR_CANCELLED);
	default:
		return kyso_err_varlink(j->result);
	}
}

/* The fields every record of ri has (time now; result and message are the caller's). */
static void
record_fill(struct audit_record *rec, const struct request_info *ri,
    const struct p11_token_desc *tok)
{
	memset(rec, 0, sizeof(*rec));
	clock_gettime(CLOCK_REALTIME, &rec->when);
	rec->uid = ri->uid;
	rec->pid = ri->pid;
	rec->exe = ri->exe;
	if (ri->origin[0] != '\0') {
		rec->origin = ri->origin;
		rec->browser = ri->browser;
	}
	rec->method = ri->method;
	if (tok != NULL) {
		rec->token_serial = tok->serial;
		rec->token_label = tok->label;
	}
	rec->cert_id = ri->cert_id;
	rec->cert_subject = ri->subject;
	rec->algorithm = ri->algorithm;
	rec->digest = ri->digest_len > 0 ? ri->digest : NULL;
	rec->digest_len = ri->digest_len;
	rec->digest_alg = ri->digest_alg;
	rec->description = ri->description;
	rec->document = ri->document;
	rec->profile = ri->profile;
	rec->batch = ri->batch_id;
	rec->signing_time = ri->signing_time[0] != '\0' ? ri->signing_time : NULL;
}

int
record_time_text(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (len > 0)
			buf[0] = '\0';
		return -1;
	}
	return 0;
}

/*
 * Writes rec (with sync, durable before it returns): for SignDigests one record per
 * digest (rec with each digest in turn), in one write and at most one fsync. Returns
 * audit_write's result.
 */
static int
record_write(const struct request_info *ri, const struct job_sign *sg,
    const struct audit_record *rec, int sync, char *err, size_t errlen)
{
	const struct job_digests *m = sg->many;
	struct audit_record *all;
	int r;

	if (m == NULL || m->n < 2)
		return audit_write(ri->audit, rec, sync, err, errlen);
	if ((all = calloc(m->n, sizeof(*all))) == NULL) {
		snprintf(err, errlen, "cannot write the audit log: out of memory");
		return KYSO_ERR_NOMEM;
	}
	for (size_t i = 0; i < m->n; i++) {
		all[i] = *rec;
		all[i].digest = m->digest[i];
		all[i].digest_len = m->digest_len;
	}
	/* granted: the lines the worker formatted chunk by chunk (record_digests_chunk) */
	if (m->lines != NULL && m->made == m->n && rec->message == NULL &&
	    strcmp(rec->result, "granted") == 0)
		r = audit_write_lines(ri->audit, all, m->n, m->lines, sync, err, errlen);
	else
		r = audit_write_many(ri->audit, all, m->n, sync, err, errlen);
	free(all);
	return r;
}

int
record_digests_chunk(struct job *j, const struct p11_token_desc *tok, size_t from, size_t k)
{
	struct job_sign *sg = job_sign_part(j);
	const struct request_info *ri = sg->auth.ri;
	struct job_digests *m = sg->many;
	struct audit_record rec, *recs;
	int r;

	if (ri == NULL || ri->audit == NULL)
		return KYSO_OK;
	if (m->lines == NULL) {
		if ((m->lines = malloc(sizeof(*m->lines))) == NULL)
			return KYSO_ERR_NOMEM;
		kbuf_init(m->lines, AUDIT_LINES_MAX);
	}
	if ((recs = calloc(k, sizeof(*recs))) == NULL)
		return KYSO_ERR_NOMEM;
	record_fill(&rec, ri, tok);
	rec.result = "granted";
	for (size_t i = 0; i < k; i++) {
		recs[i] = rec;
		recs[i].digest = m->digest[from + i];
		recs[i].digest_len = m->digest_len;
	}
	r = audit_format(recs, k, m->lines);
	free(recs);
	return r;
}

/*
 * A Sign whose "granted" record was written ahead (record_sign_ahead), at its end: a
 * signature goes out only once that record is durable (else it is withheld: AuditFailed).
 * Returns 1 if the job's record is complete so, or 0 if a record is still to be written:
 * *corrects then says whether it corrects the "granted" one, still in the file.
 */
static int
record_ahead_end(struct job *j, int *corrects)
{
	struct job_sign *sg = job_sign_part(j);
	struct audit_log *log = sg->auth.ri->audit;
	char err[256];

	*corrects = 0;
	if (j->result == KYSO_OK) {
		if (audit_sync_to(log, &sg->ahead_mark, err, sizeof(err)) == KYSO_OK)
			return 1;
		log_error("%s", err);
		record_withhold(j, err);  /* taken back by the failed sync: AuditFailed */
	}
	*corrects = audit_mark_state(log, &sg->ahead_mark) != AUDIT_CUT;
	return 0;
}

void
record_sign_job(struct job *j, const struct p11_token_desc *tok)
{
	struct job_sign *sg = job_sign_part(j);
	const struct request_info *ri = sg != NULL ? sg->auth.ri : NULL;
	struct audit_record rec;
	char err[256], msg[448], when[40];
	int corrects = 0;
	size_t len;

	if (sg == NULL || ri == NULL || ri->audit == NULL || sg->recorded)
		return;
	sg->recorded = 1;
	if (sg->ahead && record_ahead_end(j, &corrects))
		return;  /* its "granted" record, durable, is the signature's */
	record_fill(&rec, ri, tok);
	rec.result = record_result_name(j);
	if (j->result != KYSO_OK) {
		if (j->why[0] != '\0')
			snprintf(msg, sizeof(msg), "%s: %s", kyso_strerror(j->result), j->why);
		else if (j->fail.cause != NULL)
			snprintf(msg, sizeof(msg), "%s: %s (in %s)", kyso_strerror(j->result),
			    j->fail.cause, j->fail.call);
		else if (j->fail.ckr_name != NULL && j->fail.ckr_name[0] != '\0')
			snprintf(msg, sizeof(msg), "%s: %s in %s", kyso_strerror(j->result),
			    j->fail.ckr_name, j->fail.call);
		else
			snprintf(msg, sizeof(msg), "%s", kyso_strerror(j->result));
		if (corrects) {
			/* the same request, its fields the same: a reader pairs the two */
			audit_time_text(&sg->ahead_when, when, sizeof(when));
			len = strnlen(msg, sizeof(msg));
			snprintf(msg + len, sizeof(msg) - len, "; %s %s", RECORD_CORRECTS, when);
		}
		rec.message = msg;
	}
	/* synced: a signature's record, and the one that corrects a record written ahead;
	 * a refusal is written, not synced — nothing was signed, and the loop records there
	 * the jobs that never ran (Lock, or the token gone while they were queued): no fsync
	 * on kysod's loop (the next sync of the file takes it along) */
	if (record_write(ri, sg, &rec, j->result == KYSO_OK || corrects, err, sizeof(err)) ==
	    KYSO_OK)
		return;
	log_error("%s", err);
	if (j->result != KYSO_OK)
		return;  /* refused anyway; the log says the record is missing */
	record_withhold(j, err);
}

int
record_sign_ahead(struct job **jobs, size_t n, const struct p11_token_desc *tok)
{
	struct audit_record *recs = calloc(n, sizeof(*recs));
	struct audit_log *log = NULL;
	struct audit_mark mark;
	char err[256];
	size_t k = 0;
	int r;

	for (size_t i = 0; recs != NULL && i < n; i++) {
		struct job_sign *sg = job_sign_part(jobs[i]);

		if (sg->recorded || sg->ahead || sg->auth.ri == NULL || sg->auth.ri->audit == NULL)
			continue;
		log = sg->auth.ri->audit;  /* the agent's one log */
		record_fill(&recs[k], sg->auth.ri, tok);
		recs[k++].result = "granted";
	}
	if (recs == NULL) {
		snprintf(err, sizeof(err), "cannot write the audit log: out of memory");
		r = KYSO_ERR_AUDIT;
	} else {
		r = k == 0 ? KYSO_OK : audit_write_many_marked(log, recs, k, &mark, err,
		    sizeof(err));
	}
	for (size_t i = 0, m = 0; (k > 0 || recs == NULL) && i < n; i++) {
		struct job_sign *sg = job_sign_part(jobs[i]);

		if (sg->recorded || sg->ahead || sg->auth.ri == NULL || sg->auth.ri->audit == NULL)
			continue;
		if (r == KYSO_OK) {
			sg->ahead = 1;
			sg->ahead_mark = mark;
			sg->ahead_when = recs[m++].when;
		} else {
			/* nothing is signed; a failed write was its record (the journal says
			 * AuditFailed), out of memory writes it at the job's end */
			sg->recorded = recs != NULL;
			record_withhold(jobs[i], err);
		}
	}
	free(recs);
	if (r == KYSO_OK)
		return KYSO_OK;
	log_error("%s", err);
	return KYSO_ERR_AUDIT;
}

int
record_ahead_sync(struct job *j, char *err, size_t errlen)
{
	struct job_sign *sg = job_sign_part(j);

	if (!sg->ahead)
		return KYSO_OK;
	return audit_sync_to(sg->auth.ri->audit, &sg->ahead_mark, err, errlen);
}

void
record_withhold(struct job *j, const char *err)
{
	struct job_sign *sg = job_sign_part(j);

	/* no signature without its record (none yet when the record was to come first) */
	if (sg->sig != NULL)
		explicit_bzero(sg->sig, sg->siglen);
	free(sg->sig);
	sg->sig = NULL;
	sg->siglen = 0;
	job_digests_free(sg->many);
	sg->many = NULL;
	j->result = KYSO_ERR_AUDIT;
	snprintf(j->why, sizeof(j->why), "%s", err);
}

int
record_document_unsynced(struct job *j, const struct p11_token_desc *tok,
    struct audit_mark *mark)
{
	struct job_sign *sg = job_sign_part(j);
	const struct request_info *ri = sg != NULL ? sg->auth.ri : NULL;
	struct audit_record rec;
	char err[256];

	if (ri == NULL || ri->audit == NULL || sg->recorded || j->result != KYSO_OK) {
		record_sign_job(j, tok);
		return 0;
	}
	sg->recorded = 1;
	record_fill(&rec, ri, tok);
	rec.result = "granted";
	if (audit_write_marked(ri->audit, &rec, mark, err, sizeof(err)) == KYSO_OK)
		return 1;
	log_error("%s", err);
	record_withhold(j, err);
	return 0;
}

/*
 * The record of a call of method from c that the loop refused with r; for a web page's
 * call, the browser (the caller's parent) is written into browser (len bytes).
 */
static void
record_refused_call(struct audit_record *rec, const struct conn *c, const char *method,
    const struct cert *cert, const char *algorithm, const char *description,
    const struct reply *r, char *browser, size_t len)
{
	pid_t ppid;

	memset(rec, 0, sizeof(*rec));
	clock_gettime(CLOCK_REALTIME, &rec->when);
	rec->uid = c->uid;
	rec->pid = c->pid;
	rec->exe = c->exe;
	if (c->origin[0] != '\0') {
		rec->origin = c->origin;
		(void)web_parent(c, &ppid, browser, len);
		rec->browser = browser;
	}
	rec->method = method;
	if (cert != NULL) {
		rec->token_serial = cert->token->desc.serial;
		rec->token_label = cert->token->desc.label;
		rec->cert_id = cert->ci.id;
		rec->cert_subject = cert->ci.subject;
	}
	rec->algorithm = algorithm;
	rec->description = description;
	rec->result = r->error;
	rec->message = json_string_value(json_object_get(r->eparams, "message"));
}

void
record_refusal(struct agent *a, const struct conn *c, const struct cert *cert,
    const char *algorithm, const char *description, const struct reply *r)
{
	record_refusal_digest(a, c, cert, algorithm, description, NULL, 0, NULL, r);
}

void
record_refusal_digest(struct agent *a, const struct conn *c, const struct cert *cert,
    const char *algorithm, const char *description, const unsigned char *digest,
    size_t digest_len, const char *digest_alg, const struct reply *r)
{
	record_refusal_method(a, c, "io.kyso.Agent.Sign", cert, algorithm, description, digest,
	    digest_len, digest_alg, r);
}

void
record_refusal_method(struct agent *a, const struct conn *c, const char *method,
    const struct cert *cert, const char *algorithm, const char *description,
    const unsigned char *digest, size_t digest_len, const char *digest_alg,
    const struct reply *r)
{
	struct audit_record rec;
	char err[256], browser[256];

	if (a->audit == NULL || r->error == NULL)
		return;
	record_refused_call(&rec, c, method, cert, algorithm, description, r, browser,
	    sizeof(browser));
	rec.digest = digest_len > 0 ? digest : NULL;
	rec.digest_len = digest_len;
	rec.digest_alg = digest_alg;
	if (audit_write(a->audit, &rec, 0, err, sizeof(err)) != KYSO_OK)
		log_error("%s", err);
}

void
record_unsent(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *result, const char *message)
{
	struct audit_record rec;
	char err[256];

	if (ri->audit == NULL)
		return;
	record_fill(&rec, ri, tok);
	rec.result = result;
	rec.message = message;
	if (audit_write(ri->audit, &rec, 0, err, sizeof(err)) != KYSO_OK)
		log_error("%s", err);
}

/*
 * The digest document d of a refused call sent, when it is valid for the digest_algorithm
 * it names: into out (64 bytes), its name in *alg. Returns its length, or 0.
 */
static size_t
record_doc_digest(json_t *d, unsigned char out[64], const char **alg)
{
	static const struct { const char *name; size_t len; } hashes[] = {
		{ "sha256", 32 }, { "sha384", 48 }, { "sha512", 64 },
	};
	const char *name = json_string_value(json_object_get(d, "digest_algorithm"));
	const char *b64 = json_string_value(json_object_get(d, "digest"));
	unsigned char *raw = NULL;
	size_t len = 0, want = 0;

	for (size_t i = 0; name != NULL && i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(name, hashes[i].name) == 0) {
			want = hashes[i].len;
			*alg = hashes[i].name;
		}
	if (want == 0 || b64 == NULL || strlen(b64) > 128 ||
	    b64_decode(b64, &raw, &len) != KYSO_OK || len != want) {
		free(raw);
		return 0;
	}
	memcpy(out, raw, len);
	free(raw);
	return len;
}

/* The valid signing_time document d of a refused CAdES call chose, in UTC, or NULL. */
static const char *
record_doc_time(json_t *d, const char *profile, char *buf, size_t len)
{
	const char *s = json_string_value(json_object_get(d, "signing_time"));
	int64_t ms;

	if (s == NULL || (profile != NULL && strcmp(profile, "pades") == 0) ||
	    strlen(s) > 64 || rfc3339_parse(s, 1, &ms) != 0 || ms < 0 ||
	    record_time_text((time_t)(ms / 1000), buf, len) != 0)
		return NULL;
	return buf;
}

void
record_documents_refused(struct agent *a, const struct conn *c, const struct cert *cert,
    const char *algorithm, const char *description, const char *profile,
    json_t *documents, const struct reply *r)
{
	struct audit_record rec;
	size_t n = json_is_array(documents) ? json_array_size(documents) : 0, done = 0;
	unsigned char digest[64];
	char err[256], browser[256], when[24];

	if (a->audit == NULL || r->error == NULL)
		return;
	if (n > BATCH_DOCS_MAX)
		n = 0;  /* refused for that: one record for the call */
	record_refused_call(&rec, c, "io.kyso.Agent.SignDocuments", cert, algorithm,
	    description, r, browser, sizeof(browser));
	rec.profile = profile;
	for (size_t i = 0; i <= n; i++) {
		json_t *d = i < n ? json_array_get(documents, i) : NULL;

		if (i == n && done > 0)
			break;  /* one record per document; one for the call if none */
		if (i < n && !json_is_object(d))
			continue;
		rec.document = json_string_value(json_object_get(d, "name"));
		/* what it asked to sign, when that was valid (as for a refused Sign) */
		rec.digest_alg = NULL;
		rec.digest_len = d != NULL ? record_doc_digest(d, digest, &rec.digest_alg) : 0;
		rec.digest = rec.digest_len > 0 ? digest : NULL;
		rec.signing_time = record_doc_time(d, profile, when, sizeof(when));
		if (audit_write(a->audit, &rec, 0, err, sizeof(err)) != KYSO_OK) {
			log_error("%s", err);
			return;
		}
		done++;
	}
	explicit_bzero(digest, sizeof(digest));
}
