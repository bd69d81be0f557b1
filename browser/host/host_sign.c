/* host_sign.c — the sign and signDocuments commands of kyso-browser-host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "encode.h"
#include "host.h"
#include "kyso_err.h"

#define DESCRIPTION_MAX 1024   /* bytes, as kysod takes it */
#define DOCUMENTS_MAX 1000     /* documents in one signDocuments */
#define NAME_MAX_BYTES 512      /* a document's name, as kysod takes it */

static const struct {
	const char *name;   /* WebCrypto's, then kysod's */
	const char *kyso;
	unsigned bits;
} hashes[] = {
	{ "SHA-256", "sha256", 256 }, { "SHA-384", "sha384", 384 }, { "SHA-512", "sha512", 512 },
	{ "sha256", "sha256", 256 }, { "sha384", "sha384", 384 }, { "sha512", "sha512", 512 },
};

/* Fills an InvalidArgument answer naming the argument. */
static int
bad_arg(struct host *h, json_t *id, const char *arg, const char *why)
{
	return host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s}", "argument", arg), "%s",
	    why);
}

/* A string argument: required or not, at most max bytes. 1 if usable, 0 if answered. */
static int
arg_string(struct host *h, json_t *id, json_t *args, const char *name, int required,
    size_t max, const char **out)
{
	json_t *v = json_object_get(args, name);
	char why[160];

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return 1;
		snprintf(why, sizeof(why), "'%s' is missing", name);
	} else if (!json_is_string(v) || json_string_length(v) == 0) {
		snprintf(why, sizeof(why), "'%s' must be a non-empty string", name);
	} else if (json_string_length(v) > max) {
		snprintf(why, sizeof(why), "'%s' is longer than %zu bytes", name, max);
	} else {
		*out = json_string_value(v);
		return 1;
	}
	bad_arg(h, id, name, why);
	return 0;
}

/* Checks that args holds only the names in allowed. 1 if so, 0 if answered. */
static int
args_only(struct host *h, json_t *id, json_t *args, const char *const *allowed)
{
	const char *key;
	char why[96];
	json_t *v;
	size_t i;

	json_object_foreach(args, key, v) {
		for (i = 0; allowed[i] != NULL && strcmp(key, allowed[i]) != 0; i++)
			;
		if (allowed[i] == NULL) {
			snprintf(why, sizeof(why), "unknown argument '%.32s'", key);
			bad_arg(h, id, key, why);
			return 0;
		}
	}
	return 1;
}

/* A certificate id: 64 hex digits, written in lower case to out (65 bytes). */
static int
arg_certificate(struct host *h, json_t *id, json_t *args, char *out)
{
	const char *s;

	if (!arg_string(h, id, args, "certificate", 1, 64, &s))
		return 0;
	for (size_t i = 0; i < 64; i++) {
		if (s[i] == '\0' || hex_digit(s[i]) < 0) {
			bad_arg(h, id, "certificate", "'certificate' must be a certificate's id: the "
			    "64 hex digits getCertificates gives");
			return 0;
		}
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
	}
	out[64] = '\0';
	return 1;
}

/* The hash named name; NULL (answered) if there is none such. */
static int
arg_hash_alg(struct host *h, json_t *id, json_t *args, const char *arg, size_t *which)
{
	const char *s;

	if (!arg_string(h, id, args, arg, 1, 16, &s))
		return 0;
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (strcmp(s, hashes[i].name) == 0) {
			*which = i;
			return 1;
		}
	bad_arg(h, id, arg, "the hash algorithm must be SHA-256, SHA-384 or SHA-512");
	return 0;
}

/* Decodes a base64 hash of the length hash i gives. 1 with *out (free it), 0 answered. */
static int
arg_digest(struct host *h, json_t *id, const char *arg, const char *b64, size_t i,
    unsigned char **out)
{
	size_t len = 0, want = hashes[i].bits / 8;
	char why[160];

	*out = NULL;
	if (b64 == NULL || b64_decode(b64, out, &len) != KYSO_OK) {
		snprintf(why, sizeof(why), "'%s' must be base64 (the standard alphabet, padded)",
		    arg);
		bad_arg(h, id, arg, why);
		return 0;
	}
	if (len != want) {
		free(*out);
		*out = NULL;
		snprintf(why, sizeof(why), "'%s' holds %zu bytes; a %s hash has %zu", arg, len,
		    hashes[i].name, want);
		host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s, s:i, s:i}", "argument", arg,
		    "expected_length", (int)want, "actual_length", (int)len), "%s", why);
		return 0;
	}
	return 1;
}

/*
 * The signature algorithm for kysod: the page's ("ecdsa", "rsa-pkcs1v15", "rsa-pss", or a
 * full name that must go with the hash), else the key's own (ECDSA, or PKCS#1 v1.5 for
 * RSA), from the certificate listing. 1 with out filled, 0 when answered.
 */
static int
sign_algorithm(struct host *h, json_t *id, json_t *args, const char *cert, size_t hi,
    char *out, size_t outlen)
{
	static const char *const schemes[] = { "ecdsa", "rsa-pkcs1v15", "rsa-pss", NULL };
	const char *s, *kt = NULL;
	json_t *reply, *details, *c;
	enum host_err e;
	char msg[512];
	size_t i;

	if (!arg_string(h, id, args, "algorithm", 0, 32, &s))
		return 0;
	if (s != NULL) {
		for (i = 0; schemes[i] != NULL; i++) {
			size_t n = strlen(schemes[i]);

			if (strcmp(s, schemes[i]) == 0 || (strncmp(s, schemes[i], n) == 0 &&
			    s[n] == '-' && strcmp(s + n + 1, hashes[hi].kyso) == 0)) {
				snprintf(out, outlen, "%s-%s", schemes[i], hashes[hi].kyso);
				return 1;
			}
		}
		bad_arg(h, id, "algorithm", "'algorithm' must be ecdsa, rsa-pkcs1v15 or rsa-pss "
		    "(or one of them with the hash: ecdsa-sha256...)");
		return 0;
	}
	if (host_agent_call(h, "io.kyso.Agent.ListCertificates", json_pack("{s:s}", "origin",
	    h->origin), &reply, &e, msg, sizeof(msg), &details) != KYSO_OK) {
		host_error(h, id, e, details, "%s", msg);
		return 0;
	}
	json_array_foreach(json_object_get(reply, "certificates"), i, c) {
		const char *cid = json_string_value(json_object_get(c, "id"));

		if (cid != NULL && strcmp(cid, cert) == 0)
			kt = json_string_value(json_object_get(c, "key_type"));
	}
	if (kt != NULL && strcmp(kt, "ec") == 0)
		snprintf(out, outlen, "ecdsa-%s", hashes[hi].kyso);
	else if (kt != NULL && strcmp(kt, "rsa") == 0)
		snprintf(out, outlen, "rsa-pkcs1v15-%s", hashes[hi].kyso);
	json_decref(reply);
	if (kt == NULL) {
		host_error(h, id, HE_NO_CERTIFICATE, json_pack("{s:s}", "certificate", cert),
		    "no certificate %.16s... on any token", cert);
		return 0;
	}
	if (out[0] == '\0') {
		host_error(h, id, HE_ALGORITHM_NOT_SUPPORTED, NULL, "this key cannot sign a hash "
		    "(an Ed25519 key signs documents, not hashes)");
		return 0;
	}
	return 1;
}

int
host_cmd_sign(struct host *h, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "certificate", "hash", "hashAlgorithm",
		"algorithm", "description", "signatureFormat", NULL };
	const char *b64 = NULL, *desc = NULL, *fmt = NULL;
	char cert[65], alg[48] = "", msg[512];
	unsigned char *digest = NULL;
	json_t *params, *reply, *details, *result;
	enum host_err e;
	size_t hi;
	int r;

	if (!args_only(h, id, args, allowed) || !arg_certificate(h, id, args, cert) ||
	    !arg_hash_alg(h, id, args, "hashAlgorithm", &hi) ||
	    !arg_string(h, id, args, "hash", 1, 200, &b64) ||
	    !arg_digest(h, id, "hash", b64, hi, &digest) ||
	    !arg_string(h, id, args, "description", 0, DESCRIPTION_MAX, &desc) ||
	    !arg_string(h, id, args, "signatureFormat", 0, 8, &fmt))
		return KYSO_OK;
	free(digest);   /* checked; kysod takes the base64 as it came */
	if (fmt != NULL && strcmp(fmt, "der") != 0 && strcmp(fmt, "raw") != 0)
		return bad_arg(h, id, "signatureFormat", "'signatureFormat' must be der or raw");
	if (!sign_algorithm(h, id, args, cert, hi, alg, sizeof(alg)))
		return KYSO_OK;
	if (fmt != NULL && strcmp(fmt, "raw") == 0 && strncmp(alg, "ecdsa", 5) != 0)
		return bad_arg(h, id, "signatureFormat", "'signatureFormat' raw is for ECDSA keys");
	params = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s}", "certificate", cert,
	    "algorithm", alg, "digest", b64, "description", desc, "signature_format", fmt,
	    "origin", h->origin);
	r = host_agent_call(h, "io.kyso.Agent.Sign", params, &reply, &e, msg, sizeof(msg),
	    &details);
	if (r != KYSO_OK)
		return host_error(h, id, e, details, "%s", msg);
	result = json_pack("{s:O, s:O, s:O, s:s}", "signature", json_object_get(reply,
	    "signature"), "algorithm", json_object_get(reply, "algorithm"), "certificate",
	    json_object_get(reply, "certificate"), "signatureFormat", fmt != NULL ? fmt : "der");
	json_decref(reply);
	return host_reply(h, id, result);
}

/* ---- signDocuments ---- */

/* Checks one document of the page's list; appends kysod's form to docs. 1 ok, 0 answered. */
static int
sign_document(struct host *h, json_t *id, json_t *d, size_t n, json_t *docs)
{
	static const char *const allowed[] = { "name", "digest", "digestAlgorithm",
		"contentType", "signingTime", NULL };
	const char *name, *dig, *ct, *st;
	unsigned char *raw = NULL;
	char arg[48];
	size_t hi;

	snprintf(arg, sizeof(arg), "documents[%zu]", n);
	if (!json_is_object(d)) {
		bad_arg(h, id, arg, "each document is an object: {name, digest, digestAlgorithm}");
		return 0;
	}
	if (!args_only(h, id, d, allowed) ||
	    !arg_string(h, id, d, "name", 1, NAME_MAX_BYTES, &name) ||
	    !arg_hash_alg(h, id, d, "digestAlgorithm", &hi) ||
	    !arg_string(h, id, d, "digest", 1, 200, &dig) ||
	    !arg_digest(h, id, "digest", dig, hi, &raw) ||
	    !arg_string(h, id, d, "contentType", 0, 128, &ct) ||
	    !arg_string(h, id, d, "signingTime", 0, 40, &st))
		return 0;
	free(raw);
	json_array_append_new(docs, json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "name", name,
	    "digest", dig, "digest_algorithm", hashes[hi].kyso, "content_type", ct,
	    "signing_time", st));
	return 1;
}

int
host_cmd_sign_documents(struct host *h, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "certificate", "documents", "profile",
		"algorithm", "description", NULL };
	const char *profile = NULL, *alg = NULL, *desc = NULL;
	json_t *list = json_object_get(args, "documents"), *docs, *params, *reply, *details, *d;
	char cert[65], msg[512];
	enum host_err e;
	size_t i;
	int r;

	if (!args_only(h, id, args, allowed) || !arg_certificate(h, id, args, cert) ||
	    !arg_string(h, id, args, "profile", 0, 16, &profile) ||
	    !arg_string(h, id, args, "algorithm", 0, 32, &alg) ||
	    !arg_string(h, id, args, "description", 0, DESCRIPTION_MAX, &desc))
		return KYSO_OK;
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > DOCUMENTS_MAX)
		return host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s, s:i}", "argument",
		    "documents", "limit", DOCUMENTS_MAX), "'documents' must list 1 to %d "
		    "documents", DOCUMENTS_MAX);
	if (profile != NULL && strcmp(profile, "cades") != 0 && strcmp(profile, "pades") != 0)
		return bad_arg(h, id, "profile", "'profile' must be cades or pades");
	docs = json_array();
	json_array_foreach(list, i, d)
		if (!sign_document(h, id, d, i, docs)) {
			json_decref(docs);
			return KYSO_OK;
		}
	params = json_pack("{s:s, s:o, s:s?, s:s?, s:s?, s:s}", "certificate", cert,
	    "documents", docs, "profile", profile, "algorithm", alg, "description", desc,
	    "origin", h->origin);
	r = host_agent_call(h, "io.kyso.Agent.SignDocuments", params, &reply, &e, msg,
	    sizeof(msg), &details);
	if (r == KYSO_ERR_METHOD_NOT_FOUND)
		return host_error(h, id, HE_AGENT_ERROR, details, "this kysod cannot sign "
		    "documents (it has no SignDocuments): update kyso");
	if (r != KYSO_OK)
		return host_error(h, id, e, details, "%s", msg);
	/* each document in a message of its own: together they may pass the browsers'
	 * 1 MiB; the extension puts them back together for the page */
	json_array_foreach(json_object_get(reply, "documents"), i, d) {
		json_t *p = json_pack("{s:O, s:O, s:O?, s:O?, s:O?}", "index",
		    json_object_get(d, "index"), "name", json_object_get(d, "name"), "cms",
		    json_object_get(d, "cms"), "error", json_object_get(d, "error"), "message",
		    json_object_get(d, "message"));
		const char *err = json_string_value(json_object_get(d, "error"));

		if (err != NULL)   /* the agent's error name, as the page's */
			json_object_set_new(p, "error", json_string(host_err_name(
			    host_err_from_agent(KYSO_ERR_UNKNOWN_REMOTE, err, NULL))));
		if ((r = host_progress(h, id, json_pack("{s:o, s:I}", "document", p, "total",
		    (json_int_t)json_array_size(list)))) != KYSO_OK) {
			json_decref(reply);
			return r;
		}
	}
	r = host_reply(h, id, json_pack("{s:O?, s:O?, s:O*, s:O*}", "signed",
	    json_object_get(reply, "signed"), "failed", json_object_get(reply, "failed"),
	    "stopped", json_object_get(reply, "stopped"), "batch",
	    json_object_get(reply, "batch")));
	json_decref(reply);
	return r;
}
