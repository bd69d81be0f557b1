/*
 * pdf_field.c — signing into a signature field the document already has: an empty one
 * that its author placed where the signer signs (--field NAME). The field's widget gives
 * the page and the rectangle; the revision then rewrites only that field (its /V) and
 * its widget (its /AP), and /SigFlags.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kyso_err.h"
#include "pdf_revision.h"

struct found {
	qpdf_oh field;
	int is_sig;
	size_t visited;
};

/* Looks for the field named want among f and its kids; prefix is the parent's name. */
static int
find(qpdf_data q, qpdf_oh f, const char *prefix, const char *want, int inherited_sig,
    int depth, struct found *out)
{
	qpdf_oh t, ft, kids;
	char name[1024];
	int is_sig, n;

	if (depth > 32 || ++out->visited > 100000 || !qpdf_oh_is_dictionary(q, f))
		return 0;
	t = qpdf_oh_get_key(q, f, "/T");
	ft = qpdf_oh_get_key(q, f, "/FT");
	is_sig = qpdf_oh_is_name(q, ft) ? qpdf_oh_is_name_and_equals(q, ft, "/Sig") : inherited_sig;
	if (qpdf_oh_is_string(q, t))
		snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] != '\0' ? "." : "",
		    qpdf_oh_get_utf8_value(q, t));
	else
		snprintf(name, sizeof(name), "%s", prefix);
	if (qpdf_oh_is_string(q, t) && strcmp(name, want) == 0) {
		out->field = f;
		out->is_sig = is_sig;
		return 1;
	}
	kids = qpdf_oh_get_key(q, f, "/Kids");
	n = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;
	for (int i = 0; i < n; i++)
		if (find(q, qpdf_oh_get_array_item(q, kids, i), name, want, is_sig, depth + 1, out))
			return 1;
	return 0;
}

/* The field's one widget: the field itself (merged) or its only kid; 0 if not one. */
static qpdf_oh
widget_of(qpdf_data q, qpdf_oh field)
{
	qpdf_oh kids = qpdf_oh_get_key(q, field, "/Kids"), w = 0;
	int n = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;

	if (n == 0)
		return qpdf_oh_has_key(q, field, "/Rect") ? field : 0;
	for (int i = 0; i < n; i++) {
		qpdf_oh k = qpdf_oh_get_array_item(q, kids, i);

		if (!qpdf_oh_is_dictionary(q, k) || qpdf_oh_has_key(q, k, "/T") || w != 0)
			return 0;
		w = k;
	}
	return w;
}

/* The page whose /Annots holds the widget: its /P, else a search of the pages. */
static qpdf_oh
page_of(qpdf_data q, qpdf_oh widget, int npages)
{
	qpdf_oh p = qpdf_oh_get_key(q, widget, "/P");
	int id = qpdf_oh_get_object_id(q, widget);

	if (qpdf_oh_is_indirect(q, p) && qpdf_find_page_by_oh(q, p) >= 0)
		return p;
	for (int i = 0; i < npages; i++) {
		qpdf_oh page = qpdf_get_page_n(q, (size_t)i);
		qpdf_oh annots = qpdf_oh_get_key(q, page, "/Annots");
		int n = qpdf_oh_is_array(q, annots) ? qpdf_oh_get_array_n_items(q, annots) : 0;

		for (int k = 0; k < n; k++)
			if (qpdf_oh_get_object_id(q, qpdf_oh_get_array_item(q, annots, k)) == id)
				return page;
	}
	return 0;
}

int
field_find_empty(struct rev *r)
{
	kyso_pdf *d = r->d;
	qpdf_data q = d->q;
	qpdf_oh form = qpdf_oh_get_key_if_dict(q, qpdf_get_root(q), "/AcroForm");
	qpdf_oh fields = qpdf_oh_get_key_if_dict(q, form, "/Fields"), rect, v;
	struct found f = { 0 };
	double box[4], x[4];
	int n = qpdf_oh_is_array(q, fields) ? qpdf_oh_get_array_n_items(q, fields) : 0, found = 0;
	int e, rotate;

	r->fill = 0;
	for (int i = 0; i < n && !found; i++)
		found = find(q, qpdf_oh_get_array_item(q, fields, i), "", r->field, 0, 0, &f);
	if (!found)
		return KYSO_OK;
	v = qpdf_oh_get_key(q, f.field, "/V");
	if (!f.is_sig)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s already has a field named '%s' that "
		    "is not a signature field: choose another name with --field"), d->name, r->field);
	if (!qpdf_oh_is_null(q, v))
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s already has a field named '%s', "
		    "signed: choose another name with --field"), d->name, r->field);
	if (!qpdf_oh_is_indirect(q, f.field) ||
	    (r->fill_widget = widget_of(q, f.field)) == 0 ||
	    !qpdf_oh_is_indirect(q, r->fill_widget))
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s: the signature field '%s' has no single "
		    "widget to sign in"), d->name, r->field);
	rect = qpdf_oh_get_key(q, r->fill_widget, "/Rect");
	for (int i = 0; i < 4; i++) {
		qpdf_oh it = qpdf_oh_is_array(q, rect) && qpdf_oh_get_array_n_items(q, rect) == 4 ?
		    qpdf_oh_get_array_item(q, rect, i) : 0;

		if (it == 0 || !qpdf_oh_is_number(q, it))
			return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s: the signature field '%s' has no "
			    "usable /Rect"), d->name, r->field);
		x[i] = qpdf_oh_get_numeric_value(q, it);
	}
	r->rect[0] = fmin(x[0], x[2]);
	r->rect[1] = fmin(x[1], x[3]);
	r->rect[2] = fmax(x[0], x[2]);
	r->rect[3] = fmax(x[1], x[3]);
	if ((r->page = page_of(q, r->fill_widget, d->npages)) == 0)
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s: the signature field '%s' is on no page"),
		    d->name, r->field);
	if ((e = page_box(r, box, &rotate)) != KYSO_OK)
		return e;
	r->rotate = rotate;
	r->fill_field = f.field;
	r->fill = 1;
	return KYSO_OK;
}

/* Writes object oh again with the overrides. */
static int
rewrite(struct rev *r, qpdf_oh oh, const struct pdf_override *ov, size_t n)
{
	qpdf_data q = r->d->q;

	if (obj_begin(r, qpdf_oh_get_object_id(q, oh), qpdf_oh_get_generation(q, oh)) != KYSO_OK ||
	    pdf_emit_dict(&r->d->rev, q, oh, ov, n) != KYSO_OK)
		return r->d->rev.err;
	return obj_end(r);
}

int
field_fill(struct rev *r)
{
	qpdf_data q = r->d->q;
	char v[32], ap[48];
	struct pdf_override ov[2] = { { "/V", v }, { "/AP", ap } };
	int e;

	snprintf(v, sizeof(v), "%d 0 R", r->sig);
	snprintf(ap, sizeof(ap), "<< /N %d 0 R >>", r->form);
	if (qpdf_oh_get_object_id(q, r->fill_field) == qpdf_oh_get_object_id(q, r->fill_widget))
		return rewrite(r, r->fill_field, ov, 2);
	if ((e = rewrite(r, r->fill_field, &ov[0], 1)) != KYSO_OK)
		return e;
	return rewrite(r, r->fill_widget, &ov[1], 1);
}
