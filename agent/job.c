/* job.c — allocation and release of jobs. */
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "secret.h"

struct job *
job_new(enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j != NULL)
		j->kind = kind;
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
	free(j->sig);
	p11_certs_free(j->certs, j->ncerts);
	free(j->slots);
	free(j);
}
