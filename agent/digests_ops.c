/* digests_ops.c — a SignDigests chunk made ready on the worker (see digests_ops.h). */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alg.h"
#include "digests_ops.h"
#include "encode.h"
#include "job.h"
#include "kyso_err.h"
#include "record.h"

/* Signature i of m turned into DER in place. Returns KYSO_OK or an error. */
static int
digests_der(struct job_digests *m, size_t i)
{
	unsigned char *der;
	size_t derlen;
	int r;

	if ((r = alg_ecdsa_raw_to_der(m->sig[i], m->siglen[i], &der, &derlen)) != KYSO_OK)
		return r;
	explicit_bzero(m->sig[i], m->siglen[i]);
	free(m->sig[i]);
	m->sig[i] = der;
	m->siglen[i] = derlen;
	return KYSO_OK;
}

int
digests_ops_chunk(struct job *j, const struct p11_token_desc *tok, size_t from, size_t k)
{
	struct job_sign *sg = job_sign_part(j);
	struct job_digests *m = sg->many;
	int r = KYSO_OK;

	if (m == NULL || from != m->made || k > m->n - from)
		return KYSO_ERR_INTERNAL;
	if (m->out == NULL && (m->out = json_array()) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = from; i < from + k && r == KYSO_OK; i++) {
		char *b64;

		if (m->sig[i] == NULL)
			return KYSO_ERR_INTERNAL;
		if (sg->ecdsa_der && (r = digests_der(m, i)) != KYSO_OK)
			break;
		if ((b64 = b64_encode(m->sig[i], m->siglen[i])) == NULL ||
		    json_array_append_new(m->out, json_string_nocheck(b64)) != 0)
			r = KYSO_ERR_NOMEM;
		free(b64);
	}
	if (r == KYSO_OK)
		r = record_digests_chunk(j, tok, from, k);
	if (r == KYSO_OK)
		m->made += k;
	return r;
}
