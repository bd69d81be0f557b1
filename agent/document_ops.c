/*
 * document_ops.c — a worker signs one document of a SignDocuments batch: the CMS signed
 * attributes are built here (cms_build.c), signed as a Sign job's digest or data would
 * be (token_ops_sign: the dialogs, the login, the always-authenticate key's PIN), and the
 * signature goes into the CMS. Runs in the token's worker thread; touches only the job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "doc_job.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "monotime.h"
#include "p11.h"
#include "record.h"
#include "request.h"
#include "secret.h"
#include "worker.h"

int
document_ops_skip(struct job *j)
{
	struct doc_job *d = &j->u.document.doc;
	enum batch_stop why = batch_share_stopped(d->share);

	if (why == BATCH_GOING)
		return 0;
	d->skipped = 1;
	j->result = KYSO_ERR_CANCELLED;
	j->u.document.sign.auth.cancel = JOB_CANCEL_BATCH_STOPPED;
	snprintf(j->why, sizeof(j->why), "not signed: the batch stopped before this document "
	    "(%s)", batch_stop_name(why));
	return 1;
}

/* Puts what the token's mechanism takes of the attributes' DER into the job's request. */
static int
document_input(struct job *j, unsigned char **tbs, size_t tbs_len)
{
	struct job_sign *sg = &j->u.document.sign;
	unsigned char hash[64], *buf;
	unsigned bits = sg->alg->hash_bits;
	size_t len;

	if (j->u.document.doc.input == INPUT_DATA) {
		sg->in_buf = *tbs;  /* moved */
		*tbs = NULL;
		sg->req.in = sg->in_buf;
		sg->req.in_len = tbs_len;
		return KYSO_OK;
	}
	if (alg_hash(bits, *tbs, tbs_len, hash) != KYSO_OK)
		return KYSO_ERR_CRYPTO;
	if ((buf = malloc(19 + 64)) == NULL)
		return KYSO_ERR_NOMEM;
	if (j->u.document.doc.input == INPUT_DIGEST_INFO) {
		len = alg_digest_info(bits, hash, bits / 8, buf);
	} else {
		len = bits / 8;
		memcpy(buf, hash, len);
	}
	sg->in_buf = buf;
	sg->req.in = buf;
	sg->req.in_len = len;
	return len > 0 ? KYSO_OK : KYSO_ERR_INTERNAL;
}

/*
 * Whether the key of document j wants its PIN for every signature: what its signature
 * showed, else what the token says of the key — asked once per batch (a call to the
 * module's helper per document cost a round trip each).
 */
static int
document_key_always_auth(struct p11_session *s, struct job *j)
{
	struct batch_share *share = j->u.document.doc.share;
	struct job_sign *sg = &j->u.document.sign;
	int v;

	if (sg->always_auth || sg->key_wants_pin) {
		atomic_store(&share->key_always_auth, 1);
		return 1;
	}
	if ((v = atomic_load(&share->key_always_auth)) < 0) {
		v = p11_session_key_always_auth(s, sg->req.key_id, sg->req.key_id_len);
		atomic_store(&share->key_always_auth, v);
	}
	return v;
}

int
document_ops_run(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j)
{
	struct doc_job *d = &j->u.document.doc;
	struct job_sign *sg = &j->u.document.sign;
	struct cms_build *b = NULL;
	unsigned char *tbs = NULL, *der = NULL;
	size_t tbs_len = 0, len = 0;
	int r;

	/* login_cache = no: log in again with the PIN the batch's consent got */
	if (sg->auth.logout_after && sg->auth.pin == NULL && d->share->pin != NULL &&
	    (r = secret_new(secret_data(d->share->pin), secret_len(d->share->pin),
	    &sg->auth.pin)) != KYSO_OK)
		return r;
	d->cms.signing_time = d->has_time ? d->when : time(NULL);
	if ((r = cms_build_start(d->share->signer, &d->cms, &b, &tbs, &tbs_len)) != KYSO_OK) {
		snprintf(j->why, sizeof(j->why), "the CMS signed attributes could not be built: "
		    "%s", kyso_strerror(r));
		log_error("document %zu of a batch: %s", d->index, j->why);
		return r == KYSO_ERR_NOMEM ? r : KYSO_ERR_CRYPTO;
	}
	if ((r = document_input(j, &tbs, tbs_len)) != KYSO_OK)
		goto out;
	r = token_ops_sign(s, expect, ab, j);
	d->key_always_auth = document_key_always_auth(s, j);
	if (r != KYSO_OK)
		goto out;
	if ((r = cms_build_finish(b, sg->sig, sg->siglen, &der, &len)) != KYSO_OK) {
		snprintf(j->why, sizeof(j->why), "the CMS could not be encoded: %s",
		    kyso_strerror(r));
		r = r == KYSO_ERR_NOMEM ? r : KYSO_ERR_CRYPTO;
		goto out;
	}
	explicit_bzero(sg->sig, sg->siglen);
	free(sg->sig);
	sg->sig = der;  /* the whole CMS, withheld like a signature if it cannot be recorded */
	sg->siglen = len;
out:
	free(tbs);
	cms_build_free(b);
	return r;
}

void
document_ops_done(struct job *j)
{
	struct doc_job *d = &j->u.document.doc;
	struct job_auth *au = &j->u.document.sign.auth;
	struct batch_share *share = d->share;

	if (j->result != KYSO_OK && !d->skipped)
		(void)batch_share_stop(share, batch_stop_from_job(j));
	if (j->result == KYSO_OK && au->logout_after && share->pin == NULL &&
	    au->pin != NULL && !d->key_always_auth) {
		share->pin = au->pin;  /* moved: the next documents log in with it */
		au->pin = NULL;
	}
}

long long
document_ops_now_ms(void)
{
	return mono_now_ms();
}

void
document_ops_record(struct job *j, const struct p11_token_desc *tok)
{
	struct doc_job *d = &j->u.document.doc;
	struct batch_share *share = d->share;
	const struct request_info *ri = j->u.document.sign.auth.ri;
	long long now;
	int last;
	char err[256];

	d->held = record_document_unsynced(j, tok, &d->mark);
	/* recorded: one fewer to come (a skipped or failed one too, its refusal written
	 * unsynced: the batch's pending records are then synced by the worker's next sync or,
	 * once the batch ends, off the loop by batch_sync_start's thread) */
	last = atomic_fetch_sub(&share->docs_out, 1) == 1 && atomic_load(&share->all_queued);
	if (!d->held) {
		d->synced = 1;  /* the loop looks at the held documents (batch_release) */
		return;
	}
	now = document_ops_now_ms();
	/* a key that wants its PIN for each signature: the next document waits for a
	 * dialog, this one's CMS must not wait for it */
	if (!last && batch_share_stopped(share) == BATCH_GOING && !d->key_always_auth &&
	    now - atomic_load(&share->synced_ms) < BATCH_SYNC_MS)
		return;  /* the next document's record is coming: one sync for both */
	d->synced = 1;
	atomic_store(&share->synced_ms, now);
	if (audit_sync_to(ri->audit, &d->mark, err, sizeof(err)) == KYSO_OK)
		return;
	/* taken back with every record not yet durable: those documents' CMS stay home */
	log_error("%s", err);
	d->held = 0;
	record_withhold(j, err);
}
