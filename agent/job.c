/* job.c — allocation and release of jobs; the reasons a job is cancelled. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
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

/* Frees what a login part holds: the PIN (wiped) and the request. */
static void
job_auth_clear(struct job_auth *a)
{
	secret_free(a->pin);
	request_info_free(a->ri);
}

/* Frees what a signature part holds, wiping its input and the signature. */
static void
job_sign_clear(struct job_sign *s)
{
	job_auth_clear(&s->auth);
	if (s->in_buf != NULL) {
		explicit_bzero(s->in_buf, s->req.in_len);
		free(s->in_buf);
	}
	free(s->key_id_buf);
	if (s->sig != NULL)
		explicit_bzero(s->sig, s->siglen);
	free(s->sig);
	job_digests_free(s->many);
	s->many = NULL;
}

void
job_digests_free(struct job_digests *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; m->sig != NULL && i < m->n; i++) {
		if (m->sig[i] != NULL)
			explicit_bzero(m->sig[i], m->siglen[i]);
		free(m->sig[i]);
	}
	if (m->in != NULL)  /* the inputs written (m->in_len each), not the room for any */
		explicit_bzero(m->in, m->n * m->in_len);
	free(m->in);
	if (m->out != NULL) {
		kbuf_free(m->out);
		free(m->out);
	}
	if (m->lines != NULL) {
		kbuf_free(m->lines);  /* which wipes it */
		free(m->lines);
	}
	free(m->digest);
	free(m->sig);
	free(m->siglen);
	free(m);
}

struct job_digests *
job_digests_new(size_t n)
{
	struct job_digests *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->n = n;
	m->in = calloc(n, 19 + 64);
	m->digest = calloc(n, sizeof(*m->digest));
	m->sig = calloc(n, sizeof(*m->sig));
	m->siglen = calloc(n, sizeof(*m->siglen));
	if (m->in == NULL || m->digest == NULL || m->sig == NULL || m->siglen == NULL) {
		job_digests_free(m);
		return NULL;
	}
	return m;
}

void
job_free(struct job *j)
{
	if (j == NULL)
		return;
	switch (j->kind) {
	case JOB_LOGIN:
		job_auth_clear(&j->u.login.auth);
		break;
	case JOB_SIGN:
		job_sign_clear(&j->u.sign);
		break;
	case JOB_DOCUMENT:
		job_sign_clear(&j->u.document.sign);
		doc_job_clear(&j->u.document.doc);
		break;
	case JOB_MODSCAN:
		free(j->u.modscan.slots);
		break;
	case JOB_WEB_ASK:
		request_info_free(j->u.web.ri);
		web_ask_free(j->u.web.ask);
		break;
	case JOB_SCAN:
	case JOB_LOGOUT:
		break;
	}
	p11_certs_free(j->state.certs, j->state.ncerts);
	pinentry_abort_destroy(&j->abort);
	free(j);
}

/* The one table of cancel reasons: the wire name comes from the batch stop reasons. */
static const struct {
	enum batch_stop stop;
	const char *message;
} cancels[JOB_CANCEL_COUNT] = {
	[JOB_CANCEL_PIN] = { BATCH_STOP_CANCELLED, "the officer cancelled the PIN dialog" },
	[JOB_CANCEL_REFUSED] = { BATCH_STOP_REFUSED,
	    "the officer refused to confirm the signature" },
	[JOB_CANCEL_TIMEOUT] = { BATCH_STOP_TIMEOUT, "nobody answered the dialog in time" },
	[JOB_CANCEL_NO_DIALOG] = { BATCH_STOP_NO_DIALOG, "the policy wants every signature "
	    "confirmed, and no confirmation dialog could be shown" },
	[JOB_CANCEL_LOCKED] = { BATCH_STOP_LOCKED, "the dialog was closed: the tokens were "
	    "locked (Lock, session lock or sleep)" },
	[JOB_CANCEL_LOCKED_UNSERVED] = { BATCH_STOP_LOCKED, "the request was ended before it "
	    "was served: the tokens were locked (Lock, session lock or sleep)" },
	[JOB_CANCEL_DISCONNECTED] = { BATCH_STOP_DISCONNECTED, "the client closed its "
	    "connection: the request was ended" },
	[JOB_CANCEL_BATCH_STOPPED] = { BATCH_GOING, "not signed: the batch stopped before "
	    "this document" },
};

const char *
job_cancel_reason(enum job_cancel c)
{
	if ((unsigned)c >= JOB_CANCEL_COUNT || cancels[c].stop == BATCH_GOING)
		return batch_stop_name(BATCH_STOP_CANCELLED);
	return batch_stop_name(cancels[c].stop);
}

const char *
job_cancel_message(enum job_cancel c)
{
	return (unsigned)c < JOB_CANCEL_COUNT ? cancels[c].message : "the request was cancelled";
}

enum batch_stop
job_cancel_stop(enum job_cancel c)
{
	return (unsigned)c < JOB_CANCEL_COUNT ? cancels[c].stop : BATCH_STOP_CANCELLED;
}
