/* digests_ops.c — a SignDigests chunk made ready on the worker (see digests_ops.h). */
#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "buf.h"
#include "digests_ops.h"
#include "encode.h"
#include "job.h"
#include "kyso_err.h"
#include "record.h"
#include "request.h"
#include "wire.h"

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

/* The reply's text so far, begun: {"signatures":[ */
static const char text_head[] = "{\"signatures\":[";

/* Appends signature i's base64 as a JSON string to m->out (begun if need be). */
static int
digests_text(struct job_digests *m, size_t i)
{
	int r;

	if (m->out == NULL) {
		if ((m->out = malloc(sizeof(*m->out))) == NULL)
			return KYSO_ERR_NOMEM;
		kbuf_init(m->out, KYSO_WIRE_REPLY_MAX);
		if ((r = kbuf_append(m->out, text_head, sizeof(text_head) - 1)) != KYSO_OK)
			return r;
	}
	return json_b64_item(m->out, i == 0, m->sig[i], m->siglen[i]);
}

int
digests_ops_chunk(struct job *j, const struct p11_token_desc *tok, size_t from, size_t k)
{
	struct job_sign *sg = job_sign_part(j);
	struct job_digests *m = sg->many;
	int r = KYSO_OK;

	if (m == NULL || from != m->made || k > m->n - from)
		return KYSO_ERR_INTERNAL;
	for (size_t i = from; i < from + k && r == KYSO_OK; i++) {
		if (m->sig[i] == NULL)
			return KYSO_ERR_INTERNAL;
		if (sg->ecdsa_der && (r = digests_der(m, i)) != KYSO_OK)
			break;
		r = digests_text(m, i);
	}
	if (r == KYSO_OK)
		r = record_digests_chunk(j, tok, from, k);
	if (r == KYSO_OK)
		m->made += k;
	return r;
}

int
digests_ops_reply(struct job *j, struct kbuf **text)
{
	struct job_sign *sg = job_sign_part(j);
	struct job_digests *m = sg->many;
	int r = KYSO_OK;

	*text = NULL;
	for (size_t i = m->out != NULL ? m->made : 0; i < m->n && r == KYSO_OK; i++)
		r = m->sig[i] != NULL ? digests_text(m, i) : KYSO_ERR_INTERNAL;
	if (r == KYSO_OK && m->out == NULL)  /* none: cannot be, a call has at least one */
		r = KYSO_ERR_INTERNAL;
	if (r == KYSO_OK && (r = kbuf_append(m->out, "]", 1)) == KYSO_OK &&
	    (r = json_member(m->out, "algorithm", sg->alg->name)) == KYSO_OK &&
	    (r = json_member(m->out, "certificate", sg->cert_id)) == KYSO_OK &&
	    (r = json_member(m->out, "batch", sg->auth.ri->batch_id)) == KYSO_OK &&
	    (r = kbuf_append(m->out, "}", 1)) == KYSO_OK) {
		*text = m->out;
		m->out = NULL;
	}
	return r;
}
