/*
 * methods_sign.c — io.kyso.Agent.Sign and SignDigests (many digests, one job): validate,
 * plan the mechanism, hand to the worker.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "agent.h"
#include "conn.h"
#include "digests_ops.h"
#include "dispatch.h"
#include "encode.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "params.h"
#include "record.h"
#include "request.h"
#include "secret.h"
#include "tokens.h"
#include "web.h"

struct sign_params {
	const char *certificate, *algorithm, *description, *format;
	unsigned char *digest, *data;
	size_t digest_len, data_len;
	struct kyso_secret *pin;
};

static void
sign_params_free(struct sign_params *sp)
{
	free(sp->digest);
	free(sp->data);
	secret_free(sp->pin);
}

static int
sign_read_params(const struct agent *a, json_t *p, struct sign_params *sp,
    struct reply *r)
{
	static const char *const allowed[] = { "certificate", "algorithm", "digest", "data",
		"pin", "description", "signature_format", "origin", NULL };
	int e;

	if ((e = params_only(p, allowed, r)) != KYSO_OK ||
	    (e = params_string(p, "certificate", 1, 1024, &sp->certificate, r)) != KYSO_OK ||
	    (e = params_string(p, "algorithm", 1, 64, &sp->algorithm, r)) != KYSO_OK ||
	    (e = params_string(p, "description", 0, 1024, &sp->description, r)) != KYSO_OK ||
	    (e = params_string(p, "signature_format", 0, 16, &sp->format, r)) != KYSO_OK ||
	    (e = params_base64(p, "digest", 0, &sp->digest, &sp->digest_len, r)) != KYSO_OK ||
	    (e = params_base64(p, "data", 0, &sp->data, &sp->data_len, r)) != KYSO_OK ||
	    (e = pin_param(a, p, &sp->pin, r)) != KYSO_OK)
		return e;
	if ((sp->digest == NULL) == (sp->data == NULL)) {
		reply_invalid(r, sp->digest == NULL ? "digest" : "data",
		    "send exactly one of 'digest' and 'data'");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (sp->format != NULL && strcmp(sp->format, "der") != 0 &&
	    strcmp(sp->format, "raw") != 0) {
		reply_invalid(r, "signature_format", "signature_format must be 'der' or 'raw'");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	return KYSO_OK;
}

int
sign_find_cert(struct agent *a, const char *ref, struct cert **cert, struct reply *r)
{
	char why[200];
	int e;

	e = inventory_find_cert(&a->inv, ref, cert, why, sizeof(why));
	if (e == KYSO_ERR_INVALID_PARAMETER) {
		reply_invalid(r, "certificate", "%s", why);
		return e;
	}
	if (e == KYSO_ERR_NO_SUCH_CERT) {
		reply_fail(r, e, json_pack("{s:s}", "certificate", ref),
		    "no certificate '%.*s' on any present token", utf8_prefix(ref, 128), ref);
		return e;
	}
	if (!(*cert)->can_sign) {
		reply_fail(r, KYSO_ERR_KEY_NOT_FOUND, json_pack("{s:s}", "certificate",
		    (*cert)->ci.id), "token '%s' holds no private key for certificate %.16s",
		    (*cert)->token->desc.label, (*cert)->ci.id);
		return KYSO_ERR_KEY_NOT_FOUND;
	}
	return KYSO_OK;
}

/* Resolves the certificate and checks that its key can sign with the algorithm. */
static int
sign_check(struct agent *a, const struct sign_params *sp, struct cert **cert,
    const struct alg **alg, struct reply *r)
{
	int e;

	if ((e = sign_find_cert(a, sp->certificate, cert, r)) != KYSO_OK)
		return e;
	*alg = alg_find(sp->algorithm);
	if (*alg == NULL || !alg_usable(*alg, (*cert)->ci.key_type, (*cert)->token->desc.mechs)) {
		json_t *ep = json_pack("{s:s, s:o}", "algorithm", sp->algorithm, "supported",
		    inventory_cert_algorithms(*cert));

		if (alg_is_sha1(sp->algorithm))
			reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, ep, "SHA-1 signatures are refused; "
			    "use SHA-256 or stronger");
		else if (*alg == NULL)
			reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, ep, "unknown algorithm '%.*s'",
			    utf8_prefix(sp->algorithm, 64), sp->algorithm);
		else
			reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, ep, "algorithm '%.*s' is not "
			    "possible with this %s key on this token",
			    utf8_prefix(sp->algorithm, 64), sp->algorithm,
			    certinfo_key_type_name((*cert)->ci.key_type));
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	if ((*alg)->scheme == SCHEME_EDDSA && sp->data == NULL) {
		reply_invalid(r, "data", "ed25519 signs the document itself: send 'data', "
		    "not 'digest'");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if (sp->digest != NULL && sp->digest_len != alg_digest_len(*alg)) {
		reply_fail(r, KYSO_ERR_INVALID_DIGEST, json_pack("{s:i, s:i}", "expected_length",
		    (int)alg_digest_len(*alg), "actual_length", (int)sp->digest_len),
		    "%s needs a %zu-byte digest, got %zu bytes", (*alg)->name,
		    alg_digest_len(*alg), sp->digest_len);
		return KYSO_ERR_INVALID_DIGEST;
	}
	if (sp->format != NULL && strcmp(sp->format, "raw") == 0 &&
	    (*alg)->scheme != SCHEME_ECDSA) {
		reply_invalid(r, "signature_format", "signature_format 'raw' applies to ECDSA "
		    "only");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	return KYSO_OK;
}

/* The hash the audit log names for a (sha256 for ed25519, which hashes nothing). */
static unsigned
sign_digest_bits(const struct alg *alg, const char **name)
{
	unsigned bits = alg->hash_bits != 0 ? alg->hash_bits : 256;

	*name = bits == 384 ? "sha384" : bits == 512 ? "sha512" : "sha256";
	return bits;
}

/*
 * What a refused call asked to sign, for its record: the digest it sent if it is valid
 * for the algorithm it named, else the hash of its data. Returns the length in out (0:
 * nothing valid to record).
 */
static size_t
sign_refused_digest(const struct sign_params *sp, const struct alg *alg,
    unsigned char out[64], const char **name)
{
	unsigned bits;

	if (alg == NULL && (sp->algorithm == NULL || (alg = alg_find(sp->algorithm)) == NULL))
		return 0;
	bits = sign_digest_bits(alg, name);
	if (sp->digest != NULL && alg->hash_bits != 0 && sp->digest_len == alg_digest_len(alg)) {
		memcpy(out, sp->digest, sp->digest_len);
		return sp->digest_len;
	}
	if (sp->data != NULL && sp->digest == NULL &&
	    alg_hash(bits, sp->data, sp->data_len, out) == KYSO_OK)
		return bits / 8;
	return 0;
}

/*
 * Fills the job's request_info: the certificate, what is signed (the digest the audit log
 * keeps: the data's hash when the client sent data), and the token's last PIN failure.
 */
static int
sign_request_info(struct agent *a, struct conn *c, const char *method,
    const struct sign_params *sp, const struct cert *cert, struct job_sign *sg)
{
	struct request_info *ri = request_info_new(a, c, method, sp->description);
	unsigned bits;

	if (ri == NULL || (ri->subject = strdup(cert->ci.subject)) == NULL) {
		request_info_free(ri);
		return KYSO_ERR_NOMEM;
	}
	sg->auth.ri = ri;
	memcpy(ri->cert_id, cert->ci.id, sizeof(ri->cert_id));
	ri->algorithm = sg->alg->name;
	ri->last_pin_wrong = cert->token->pin_wrong;
	bits = sign_digest_bits(sg->alg, &ri->digest_alg);
	if (sp->digest != NULL) {
		memcpy(ri->digest, sp->digest, sp->digest_len);
		ri->digest_len = sp->digest_len;
	} else if (alg_hash(bits, sp->data, sp->data_len, ri->digest) == KYSO_OK) {
		ri->digest_len = bits / 8;
	} else {
		return KYSO_ERR_CRYPTO;
	}
	return KYSO_OK;
}

/* Builds what the mechanism takes (data, digest or DigestInfo) into the job. */
static int
sign_input(struct job_sign *sg, struct sign_params *sp, const struct alg_plan *plan)
{
	unsigned char digest[64], *buf;
	const unsigned char *dig = sp->digest;
	size_t len;

	if (plan->input == INPUT_DATA) {
		sg->in_buf = sp->data;  /* moved */
		sg->req.in_len = sp->data_len;
		sp->data = NULL;
		return KYSO_OK;
	}
	if (dig == NULL) {
		if (alg_hash(sg->alg->hash_bits, sp->data, sp->data_len, digest) != KYSO_OK)
			return KYSO_ERR_CRYPTO;
		dig = digest;
	}
	if ((buf = malloc(19 + 64)) == NULL)
		return KYSO_ERR_NOMEM;
	if (plan->input == INPUT_DIGEST_INFO) {
		len = alg_digest_info(sg->alg->hash_bits, dig, alg_digest_len(sg->alg), buf);
	} else {
		len = alg_digest_len(sg->alg);
		memcpy(buf, dig, len);
	}
	sg->in_buf = buf;
	sg->req.in_len = len;
	return KYSO_OK;
}

/*
 * SignDigests' digests: each decoded into m (all of the length the first has), the first
 * also into sp->digest for the checks a Sign makes. Returns KYSO_OK, or an error in r
 * naming digests[i].
 */
static int
digests_read(json_t *arr, struct sign_params *sp, struct job_digests **out, struct reply *r)
{
	size_t n = json_is_array(arr) ? json_array_size(arr) : 0;
	struct job_digests *m;
	char name[32];

	*out = NULL;
	if (n == 0 || n > SIGN_DIGESTS_MAX) {
		reply_invalid(r, "digests", "digests must be an array of 1 to %d base64 digests",
		    SIGN_DIGESTS_MAX);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	if ((m = job_digests_new(n)) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return KYSO_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		unsigned char *raw = NULL;
		size_t len = 0;

		snprintf(name, sizeof(name), "digests[%zu]", i);
		if (s == NULL || strlen(s) > 128 || b64_decode(s, &raw, &len) != KYSO_OK ||
		    len == 0 || len > 64 || (i > 0 && len != m->digest_len)) {
			free(raw);
			job_digests_free(m);
			reply_invalid(r, name, "%s must be a base64 digest%s", name, i > 0 ?
			    " as long as digests[0]" : " (at most 64 bytes)");
			return KYSO_ERR_INVALID_PARAMETER;
		}
		memcpy(m->digest[i], raw, len);
		m->digest_len = len;
		if (i == 0) {
			sp->digest = raw;
			sp->digest_len = len;
		} else {
			free(raw);
		}
	}
	*out = m;
	return KYSO_OK;
}

/* The mechanism's input for each digest of m (as sign_input makes the first's). */
static void
digests_inputs(struct job_digests *m, const struct alg *alg, const struct alg_plan *plan)
{
	unsigned char one[19 + 64];

	m->in_len = plan->input == INPUT_DIGEST_INFO ? alg_digest_info(alg->hash_bits,
	    m->digest[0], m->digest_len, one) : m->digest_len;
	for (size_t i = 0; i < m->n; i++) {
		unsigned char *in = m->in + i * m->in_len;

		if (plan->input == INPUT_DIGEST_INFO)
			(void)alg_digest_info(alg->hash_bits, m->digest[i], m->digest_len, in);
		else
			memcpy(in, m->digest[i], m->digest_len);
	}
	explicit_bzero(one, sizeof(one));
}

static enum dispatch_result sign_method(struct agent *a, struct conn *c, json_t *p,
    struct reply *r, int many);

enum dispatch_result
method_sign(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	return sign_method(a, c, p, r, 0);
}

enum dispatch_result
method_sign_digests(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	return sign_method(a, c, p, r, 1);
}

/* Sign, or with many SignDigests (one job, one consent, one write and fsync of records). */
static enum dispatch_result
sign_method(struct agent *a, struct conn *c, json_t *p, struct reply *r, int many)
{
	static const char *const allowed_many[] = { "certificate", "algorithm", "digests",
		"pin", "description", "signature_format", "origin", NULL };
	const char *method = many ? "io.kyso.Agent.SignDigests" : "io.kyso.Agent.Sign";
	char count[32] = "";
	struct job_digests *m = NULL;
	struct sign_params sp = { 0 };
	unsigned char digest[64];
	const char *dalg = NULL;
	size_t dlen;
	const struct alg *alg = NULL;
	struct alg_plan plan;
	struct cert *cert = NULL;
	struct token *t;
	struct job *j = NULL;
	struct job_sign *sg;
	int e;

	if (many) {
		if (params_only(p, allowed_many, r) != KYSO_OK ||
		    params_string(p, "certificate", 1, 1024, &sp.certificate, r) != KYSO_OK ||
		    params_string(p, "algorithm", 1, 64, &sp.algorithm, r) != KYSO_OK ||
		    params_string(p, "description", 0, 1024, &sp.description, r) != KYSO_OK ||
		    params_string(p, "signature_format", 0, 16, &sp.format, r) != KYSO_OK ||
		    pin_param(a, p, &sp.pin, r) != KYSO_OK ||
		    digests_read(json_object_get(p, "digests"), &sp, &m, r) != KYSO_OK)
			goto done;
		if (sp.format != NULL && strcmp(sp.format, "der") != 0 &&
		    strcmp(sp.format, "raw") != 0) {
			reply_invalid(r, "signature_format", "signature_format must be 'der' or "
			    "'raw'");
			goto done;
		}
	} else if (sign_read_params(a, p, &sp, r) != KYSO_OK) {
		goto done;
	}
	/* a web page's call: its origin decides first, so that a page refused learns
	 * nothing about the certificates */
	switch (web_gate(a, c, p, many ? method_sign_digests : method_sign, WEB_AUDIT_SIGN,
	    r)) {
	case WEB_GATE_PASS:
		break;
	case WEB_GATE_DONE:
		goto done;
	case WEB_GATE_PENDING:
		sign_params_free(&sp);
		job_digests_free(m);
		return DISPATCH_PENDING;
	}
	if (sign_check(a, &sp, &cert, &alg, r) != KYSO_OK) {
		goto done;
	}
	t = cert->token;
	if (alg_plan(alg, cert->ci.key_type, t->desc.mechs, sp.data != NULL, &plan) !=
	    KYSO_OK) {
		reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, json_pack("{s:s, s:o}", "algorithm",
		    alg->name, "supported", inventory_cert_algorithms(cert)),
		    "token '%s' cannot sign %s over a digest; send 'data'", t->desc.label,
		    alg->name);
		goto done;
	}
	if ((t->desc.flags & P11_TOKEN_LOGIN_REQUIRED) && !tokens_logged_in(t) &&
	    sp.pin == NULL && !(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH) &&
	    a->policy.pinentry == NULL) {
		reply_pin_required(r, t, 0);  /* nobody to ask */
		goto done;
	}
	if ((j = job_new(JOB_SIGN)) == NULL || (cert->key_id_len > 0 &&
	    (j->u.sign.key_id_buf = malloc(cert->key_id_len)) == NULL)) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		goto done;
	}
	sg = &j->u.sign;
	sg->alg = alg;
	if ((e = sign_request_info(a, c, method, &sp, cert, sg)) != KYSO_OK ||
	    (e = sign_input(sg, &sp, &plan)) != KYSO_OK) {
		reply_fail(r, e, NULL, NULL);
		goto done;
	}
	if (m != NULL) {
		struct request_info *ri = sg->auth.ri;
		unsigned char id[8];

		digests_inputs(m, alg, &plan);
		/* the dialogs say how many; the records share a batch id */
		ri->doc_count = m->n;
		if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id)) {
			reply_fail(r, KYSO_ERR_INTERNAL, NULL, NULL);
			goto done;
		}
		hex_encode(id, sizeof(id), ri->batch_id);
		sg->many = m;
		m = NULL;
	}
	memcpy(sg->cert_id, cert->ci.id, sizeof(sg->cert_id));
	if (cert->key_id_len > 0)
		memcpy(sg->key_id_buf, cert->key_id, cert->key_id_len);
	sg->req.key_id = sg->key_id_buf;
	sg->req.key_id_len = cert->key_id_len;
	sg->req.mech = plan.mech;
	sg->req.pss_hash_bits = alg->scheme == SCHEME_PSS ? alg->hash_bits : 0;
	sg->req.in = sg->in_buf;
	sg->ecdsa_der = alg->scheme == SCHEME_ECDSA &&
	    (sp.format == NULL || strcmp(sp.format, "der") == 0);
	j->conn = c;
	j->token = t;
	sg->auth.pin = sp.pin;
	sp.pin = NULL;
	sg->login_required = !!(t->desc.flags & P11_TOKEN_LOGIN_REQUIRED);
	sg->was_logged_in = tokens_logged_in(t);
	sg->auth.protected_auth_path = !!(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH);
	sg->always_auth = cert->always_auth;
	sg->auth.logout_after = a->policy.no_login_cache;
	if (sg->many != NULL)
		snprintf(count, sizeof(count), " %zu digests", sg->many->n);
	log_info("client %lu (pid %ld, %s%s%s): sign%s with certificate %.16s (%s) on token "
	    "'%s', %s; description: %.*s", c->serial, (long)c->pid, c->exe,
	    c->origin[0] != '\0' ? ", for web page " : "", c->origin, count, cert->ci.id,
	    cert->ci.subject, t->desc.label, alg->name,
	    sp.description != NULL ? utf8_prefix(sp.description, 200) : 6,
	    sp.description != NULL ? sp.description : "(none)");
	tokens_submit(t, j);
	sign_params_free(&sp);
	return DISPATCH_PENDING;
done:
	dlen = sign_refused_digest(&sp, alg, digest, &dalg);
	record_refusal_method(a, c, method, cert, alg != NULL ? alg->name : sp.algorithm,
	    sp.description, digest, dlen, dalg, r);
	explicit_bzero(digest, sizeof(digest));
	job_digests_free(m);
	job_free(j);
	sign_params_free(&sp);
	return DISPATCH_DONE;
}

/* The reply of a SignDigests job that signed every digest. */
static void
complete_sign_digests(struct job *j, struct reply *r)
{
	struct kbuf *text;
	int e = digests_ops_reply(j, &text);

	if (e != KYSO_OK)
		reply_fail(r, e, NULL, NULL);
	else
		reply_ok_text(r, text);
}

void
complete_sign(struct agent *a, struct job *j, struct reply *r)
{
	struct job_sign *sg = &j->u.sign;
	char *b64;

	(void)a;
	record_sign_job(j, &j->token->desc);  /* a job that never ran: its token left */
	if (j->result == KYSO_OK && sg->sig == NULL && sg->many == NULL)
		j->result = KYSO_ERR_INTERNAL;
	if (j->result == KYSO_OK && sg->many != NULL) {
		complete_sign_digests(j, r);
		return;
	}
	if (j->result != KYSO_OK) {
		reply_from_job(r, j);
		return;
	}
	if ((b64 = b64_encode(sg->sig, sg->siglen)) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return;
	}
	reply_ok(r, json_pack("{s:s, s:s, s:s}", "signature", b64, "algorithm", sg->alg->name,
	    "certificate", sg->cert_id));
	free(b64);
}
