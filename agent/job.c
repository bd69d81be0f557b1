/* job.c — allocation and release of jobs. */
#include <stdlib.h>
#include <string.h>

#include "doc_job.h"
#include "job.h"
#include "request.h"
#include "secret.h"
#include "web.h"

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
	doc_job_free(j->doc);
	p11_certs_free(j->certs, j->ncerts);
	free(j->slots);
	web_ask_free(j->web_ask);
	pinentry_abort_destroy(&j->abort);
	free(j);
}
