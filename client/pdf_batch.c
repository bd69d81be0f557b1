/*
 * pdf_batch.c — many PDF files, one consent: prepare all, sign all the digests in one
 * batch, then complete and write each. A bad input stops everything before anyone is
 * asked to sign; a document the signer or the time-stamp authority fails leaves no
 * output, and the others are still written.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "pdf_batch.h"
#include "pdf_internal.h"

static int
batch_fail(char **message, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
batch_fail(char **message, int err, const char *fmt, ...)
{
	va_list ap;
	char buf[PDF_ERRLEN + 256];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (message != NULL && *message == NULL)
		*message = strdup(buf);
	return err;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Adds the time since *mark to *phase and moves the mark. */
static void
lap(double *mark, double *phase)
{
	double t = now();

	*phase += t - *mark;
	*mark = t;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL && s[1] != '\0' ? s + 1 : path;
}

/* Refuses an output named twice, naming an input, or in a directory it cannot be in. */
static int
check_outputs(size_t n, const char *const *in, const char *const *out, char **message)
{
	struct stat a, b;
	char dir[4096];

	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(out[i], '/');

		if (slash == NULL)
			snprintf(dir, sizeof(dir), ".");
		else
			snprintf(dir, sizeof(dir), "%.*s", slash == out[i] ? 1 :
			    (int)(slash - out[i]), out[i]);
		if (stat(dir, &a) != 0 || !S_ISDIR(a.st_mode) || access(dir, W_OK | X_OK) != 0)
			return batch_fail(message, KYSO_ERR_IO, _("cannot write %s: %s is not a "
			    "directory you can write in; nothing was signed"), out[i], dir);
		for (size_t j = 0; j < i; j++)
			if (strcmp(out[i], out[j]) == 0)
				return batch_fail(message, KYSO_ERR_INVALID_ARG, _("%s would be "
				    "written twice (from %s and %s)"), out[i], in[j], in[i]);
		if (stat(out[i], &a) != 0)
			continue;
		for (size_t j = 0; j < n; j++)
			if (stat(in[j], &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
				return batch_fail(message, KYSO_ERR_INVALID_ARG, _("%s is an input: "
				    "kyso never changes the document it signs; write the signed "
				    "one elsewhere"), out[i]);
	}
	return KYSO_OK;
}

int
pdf_sign_files(const struct pdf_signer *s, const char *certificate,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *tm)
{
	struct pdf_timings local = { 0 }, *t = tm != NULL ? tm : &local;
	double mark = now();
	struct pdf_sign_item *items = NULL;
	kyso_pdf **docs = NULL;
	unsigned char *der = NULL;
	size_t der_len = 0;
	char *id = NULL, err[PDF_ERRLEN] = "";
	struct stat st;
	int r, first = KYSO_OK;

	if (message != NULL)
		*message = NULL;
	if (n == 0)
		return batch_fail(message, KYSO_ERR_INVALID_ARG, _("no documents to sign"));
	if (n > PDF_BATCH_MAX)
		return batch_fail(message, KYSO_ERR_INVALID_ARG, _("%zu documents: a batch holds "
		    "at most %d (the agent's limit); sign them in several runs"), n, PDF_BATCH_MAX);
	if ((r = check_outputs(n, in, out, message)) != KYSO_OK)
		return r;
	if ((items = calloc(n, sizeof(*items))) == NULL ||
	    (docs = calloc(n, sizeof(*docs))) == NULL) {
		r = batch_fail(message, KYSO_ERR_NOMEM, _("out of memory"));
		goto out;
	}
	r = s->certificate(s->arg, certificate, &der, &der_len, &id, err, sizeof(err));
	lap(&mark, &t->certificate);
	if (r != KYSO_OK) {
		batch_fail(message, r, "%s", err);
		goto out;
	}
	/* every document ready before anyone is asked to sign */
	for (size_t i = 0; i < n; i++) {
		const char *alg;

		if (!force && lstat(out[i], &st) == 0) {
			r = batch_fail(message, KYSO_ERR_EXISTS, _("%s exists (use --force to "
			    "replace it); nothing was signed"), out[i]);
			goto out;
		}
		r = kyso_pdf_open(in[i], &docs[i]);
		lap(&mark, &t->open);
		if (r == KYSO_OK) {
			r = kyso_pdf_prepare(docs[i], o, der, der_len);
			lap(&mark, &t->prepare);
		}
		if (r != KYSO_OK) {
			batch_fail(message, r, _("%s; nothing was signed"), kyso_pdf_error(docs[i]));
			goto out;
		}
		kyso_pdf_digest(docs[i], &alg, &items[i].digest, &items[i].digest_len);
		items[i].digest_alg = alg;
		items[i].name = base_name(in[i]);
	}
	r = s->sign(s->arg, id, description, items, n, err, sizeof(err));
	lap(&mark, &t->sign);
	if (r != KYSO_OK) {
		size_t got = 0;

		batch_fail(message, r, "%s", err);
		for (size_t i = 0; i < n; i++)
			got += items[i].cms != NULL;
		if (got == 0)
			goto out;  /* nothing was signed: one error says it all */
	}
	first = r;
	for (size_t i = 0; i < n; i++) {
		int e = items[i].err;
		const char *msg = items[i].message;

		if (items[i].cms != NULL) {
			e = kyso_pdf_complete(docs[i], items[i].cms, items[i].cms_len);
			lap(&mark, &t->complete);
			if (e == KYSO_OK) {
				e = kyso_pdf_write(docs[i], out[i], force);
				lap(&mark, &t->write);
			}
			msg = e == KYSO_OK ? "" : kyso_pdf_error(docs[i]);
		} else if (e == KYSO_OK) {
			e = r != KYSO_OK ? r : KYSO_ERR_INTERNAL;
			msg = r != KYSO_OK ? _("not signed: the batch stopped before it") :
			    _("the signer returned nothing for it");
		}
		if (e != KYSO_OK && first == KYSO_OK) {
			first = e;
			batch_fail(message, e, "%s: %s", in[i], msg[0] != '\0' ? msg :
			    kyso_strerror(e));
		}
		if (fn != NULL && fn(arg, i, n, e, msg) != 0 && i + 1 < n) {
			if (first == KYSO_OK)
				first = batch_fail(message, KYSO_ERR_CANCELLED, P_("stopped after "
				    "%zu of %zu document", "stopped after %zu of %zu documents", n),
				    i + 1, n);
			break;
		}
	}
	r = first;
out:
	for (size_t i = 0; items != NULL && i < n; i++)
		free(items[i].cms);
	for (size_t i = 0; docs != NULL && i < n; i++)
		kyso_pdf_free(docs[i]);
	free(items);
	free(docs);
	free(der);
	free(id);
	return r;
}
