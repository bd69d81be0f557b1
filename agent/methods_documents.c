/*
 * methods_documents.c — io.kyso.Agent.SignDocuments: validate the documents, choose the
 * algorithm of each, and start the batch (batch.c), which the token's worker signs
 * document by document under one consent.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/objects.h>

#include "agent.h"
#include "batch.h"
#include "config.h"
#include "conn.h"
#include "dialogs.h"
#include "dispatch.h"
#include "doc_job.h"
#include "encode.h"
#include "kyso_err.h"
#include "log.h"
#include "params.h"
#include "record.h"
#include "request.h"
#include "rfc3339.h"
#include "secret.h"
#include "tokens.h"
#include "web.h"
#include "wire.h"

#define CONTENT_TYPE_MAX 128

struct docs_params {
	const char *certificate, *profile, *algorithm, *description;
	json_t *documents;
	size_t n;
	struct kyso_secret *pin;
};

static int
docs_read_params(const struct agent *a, json_t *p, struct docs_params *dp, struct reply *r)
{
	static const char *const allowed[] = { "certificate", "documents", "profile",
		"algorithm", "pin", "description", "origin", NULL };
	json_t *docs;
	int e;

	dp->documents = json_object_get(p, "documents");  /* for the records of a refusal */
	if ((e = params_only(p, allowed, r)) != KYSO_OK ||
	    (e = params_string(p, "certificate", 1, 1024, &dp->certificate, r)) != KYSO_OK ||
	    (e = params_string(p, "profile", 0, 16, &dp->profile, r)) != KYSO_OK ||
	    (e = params_string(p, "algorithm", 0, 64, &dp->algorithm, r)) != KYSO_OK ||
	    (e = params_string(p, "description", 0, 1024, &dp->description, r)) != KYSO_OK)
		return e;
	if ((e = params_objects(p, "documents", BATCH_DOCS_MAX, &docs, &dp->n, r)) != KYSO_OK)
		return e;
	if (dp->profile != NULL && strcmp(dp->profile, "cades") != 0 &&
	    strcmp(dp->profile, "pades") != 0) {
		reply_invalid(r, "profile", "profile must be 'cades' or 'pades'");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	return pin_param(a, p, &dp->pin, r);
}

/* InvalidParameter about field key of document i. */
static int
docs_invalid(struct reply *r, size_t i, const char *key, const char *why)
{
	char label[96];

	snprintf(label, sizeof(label), "documents[%zu].%s", i, key);
	reply_invalid(r, label, "%s: %s", label, why);
	params_error_index(r, i);
	return KYSO_ERR_INVALID_PARAMETER;
}

/* A dotted OID with at least two arcs that OpenSSL can encode. */
static int
oid_ok(const char *s)
{
	ASN1_OBJECT *o;
	int dots = 0;

	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '.' && (p == s || p[1] == '.' || p[1] == '\0'))
			return 0;
		if (*p == '.')
			dots++;
		else if (!isdigit((unsigned char)*p))
			return 0;
	}
	if (dots == 0 || (o = OBJ_txt2obj(s, 1)) == NULL)
		return 0;
	ASN1_OBJECT_free(o);
	return 1;
}

/* Reads document i of the call into doc; a PAdES document's content type can only be id-data. */
static int
docs_read_one(json_t *e, size_t i, struct batch_doc *doc, int pades, struct reply *r)
{
	static const char *const allowed[] = { "name", "digest", "digest_algorithm",
		"content_type", "signing_time", NULL };
	const char *name, *alg, *ctype, *when;
	unsigned char *digest = NULL;
	size_t len;
	int64_t ms;
	int err;

	if ((err = params_elem_only(e, "documents", i, allowed, r)) != KYSO_OK ||
	    (err = params_elem_string(e, "documents", i, "name", 1, BATCH_NAME_MAX, &name, r)) !=
	    KYSO_OK ||
	    (err = params_elem_string(e, "documents", i, "digest_algorithm", 1, 16, &alg, r)) !=
	    KYSO_OK ||
	    (err = params_elem_string(e, "documents", i, "content_type", 0, CONTENT_TYPE_MAX,
	    &ctype, r)) != KYSO_OK ||
	    (err = params_elem_string(e, "documents", i, "signing_time", 0, 64, &when, r)) !=
	    KYSO_OK)
		return err;
	/* C0, DEL, and C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F: NEXT LINE, CSI...) */
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
			return docs_invalid(r, i, "name", "a name must not hold control characters");
	doc->hash_bits = strcmp(alg, "sha256") == 0 ? 256 : strcmp(alg, "sha384") == 0 ? 384 :
	    strcmp(alg, "sha512") == 0 ? 512 : 0;
	if (doc->hash_bits == 0)
		return docs_invalid(r, i, "digest_algorithm", "must be sha256, sha384 or sha512");
	if ((err = params_elem_base64(e, "documents", i, "digest", 1, &digest, &len, r)) !=
	    KYSO_OK)
		return err;
	if (len != doc->hash_bits / 8) {
		char why[96];

		snprintf(why, sizeof(why), "a %s digest is %u bytes, not %zu", alg,
		    doc->hash_bits / 8, len);
		free(digest);
		err = docs_invalid(r, i, "digest", why);
		json_object_set_new(r->eparams, "expected_length", json_integer(doc->hash_bits / 8));
		json_object_set_new(r->eparams, "actual_length", json_integer((json_int_t)len));
		return err;
	}
	memcpy(doc->digest, digest, len);
	free(digest);
	if (ctype != NULL && !oid_ok(ctype))
		return docs_invalid(r, i, "content_type", "must be an object identifier in dotted "
		    "form, such as 1.2.840.113549.1.7.1");
	/* ETSI EN 319 142-1 5.1: a PAdES CMS signs the ByteRange as id-data */
	if (pades && ctype != NULL && strcmp(ctype, "1.2.840.113549.1.7.1") != 0)
		return docs_invalid(r, i, "content_type", "a PAdES signature's content type is "
		    "id-data (1.2.840.113549.1.7.1), as ETSI EN 319 142-1 requires");
	if (when != NULL) {
		if (rfc3339_parse(when, 1, &ms) != 0 || ms < 0)
			return docs_invalid(r, i, "signing_time", "must be an RFC 3339 time with "
			    "seconds and a zone, such as 2026-12-06T10:00:00Z or "
			    "2026-12-06T17:00:00+07:00");
		doc->has_time = 1;
		doc->when = (time_t)(ms / 1000);
	}
	if ((doc->name = strdup(name)) == NULL ||
	    (ctype != NULL && strcmp(ctype, "1.2.840.113549.1.7.1") != 0 &&
	    (doc->content_type = strdup(ctype)) == NULL)) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return KYSO_ERR_NOMEM;
	}
	return KYSO_OK;
}

static const struct batch_doc *sort_docs;

static int
by_name(const void *x, const void *y)
{
	size_t i = *(const size_t *)x, k = *(const size_t *)y;
	int c = strcmp(sort_docs[i].name, sort_docs[k].name);

	return c != 0 ? c : i < k ? -1 : i > k;
}

/* Every document has its own name: the officer and the audit log tell them apart. */
static int
docs_unique_names(const struct doc_batch *b, struct reply *r)
{
	size_t *order = malloc(b->n * sizeof(*order)), dup = 0, first = 0;
	char why[120];

	if (order == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return KYSO_ERR_NOMEM;
	}
	for (size_t i = 0; i < b->n; i++)
		order[i] = i;
	sort_docs = b->docs;  /* the loop thread only */
	qsort(order, b->n, sizeof(*order), by_name);
	for (size_t i = 1; i < b->n && dup == 0; i++)
		if (strcmp(b->docs[order[i]].name, b->docs[order[i - 1]].name) == 0) {
			first = order[i - 1];
			dup = order[i];
		}
	free(order);
	if (dup == 0)
		return KYSO_OK;
	snprintf(why, sizeof(why), "the same name as documents[%zu]: give each document a name "
	    "of its own", first);
	return docs_invalid(r, dup, "name", why);
}

/* The algorithm family asked for, or the key's default; fixed_bits for a full name. */
static int
docs_family(const struct cert *cert, const char *algorithm, enum alg_scheme *scheme,
    unsigned *fixed_bits, struct reply *r)
{
	static const struct { const char *name; enum alg_scheme scheme; } families[] = {
		{ "rsa-pkcs1v15", SCHEME_PKCS1 }, { "rsa-pss", SCHEME_PSS },
		{ "ecdsa", SCHEME_ECDSA }, { "ed25519", SCHEME_EDDSA } };
	const struct alg *full;

	*fixed_bits = 0;
	if (algorithm == NULL) {
		switch (cert->ci.key_type) {
		case KEY_RSA: *scheme = SCHEME_PKCS1; return KYSO_OK;
		case KEY_EC: *scheme = SCHEME_ECDSA; return KYSO_OK;
		case KEY_ED25519: *scheme = SCHEME_EDDSA; return KYSO_OK;
		default: break;
		}
		reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, json_pack("{s:s, s:o}", "algorithm", "",
		    "supported", json_array()), "kysod cannot make a CMS signature with this "
		    "certificate's %s key", certinfo_key_type_name(cert->ci.key_type));
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(algorithm, families[i].name) == 0) {
			*scheme = families[i].scheme;
			return KYSO_OK;
		}
	if ((full = alg_find(algorithm)) != NULL) {
		*scheme = full->scheme;
		*fixed_bits = full->hash_bits != 0 ? full->hash_bits : 512;
		return KYSO_OK;
	}
	reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, json_pack("{s:s, s:o}", "algorithm", algorithm,
	    "supported", inventory_cert_algorithms(cert)), alg_is_sha1(algorithm) ?
	    "SHA-1 signatures are refused; use SHA-256 or stronger" : "unknown algorithm "
	    "'%.*s': give an algorithm name, or rsa-pkcs1v15, rsa-pss, ecdsa or ed25519 to "
	    "hash with each document's digest algorithm", utf8_prefix(algorithm, 64), algorithm);
	return KYSO_ERR_UNSUPPORTED_ALG;
}

/* The signature algorithm and the token's mechanism for each document. */
static int
docs_algorithms(const struct cert *cert, const char *algorithm, struct doc_batch *b,
    struct reply *r)
{
	static const char *const prefixes[] = { [SCHEME_PKCS1] = "rsa-pkcs1v15",
		[SCHEME_PSS] = "rsa-pss", [SCHEME_ECDSA] = "ecdsa", [SCHEME_EDDSA] = "ed25519" };
	unsigned mechs = cert->token->desc.mechs, fixed;
	enum alg_scheme scheme;
	char name[32], why[200];
	int e;

	if ((e = docs_family(cert, algorithm, &scheme, &fixed, r)) != KYSO_OK)
		return e;
	if ((scheme == SCHEME_EDDSA ? KEY_ED25519 : scheme == SCHEME_ECDSA ? KEY_EC : KEY_RSA) !=
	    cert->ci.key_type) {
		reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, json_pack("{s:s, s:o}", "algorithm",
		    algorithm, "supported", inventory_cert_algorithms(cert)), "algorithm '%.*s' "
		    "is not possible with this %s key", utf8_prefix(algorithm, 64), algorithm,
		    certinfo_key_type_name(cert->ci.key_type));
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	for (size_t i = 0; i < b->n; i++) {
		struct batch_doc *doc = &b->docs[i];

		if (scheme == SCHEME_EDDSA && doc->hash_bits != 512)
			return docs_invalid(r, i, "digest_algorithm", "an Ed25519 signature in CMS "
			    "goes with SHA-512 digests (RFC 8419): hash the document with sha512");
		if (fixed != 0 && doc->hash_bits != fixed) {
			snprintf(why, sizeof(why), "algorithm %s hashes with SHA-%u, this document "
			    "with SHA-%u; give '%s' to follow each document's digest algorithm",
			    algorithm, fixed, doc->hash_bits, prefixes[scheme]);
			return docs_invalid(r, i, "digest_algorithm", why);
		}
		if (scheme == SCHEME_EDDSA)
			snprintf(name, sizeof(name), "ed25519");
		else
			snprintf(name, sizeof(name), "%s-sha%u", prefixes[scheme], doc->hash_bits);
		doc->alg = alg_find(name);
		if (doc->alg == NULL || doc->alg->key != cert->ci.key_type ||
		    alg_plan(doc->alg, cert->ci.key_type, mechs, 1, &doc->plan) != KYSO_OK) {
			reply_fail(r, KYSO_ERR_UNSUPPORTED_ALG, json_pack("{s:s, s:o}", "algorithm",
			    name, "supported", inventory_cert_algorithms(cert)), "algorithm '%s' is "
			    "not possible with this %s key on token '%s'", name,
			    certinfo_key_type_name(cert->ci.key_type), cert->token->desc.label);
			return KYSO_ERR_UNSUPPORTED_ALG;
		}
	}
	return KYSO_OK;
}

/*
 * The reply without "more" carries every CMS at once: refuse a batch whose reply could
 * not fit the 16 MiB a reply may have (each CMS holds the certificate and its chain).
 */
static int
docs_reply_fits(const struct cert *cert, const struct doc_batch *b, struct reply *r)
{
	size_t chain = 0, per, total = 0;

	for (size_t i = 0; i < cert->token->ncerts; i++)
		chain += cert->token->certs[i].der_len;  /* at most: the token's certificates */
	per = (chain + 1024) / 3 * 4 + 4;  /* base64 of the CMS; signature and attributes */
	for (size_t i = 0; i < b->n; i++)
		total += per + strlen(b->docs[i].name) * 6 + 256;
	if (b->more || total + 4096 < KYSO_WIRE_REPLY_MAX)
		return KYSO_OK;
	reply_invalid(r, "documents", "%zu documents with this certificate and its chain make "
	    "a reply larger than the 16 MiB the agent sends at once: call with \"more\": true "
	    "(each CMS then comes in its own reply) or split the batch", b->n);
	return KYSO_ERR_INVALID_PARAMETER;
}

/* The CA certificates of the token (for the chain), the signer and its share. */
static int
docs_signer(const struct cert *cert, struct doc_batch *b)
{
	const struct token *t = cert->token;
	struct cms_der *pool = calloc(t->ncerts + 1, sizeof(*pool));
	struct cms_signer *s = NULL;
	size_t n = 0;
	int e;

	if (pool == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < t->ncerts; i++)
		if (&t->certs[i] != cert) {
			pool[n].der = t->certs[i].der;
			pool[n++].len = t->certs[i].der_len;
		}
	e = cms_signer_new(cert->der, cert->der_len, pool, n, &s);
	free(pool);
	if (e != KYSO_OK)
		return e;
	if ((b->share = batch_share_new(s)) == NULL) {
		cms_signer_free(s);
		return KYSO_ERR_NOMEM;
	}
	return KYSO_OK;
}

/*
 * The policy's bound on a chosen CAdES signing_time (signing_time_skew): a time further
 * from now is refused with PolicyDenied naming the document, before any dialog.
 */
static int
docs_skew(const struct agent *a, const struct doc_batch *b, struct reply *r)
{
	long skew = a->policy.signing_time_skew;
	time_t now = time(NULL);
	char bound[32], label[64];

	if (skew < 0 || b->profile == CMS_PROFILE_PADES)
		return KYSO_OK;  /* no bound; PAdES has no signing-time attribute */
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_doc *d = &b->docs[i];
		long off = d->has_time ? (long)(d->when - now) : 0;

		if (labs(off) <= (skew > 0 ? skew : 1))
			continue;
		config_format_duration(skew, bound, sizeof(bound));
		snprintf(label, sizeof(label), "documents[%zu].signing_time", i);
		reply_fail(r, KYSO_ERR_POLICY, json_pack("{s:s, s:s, s:I}", "setting",
		    "signing_time_skew", "parameter", label, "bound_seconds", (json_int_t)skew),
		    "%s is %ld seconds %s now; the policy (signing_time_skew = %s, %s) allows "
		    "a signing time at most %s from now", label, labs(off), off < 0 ?
		    "before" : "after", bound, a->policy.origin != NULL ? a->policy.origin :
		    "kysod.conf", skew > 0 ? bound : "1s");
		params_error_index(r, i);
		return KYSO_ERR_POLICY;
	}
	return KYSO_OK;
}

/* The documents whose signing_time is more than a minute from now, for the dialog. */
static void
docs_times(const struct doc_batch *b, struct request_info *ri)
{
	time_t now = time(NULL);

	if (b->profile == CMS_PROFILE_PADES)
		return;  /* a PAdES signature has no signing-time attribute */
	for (size_t i = 0; i < b->n; i++) {
		const struct batch_doc *d = &b->docs[i];

		if (!d->has_time || (d->when >= now - 60 && d->when <= now + 60))
			continue;
		if (ri->doc_time_count == 0 || d->when < ri->doc_time_min)
			ri->doc_time_min = d->when;
		if (ri->doc_time_count == 0 || d->when > ri->doc_time_max)
			ri->doc_time_max = d->when;
		ri->doc_time_count++;
	}
}

/* The batch's own request: who asks, the certificate, the dialogs, a new batch id. */
static int
docs_request(struct agent *a, struct conn *c, const struct docs_params *dp,
    const struct cert *cert, struct doc_batch *b)
{
	const char *first[5];
	unsigned char id[8];
	size_t nfirst = b->n < 5 ? b->n : 5;
	struct request_info *ri = request_info_new(a, c, "io.kyso.Agent.SignDocuments",
	    dp->description);

	if ((b->ri = ri) == NULL || (ri->subject = strdup(cert->ci.subject)) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < nfirst; i++)
		first[i] = b->docs[i].name;
	if ((ri->doc_list = dialog_document_names(first, nfirst)) == NULL)
		return KYSO_ERR_NOMEM;
	if (getrandom(id, sizeof(id), 0) != (ssize_t)sizeof(id))
		return KYSO_ERR_INTERNAL;
	hex_encode(id, sizeof(id), ri->batch_id);
	memcpy(ri->cert_id, cert->ci.id, sizeof(ri->cert_id));
	ri->profile = b->profile == CMS_PROFILE_PADES ? "pades" : "cades";
	ri->doc_count = b->n;
	docs_times(b, ri);
	return KYSO_OK;
}

/* Everything the batch needs from the call, the certificate and the token. */
static int
docs_prepare(struct agent *a, struct conn *c, struct docs_params *dp,
    const struct cert *cert, struct doc_batch *b, struct reply *r)
{
	int e;

	b->more = c->call_more;
	b->token = cert->token;
	b->always_auth = cert->always_auth;
	if ((e = docs_reply_fits(cert, b, r)) != KYSO_OK)
		return e;
	if (cert->key_id_len > 0 && (b->key_id = malloc(cert->key_id_len)) == NULL)
		e = KYSO_ERR_NOMEM;
	else if ((e = docs_signer(cert, b)) == KYSO_OK)
		e = docs_request(a, c, dp, cert, b);
	if (e != KYSO_OK) {
		reply_fail(r, e, NULL, e == KYSO_ERR_INVALID_ARG ? "the certificate cannot be "
		    "read for the CMS" : NULL);
		return e;
	}
	if (cert->key_id_len > 0)
		memcpy(b->key_id, cert->key_id, cert->key_id_len);
	b->key_id_len = cert->key_id_len;
	b->pin = dp->pin;
	dp->pin = NULL;
	return KYSO_OK;
}

enum dispatch_result
method_sign_documents(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	struct docs_params dp = { 0 };
	struct doc_batch *b = NULL;
	struct cert *cert = NULL;
	struct token *t;

	if (docs_read_params(a, p, &dp, r) != KYSO_OK)
		goto refused;
	if ((b = batch_new(dp.n)) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		goto refused;
	}
	b->profile = dp.profile != NULL && strcmp(dp.profile, "pades") == 0 ?
	    CMS_PROFILE_PADES : CMS_PROFILE_CADES;
	for (size_t i = 0; i < dp.n; i++)
		if (docs_read_one(json_array_get(dp.documents, i), i, &b->docs[i],
		    b->profile == CMS_PROFILE_PADES, r) != KYSO_OK)
			goto refused;
	if (docs_unique_names(b, r) != KYSO_OK || docs_skew(a, b, r) != KYSO_OK)
		goto refused;
	/* a web page's call: its origin decides first, so that a page refused learns
	 * nothing about the certificates (web.h) */
	switch (web_gate(a, c, p, method_sign_documents, WEB_AUDIT_DOCUMENTS, r)) {
	case WEB_GATE_PASS:
		break;
	case WEB_GATE_DONE:
		goto refused;
	case WEB_GATE_PENDING:
		batch_free(b);
		secret_free(dp.pin);
		return DISPATCH_PENDING;
	}
	if (sign_find_cert(a, dp.certificate, &cert, r) != KYSO_OK ||
	    docs_algorithms(cert, dp.algorithm, b, r) != KYSO_OK)
		goto refused;
	t = cert->token;
	if ((t->desc.flags & P11_TOKEN_LOGIN_REQUIRED) && !tokens_logged_in(t) &&
	    dp.pin == NULL && !(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH) &&
	    a->policy.pinentry == NULL) {
		reply_pin_required(r, t, 0);  /* nobody to ask */
		goto refused;
	}
	if (docs_prepare(a, c, &dp, cert, b, r) != KYSO_OK)
		goto refused;
	log_info("client %lu (pid %ld, %s): sign %zu document(s) (%s) with certificate %.16s "
	    "(%s) on token '%s'; batch %s; description: %.*s", c->serial, (long)c->pid,
	    c->exe, b->n, b->ri->profile, cert->ci.id, cert->ci.subject, t->desc.label,
	    b->ri->batch_id, dp.description != NULL ? utf8_prefix(dp.description, 200) : 6,
	    dp.description != NULL ? dp.description : "(none)");
	if (batch_start(a, c, b) != KYSO_OK) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		goto refused;
	}
	return DISPATCH_PENDING;
refused:
	record_documents_refused(a, c, cert, dp.algorithm, dp.description, dp.profile,
	    dp.documents, r);
	batch_free(b);
	secret_free(dp.pin);
	return DISPATCH_DONE;
}
