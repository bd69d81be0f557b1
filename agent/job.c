/* job.c — allocation and release of jobs; the reasons a job is cancelled. */
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "request.h"
#include "secret.h"

struct job *
job_new(enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->kind = kind;
		pinentry_abort_init(&j->abort);
		atomic_init(&j->abort_why, JOB_ABORT_NONE);
	}
	return j;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	secret_free(j->pin);
	if (j->in_buf != NULL) {
		explicit_bzero(j->in_buf, j->req.in_len);
		free(j->in_buf);
	}
	free(j->key_id_buf);
	if (j->sig != NULL)
		explicit_bzero(j->sig, j->siglen);
	free(j->sig);
	request_info_free(j->ri);
	p11_certs_free(j->certs, j->ncerts);
	free(j->slots);
	pinentry_abort_destroy(&j->abort);
	free(j);
}

static const struct {
	const char *reason, *message;
} cancels[JOB_CANCEL_COUNT] = {
	[JOB_CANCEL_PIN] = { "cancelled", "the officer cancelled the PIN dialog" },
	[JOB_CANCEL_REFUSED] = { "refused", "the officer refused to confirm the signature" },
	[JOB_CANCEL_TIMEOUT] = { "timeout", "nobody answered the dialog in time" },
	[JOB_CANCEL_NO_DIALOG] = { "no-dialog", "the policy wants every signature confirmed, "
	    "and no confirmation dialog could be shown" },
	[JOB_CANCEL_LOCKED] = { "locked", "the dialog was closed: the tokens were locked "
	    "(Lock, session lock or sleep)" },
	[JOB_CANCEL_LOCKED_UNSERVED] = { "locked", "the request was ended before it was "
	    "served: the tokens were locked (Lock, session lock or sleep)" },
};

const char *
job_cancel_reason(enum job_cancel c)
{
	return (unsigned)c < JOB_CANCEL_COUNT ? cancels[c].reason : "cancelled";
}

const char *
job_cancel_message(enum job_cancel c)
{
	return (unsigned)c < JOB_CANCEL_COUNT ? cancels[c].message : "the request was cancelled";
}
