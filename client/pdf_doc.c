/*
 * pdf_doc.c — opening a PDF to sign: qpdf reads it (without repairing it: an incremental
 * update must chain to a sound cross-reference), and the checks that refuse what cannot
 * be signed — not a PDF, damaged, encrypted, certified with "no changes" (DocMDP P=1).
 * Also the form's field names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"

int
pdf_fail(kyso_pdf *d, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return err;
}

const char *
pdf_qpdf_message(qpdf_data q)
{
	qpdf_error e = NULL;

	if (qpdf_has_error(q))
		e = qpdf_get_error(q);
	else if (qpdf_more_warnings(q))
		e = qpdf_next_warning(q);
	if (e == NULL)
		return "";
	return qpdf_get_error_message_detail(q, e);
}

int
pdf_qpdf_trouble(kyso_pdf *d, const char *doing)
{
	if (!qpdf_has_error(d->q) && !qpdf_more_warnings(d->q))
		return 0;
	pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is damaged: qpdf, %s: %s"), d->name, doing,
	    pdf_qpdf_message(d->q));
	return 1;
}

/* A kyso_pdf with its name, or NULL. */
static kyso_pdf *
pdf_new(const char *name)
{
	kyso_pdf *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	if ((d->name = strdup(name)) == NULL) {
		free(d);
		return NULL;
	}
	pdfw_init(&d->rev, 0);
	return d;
}

/*
 * Finds "startxref N %%EOF" at the end of the file: the offset of the last
 * cross-reference section, which the new one's /Prev names. Returns 0 or -1.
 */
static int
find_startxref(kyso_pdf *d)
{
	const unsigned char *p = d->data;
	size_t from = d->len > 2048 ? d->len - 2048 : 0, at = (size_t)-1;
	long long v = 0;
	size_t i;

	for (i = from; i + 9 <= d->len; i++)
		if (memcmp(p + i, "startxref", 9) == 0)
			at = i;
	if (at == (size_t)-1)
		return -1;
	for (i = at + 9; i < d->len && strchr(" \t\r\n\f", p[i]) != NULL; i++)
		;
	if (i >= d->len || p[i] < '0' || p[i] > '9')
		return -1;
	for (; i < d->len && p[i] >= '0' && p[i] <= '9'; i++) {
		if (v > (long long)d->len)
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (v <= 0 || (size_t)v >= d->len)
		return -1;
	d->startxref = v;
	/* a table starts with "xref"; anything else there must be a stream object */
	d->xref_stream = !(d->len - (size_t)v >= 4 && memcmp(p + v, "xref", 4) == 0);
	return 0;
}

/* Refuses a document certified with "no changes allowed" (DocMDP P=1). */
static int
check_docmdp(kyso_pdf *d, qpdf_oh root)
{
	qpdf_oh perms = qpdf_oh_get_key_if_dict(d->q, root, "/Perms");
	qpdf_oh sig = qpdf_oh_get_key_if_dict(d->q, perms, "/DocMDP");
	qpdf_oh refs = qpdf_oh_get_key_if_dict(d->q, sig, "/Reference");
	int n = qpdf_oh_is_array(d->q, refs) ? qpdf_oh_get_array_n_items(d->q, refs) : 0;
	int r = KYSO_OK;

	for (int i = 0; i < n && r == KYSO_OK; i++) {
		qpdf_oh ref = qpdf_oh_get_array_item(d->q, refs, i);
		qpdf_oh method = qpdf_oh_get_key_if_dict(d->q, ref, "/TransformMethod");
		qpdf_oh params = qpdf_oh_get_key_if_dict(d->q, ref, "/TransformParams");
		qpdf_oh p = qpdf_oh_get_key_if_dict(d->q, params, "/P");

		if (qpdf_oh_is_name_and_equals(d->q, method, "/DocMDP") &&
		    qpdf_oh_is_integer(d->q, p) && qpdf_oh_get_int_value(d->q, p) == 1)
			r = pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is certified with \"no changes "
			    "allowed\" (DocMDP P=1): a new signature would invalidate its "
			    "certification signature"), d->name);
	}
	return r;
}

/* Reads the document with qpdf and runs the checks. */
static int
pdf_load(kyso_pdf *d)
{
	qpdf_oh trailer, root, size;
	const char *head = (const char *)d->data;
	int r;

	if (d->len < 8 || memmem(head, d->len < 1024 ? d->len : 1024, "%PDF-", 5) == NULL)
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is not a PDF file (no %%PDF- header)"),
		    d->name);
	if ((d->q = qpdf_init()) == NULL)
		return pdf_fail(d, KYSO_ERR_NOMEM, _("out of memory"));
	qpdf_silence_errors(d->q);
	qpdf_set_suppress_warnings(d->q, QPDF_TRUE);
	/* a repaired cross-reference would not be what readers of our update chain to */
	qpdf_set_attempt_recovery(d->q, QPDF_FALSE);
	if (qpdf_read_memory(d->q, d->name, (const char *)d->data, d->len, "") & QPDF_ERRORS) {
		qpdf_error e = qpdf_get_error(d->q);

		if (e != NULL && qpdf_get_error_code(d->q, e) == qpdf_e_password)
			return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is encrypted (it needs a "
			    "password): kyso does not sign encrypted PDFs"), d->name);
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is damaged or truncated: %s"),
		    d->name, pdf_qpdf_message(d->q));
	}
	if (qpdf_is_encrypted(d->q))
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is encrypted: kyso does not sign "
		    "encrypted PDFs (a signature over encrypted objects cannot be added "
		    "without re-encrypting them)"), d->name);
	if (find_startxref(d) != 0)
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is damaged or truncated: no "
		    "\"startxref\" at its end"), d->name);
	trailer = qpdf_get_trailer(d->q);
	root = qpdf_get_root(d->q);
	size = qpdf_oh_get_key_if_dict(d->q, trailer, "/Size");
	if (!qpdf_oh_is_dictionary(d->q, root) || !qpdf_oh_is_integer(d->q, size) ||
	    (d->size = qpdf_oh_get_int_value(d->q, size)) <= 0 || d->size > 8388607)
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s is damaged: its trailer has no "
		    "usable /Root or /Size"), d->name);
	if ((d->npages = qpdf_get_num_pages(d->q)) <= 0)
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s has no pages: %s"), d->name,
		    pdf_qpdf_message(d->q));
	if ((r = check_docmdp(d, root)) != KYSO_OK)
		return r;
	if (pdf_qpdf_trouble(d, _("reading its catalog")))
		return KYSO_ERR_DOCUMENT;
	return KYSO_OK;
}

int
kyso_pdf_open(const char *path, kyso_pdf **out)
{
	kyso_pdf *d = pdf_new(path);
	int r;

	*out = d;
	if (d == NULL)
		return KYSO_ERR_NOMEM;
	if ((r = file_read_all(path, PDF_FILE_MAX, &d->data, &d->len, &d->dev, &d->ino,
	    d->err, sizeof(d->err))) != KYSO_OK)
		return r;
	d->have_file = 1;
	d->rev.base = d->len;
	return pdf_load(d);
}

int
kyso_pdf_open_memory(const unsigned char *data, size_t len, const char *name,
    kyso_pdf **out)
{
	kyso_pdf *d = pdf_new(name != NULL ? name : _("the document"));

	*out = d;
	if (d == NULL)
		return KYSO_ERR_NOMEM;
	if (len > PDF_FILE_MAX)
		return pdf_fail(d, KYSO_ERR_TOO_LARGE, _("%s is larger than %ld bytes"), d->name,
		    PDF_FILE_MAX);
	if ((d->data = malloc(len > 0 ? len : 1)) == NULL)
		return pdf_fail(d, KYSO_ERR_NOMEM, _("out of memory"));
	memcpy(d->data, data, len);
	d->len = len;
	d->rev.base = len;
	return pdf_load(d);
}

int
kyso_pdf_page_count(const kyso_pdf *d)
{
	return d->npages;
}

const char *
kyso_pdf_error(const kyso_pdf *d)
{
	return d != NULL ? d->err : _("out of memory");
}

void
kyso_pdf_free(kyso_pdf *d)
{
	if (d == NULL)
		return;
	if (d->q != NULL)
		qpdf_cleanup(&d->q);
	free(d->data);
	free(d->name);
	pdfw_free(&d->rev);
	X509_free(d->cert);
	free(d->tsa_url);
	free(d->tsa_ca);
	free(d);
}

/* Appends a copy of name to the list. */
static int
names_add(char ***names, size_t *n, size_t *cap, const char *name)
{
	char **nn;

	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		if ((nn = realloc(*names, *cap * sizeof(**names))) == NULL)
			return KYSO_ERR_NOMEM;
		*names = nn;
	}
	if (((*names)[*n] = strdup(name)) == NULL)
		return KYSO_ERR_NOMEM;
	(*n)++;
	return KYSO_OK;
}

struct walk {
	kyso_pdf *d;
	char **names;
	size_t n, cap;
	size_t visited;  /* bounds a form whose /Kids loop */
};

/* Collects the names of a field and its kids; prefix is the parent's name. */
static int
walk_field(struct walk *wk, qpdf_oh f, const char *prefix, int depth)
{
	qpdf_data q = wk->d->q;
	qpdf_oh t, kids;
	char name[1024];
	const char *part = NULL;
	int r = KYSO_OK, n;

	if (depth > 32 || ++wk->visited > 100000)
		return pdf_fail(wk->d, KYSO_ERR_DOCUMENT, _("%s has a form whose fields nest "
		    "too deep or loop"), wk->d->name);
	if (!qpdf_oh_is_dictionary(q, f))
		return KYSO_OK;
	t = qpdf_oh_get_key(q, f, "/T");
	if (qpdf_oh_is_string(q, t))
		part = qpdf_oh_get_utf8_value(q, t);
	if (part != NULL && part[0] != '\0') {
		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
		    part);
		if ((r = names_add(&wk->names, &wk->n, &wk->cap, name)) != KYSO_OK)
			return r;
	} else {
		snprintf(name, sizeof(name), "%s", prefix);
	}
	kids = qpdf_oh_get_key(q, f, "/Kids");
	n = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;
	for (int i = 0; i < n && r == KYSO_OK; i++) {
		qpdf_oh k = qpdf_oh_get_array_item(q, kids, i);

		r = walk_field(wk, k, name, depth + 1);
		qpdf_oh_release(q, k);
	}
	qpdf_oh_release(q, kids);
	qpdf_oh_release(q, t);
	return r;
}

int
pdf_field_names(kyso_pdf *d, char ***names, size_t *n)
{
	struct walk wk = { .d = d };
	qpdf_oh root = qpdf_get_root(d->q);
	qpdf_oh form = qpdf_oh_get_key_if_dict(d->q, root, "/AcroForm");
	qpdf_oh fields = qpdf_oh_get_key_if_dict(d->q, form, "/Fields");
	int count = qpdf_oh_is_array(d->q, fields) ? qpdf_oh_get_array_n_items(d->q, fields) : 0;
	int r = KYSO_OK;

	for (int i = 0; i < count && r == KYSO_OK; i++) {
		qpdf_oh f = qpdf_oh_get_array_item(d->q, fields, i);

		r = walk_field(&wk, f, "", 0);
		qpdf_oh_release(d->q, f);
	}
	if (r != KYSO_OK) {
		pdf_names_free(wk.names, wk.n);
		return r == KYSO_ERR_NOMEM ? pdf_fail(d, r, _("out of memory")) : r;
	}
	*names = wk.names;
	*n = wk.n;
	return KYSO_OK;
}

void
pdf_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}
