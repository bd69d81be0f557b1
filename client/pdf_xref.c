/*
 * pdf_xref.c — the bookkeeping of a revision's objects, and its cross-reference section:
 * a table, or a cross-reference stream when the file ends with one (W [1 4 2], no
 * filter), with a trailer whose /Prev chains to the original's last section.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "pdf_revision.h"

/* Records that object num gen begins at off (the note callback of the writers). */
int
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
int
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

int
obj_end(struct rev *r)
{
	pdfw_bytes(&r->d->rev, "\nendobj\n", 8);
	return r->d->rev.err;
}

/* The text a temporary writer holds, NUL-terminated, or NULL after a failure. */
const char *
pdfw_cstr(struct pdfw *t)
{
	pdfw_bytes(t, "", 1);
	return t->err == KYSO_OK ? (const char *)t->b.data : NULL;
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
int
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
			return pdf_fail(r->d, KYSO_ERR_INTERNAL, _("object %d written twice"),
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
