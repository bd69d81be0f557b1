/* pdf_revision.h — the state of a revision being written, shared by its writers. */
#ifndef KYSO_PDF_REVISION_H
#define KYSO_PDF_REVISION_H

#include "pdf_internal.h"

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
	int visible;            /* an appearance is drawn, look_w by look_h (as shown) */
	double look_w, look_h;
	int fill;               /* signing into an empty field the document has */
	qpdf_oh fill_field, fill_widget;
};

/* Records that object num gen begins at offset off (the note callback of the writers). */
int rev_note(void *arg, int num, int gen, size_t off);
/* Starts object num gen: notes its offset and writes "num gen obj". Returns the writer's error. */
int obj_begin(struct rev *r, int num, int gen);
/* Ends an object ("endobj"). Returns the writer's error. */
int obj_end(struct rev *r);
/* The text a temporary writer holds, NUL-terminated, or NULL after a failure. */
const char *pdfw_cstr(struct pdfw *t);
/* The cross-reference section (a table or a stream) and the trailer (pdf_xref.c). */
int write_xref(struct rev *r);

/* pdf_objects.c: the page and the form */
/* Finds an inheritable page attribute (/CropBox, /MediaBox, /Rotate) up the page tree, or 0. */
qpdf_oh page_inherited(qpdf_data q, qpdf_oh page, const char *key);
/* The page's visible area as x0 y0 x1 y1, and its /Rotate (0, 90, 180, 270). */
int page_box(struct rev *r, double box[4], int *rotate);
/* The widget's /Rect for the rectangle of the options, given as the page is shown. */
void place_rect(struct rev *r, const double box[4], int rotate);
/* The new signature field merged with its widget annotation. */
int write_widget(struct rev *r);
/* The page's /Annots with the widget added: the array object, or the page itself. */
int write_annots(struct rev *r);
/*
 * The form: /SigFlags 3 and, with add, the new field in /Fields (the /AcroForm object,
 * the /Fields array object, or the catalog when the form is new or direct).
 */
int write_form(struct rev *r, int add);

/* pdf_field.c: a signature field the document has already, left empty for a signer */
/*
 * Looks for the field named r->field: KYSO_OK with r->fill set when it is an empty
 * signature field with one widget (its page and rectangle are then the signature's);
 * KYSO_OK with r->fill 0 when there is no such field; an error when the name is taken
 * by another kind of field or a signed one.
 */
int field_find_empty(struct rev *r);
/* The empty field (and its widget) again, with /V and /AP. */
int field_fill(struct rev *r);

#endif
