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
#include "pdf_revision.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

/* Room for "0 A B C" between the brackets of /ByteRange. */
#define BYTERANGE_WIDTH 40


/* Picks the field's name: the option's (refused if taken) or the first free SignatureN. */
static int
choose_field(struct rev *r)
{
	kyso_pdf *d = r->d;
	const char *want = pdfopt_text(r->o, KYSO_PDF_FIELD);
	char **names = NULL;
	size_t n = 0;
	int e, taken;

	if (want[0] != '\0') {
		snprintf(r->field, sizeof(r->field), "%s", want);
		if ((e = field_find_empty(r)) != KYSO_OK || r->fill)
			return e;
		r->field[0] = '\0';
	}
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
			return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s already has a field named "
			    "'%s': choose another name with --field"), d->name, want);
		}
		if (taken)
			r->field[0] = '\0';
	}
	pdf_names_free(names, n);
	return KYSO_OK;
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

/* The appearance: rendered for a visible signature, empty for an invisible one. */
static int
write_appearance(struct rev *r)
{
	struct pdfw *w = &r->d->rev;
	struct pdf_look look = { r->o, &r->f, r->look_w, r->look_h, r->rotate };
	char err[256] = "";
	int e;

	if (!r->visible) {
		if (obj_begin(r, r->form, 0) != KYSO_OK)
			return w->err;
		pdfw_printf(w, "<< /Type /XObject /Subtype /Form /BBox [0 0 0 0] /Length 0 >>\n"
		    "stream\n\nendstream");
		return obj_end(r);
	}
	if ((e = pdf_appearance_write(w, &look, r->form, &r->next, rev_note, r, err,
	    sizeof(err))) != KYSO_OK)
		return pdf_fail(r->d, e, _("%s: the appearance: %s"), r->d->name,
		    err[0] != '\0' ? err : kyso_strerror(e));
	return KYSO_OK;
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
		return pdf_fail(d, KYSO_ERR_INTERNAL, _("the byte range does not fit"));
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
		return pdf_fail(d, KYSO_ERR_CRYPTO, _("hashing the document failed"));
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
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("the signer's certificate cannot be "
		    "read (DER expected)"));
	cert_subject_entry(d->cert, NID_commonName, r->name, sizeof(r->name));
	cert_subject_entry(d->cert, NID_organizationName, r->org, sizeof(r->org));
	cert_subject_entry(d->cert, NID_organizationalUnitName, r->unit, sizeof(r->unit));
	if (name[0] != '\0')
		snprintf(r->name, sizeof(r->name), "%s", name);
	if (pdf_time_text(o->when, o->utc_offset, pdfopt_text(o, KYSO_PDF_TIME_FORMAT),
	    r->when, sizeof(r->when)) != KYSO_OK)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("the time format gives nothing"));
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
	if (r->fill) {
		/* the field's widget says where: its page and rectangle */
		if (o->visible)
			return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s: the signature field '%s' has "
			    "its place on the page already: sign into it without --rect and "
			    "--page"), d->name, r->field);
		r->visible = r->rect[2] - r->rect[0] >= 1 && r->rect[3] - r->rect[1] >= 1;
		r->look_w = r->rotate % 180 ? r->rect[3] - r->rect[1] : r->rect[2] - r->rect[0];
		r->look_h = r->rotate % 180 ? r->rect[2] - r->rect[0] : r->rect[3] - r->rect[1];
		goto reserve;
	}
	page = o->visible ? o->page : 1;
	if (page < 0)
		page = d->npages + page + 1;
	if (page < 1 || page > d->npages)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, P_("%s has %d page: there is no page %d",
		    "%s has %d pages: there is no page %d", d->npages), d->name, d->npages,
		    o->page);
	r->page = qpdf_get_page_n(d->q, (size_t)page - 1);
	if (!qpdf_oh_is_indirect(d->q, r->page))
		return pdf_fail(d, KYSO_ERR_DOCUMENT, _("%s: page %d cannot be found: %s"),
		    d->name, page, pdf_qpdf_message(d->q));
	if (o->visible) {
		if ((e = page_box(r, box, &rotate)) != KYSO_OK)
			return e;
		place_rect(r, box, rotate);
		r->visible = 1;
		r->look_w = o->w;
		r->look_h = o->h;
	}
reserve:
	r->reserve = o->reserve;
	if (r->reserve == 0) {
		/* the CMS: this certificate and three more like it (the chain on the token),
		 * attributes and signature; a time stamp carries the TSA's certificates */
		r->reserve = 4096 + 4 * cert_len + (tsa[0] != '\0' ? 12288 : 0);
		r->reserve = (r->reserve + 1023) / 1024 * 1024;
	}
	return pdf_qpdf_trouble(d, _("reading the page and the form")) ? KYSO_ERR_DOCUMENT :
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
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s is prepared already, or could "
		    "not be opened"), d->name);
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
		e = pdf_fail(d, KYSO_ERR_NOMEM, _("out of memory"));
		goto out;
	}
	r.sig = r.next++;
	r.widget = r.fill ? 0 : r.next++;
	r.form = r.next++;
	/* the original's last line may lack its end */
	if (d->len > 0 && d->data[d->len - 1] != '\n' && d->data[d->len - 1] != '\r')
		pdfw_bytes(&d->rev, "\n", 1);
	if ((e = write_sig(&r)) != KYSO_OK || (e = write_appearance(&r)) != KYSO_OK)
		goto out;
	if (r.fill)
		e = field_fill(&r);
	else if ((e = write_widget(&r)) == KYSO_OK)
		e = write_annots(&r);
	if (e != KYSO_OK || (e = write_form(&r, !r.fill)) != KYSO_OK ||
	    (e = write_xref(&r)) != KYSO_OK)
		goto out;
	if (pdf_qpdf_trouble(d, _("reading the objects to update"))) {
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
		pdf_fail(d, e, _("%s: the new revision cannot be written: %s"), d->name,
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
