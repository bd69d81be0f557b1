/*
 * record.h — the audit record of every Sign request, and of every document of a
 * SignDocuments call (audit.h writes it): by the worker
 * once the token signed or refused — before the signature goes back, so that there is
 * no signature without its record — and by the loop for requests refused before they
 * reached a token.
 */
#ifndef KYSO_RECORD_H
#define KYSO_RECORD_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

struct agent;
struct cert;
struct conn;
struct job;
struct p11_token_desc;
struct reply;
struct request_info;

/*
 * Records a finished JOB_SIGN or JOB_DOCUMENT once (other jobs, or jobs without an audit
 * log, are left alone): by the worker, or by the loop for a job that never ran (its token
 * left first, or Lock came). A signature's record, and one correcting a record written
 * ahead, are synced before this returns; a refusal's is written, not synced (nothing was
 * signed; the loop never waits for the disk). If the record cannot be written, a
 * signature the job holds is wiped and the job fails with KYSO_ERR_AUDIT (the reason in
 * j->why). A Sign whose "granted" record was written ahead (record_sign_ahead) gets that
 * record synced, or corrected.
 */
void record_sign_job(struct job *j, const struct p11_token_desc *tok);

/* What a record correcting a "granted" one says, before that record's time. */
#define RECORD_CORRECTS "no signature was given out for the request recorded as granted at"

/*
 * Writes the "granted" records of the Sign jobs jobs[0..n-1] (of token tok) before the
 * token signs them: in one write, unsynced (audit_write_many_marked), each job keeping
 * where its record is and its time (job_sign.ahead). Jobs recorded already, or without
 * an audit log, are left alone. Returns KYSO_OK, or the write's error: then each of those
 * jobs has failed with KYSO_ERR_AUDIT (nothing in the file; the journal says AuditFailed)
 * and none of them may be signed. At the job's end record_sign_job syncs that record
 * before a signature goes out (else the signature is withheld: AuditFailed), or, when no
 * signature goes out and the record is in the file, writes a second record for the same
 * request: its error and a message ending in RECORD_CORRECTS and the first one's time.
 */
int record_sign_ahead(struct job **jobs, size_t n, const struct p11_token_desc *tok);

/*
 * Makes Sign job j's record written ahead durable (audit_sync_to): KYSO_OK (also for a
 * job without one), or KYSO_ERR_AUDIT with err when a failed sync took it back.
 */
int record_ahead_sync(struct job *j, char *err, size_t errlen);

/*
 * Wipes the signature (or CMS, or SignDigests' signatures) job j holds and makes it fail
 * with KYSO_ERR_AUDIT, err in j->why: its record could not be written or made durable.
 */
void record_withhold(struct job *j, const char *err);

struct audit_mark;

/*
 * A signed JOB_DOCUMENT's "granted" record, written without sync (audit_write_marked):
 * returns 1 with *mark, for a sync later (audit_sync_to) before its CMS goes out. A job
 * that did not sign, or without an audit log, is recorded as record_sign_job does
 * (synced) and 0 is returned; so it is when the write fails (the CMS withheld, as there).
 */
int record_document_unsynced(struct job *j, const struct p11_token_desc *tok,
    struct audit_mark *mark);

/*
 * SignDigests job j, while its next chunk is at the token: formats the "granted" records
 * of digests [from, from + k) (of token tok, the time now) onto j's many->lines, which
 * record_sign_job then writes in one write and one fsync if every digest got signed.
 * Returns KYSO_OK (also without an audit log), KYSO_ERR_NOMEM or KYSO_ERR_INVALID_ARG.
 */
int record_digests_chunk(struct job *j, const struct p11_token_desc *tok, size_t from,
    size_t k);

/*
 * Records a Sign call from c that the loop refused with reply r; cert, alg and
 * description may be NULL when not known (yet). Not synchronous: nothing was signed.
 */
void record_refusal(struct agent *a, const struct conn *c, const struct cert *cert,
    const char *algorithm, const char *description, const struct reply *r);

/*
 * The same, with what the call asked to sign: digest (digest_len bytes, digest_alg
 * "sha256"...) when the call sent a valid one or data the loop hashed; NULL if none.
 */
void record_refusal_digest(struct agent *a, const struct conn *c, const struct cert *cert,
    const char *algorithm, const char *description, const unsigned char *digest,
    size_t digest_len, const char *digest_alg, const struct reply *r);

/*
 * As record_refusal_digest, for a call of method (SignDigests: one record for the call,
 * with its first digest when that was valid).
 */
void record_refusal_method(struct agent *a, const struct conn *c, const char *method,
    const struct cert *cert, const char *algorithm, const char *description,
    const unsigned char *digest, size_t digest_len, const char *digest_alg,
    const struct reply *r);

/*
 * Records a SignDocuments call from c that the loop refused with r before any token was
 * asked: one record per element of documents (the call's array, or NULL) with the name
 * it gives and, when valid for the digest_algorithm it names, its digest, as far as the
 * elements are objects; one record for the call when there are none. cert, algorithm,
 * description and profile may be NULL. Not synchronous.
 */
void record_documents_refused(struct agent *a, const struct conn *c,
    const struct cert *cert, const char *algorithm, const char *description,
    const char *profile, json_t *documents, const struct reply *r);

/*
 * Records the request ri describes (a document of a batch, its fields filled in) that
 * never reached its token tok: result is the varlink error name, message the sentence.
 * Not synchronous: nothing was signed.
 */
void record_unsent(const struct request_info *ri, const struct p11_token_desc *tok,
    const char *result, const char *message);

/*
 * Writes t as RFC 3339 UTC with seconds ("2026-11-30T03:00:00Z") to buf (len >= 21).
 * Returns 0, or -1 (buf "") if it cannot.
 */
int record_time_text(time_t t, char *buf, size_t len);

#endif
