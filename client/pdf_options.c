/* pdf_options.c — kyso_pdf_options: what a PDF signature says and how it looks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "encode.h"
#include "kyso_err.h"
#include "pdf_internal.h"

#define SETTINGS (KYSO_PDF_TSA_CA + 1)

static const char *const defaults[SETTINGS] = {
	[KYSO_PDF_REASON] = "",
	[KYSO_PDF_LOCATION] = "",
	[KYSO_PDF_CONTACT] = "",
	[KYSO_PDF_NAME] = "",
	[KYSO_PDF_FIELD] = "",
	[KYSO_PDF_IMAGE] = "",
	[KYSO_PDF_TEXT] = KYSO_PDF_DEFAULT_TEXT,
	[KYSO_PDF_FONT] = "DejaVu Sans",
	[KYSO_PDF_COLOR] = "000000",
	[KYSO_PDF_TIME_FORMAT] = "%Y-%m-%dT%H:%M:%S%z",
	[KYSO_PDF_DIGEST] = "sha256",
	[KYSO_PDF_TSA_URL] = "",
	[KYSO_PDF_TSA_CA] = "",
};

static int
opt_fail(kyso_pdf_options *o, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
opt_fail(kyso_pdf_options *o, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
	return err;
}

int
kyso_pdf_options_new(kyso_pdf_options **out)
{
	kyso_pdf_options *o = calloc(1, sizeof(*o));

	*out = o;
	if (o == NULL)
		return KYSO_ERR_NOMEM;
	o->utc_offset = 7 * 60;
	return KYSO_OK;
}

void
kyso_pdf_options_free(kyso_pdf_options *o)
{
	if (o == NULL)
		return;
	for (int i = 0; i < SETTINGS; i++)
		free(o->text[i]);
	free(o);
}

const char *
pdfopt_text(const kyso_pdf_options *o, enum kyso_pdf_setting what)
{
	if ((int)what <= 0 || (int)what >= SETTINGS)
		return "";
	return o->text[what] != NULL ? o->text[what] : defaults[what];
}

/* Checks a value for its setting; returns KYSO_OK or sets o's message. */
static int
opt_check(kyso_pdf_options *o, enum kyso_pdf_setting what, const char *v)
{
	char probe[64];

	switch (what) {
	case KYSO_PDF_FIELD:
		if (strchr(v, '.') != NULL)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("a field name may not contain "
			    "'.' (it separates a field from its parent): '%s'"), v);
		break;
	case KYSO_PDF_IMAGE:
		if (v[0] != '\0' && access(v, R_OK) != 0)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("cannot read the image %s"), v);
		break;
	case KYSO_PDF_COLOR:
		if (strlen(v) != 6 || strspn(v, "0123456789abcdefABCDEF") != 6)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("the colour must be RRGGBB in "
			    "hex, e.g. 1f3a93, not '%s'"), v);
		break;
	case KYSO_PDF_DIGEST:
		if (pdf_digest_md(v) == NULL)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("unknown digest '%s' (sha256, "
			    "sha384 or sha512)"), v);
		break;
	case KYSO_PDF_TIME_FORMAT:
		if (pdf_time_text(0, 0, v, probe, sizeof(probe)) != KYSO_OK)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("the time format '%s' gives "
			    "nothing or more than 63 bytes"), v);
		break;
	case KYSO_PDF_TSA_URL:
		if (v[0] != '\0' && strncmp(v, "http://", 7) != 0 &&
		    strncmp(v, "https://", 8) != 0)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("the time-stamp authority's "
			    "address must be an http:// or https:// URL, not '%s'"), v);
		break;
	case KYSO_PDF_TSA_CA:
		if (v[0] != '\0' && access(v, R_OK) != 0)
			return opt_fail(o, KYSO_ERR_INVALID_ARG, _("cannot read the CA bundle %s"), v);
		break;
	default:
		break;
	}
	return KYSO_OK;
}

int
kyso_pdf_options_set(kyso_pdf_options *o, enum kyso_pdf_setting what, const char *value)
{
	char *copy = NULL;
	int r;

	o->err[0] = '\0';
	if ((int)what <= 0 || (int)what >= SETTINGS)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("unknown setting %d"), (int)what);
	if (value != NULL) {
		/* a NUL-terminated string is all UTF-8 or refused */
		for (const unsigned char *p = (const unsigned char *)value; *p != '\0';) {
			size_t l = utf8_seq(p);

			if (l == 0)
				return opt_fail(o, KYSO_ERR_INVALID_ARG, _("a setting is not valid "
				    "UTF-8"));
			p += l;
		}
		if ((r = opt_check(o, what, value)) != KYSO_OK)
			return r;
		if ((copy = strdup(value)) == NULL)
			return opt_fail(o, KYSO_ERR_NOMEM, _("out of memory"));
	}
	free(o->text[what]);
	o->text[what] = copy;
	return KYSO_OK;
}

int
kyso_pdf_options_set_visible(kyso_pdf_options *o, int page, double x, double y,
    double w, double h)
{
	o->err[0] = '\0';
	if (page == 0)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("pages are numbered from 1 (or -1 for "
		    "the last)"));
	if (!isfinite(x) || !isfinite(y) || !(w > 0) || !(h > 0) || w > 14400 || h > 14400 ||
	    fabs(x) > 14400 || fabs(y) > 14400)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("the rectangle %g,%g,%g,%g is not "
		    "usable: width and height must be above 0, everything within 14400 "
		    "points"), x, y, w, h);
	o->visible = 1;
	o->page = page;
	o->x = x;
	o->y = y;
	o->w = w;
	o->h = h;
	return KYSO_OK;
}

int
kyso_pdf_options_set_font_size(kyso_pdf_options *o, double points)
{
	o->err[0] = '\0';
	if (!(points >= 0) || points > 200)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("a font size is between 0 (fit) and "
		    "200 points"));
	o->font_size = points;
	return KYSO_OK;
}

int
kyso_pdf_options_set_time(kyso_pdf_options *o, time_t when, int utc_offset_minutes)
{
	o->err[0] = '\0';
	if (utc_offset_minutes < -14 * 60 || utc_offset_minutes > 14 * 60)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("a UTC offset is within ±14 hours"));
	o->have_time = when != (time_t)-1;
	o->when = when;
	o->utc_offset = utc_offset_minutes;
	return KYSO_OK;
}

int
kyso_pdf_options_set_reserve(kyso_pdf_options *o, size_t bytes)
{
	o->err[0] = '\0';
	if (bytes > PDF_RESERVE_MAX)
		return opt_fail(o, KYSO_ERR_INVALID_ARG, _("at most %d bytes can be kept for "
		    "the signature"), PDF_RESERVE_MAX);
	o->reserve = bytes;
	return KYSO_OK;
}

const char *
kyso_pdf_options_error(const kyso_pdf_options *o)
{
	return o != NULL ? o->err : _("out of memory");
}
