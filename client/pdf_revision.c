/*
 * pdf_revision.c — kyso_pdf_prepare: the incremental update that carries a signature.
 *
 * Appended after the original bytes (which stay byte-identical, so earlier signatures
 * stay valid): the signature dictionary with a /Contents placeholder, the signature
 * field merged with its widget annotation, its appearance (a Form XObject), the page
 * with the widget added to /Annots (or its /Annots array), the form (/AcroForm with
 * /SigFlags 3 and the field in /Fields; the catalog when the form is new or direct),
 * then a cross-reference table — or stream, when the file ends with one — whose
 * trailer's /Prev chains to the original's. Then /ByteRange is filled in and the bytes
 * it covers are hashed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

/* Room for "0 A B C" between the brackets of /ByteRange. */
#define BYTERANGE_WIDTH 40

struct xent {
	int num, gen;
	size_t off;
};

struct rev {
	kyso_pdf *d;
	const kyso_pdf_options *o;
	struct xent *x;
	size_t nx, capx;
	int next;               /* the next free object number */
	int sig, widget, form;  /* our objects' numbers */
	size_t byterange_at;    /* file offset of the first byte inside /ByteRange's [ ] */
	char field[256];
	struct pdf_fields f;
	char name[256], org[256], unit[256], when[64];
	double rect[4];         /* the widget's /Rect */
	int rotate;             /* the page's /Rotate: the appearance turns against it */
	qpdf_oh page;
	size_t reserve;
};

/* Records that object num gen begins at off (the note callback of the writers). */
static int
rev_note(void *arg, int num, int gen, size_t off)
{
	struct rev *r = arg;
	struct xent *nx;

	if (r->nx == r->capx) {
		size_t cap = r->capx == 0 ? 32 : r->capx * 2;

		if ((nx = realloc(r->x, cap * sizeof(*nx))) == NULL)
			return KYSO_ERR_NOMEM;
		r->x = nx;
		r->capx = cap;
	}
	r->x[r->nx++] = (struct xent){ num, gen, off };
	return KYSO_OK;
}

/* Starts object num gen: notes its offset and writes "num gen obj". */
static int
obj_begin(struct rev *r, int num, int gen)
{
	struct pdfw *w = &r->d->rev;
	int e;

	if (w->err != KYSO_OK)
		return w->err;
	if ((e = rev_note(r, num, gen, pdfw_offset(w))) != KYSO_OK)
		return w->err = e;
	pdfw_printf(w, "%d %d obj\n", num, gen);
	return w->err;
}

static int
obj_end(struct rev *r)
{
	pdfw_bytes(&r->d->rev, "\nendobj\n", 8);
	return r->d->rev.err;
}

/* The text a temporary writer holds, NUL-terminated, or NULL after a failure. */
static const char *
pdfw_cstr(struct pdfw *t)
{
	pdfw_bytes(t, "", 1);
	return t->err == KYSO_OK ? (const char *)t->b.data : NULL;
}

/* Picks the field's name: the option's (refused if taken) or the first free SignatureN. */
static int
choose_field(struct rev *r)
{
	kyso_pdf *d = r->d;
	const char *want = pdfopt_text(r->o, KYSO_PDF_FIELD);
	char **names = NULL;
	size_t n = 0;
	int e, taken;

	if ((e = pdf_field_names(d, &names, &n)) != KYSO_OK)
		return e;
	for (int i = 1; r->field[0] == '\0' && i < 100000; i++) {
		if (want[0] != '\0')
			snprintf(r->field, sizeof(r->field), "%s", want);
		else
			snprintf(r->field, sizeof(r->field), "Signature%d", i);
		taken = 0;
		for (size_t k = 0; k < n && !taken; k++)
			taken = strcmp(names[k], r->field) == 0;
		if (taken && want[0] != '\0') {
			pdf_names_free(names, n);
			return pdf_fail(d, KYSO_ERR_INVALID_ARG, "%s already has a field named "
			    "'%s': choose another name with --field", d->name, want);
		}
		if (taken)
			r->field[0] = '\0';
	}
	pdf_names_free(names, n);
	return KYSO_OK;
}

/* Finds an inheritable page attribute (/CropBox, /MediaBox, /Rotate) up the page tree. */
static qpdf_oh
page_inherited(qpdf_data q, qpdf_oh page, const char *key)
{
	qpdf_oh cur = page;

	for (int depth = 0; depth < 32 && qpdf_oh_is_dictionary(q, cur); depth++) {
		if (qpdf_oh_has_key(q, cur, key))
			return qpdf_oh_get_key(q, cur, key);
		cur = qpdf_oh_get_key(q, cur, "/Parent");
	}
	return 0;
}

/* The page's visible area (CropBox, else MediaBox) as x0 y0 x1 y1, and its /Rotate. */
static int
page_box(struct rev *r, double box[4], int *rotate)
{
	qpdf_data q = r->d->q;
	qpdf_oh b = page_inherited(q, r->page, "/CropBox");
	qpdf_oh rot = page_inherited(q, r->page, "/Rotate");
	double v[4];

	if (b == 0 || !qpdf_oh_is_array(q, b))
		b = page_inherited(q, r->page, "/MediaBox");
	if (b == 0 || !qpdf_oh_is_array(q, b) || qpdf_oh_get_array_n_items(q, b) != 4)
		return pdf_fail(r->d, KYSO_ERR_DOCUMENT, "%s: the page has no usable /MediaBox",
		    r->d->name);
	for (int i = 0; i < 4; i++) {
		qpdf_oh it = qpdf_oh_get_array_item(q, b, i);

		if (!qpdf_oh_is_number(q, it))
			return pdf_fail(r->d, KYSO_ERR_DOCUMENT, "%s: the page's /MediaBox is "
			    "not four numbers", r->d->name);
		v[i] = qpdf_oh_get_numeric_value(q, it);
	}
	box[0] = fmin(v[0], v[2]);
	box[1] = fmin(v[1], v[3]);
	box[2] = fmax(v[0], v[2]);
	box[3] = fmax(v[1], v[3]);
	*rotate = 0;
	if (rot != 0 && qpdf_oh_is_integer(q, rot))
		*rotate = (int)(((qpdf_oh_get_int_value(q, rot) % 360) + 360) % 360);
	if (*rotate % 90 != 0)
		*rotate = 0;  /* not a multiple of 90: readers ignore it */
	return KYSO_OK;
}

/*
 * The widget's /Rect for the rectangle the officer gave, which is in the page as it is
 * shown: from its lower-left corner, after the page's /Rotate (clockwise).
 */
static void
place_rect(struct rev *r, const double box[4], int rotate)
{
	const kyso_pdf_options *o = r->o;
	double x0 = box[0], y0 = box[1], x1 = box[2], y1 = box[3], w = x1 - x0;
	double u0 = o->x, v0 = o->y, u1 = o->x + o->w, v1 = o->y + o->h;
	double x[2], y[2];

	switch (rotate) {
	case 90:   /* shown u right = user +y, shown v up = user -x */
		x[0] = x0 + w - v0; x[1] = x0 + w - v1; y[0] = y0 + u0; y[1] = y0 + u1;
		break;
	case 180:
		x[0] = x1 - u0; x[1] = x1 - u1; y[0] = y1 - v0; y[1] = y1 - v1;
		break;
	case 270:  /* shown u right = user -y, shown v up = user +x */
		x[0] = x0 + v0; x[1] = x0 + v1; y[0] = y1 - u0; y[1] = y1 - u1;
		break;
	default:
		x[0] = x0 + u0; x[1] = x0 + u1; y[0] = y0 + v0; y[1] = y0 + v1;
		break;
	}
	r->rect[0] = fmin(x[0], x[1]);
	r->rect[1] = fmin(y[0], y[1]);
	r->rect[2] = fmax(x[0], x[1]);
	r->rect[3] = fmax(y[0], y[1]);
	r->rotate = rotate;
}

/* The signature dictionary, with /ByteRange and /Contents to fill in later. */
static int
write_sig(struct rev *r)
{
	struct pdfw *w = &r->d->rev;
	const char *reason = pdfopt_text(r->o, KYSO_PDF_REASON);
	const char *location = pdfopt_text(r->o, KYSO_PDF_LOCATION);
	const char *contact = pdfopt_text(r->o, KYSO_PDF_CONTACT);
	char date[40];

	pdf_date(r->o->have_time ? r->o->when : 0, r->o->utc_offset, date, sizeof(date));
	if (obj_begin(r, r->sig, 0) != KYSO_OK)
		return w->err;
	pdfw_printf(w, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"
	    "\n/ByteRange [");
	r->byterange_at = pdfw_offset(w);
	pdfw_printf(w, "%*s]\n/Contents <", BYTERANGE_WIDTH, "");
	r->d->contents_at = pdfw_offset(w) - 1;
	r->d->contents_digits = 2 * r->reserve;
	for (size_t i = 0; i < r->reserve; i++)
		pdfw_bytes(w, "00", 2);
	pdfw_printf(w, ">\n/M (%s)", date);
	pdfw_bytes(w, " /Name ", 7);
	pdfw_text_string(w, r->name);
	if (reason[0] != '\0') {
		pdfw_bytes(w, " /Reason ", 9);
		pdfw_text_string(w, reason);
	}
	if (location[0] != '\0') {
		pdfw_bytes(w, " /Location ", 11);
		pdfw_text_string(w, location);
	}
	if (contact[0] != '\0') {
		pdfw_bytes(w, " /ContactInfo ", 14);
		pdfw_text_string(w, contact);
	}
	pdfw_printf(w, "\n/Prop_Build << /App << /Name /kyso /REx (%s) >> >> >>", KYSO_VERSION);
	return obj_end(r);
}

/* The signature field merged with its widget annotation. */
static int
write_widget(struct rev *r)
{
	struct pdfw *w = &r->d->rev;
	qpdf_data q = r->d->q;

	if (obj_begin(r, r->widget, 0) != KYSO_OK)
		return w->err;
	pdfw_printf(w, "<< /Type /Annot /Subtype /Widget /FT /Sig /T ");
	pdfw_text_string(w, r->field);
	/* Print | Locked: printed with the page, not to be moved or deleted */
	pdfw_printf(w, " /V %d 0 R /F 132 /P %d %d R /Rect [%.2f %.2f %.2f %.2f] "
	    "/AP << /N %d 0 R >> >>", r->sig, qpdf_oh_get_object_id(q, r->page),
	    qpdf_oh_get_generation(q, r->page), r->rect[0], r->rect[1], r->rect[2],
	    r->rect[3], r->form);
	return obj_end(r);
}

/* The appearance: rendered for a visible signature, empty for an invisible one. */
static int
write_appearance(struct rev *r)
{
	struct pdfw *w = &r->d->rev;
	struct pdf_look look = { r->o, &r->f, r->o->w, r->o->h, r->rotate };
	char err[256] = "";
	int e;

	if (!r->o->visible) {
		if (obj_begin(r, r->form, 0) != KYSO_OK)
			return w->err;
		pdfw_printf(w, "<< /Type /XObject /Subtype /Form /BBox [0 0 0 0] /Length 0 >>\n"
		    "stream\n\nendstream");
		return obj_end(r);
	}
	if ((e = pdf_appearance_write(w, &look, r->form, &r->next, rev_note, r, err,
	    sizeof(err))) != KYSO_OK)
		return pdf_fail(r->d, e, "%s: the appearance: %s", r->d->name,
		    err[0] != '\0' ? err : kyso_strerror(e));
	return KYSO_OK;
}

/* The page's /Annots with the widget added: the array object, or the page itself. */
static int
write_annots(struct rev *r)
{
	kyso_pdf *d = r->d;
	qpdf_data q = d->q;
	qpdf_oh annots = qpdf_oh_get_key(q, r->page, "/Annots");
	struct pdfw t;
	char ref[32];
	int e;

	snprintf(ref, sizeof(ref), "%d 0 R", r->widget);
	if (qpdf_oh_is_indirect(q, annots) && qpdf_oh_is_array(q, annots)) {
		if (obj_begin(r, qpdf_oh_get_object_id(q, annots),
		    qpdf_oh_get_generation(q, annots)) != KYSO_OK ||
		    pdf_emit_array_append(&d->rev, q, annots, ref) != KYSO_OK)
			return d->rev.err;
		return obj_end(r);
	}
	pdfw_init(&t, 0);
	pdf_emit_array_append(&t, q, qpdf_oh_is_array(q, annots) ? annots : 0, ref);
	if (pdfw_cstr(&t) == NULL) {
		e = t.err;
		pdfw_free(&t);
		return e;
	}
	if (obj_begin(r, qpdf_oh_get_object_id(q, r->page), qpdf_oh_get_generation(q, r->page))
	    == KYSO_OK) {
		struct pdf_override ov = { "/Annots", (const char *)t.b.data };

		if (pdf_emit_dict(&d->rev, q, r->page, &ov, 1) == KYSO_OK)
			obj_end(r);
	}
	pdfw_free(&t);
	return d->rev.err;
}

/* The catalog again, with /AcroForm set to text. */
static int
write_catalog(struct rev *r, const char *form_text)
{
	qpdf_data q = r->d->q;
	qpdf_oh root = qpdf_get_root(q);
	struct pdf_override ov = { "/AcroForm", form_text };

	if (obj_begin(r, qpdf_oh_get_object_id(q, root), qpdf_oh_get_generation(q, root))
	    != KYSO_OK || pdf_emit_dict(&r->d->rev, q, root, &ov, 1) != KYSO_OK)
		return r->d->rev.err;
	return obj_end(r);
}

/* The form: /Fields with the new field, /SigFlags 3 (signatures exist, append only). */
static int
write_form(struct rev *r)
{
	kyso_pdf *d = r->d;
	qpdf_data q = d->q;
	qpdf_oh root = qpdf_get_root(q), form = qpdf_oh_get_key(q, root, "/AcroForm");
	qpdf_oh fields, flags;
	struct pdfw t, ft;
	struct pdf_override ov[2];
	char ref[32], text[64], sigflags[24];
	long long fl = 0;
	int e, nov = 0;

	snprintf(ref, sizeof(ref), "%d 0 R", r->widget);
	if (!qpdf_oh_is_dictionary(q, form)) {
		int num = r->next++;

		snprintf(text, sizeof(text), "%d 0 R", num);
		if (obj_begin(r, num, 0) != KYSO_OK)
			return d->rev.err;
		pdfw_printf(&d->rev, "<< /Fields [%s] /SigFlags 3 >>", ref);
		if (obj_end(r) != KYSO_OK)
			return d->rev.err;
		return write_catalog(r, text);
	}
	fields = qpdf_oh_get_key(q, form, "/Fields");
	flags = qpdf_oh_get_key(q, form, "/SigFlags");
	if (qpdf_oh_is_integer(q, flags))
		fl = qpdf_oh_get_int_value(q, flags);
	snprintf(sigflags, sizeof(sigflags), "%lld", fl | 3);
	pdfw_init(&ft, 0);
	if (qpdf_oh_is_indirect(q, fields) && qpdf_oh_is_array(q, fields)) {
		if (obj_begin(r, qpdf_oh_get_object_id(q, fields),
		    qpdf_oh_get_generation(q, fields)) != KYSO_OK ||
		    pdf_emit_array_append(&d->rev, q, fields, ref) != KYSO_OK ||
		    obj_end(r) != KYSO_OK) {
			pdfw_free(&ft);
			return d->rev.err;
		}
	} else {
		pdf_emit_array_append(&ft, q, qpdf_oh_is_array(q, fields) ? fields : 0, ref);
		if (pdfw_cstr(&ft) == NULL) {
			e = ft.err;
			pdfw_free(&ft);
			return e;
		}
		ov[nov++] = (struct pdf_override){ "/Fields", (const char *)ft.b.data };
	}
	if ((fl & 3) != 3)
		ov[nov++] = (struct pdf_override){ "/SigFlags", sigflags };
	e = KYSO_OK;
	if (nov > 0 && qpdf_oh_is_indirect(q, form)) {
		if (obj_begin(r, qpdf_oh_get_object_id(q, form), qpdf_oh_get_generation(q, form))
		    == KYSO_OK && pdf_emit_dict(&d->rev, q, form, ov, (size_t)nov) == KYSO_OK)
			obj_end(r);
		e = d->rev.err;
	} else if (nov > 0) {
		pdfw_init(&t, 0);
		pdf_emit_dict(&t, q, form, ov, (size_t)nov);
		e = pdfw_cstr(&t) != NULL ? write_catalog(r, (const char *)t.b.data) : t.err;
		pdfw_free(&t);
	}
	pdfw_free(&ft);
	return e;
}

static int
xent_cmp(const void *a, const void *b)
{
	const struct xent *x = a, *y = b;

	return (x->num > y->num) - (x->num < y->num);
}

/* The trailer's entries shared by a table's trailer and a stream's dictionary. */
static void
write_trailer_keys(struct rev *r, long long size)
{
	kyso_pdf *d = r->d;
	qpdf_data q = d->q;
	qpdf_oh trailer = qpdf_get_trailer(q), root = qpdf_get_root(q);
	qpdf_oh info = qpdf_oh_get_key(q, trailer, "/Info");
	qpdf_oh id = qpdf_oh_get_key(q, trailer, "/ID");
	struct pdfw *w = &d->rev;

	pdfw_printf(w, "/Size %lld /Root %d %d R", size, qpdf_oh_get_object_id(q, root),
	    qpdf_oh_get_generation(q, root));
	if (qpdf_oh_is_indirect(q, info) && qpdf_oh_is_dictionary(q, info))
		pdfw_printf(w, " /Info %d %d R", qpdf_oh_get_object_id(q, info),
		    qpdf_oh_get_generation(q, info));
	if (qpdf_oh_is_array(q, id) && !qpdf_oh_is_indirect(q, id)) {
		const char *text = qpdf_oh_unparse_binary(q, id);

		pdfw_bytes(w, " /ID ", 5);
		pdfw_bytes(w, text, qpdf_get_last_string_length(q));
	}
	pdfw_printf(w, " /Prev %lld", d->startxref);
}

/* The cross-reference section (a table or a stream) and the trailer. */
static int
write_xref(struct rev *r)
{
	struct pdfw *w = &r->d->rev;
	size_t xref_at, i, j;
	long long size;
	int stream_num = 0;

	if (r->d->xref_stream) {
		stream_num = r->next++;
		if (rev_note(r, stream_num, 0, pdfw_offset(w)) != KYSO_OK)
			return w->err = KYSO_ERR_NOMEM;
	}
	qsort(r->x, r->nx, sizeof(*r->x), xent_cmp);
	for (i = 1; i < r->nx; i++)
		if (r->x[i].num == r->x[i - 1].num)
			return pdf_fail(r->d, KYSO_ERR_INTERNAL, "object %d written twice",
			    r->x[i].num);
	size = r->d->size;
	if (r->nx > 0 && r->x[r->nx - 1].num + 1 > size)
		size = r->x[r->nx - 1].num + 1;
	xref_at = pdfw_offset(w);
	if (!r->d->xref_stream) {
		pdfw_printf(w, "xref\n");
		for (i = 0; i < r->nx; i = j) {
			for (j = i + 1; j < r->nx && r->x[j].num == r->x[j - 1].num + 1; j++)
				;
			pdfw_printf(w, "%d %zu\n", r->x[i].num, j - i);
			for (size_t k = i; k < j; k++)
				pdfw_printf(w, "%010zu %05d n\r\n", r->x[k].off, r->x[k].gen);
		}
		pdfw_printf(w, "trailer\n<< ");
		write_trailer_keys(r, size);
		pdfw_printf(w, " >>\n");
	} else {
		/* W [1 4 2]: type 1 (in use, at an offset), 4-byte offset, 2-byte generation */
		pdfw_printf(w, "%d 0 obj\n<< /Type /XRef ", stream_num);
		write_trailer_keys(r, size);
		pdfw_printf(w, " /W [1 4 2] /Index [");
		for (i = 0; i < r->nx; i = j) {
			for (j = i + 1; j < r->nx && r->x[j].num == r->x[j - 1].num + 1; j++)
				;
			pdfw_printf(w, "%s%d %zu", i > 0 ? " " : "", r->x[i].num, j - i);
		}
		pdfw_printf(w, "] /Length %zu >>\nstream\n", r->nx * 7);
		for (i = 0; i < r->nx; i++) {
			unsigned char e[7] = { 1, (unsigned char)(r->x[i].off >> 24),
				(unsigned char)(r->x[i].off >> 16), (unsigned char)(r->x[i].off >> 8),
				(unsigned char)r->x[i].off, (unsigned char)(r->x[i].gen >> 8),
				(unsigned char)r->x[i].gen };

			pdfw_bytes(w, e, sizeof(e));
		}
		pdfw_printf(w, "\nendstream\nendobj\n");
	}
	pdfw_printf(w, "startxref\n%zu\n%%%%EOF\n", xref_at);
	return w->err;
}

/* Fills in /ByteRange and hashes the bytes it names. */
static int
finish_digest(struct rev *r)
{
	kyso_pdf *d = r->d;
	const EVP_MD *md = pdf_digest_md(d->digest_alg);
	size_t end = pdfw_offset(&d->rev), a = d->contents_at;
	size_t b = d->contents_at + d->contents_digits + 2;
	char range[BYTERANGE_WIDTH + 1];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int len = 0;
	int n, ok;

	n = snprintf(range, sizeof(range), "0 %zu %zu %zu", a, b, end - b);
	if (ctx == NULL || n < 0 || n > BYTERANGE_WIDTH) {
		EVP_MD_CTX_free(ctx);
		return pdf_fail(d, KYSO_ERR_INTERNAL, "the byte range does not fit");
	}
	memset(range + n, ' ', (size_t)(BYTERANGE_WIDTH - n));
	memcpy(d->rev.b.data + (r->byterange_at - d->rev.base), range, BYTERANGE_WIDTH);
	ok = EVP_DigestInit_ex(ctx, md, NULL) &&
	    EVP_DigestUpdate(ctx, d->data, d->len) &&
	    EVP_DigestUpdate(ctx, d->rev.b.data, a - d->rev.base) &&
	    EVP_DigestUpdate(ctx, d->rev.b.data + (b - d->rev.base), end - b) &&
	    EVP_DigestFinal_ex(ctx, d->digest, &len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return pdf_fail(d, KYSO_ERR_CRYPTO, "hashing the document failed");
	d->digest_len = len;
	return KYSO_OK;
}

/* Names, field, page and rectangle: everything decided before a byte is written. */
static int
rev_plan(struct rev *r, const unsigned char *cert, size_t cert_len)
{
	kyso_pdf *d = r->d;
	const kyso_pdf_options *o = r->o;
	const unsigned char *p = cert;
	const char *name = pdfopt_text(o, KYSO_PDF_NAME), *tsa = pdfopt_text(o, KYSO_PDF_TSA_URL);
	double box[4] = { 0, 0, 0, 0 };
	int page, e, rotate = 0;

	if ((d->cert = d2i_X509(NULL, &p, (long)cert_len)) == NULL)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, "the signer's certificate cannot be "
		    "read (DER expected)");
	cert_subject_entry(d->cert, NID_commonName, r->name, sizeof(r->name));
	cert_subject_entry(d->cert, NID_organizationName, r->org, sizeof(r->org));
	cert_subject_entry(d->cert, NID_organizationalUnitName, r->unit, sizeof(r->unit));
	if (name[0] != '\0')
		snprintf(r->name, sizeof(r->name), "%s", name);
	if (pdf_time_text(o->when, o->utc_offset, pdfopt_text(o, KYSO_PDF_TIME_FORMAT),
	    r->when, sizeof(r->when)) != KYSO_OK)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, "the time format gives nothing");
	r->f = (struct pdf_fields){ r->name, r->org, r->unit, r->when,
		pdfopt_text(o, KYSO_PDF_REASON), pdfopt_text(o, KYSO_PDF_LOCATION),
		pdfopt_text(o, KYSO_PDF_CONTACT) };
	snprintf(d->digest_alg, sizeof(d->digest_alg), "%s", pdfopt_text(o, KYSO_PDF_DIGEST));
	/* Ed25519 signs with SHA-512 (RFC 8419): the default follows the key */
	if (o->text[KYSO_PDF_DIGEST] == NULL &&
	    EVP_PKEY_get_base_id(X509_get0_pubkey(d->cert)) == EVP_PKEY_ED25519)
		snprintf(d->digest_alg, sizeof(d->digest_alg), "sha512");
	if ((e = choose_field(r)) != KYSO_OK)
		return e;
	page = o->visible ? o->page : 1;
	if (page < 0)
		page = d->npages + page + 1;
	if (page < 1 || page > d->npages)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, "%s has %d page%s: there is no page %d",
		    d->name, d->npages, d->npages == 1 ? "" : "s", o->page);
	r->page = qpdf_get_page_n(d->q, (size_t)page - 1);
	if (!qpdf_oh_is_indirect(d->q, r->page))
		return pdf_fail(d, KYSO_ERR_DOCUMENT, "%s: page %d cannot be found: %s",
		    d->name, page, pdf_qpdf_message(d->q));
	if (o->visible) {
		if ((e = page_box(r, box, &rotate)) != KYSO_OK)
			return e;
		place_rect(r, box, rotate);
	}
	r->reserve = o->reserve;
	if (r->reserve == 0) {
		/* the CMS: this certificate and three more like it (the chain on the token),
		 * attributes and signature; a time stamp carries the TSA's certificates */
		r->reserve = 4096 + 4 * cert_len + (tsa[0] != '\0' ? 12288 : 0);
		r->reserve = (r->reserve + 1023) / 1024 * 1024;
	}
	return pdf_qpdf_trouble(d, "reading the page and the form") ? KYSO_ERR_DOCUMENT :
	    KYSO_OK;
}

int
kyso_pdf_prepare(kyso_pdf *d, const kyso_pdf_options *o, const unsigned char *cert,
    size_t cert_len)
{
	kyso_pdf_options local;
	struct rev r = { .d = d };
	const char *tsa = pdfopt_text(o, KYSO_PDF_TSA_URL), *ca = pdfopt_text(o, KYSO_PDF_TSA_CA);
	int e;

	if (d->state != PDF_OPEN)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, "%s is prepared already, or could "
		    "not be opened", d->name);
	/* the time, decided once: /M and the appearance show the same */
	local = *o;
	if (!local.have_time) {
		local.when = time(NULL);
		local.have_time = 1;
	}
	r.o = &local;
	r.next = (int)d->size;
	d->state = PDF_BROKEN;  /* until it is all done */
	if ((e = rev_plan(&r, cert, cert_len)) != KYSO_OK)
		goto out;
	if ((tsa[0] != '\0' && (d->tsa_url = strdup(tsa)) == NULL) ||
	    (ca[0] != '\0' && (d->tsa_ca = strdup(ca)) == NULL)) {
		e = pdf_fail(d, KYSO_ERR_NOMEM, "out of memory");
		goto out;
	}
	r.sig = r.next++;
	r.widget = r.next++;
	r.form = r.next++;
	/* the original's last line may lack its end */
	if (d->len > 0 && d->data[d->len - 1] != '\n' && d->data[d->len - 1] != '\r')
		pdfw_bytes(&d->rev, "\n", 1);
	if ((e = write_sig(&r)) != KYSO_OK || (e = write_widget(&r)) != KYSO_OK ||
	    (e = write_appearance(&r)) != KYSO_OK || (e = write_annots(&r)) != KYSO_OK ||
	    (e = write_form(&r)) != KYSO_OK || (e = write_xref(&r)) != KYSO_OK)
		goto out;
	if (pdf_qpdf_trouble(d, "reading the objects to update")) {
		e = KYSO_ERR_DOCUMENT;
		goto out;
	}
	if ((e = finish_digest(&r)) != KYSO_OK)
		goto out;
	d->state = PDF_PREPARED;
	/* qpdf's view of the document is no longer needed: a batch of many documents
	 * keeps only their bytes */
	qpdf_cleanup(&d->q);
	d->q = NULL;
out:
	if (e != KYSO_OK && d->err[0] == '\0')
		pdf_fail(d, e, "%s: the new revision cannot be written: %s", d->name,
		    kyso_strerror(e));
	free(r.x);
	return e;
}

int
kyso_pdf_digest(const kyso_pdf *d, const char **algorithm, const unsigned char **digest,
    size_t *len)
{
	if (d->state != PDF_PREPARED && d->state != PDF_COMPLETE)
		return KYSO_ERR_INVALID_ARG;
	*algorithm = d->digest_alg;
	*digest = d->digest;
	*len = d->digest_len;
	return KYSO_OK;
}
