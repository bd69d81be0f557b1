/* doc_job.c — what the documents of a batch share, and why a batch stops (doc_job.h). */
#include <stdlib.h>

#include "doc_job.h"
#include "job.h"
#include "kyso_err.h"
#include "secret.h"

static const char *const stop_names[] = {
	[BATCH_GOING] = "",
	[BATCH_STOP_CANCELLED] = "cancelled",
	[BATCH_STOP_REFUSED] = "refused",
	[BATCH_STOP_TIMEOUT] = "timeout",
	[BATCH_STOP_NO_DIALOG] = "no-dialog",
	[BATCH_STOP_LOCKED] = "locked",
	[BATCH_STOP_DISCONNECTED] = "disconnected",
	[BATCH_STOP_TOKEN_REMOVED] = "token-removed",
	[BATCH_STOP_PIN_INCORRECT] = "pin-incorrect",
	[BATCH_STOP_PIN_LOCKED] = "pin-locked",
	[BATCH_STOP_PIN_REQUIRED] = "pin-required",
	[BATCH_STOP_AUDIT_FAILED] = "audit-failed",
	[BATCH_STOP_TOKEN_ERROR] = "token-error",
	[BATCH_STOP_FAILED] = "failed",
	[BATCH_STOP_AGENT_STOPPING] = "agent-stopping",
};

const char *
batch_stop_name(enum batch_stop s)
{
	if ((size_t)s >= sizeof(stop_names) / sizeof(stop_names[0]))
		return "failed";
	return stop_names[s];
}

enum batch_stop
batch_stop_from_job(const struct job *j)
{
	switch (j->result) {
	case KYSO_ERR_CANCELLED:
		/* a cancelled request's reason (job.c's table) is the batch's; a document
		 * skipped because its batch had stopped keeps the batch's reason */
		if (j->kind == JOB_DOCUMENT && j->u.document.sign.auth.cancel ==
		    JOB_CANCEL_BATCH_STOPPED)
			return batch_share_stopped(j->u.document.doc.share);
		return job_auth_part(j) != NULL ? job_cancel_stop(job_auth_part(j)->cancel) :
		    BATCH_STOP_CANCELLED;
	case KYSO_ERR_TIMEOUT:
		return BATCH_STOP_TIMEOUT;
	case KYSO_ERR_TOKEN_NOT_PRESENT:
		return BATCH_STOP_TOKEN_REMOVED;
	case KYSO_ERR_PIN_INCORRECT:
		return BATCH_STOP_PIN_INCORRECT;
	case KYSO_ERR_PIN_LOCKED:
		return BATCH_STOP_PIN_LOCKED;
	case KYSO_ERR_PIN_REQUIRED:
	case KYSO_ERR_PINENTRY:
		return BATCH_STOP_PIN_REQUIRED;
	case KYSO_ERR_AUDIT:
		return BATCH_STOP_AUDIT_FAILED;
	case KYSO_ERR_TOKEN:
	case KYSO_ERR_KEY_NOT_FOUND:
	case KYSO_ERR_UNSUPPORTED_ALG:
		return BATCH_STOP_TOKEN_ERROR;
	default:
		return BATCH_STOP_FAILED;
	}
}

struct batch_share *
batch_share_new(struct cms_signer *signer)
{
	struct batch_share *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	atomic_init(&s->refs, 1);
	atomic_init(&s->stop, BATCH_GOING);
	atomic_init(&s->docs_out, 0);
	atomic_init(&s->all_queued, 0);
	atomic_init(&s->synced_ms, document_ops_now_ms());
	atomic_init(&s->key_always_auth, -1);
	s->signer = signer;
	return s;
}

struct batch_share *
batch_share_ref(struct batch_share *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void
batch_share_unref(struct batch_share *s)
{
	if (s == NULL || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	cms_signer_free(s->signer);
	secret_free(s->pin);
	free(s);
}

enum batch_stop
batch_share_stop(struct batch_share *s, enum batch_stop why)
{
	int going = BATCH_GOING;

	if (atomic_compare_exchange_strong(&s->stop, &going, (int)why))
		return why;
	return (enum batch_stop)going;  /* the reason set before */
}

enum batch_stop
batch_share_stopped(struct batch_share *s)
{
	return (enum batch_stop)atomic_load(&s->stop);
}

void
doc_job_clear(struct doc_job *d)
{
	if (d == NULL)
		return;
	batch_share_unref(d->share);
	free(d->content_type);
	d->share = NULL;
	d->content_type = NULL;
}
