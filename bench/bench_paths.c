/*
 * bench_paths.c — kyso_bench's signing paths (see bench.h): kyso's PKCS#11 layer on a
 * module (direct, and p11kit through p11-kit-client.so), libkyso's Sign, SignDocuments
 * and SignDigests calls to kysod, and its GetInfo round trip.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alg.h"
#include "bench.h"
#include "kyso.h"
#include "kyso_err.h"
#include "p11.h"
#include "secret.h"

/* ---- direct and p11kit: kyso's PKCS#11 layer ---- */

static int
direct_sign_one(struct bench_path *p)
{
	struct p11_fail f;
	unsigned char *sig = NULL;
	size_t len = 0;
	int r = p11_session_sign(p->session, &p->req, &sig, &len, &f);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: signing failed: %s (%s in %s)\n", kyso_strerror(r),
		    f.ckr_name, f.call);
	free(sig);
	p->last_len = len;
	return r;
}

/* Finds the token labelled label and returns its slot in *slot. */
static int
direct_find_slot(struct p11_module *m, const char *label, unsigned long *slot)
{
	struct p11_token_desc *d = NULL;
	struct p11_fail f;
	size_t n = 0;
	int r;

	if ((r = p11_module_tokens(m, &d, &n, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot list the slots: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	r = KYSO_ERR_NO_SUCH_TOKEN;
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, label) == 0) {
			*slot = d[i].slot;
			r = KYSO_OK;
			break;
		}
	free(d);
	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: no token labelled '%s'\n", label);
	return r;
}

/* Looks up the CKA_ID of the certificate labelled label (its key shares it). */
static int
direct_find_key_id(struct bench_path *p, const char *label)
{
	struct p11_cert_desc *c = NULL;
	struct p11_fail f;
	size_t n = 0;
	int r;

	if ((r = p11_session_certs(p->session, &c, &n, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot list the certificates: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	r = KYSO_ERR_NO_SUCH_CERT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].label, label) == 0 && c[i].has_private_key &&
		    c[i].id_len <= sizeof(p->key_id)) {
			memcpy(p->key_id, c[i].id, c[i].id_len);
			p->req.key_id = p->key_id;
			p->req.key_id_len = c[i].id_len;
			r = KYSO_OK;
			break;
		}
	p11_certs_free(c, n);
	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: no certificate labelled '%s' with a private key\n",
		    label);
	return r;
}

int
bench_direct_open(const struct bench_opts *o, struct bench_path *p)
{
	const char *path = o->module != NULL ? o->module : P11KIT_CLIENT;
	struct kyso_secret *pin = NULL;
	struct p11_fail f;
	unsigned long slot = 0;
	char err[512];
	int r;

	if (o->mode == MODE_P11KIT && setenv("P11_KIT_SERVER_ADDRESS", o->server, 1) != 0) {
		fprintf(stderr, "kyso_bench: setenv: %s\n", strerror(errno));
		return KYSO_ERR_NOMEM;
	}
	if ((r = p11_module_load(path, &p->module, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", err);
		return r;
	}
	if ((r = direct_find_slot(p->module, o->token, &slot)) != KYSO_OK)
		return r;
	p->slot = slot;
	if ((r = p11_session_open(p->module, slot, &p->session, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot open a session: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	/* a token already logged in (by this process) does not check the PIN: skip it */
	if (p11_session_logged_in(p->session))
		r = KYSO_OK;
	else if ((r = secret_new(o->pin, strlen(o->pin), &pin)) == KYSO_OK) {
		r = p11_session_login(p->session, pin, &f);
		secret_free(pin);
	}
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: login failed: %s (%s in %s)\n", kyso_strerror(r),
		    f.ckr_name, f.call);
		return r;
	}
	if ((r = direct_find_key_id(p, o->label)) != KYSO_OK)
		return r;
	/* what the agent feeds the token for a digest request (agent/alg.c alg_plan) */
	if (o->key == BK_P256) {
		p->req.mech = P11_MECH_ECDSA;
		memcpy(p->in, p->digest, sizeof(p->digest));
		p->req.in_len = sizeof(p->digest);
		p->min_len = p->max_len = 64;
	} else {
		p->req.mech = P11_MECH_RSA_PKCS;
		p->req.in_len = alg_digest_info(256, p->digest, sizeof(p->digest), p->in);
		if (p->req.in_len == 0)
			return KYSO_ERR_INTERNAL;
		p->min_len = p->max_len = 256;
	}
	p->req.in = p->in;
	p->sign = direct_sign_one;
	return KYSO_OK;
}

void
bench_direct_close(struct bench_path *p)
{
	p11_session_close(p->session);
	p->session = NULL;
	p11_module_free(p->module);
	p->module = NULL;
}

/* ---- agent: libkyso ---- */

static int
agent_sign_one(struct bench_path *p)
{
	unsigned char *sig = NULL;
	size_t len = 0;
	int r = kyso_sign(p->client, p->kreq, &sig, &len);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: Sign failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	kyso_free(sig);
	p->last_len = len;
	return r;
}

int
bench_agent_open(const struct bench_opts *o, struct bench_path *p)
{
	kyso_cert **certs = NULL;
	size_t n = 0;
	int r;

	if ((r = kyso_connect(o->socket, &p->client)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", p->client != NULL ?
		    kyso_error_message(p->client) : kyso_strerror(r));
		return r;
	}
	if ((r = kyso_login(p->client, o->token, o->pin, NULL)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: Login failed: %s\n", kyso_error_message(p->client));
		return r;
	}
	if ((r = kyso_list_certificates(p->client, o->token, &certs, &n)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: ListCertificates failed: %s\n",
		    kyso_error_message(p->client));
		return r;
	}
	r = KYSO_ERR_NO_SUCH_CERT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(kyso_cert_label(certs[i]), o->label) == 0 &&
		    (kyso_cert_flags(certs[i]) & KYSO_CERT_CAN_SIGN)) {
			snprintf(p->cert_id, sizeof(p->cert_id), "%s", kyso_cert_id(certs[i]));
			r = KYSO_OK;
			break;
		}
	kyso_certs_free(certs);
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: the agent knows no signing certificate labelled "
		    "'%s' on token '%s'\n", o->label, o->token);
		return r;
	}
	/* the full certificate id: the agent's lookup is the same for any prefix */
	r = kyso_sign_request_new(p->cert_id, o->key == BK_P256 ? "ecdsa-sha256" :
	    "rsa-pkcs1v15-sha256", &p->kreq);
	if (r == KYSO_OK)
		r = kyso_sign_request_set_digest(p->kreq, p->digest, sizeof(p->digest));
	if (r == KYSO_OK && o->key == BK_P256 && o->raw)
		r = kyso_sign_request_set_signature_format(p->kreq, "raw");
	if (r == KYSO_OK && o->pin_each)
		r = kyso_sign_request_set_pin(p->kreq, o->pin);
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot make the signing request: %s\n",
		    kyso_strerror(r));
		return r;
	}
	if (o->key == BK_P256 && o->raw) {
		p->min_len = p->max_len = 64;
	} else if (o->key == BK_P256) {
		p->min_len = 8;   /* DER: SEQUENCE of two INTEGERs */
		p->max_len = 72;
	} else {
		p->min_len = p->max_len = 256;
	}
	p->sign = agent_sign_one;
	return KYSO_OK;
}

static int
batch_sign_one(struct bench_path *p)
{
	size_t len = 0;
	int r = kyso_sign_batch(p->client, p->batch, NULL, NULL);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: SignDocuments failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	else
		(void)kyso_batch_result(p->batch, 0, NULL, &len);
	p->last_len = len;
	return r;
}

/* The agent's path, then one batch of documents that every call signs again. */
int
bench_batch_open(const struct bench_opts *o, struct bench_path *p)
{
	char name[48];
	int r;

	if ((r = bench_agent_open(o, p)) != KYSO_OK)
		return r;
	if ((r = kyso_batch_new(p->cert_id, &p->batch)) != KYSO_OK)
		return r;
	for (long i = 0; i < o->batch; i++) {
		snprintf(name, sizeof(name), "document-%04ld.pdf", i);
		if ((r = kyso_batch_add(p->batch, name, "sha256", p->digest, sizeof(p->digest),
		    NULL, NULL)) != KYSO_OK)
			return r;
	}
	p->per_call = o->batch;
	p->min_len = 256;     /* a CMS with the certificate: hundreds of bytes at least */
	p->max_len = 65536;
	p->sign = batch_sign_one;
	return KYSO_OK;
}

static int
digests_sign_one(struct bench_path *p)
{
	unsigned char **sigs = NULL;
	size_t *lens = NULL;
	int r = kyso_sign_digests(p->client, p->kreq, p->digests, sizeof(p->digest),
	    (size_t)p->per_call, &sigs, &lens);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: SignDigests failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	p->last_len = r == KYSO_OK ? lens[0] : 0;
	kyso_signatures_free(sigs, lens, (size_t)p->per_call);
	return r;
}

/* The agent's path, then the same digest o->batch times for every call. */
int
bench_digests_open(const struct bench_opts *o, struct bench_path *p)
{
	int r;

	if ((r = bench_agent_open(o, p)) != KYSO_OK)
		return r;
	if ((p->digests = malloc((size_t)o->batch * sizeof(p->digest))) == NULL)
		return KYSO_ERR_NOMEM;
	for (long i = 0; i < o->batch; i++)
		memcpy(p->digests + (size_t)i * sizeof(p->digest), p->digest, sizeof(p->digest));
	p->per_call = o->batch;
	p->sign = digests_sign_one;
	return KYSO_OK;
}

static int
ping_one(struct bench_path *p)
{
	char *product = NULL;
	int r = kyso_get_info(p->client, &product, NULL);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: GetInfo failed: %s\n", kyso_error_message(p->client));
	p->last_len = product != NULL ? strlen(product) : 0;
	kyso_free(product);
	return r;
}

int
bench_ping_open(const struct bench_opts *o, struct bench_path *p)
{
	int r;

	if ((r = kyso_connect(o->socket, &p->client)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", p->client != NULL ?
		    kyso_error_message(p->client) : kyso_strerror(r));
		return r;
	}
	p->min_len = 1;
	p->max_len = 1024;
	p->sign = ping_one;
	return KYSO_OK;
}

int
bench_direct_clone(const struct bench_path *p0, struct bench_path *p)
{
	struct p11_fail f;
	int r;

	*p = *p0;
	p->module = NULL;  /* p0's */
	p->session = NULL;
	p->req.in = p->in;
	p->req.key_id = p->key_id;
	if ((r = p11_session_open(p0->module, p0->slot, &p->session, &f)) != KYSO_OK)
		fprintf(stderr, "kyso_bench: cannot open another session: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
	return r;
}

