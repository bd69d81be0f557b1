/*
 * pdf_appearance.c — how a visible signature looks: cairo and pango draw the text (the
 * signer, organisation, time, reason: shaped by HarfBuzz, so Vietnamese diacritics stack
 * right) and the optional PNG image (its alpha becomes an SMask) into a one-page PDF in
 * memory; cairo subsets and embeds the font with a ToUnicode map, so the text can be
 * searched and copied. qpdf reads that PDF back and its page becomes the widget's Form
 * XObject, with its fonts and images copied as new objects of the revision.
 *
 * Layout: with an image and text, a wide rectangle (at least 1.6 times as wide as high)
 * puts the image on the left (at most 45% of the width) and the text on the right; a
 * narrower one draws the text over the image. The text takes the largest size that fits
 * (at most 10 points) unless a size is set.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>
#include <pango/pangocairo.h>

#include "kyso_err.h"
#include "pdf_internal.h"

#define PAD 2.0          /* points between the rectangle's edge and what is drawn */
#define MAX_FONT 10.0
#define MIN_FONT 3.0
#define WRAP_FONT 6.0  /* below this, long lines are wrapped rather than shrunk */

static cairo_status_t
to_kbuf(void *closure, const unsigned char *data, unsigned int len)
{
	return kbuf_append(closure, data, len) == KYSO_OK ? CAIRO_STATUS_SUCCESS :
	    CAIRO_STATUS_WRITE_ERROR;
}

struct box {
	double x, y, w, h;
};

/* Draws the image scaled to fit the box, keeping its proportions, centred. */
static void
draw_image(cairo_t *cr, cairo_surface_t *img, struct box b)
{
	double iw = cairo_image_surface_get_width(img), ih = cairo_image_surface_get_height(img);
	double s = fmin(b.w / iw, b.h / ih);

	cairo_save(cr);
	cairo_translate(cr, b.x + (b.w - iw * s) / 2, b.y + (b.h - ih * s) / 2);
	cairo_scale(cr, s, s);
	cairo_set_source_surface(cr, img, 0, 0);
	cairo_paint(cr);
	cairo_restore(cr);
}

/* Lays the text out in the box at the largest size that fits; 0 or an error. */
static int
draw_text(cairo_t *cr, const struct pdf_look *look, const char *text, struct box b,
    char *err, size_t errlen)
{
	const kyso_pdf_options *o = look->o;
	const char *font = pdfopt_text(o, KYSO_PDF_FONT), *color = pdfopt_text(o, KYSO_PDF_COLOR);
	PangoLayout *layout = pango_cairo_create_layout(cr);
	PangoFontDescription *fd = pango_font_description_from_string(font);
	double size = o->font_size > 0 ? o->font_size : MAX_FONT;
	unsigned rgb = (unsigned)strtoul(color, NULL, 16);
	int tw = 0, th = 0, r = KYSO_OK;

	if (layout == NULL || fd == NULL) {
		snprintf(err, errlen, _("pango cannot lay text out"));
		r = KYSO_ERR_NOMEM;
		goto out;
	}
	/* sizes in points, not at the screen's 96 dpi */
	pango_cairo_context_set_resolution(pango_layout_get_context(layout), 72);
	pango_layout_context_changed(layout);
	pango_layout_set_text(layout, text, -1);
	/* each line whole, at the largest size that fits; lines wrapped only if that would
	 * take a size below WRAP_FONT */
	for (int wrap = 0; wrap < 2; wrap++) {
		size = o->font_size > 0 ? o->font_size : MAX_FONT;
		pango_layout_set_width(layout, wrap ? (int)(b.w * PANGO_SCALE) : -1);
		pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
		for (;;) {
			pango_font_description_set_size(fd, (gint)(size * PANGO_SCALE));
			pango_layout_set_font_description(layout, fd);
			pango_layout_get_size(layout, &tw, &th);
			if (o->font_size > 0 || ((double)th / PANGO_SCALE <= b.h &&
			    (double)tw / PANGO_SCALE <= b.w) || size <= (wrap ? MIN_FONT : WRAP_FONT))
				break;
			size -= 0.25;
		}
		if (o->font_size > 0 || (double)tw / PANGO_SCALE <= b.w)
			break;
	}
	if (pango_layout_get_unknown_glyphs_count(layout) > 0) {
		snprintf(err, errlen, _("the font \"%s\" has no glyphs for some of the "
		    "characters of the text (choose a font with Vietnamese, e.g. DejaVu Sans)"),
		    font);
		r = KYSO_ERR_INVALID_ARG;
		goto out;
	}
	cairo_set_source_rgb(cr, (rgb >> 16 & 0xff) / 255.0, (rgb >> 8 & 0xff) / 255.0,
	    (rgb & 0xff) / 255.0);
	/* centred vertically in the box */
	cairo_move_to(cr, b.x, b.y + fmax(0, (b.h - (double)th / PANGO_SCALE) / 2));
	pango_cairo_show_layout(cr, layout);
out:
	if (fd != NULL)
		pango_font_description_free(fd);
	if (layout != NULL)
		g_object_unref(layout);
	return r;
}

/* Draws the appearance into a one-page PDF in out. */
static int
render(const struct pdf_look *look, struct kbuf *out, char *err, size_t errlen)
{
	const char *image = pdfopt_text(look->o, KYSO_PDF_IMAGE);
	char *text = pdf_template_expand(pdfopt_text(look->o, KYSO_PDF_TEXT), look->fields);
	cairo_surface_t *s = NULL, *img = NULL;
	cairo_t *cr = NULL;
	struct box all = { PAD, PAD, look->w - 2 * PAD, look->h - 2 * PAD }, ib = all, tb = all;
	int r = KYSO_OK;

	if (text == NULL)
		return KYSO_ERR_NOMEM;
	if (all.w <= 0 || all.h <= 0) {
		snprintf(err, errlen, _("the rectangle is too small to draw in"));
		r = KYSO_ERR_INVALID_ARG;
		goto out;
	}
	if (image[0] != '\0') {
		img = cairo_image_surface_create_from_png(image);
		if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
			snprintf(err, errlen, _("%s is not a PNG image cairo can read: %s"), image,
			    cairo_status_to_string(cairo_surface_status(img)));
			r = KYSO_ERR_INVALID_ARG;
			goto out;
		}
		if (text[0] != '\0' && look->w >= 1.6 * look->h) {
			double iw = cairo_image_surface_get_width(img);
			double ih = cairo_image_surface_get_height(img);

			ib.w = fmin(all.h * iw / ih, all.w * 0.45);
			tb.x = ib.x + ib.w + PAD;
			tb.w = all.w - ib.w - PAD;
		}
	}
	s = cairo_pdf_surface_create_for_stream(to_kbuf, out, look->w, look->h);
	cr = cairo_create(s);
	if (img != NULL)
		draw_image(cr, img, ib);
	if (text[0] != '\0' && (r = draw_text(cr, look, text, tb, err, errlen)) != KYSO_OK)
		goto out;
	cairo_show_page(cr);
	cairo_destroy(cr);
	cr = NULL;
	cairo_surface_finish(s);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		snprintf(err, errlen, "cairo: %s", cairo_status_to_string(cairo_surface_status(s)));
		r = KYSO_ERR_INTERNAL;
	}
out:
	if (cr != NULL)
		cairo_destroy(cr);
	if (s != NULL)
		cairo_surface_destroy(s);
	if (img != NULL)
		cairo_surface_destroy(img);
	free(text);
	return r;
}

int
pdf_appearance_write(struct pdfw *w, const struct pdf_look *look, int form_num,
    int *next_num, int (*note)(void *arg, int num, int gen, size_t offset), void *arg,
    char *err, size_t errlen)
{
	struct kbuf pdf;
	struct pdf_copy c = { 0 };
	qpdf_data q = NULL;
	qpdf_oh page, res, group;
	unsigned char *content = NULL;
	size_t clen = 0;
	int r;

	kbuf_init(&pdf, 64L * 1024 * 1024);
	if ((r = render(look, &pdf, err, errlen)) != KYSO_OK)
		goto out;
	if ((q = qpdf_init()) == NULL) {
		r = KYSO_ERR_NOMEM;
		goto out;
	}
	qpdf_silence_errors(q);
	qpdf_set_suppress_warnings(q, QPDF_TRUE);
	if ((qpdf_read_memory(q, "appearance", (const char *)pdf.data, pdf.len, "") &
	    QPDF_ERRORS) || (page = qpdf_get_page_n(q, 0)) == 0 ||
	    (qpdf_oh_get_page_content_data(q, page, &content, &clen) & QPDF_ERRORS)) {
		snprintf(err, errlen, _("the appearance cairo drew cannot be read back: %s"),
		    pdf_qpdf_message(q));
		r = KYSO_ERR_INTERNAL;
		goto out;
	}
	res = qpdf_oh_get_key(q, page, "/Resources");
	group = qpdf_oh_get_key(q, page, "/Group");
	c.src = q;
	c.next = *next_num;
	if ((r = note(arg, form_num, 0, pdfw_offset(w))) != KYSO_OK)
		goto out;
	pdfw_printf(w, "%d 0 obj\n<< /Type /XObject /Subtype /Form /BBox [0 0 %.2f %.2f] ",
	    form_num, look->w, look->h);
	/* on a page shown turned clockwise, the appearance turns the other way: upright */
	if (look->rotate == 90)
		pdfw_printf(w, "/Matrix [0 1 -1 0 0 0] ");
	else if (look->rotate == 180)
		pdfw_printf(w, "/Matrix [-1 0 0 -1 0 0] ");
	else if (look->rotate == 270)
		pdfw_printf(w, "/Matrix [0 -1 1 0 0 0] ");
	pdfw_printf(w, "/Resources ");
	pdf_copy_value(w, &c, res);
	if (qpdf_oh_is_dictionary(q, group)) {
		pdfw_printf(w, " /Group ");
		pdf_copy_value(w, &c, group);
	}
	pdfw_printf(w, " /Length %zu >>\nstream\n", clen);
	pdfw_bytes(w, content, clen);
	pdfw_printf(w, "\nendstream\nendobj\n");
	if ((r = pdf_copy_flush(w, &c, note, arg)) != KYSO_OK) {
		snprintf(err, errlen, _("copying the appearance's objects failed: %s"),
		    kyso_strerror(r));
		goto out;
	}
	*next_num = c.next;
out:
	free(content);
	pdf_copy_free(&c);
	if (q != NULL)
		qpdf_cleanup(&q);
	kbuf_free(&pdf);
	return r;
}
