/*
 * pdf_objects.c — the objects of the original that a new signature changes: the page
 * (its /Annots gains the widget), the form (/AcroForm: /Fields, /SigFlags 3) and the
 * catalog when the form is new or direct; and the new field merged with its widget.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "pdf_revision.h"

/* Finds an inheritable page attribute (/CropBox, /MediaBox, /Rotate) up the page tree. */
qpdf_oh
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
int
page_box(struct rev *r, double box[4], int *rotate)
{
	qpdf_data q = r->d->q;
	qpdf_oh b = page_inherited(q, r->page, "/CropBox");
	qpdf_oh rot = page_inherited(q, r->page, "/Rotate");
	double v[4];

	if (b == 0 || !qpdf_oh_is_array(q, b))
		b = page_inherited(q, r->page, "/MediaBox");
	if (b == 0 || !qpdf_oh_is_array(q, b) || qpdf_oh_get_array_n_items(q, b) != 4)
		return pdf_fail(r->d, KYSO_ERR_DOCUMENT, _("%s: the page has no usable /MediaBox"),
		    r->d->name);
	for (int i = 0; i < 4; i++) {
		qpdf_oh it = qpdf_oh_get_array_item(q, b, i);

		if (!qpdf_oh_is_number(q, it))
			return pdf_fail(r->d, KYSO_ERR_DOCUMENT, _("%s: the page's /MediaBox is "
			    "not four numbers"), r->d->name);
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
void
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

/* The signature field merged with its widget annotation. */
int
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

/* The page's /Annots with the widget added: the array object, or the page itself. */
int
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

int
write_form(struct rev *r, int add)
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
	if (!add) {
		/* the field is in the form already */
	} else if (qpdf_oh_is_indirect(q, fields) && qpdf_oh_is_array(q, fields)) {
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
