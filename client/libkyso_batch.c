/* libkyso_batch.c — documents signed as a batch: SignDocuments (see kyso.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "encode.h"
#include "libkyso_internal.h"
#include "wire.h"

#define BATCH_MAX 1000  /* the agent's cap on documents per call */
#define PIN_MAX 256

struct batch_doc {
	char *name, *digest_algorithm, *signing_time, *content_type;
	unsigned char digest[64];
	size_t digest_len;
	/* the outcome */
	int err;
	unsigned char *cms;
	size_t cms_len;
	char *message;
};

struct kyso_batch {
	char *certificate, *profile, *algorithm, *description;
	char *pin;                 /* PIN_MAX + 1 bytes, locked; NULL: none */
	struct batch_doc *docs;
	size_t n, cap;
	size_t nsigned;
	char stopped[32];
	char id[17];
};

static const char not_run[] = N_("not signed yet: call kyso_sign_batch");

/* Replaces *slot with a copy of s (NULL clears). 0, or -1 on ENOMEM. */
static int
set_copy(char **slot, const char *s)
{
	char *c = NULL;

	if (s != NULL && (c = strdup(s)) == NULL)
		return -1;
	free(*slot);
	*slot = c;
	return 0;
}

static void
pin_clear(kyso_batch *b)
{
	if (b->pin == NULL)
		return;
	explicit_bzero(b->pin, PIN_MAX + 1);
	(void)munlock(b->pin, PIN_MAX + 1);
	free(b->pin);
	b->pin = NULL;
}

/* Forgets the outcome of a previous kyso_sign_batch. */
static void
outcome_clear(kyso_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->docs[i].cms);
		free(b->docs[i].message);
		b->docs[i].cms = NULL;
		b->docs[i].cms_len = 0;
		b->docs[i].message = NULL;
		b->docs[i].err = KYSO_ERR_INVALID_ARG;
	}
	b->nsigned = 0;
	b->stopped[0] = '\0';
	b->id[0] = '\0';
}

int
kyso_batch_new(const char *certificate, kyso_batch **out)
{
	kyso_batch *b;

	*out = NULL;
	if (certificate == NULL || certificate[0] == '\0')
		return KYSO_ERR_INVALID_ARG;
	if ((b = calloc(1, sizeof(*b))) == NULL || (b->certificate = strdup(certificate)) ==
	    NULL) {
		free(b);
		return KYSO_ERR_NOMEM;
	}
	*out = b;
	return KYSO_OK;
}

void
kyso_batch_free(kyso_batch *b)
{
	if (b == NULL)
		return;
	outcome_clear(b);
	for (size_t i = 0; i < b->n; i++) {
		free(b->docs[i].name);
		free(b->docs[i].digest_algorithm);
		free(b->docs[i].signing_time);
		free(b->docs[i].content_type);
	}
	free(b->docs);
	pin_clear(b);
	free(b->certificate);
	free(b->profile);
	free(b->algorithm);
	free(b->description);
	free(b);
}

int
kyso_batch_set_profile(kyso_batch *b, const char *profile)
{
	if (profile != NULL && strcmp(profile, "cades") != 0 && strcmp(profile, "pades") != 0)
		return KYSO_ERR_INVALID_ARG;
	return set_copy(&b->profile, profile) == 0 ? KYSO_OK : KYSO_ERR_NOMEM;
}

int
kyso_batch_set_algorithm(kyso_batch *b, const char *algorithm)
{
	if (algorithm != NULL && (algorithm[0] == '\0' || strlen(algorithm) > 64))
		return KYSO_ERR_INVALID_ARG;
	return set_copy(&b->algorithm, algorithm) == 0 ? KYSO_OK : KYSO_ERR_NOMEM;
}

int
kyso_batch_set_description(kyso_batch *b, const char *description)
{
	if (description != NULL && (description[0] == '\0' || strlen(description) > 1024))
		return KYSO_ERR_INVALID_ARG;
	return set_copy(&b->description, description) == 0 ? KYSO_OK : KYSO_ERR_NOMEM;
}

int
kyso_batch_set_pin(kyso_batch *b, const char *pin)
{
	size_t len = pin != NULL ? strlen(pin) : 0;

	pin_clear(b);
	if (pin == NULL)
		return KYSO_OK;
	if (len == 0 || len > PIN_MAX)
		return KYSO_ERR_INVALID_ARG;
	if ((b->pin = calloc(1, PIN_MAX + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	(void)mlock(b->pin, PIN_MAX + 1);  /* best effort: kept out of swap where allowed */
	memcpy(b->pin, pin, len);
	return KYSO_OK;
}

/* The SHA-2 a digest of len bytes is, when the caller did not say. */
static const char *
default_digest_algorithm(size_t len)
{
	return len == 32 ? "sha256" : len == 48 ? "sha384" : len == 64 ? "sha512" : NULL;
}

int
kyso_batch_add(kyso_batch *b, const char *name, const char *digest_algorithm,
    const unsigned char *digest, size_t digest_len, const char *signing_time,
    const char *content_type)
{
	struct batch_doc *d, *nd;
	const char *alg = digest_algorithm != NULL ? digest_algorithm :
	    default_digest_algorithm(digest_len);

	if (name == NULL || name[0] == '\0' || digest == NULL || alg == NULL ||
	    default_digest_algorithm(digest_len) == NULL ||
	    strcmp(alg, default_digest_algorithm(digest_len)) != 0 || b->n >= BATCH_MAX)
		return KYSO_ERR_INVALID_ARG;
	if (b->n == b->cap) {
		size_t cap = b->cap == 0 ? 16 : b->cap * 2;

		if ((nd = realloc(b->docs, cap * sizeof(*nd))) == NULL)
			return KYSO_ERR_NOMEM;
		b->docs = nd;
		b->cap = cap;
	}
	d = &b->docs[b->n];
	memset(d, 0, sizeof(*d));
	if ((d->name = strdup(name)) == NULL || (d->digest_algorithm = strdup(alg)) == NULL ||
	    (signing_time != NULL && (d->signing_time = strdup(signing_time)) == NULL) ||
	    (content_type != NULL && (d->content_type = strdup(content_type)) == NULL)) {
		free(d->name);
		free(d->digest_algorithm);
		free(d->signing_time);
		return KYSO_ERR_NOMEM;
	}
	memcpy(d->digest, digest, digest_len);
	d->digest_len = digest_len;
	d->err = KYSO_ERR_INVALID_ARG;
	b->n++;
	return KYSO_OK;
}

size_t
kyso_batch_count(const kyso_batch *b)
{
	return b->n;
}

int
kyso_batch_result(const kyso_batch *b, size_t i, const unsigned char **cms,
    size_t *cms_len)
{
	if (cms != NULL)
		*cms = NULL;
	if (cms_len != NULL)
		*cms_len = 0;
	if (i >= b->n)
		return KYSO_ERR_INVALID_ARG;
	if (b->docs[i].err == KYSO_OK) {
		if (cms != NULL)
			*cms = b->docs[i].cms;
		if (cms_len != NULL)
			*cms_len = b->docs[i].cms_len;
	}
	return b->docs[i].err;
}

const char *
kyso_batch_message(const kyso_batch *b, size_t i)
{
	if (i >= b->n || b->docs[i].err == KYSO_OK)
		return "";
	return b->docs[i].message != NULL ? b->docs[i].message : _(not_run);
}

const char *
kyso_batch_stopped(const kyso_batch *b)
{
	return b->stopped;
}

const char *
kyso_batch_id(const kyso_batch *b)
{
	return b->id;
}

/* ---- the call ---- */

static int
set_str(json_t *o, const char *key, const char *v)
{
	return v == NULL ? 0 : json_object_set_new(o, key, json_string(v));
}

/* The SignDocuments parameters, or NULL on ENOMEM. */
static json_t *
batch_params(const kyso_batch *b)
{
	json_t *p = json_object(), *list = json_array();
	int bad = p == NULL || list == NULL;

	for (size_t i = 0; !bad && i < b->n; i++) {
		const struct batch_doc *d = &b->docs[i];
		char *dig = b64_encode(d->digest, d->digest_len);
		json_t *o = dig != NULL ? json_pack("{s:s, s:s, s:s}", "name", d->name, "digest",
		    dig, "digest_algorithm", d->digest_algorithm) : NULL;

		free(dig);
		bad = o == NULL || set_str(o, "signing_time", d->signing_time) ||
		    set_str(o, "content_type", d->content_type) ||
		    json_array_append_new(list, o) != 0;
	}
	if (!bad)
		bad = json_object_set(p, "documents", list) != 0 ||
		    set_str(p, "certificate", b->certificate) ||
		    set_str(p, "profile", b->profile) || set_str(p, "algorithm", b->algorithm) ||
		    set_str(p, "description", b->description) || set_str(p, "pin", b->pin);
	json_decref(list);
	if (bad) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Wipes the PIN string jansson holds inside the parameters before they are freed. */
static void
params_free(json_t *p)
{
	json_t *pin = json_object_get(p, "pin");

	if (json_is_string(pin))
		explicit_bzero((char *)(uintptr_t)json_string_value(pin), json_string_length(pin));
	json_decref(p);
}

/* Stores a DocumentResult from the agent. Returns its index, or -1 if it is malformed. */
static long
batch_store(kyso_batch *b, json_t *r)
{
	json_int_t i = json_integer_value(json_object_get(r, "index"));
	const char *cms = json_string_value(json_object_get(r, "cms"));
	const char *error = json_string_value(json_object_get(r, "error"));
	const char *msg = json_string_value(json_object_get(r, "message"));
	struct batch_doc *d;

	if (!json_is_integer(json_object_get(r, "index")) || i < 0 || (size_t)i >= b->n)
		return -1;
	d = &b->docs[i];
	if (error == NULL && cms == NULL)
		return d->err == KYSO_OK ? (long)i : -1;  /* the final reply after a stream */
	free(d->cms);
	free(d->message);
	d->cms = NULL;
	d->message = NULL;
	if (error != NULL) {
		d->err = kyso_err_from_varlink(error);
		d->message = strdup(msg != NULL ? msg : error);
		return (long)i;
	}
	if (b64_decode(cms, &d->cms, &d->cms_len) != KYSO_OK) {
		d->err = KYSO_ERR_PROTOCOL;
		d->message = strdup(_("the agent's CMS is not base64"));
		return (long)i;
	}
	d->err = KYSO_OK;
	b->nsigned++;
	return (long)i;
}

/* The documents the agent said nothing about end with err and why. */
static void
batch_rest(kyso_batch *b, int err, const char *why)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->docs[i].err != KYSO_OK && b->docs[i].message == NULL) {
			b->docs[i].err = err;
			b->docs[i].message = strdup(why);
		}
}

/* The final reply: every document, the counts, why it stopped. */
static int
batch_final(kyso_client *c, kyso_batch *b, json_t *r)
{
	json_t *list = json_object_get(r, "documents"), *v;
	const char *stopped = json_string_value(json_object_get(r, "stopped"));
	const char *id = json_string_value(json_object_get(r, "batch"));
	size_t i;

	if (!json_is_array(list))
		return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent's reply to SignDocuments "
		    "has no documents"));
	json_array_foreach(list, i, v)
		if (batch_store(b, v) < 0)
			return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent's reply to "
			    "SignDocuments holds a malformed document result"));
	snprintf(b->stopped, sizeof(b->stopped), "%s", stopped != NULL ? stopped : "");
	snprintf(b->id, sizeof(b->id), "%s", id != NULL ? id : "");
	batch_rest(b, KYSO_ERR_PROTOCOL, _("the agent said nothing about this document"));
	if (b->nsigned == b->n)
		return KYSO_OK;
	for (i = 0; i < b->n; i++)
		if (b->docs[i].err != KYSO_OK) {
			const char *why = b->docs[i].message != NULL ? b->docs[i].message :
			    _("not signed");

			if (b->stopped[0] != '\0')
				/* TRANSLATORS: signed, of how many; why the batch stopped (the
				 * agent's word: cancelled, token-removed...); the first document
				 * not signed: its index, name, and why */
				kyso_set_error(c, b->docs[i].err, P_("%1$zu of %2$zu document "
				    "signed; the batch stopped: %3$s; document %4$zu (%5$s): %6$s",
				    "%1$zu of %2$zu documents signed; the batch stopped: %3$s; "
				    "document %4$zu (%5$s): %6$s", b->n), b->nsigned, b->n,
				    b->stopped, i, b->docs[i].name, why);
			else
				kyso_set_error(c, b->docs[i].err, P_("%1$zu of %2$zu document "
				    "signed; document %3$zu (%4$s): %5$s", "%1$zu of %2$zu documents "
				    "signed; document %3$zu (%4$s): %5$s", b->n), b->nsigned, b->n, i,
				    b->docs[i].name, why);
			return b->docs[i].err;
		}
	return KYSO_ERR_INTERNAL;
}

/* The connection is given up (the caller stopped, or it broke). */
static void
batch_hang_up(kyso_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	kbuf_reset(&c->in);
}

int
kyso_sign_batch(kyso_client *c, kyso_batch *b, kyso_batch_progress fn, void *arg)
{
	json_t *p, *r = NULL, *msg = NULL, *progress;
	const char *ename;
	long i;
	int e;

	outcome_clear(b);
	if (b->n == 0)
		return kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("the batch holds no document "
		    "(kyso_batch_add)"));
	if ((p = batch_params(b)) == NULL)
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	/* always streamed: each document's CMS comes as soon as it is made */
	e = kyso_rpc_more(c, "io.kyso.Agent.SignDocuments", p, 1, &r);
	params_free(p);
	if (e != KYSO_OK) {
		batch_rest(b, e, kyso_error_message(c));
		return e;
	}
	while ((progress = json_object_get(r, "progress")) != NULL) {
		if ((i = batch_store(b, progress)) < 0) {
			batch_hang_up(c);  /* what follows on it cannot be trusted */
			e = kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent sent a malformed "
			    "progress reply"));
			break;
		}
		if (fn != NULL && fn(arg, (size_t)i, b->n, b->docs[i].err) != 0) {
			/* the agent notices the hang-up and stops between two documents */
			batch_hang_up(c);
			json_decref(r);
			batch_rest(b, KYSO_ERR_CANCELLED, _("not signed: the program stopped the "
			    "batch"));
			snprintf(b->stopped, sizeof(b->stopped), "disconnected");
			return kyso_set_error(c, KYSO_ERR_CANCELLED, P_("%zu of %zu document "
			    "signed; the program stopped the batch (the connection is closed)",
			    "%zu of %zu documents signed; the program stopped the batch (the "
			    "connection is closed)", b->n), b->nsigned, b->n);
		}
		json_decref(r);
		r = NULL;
		if ((e = wire_recv(c->fd, &c->in, &msg)) != KYSO_OK) {
			batch_hang_up(c);
			e = kyso_set_error(c, KYSO_ERR_DISCONNECTED, P_("the agent closed the "
			    "connection during the batch (%zu of %zu document signed)", "the agent "
			    "closed the connection during the batch (%zu of %zu documents signed)",
			    b->n), b->nsigned, b->n);
			batch_rest(b, e, _("the agent closed the connection"));
			return e;
		}
		if ((ename = json_string_value(json_object_get(msg, "error"))) != NULL) {
			e = kyso_remote_error(c, ename, json_object_get(msg, "parameters"));
			json_decref(msg);
			batch_rest(b, e, kyso_error_message(c));
			return e;
		}
		r = json_incref(json_object_get(msg, "parameters"));
		json_decref(msg);
		if (r == NULL) {
			batch_hang_up(c);
			e = kyso_set_error(c, KYSO_ERR_PROTOCOL, _("a reply without parameters"));
			break;
		}
	}
	if (e == KYSO_OK)
		e = batch_final(c, b, r);
	else
		batch_rest(b, e, kyso_error_message(c));
	json_decref(r);
	return e;
}
