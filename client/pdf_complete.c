/*
 * pdf_complete.c — the last step of a PDF signature: the CMS the agent made is checked
 * (it must sign this document's digest, with the certificate the appearance names),
 * time-stamped if asked, written as hex into /Contents, and the document is written out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"

/* Adds a time stamp from the document's TSA to der; *out is der itself without a TSA. */
static int
stamp(kyso_pdf *d, const unsigned char *der, size_t len, unsigned char **out,
    size_t *out_len)
{
	kyso_tsa *t = NULL;
	int r;

	*out = NULL;
	*out_len = 0;
	if ((r = kyso_tsa_new(d->tsa_url, &t)) != KYSO_OK ||
	    (d->tsa_ca != NULL && (r = kyso_tsa_set_ca(t, d->tsa_ca)) != KYSO_OK) ||
	    (r = kyso_tsa_stamp_cms(t, der, len, out, out_len)) != KYSO_OK)
		pdf_fail(d, r, _("%s: no time stamp, so no signed file: %s"), d->name,
		    t != NULL ? kyso_tsa_error(t) : kyso_strerror(r));
	kyso_tsa_free(t);
	return r;
}

int
kyso_pdf_complete(kyso_pdf *d, const unsigned char *cms, size_t cms_len)
{
	static const char hex[] = "0123456789ABCDEF";
	CMS_ContentInfo *ci = NULL;
	unsigned char *stamped = NULL;
	const unsigned char *der = cms;
	size_t len = cms_len;
	X509 *signer = NULL;
	char err[256];
	int r;

	if (d->state != PDF_PREPARED)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s is not prepared for a signature"),
		    d->name);
	if ((r = cms_check_detached(cms, cms_len, d->digest, d->digest_len, &ci, err,
	    sizeof(err))) != KYSO_OK)
		return pdf_fail(d, r, "%s: %s", d->name, err);
	CMS_SignerInfo_get0_algs(cms_signer_info(ci), NULL, &signer, NULL, NULL);
	if (X509_cmp(signer, d->cert) != 0) {
		CMS_ContentInfo_free(ci);
		return pdf_fail(d, KYSO_ERR_CRYPTO, _("%s: the CMS is signed with another "
		    "certificate than the one the signature was prepared for"), d->name);
	}
	CMS_ContentInfo_free(ci);
	if (d->tsa_url != NULL) {
		if ((r = stamp(d, cms, cms_len, &stamped, &len)) != KYSO_OK)
			return r;
		der = stamped;
	}
	if (2 * len > d->contents_digits) {
		r = pdf_fail(d, KYSO_ERR_TOO_LARGE, _("%s: the signature (%zu bytes) does not "
		    "fit the %zu bytes kept for it; sign again keeping more room (--reserve "
		    "%zu)"), d->name, len, d->contents_digits / 2, (len + 4096) / 1024 * 1024);
		goto out;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char *at = d->rev.b.data + (d->contents_at + 1 - d->rev.base) + 2 * i;

		at[0] = (unsigned char)hex[der[i] >> 4];
		at[1] = (unsigned char)hex[der[i] & 0x0f];
	}
	d->state = PDF_COMPLETE;
	r = KYSO_OK;
out:
	kyso_free(stamped);
	return r;
}

int
kyso_pdf_write(kyso_pdf *d, const char *path, int force)
{
	struct file_part parts[2] = { { d->data, d->len }, { d->rev.b.data, d->rev.b.len } };
	struct stat st;

	if (d->state != PDF_COMPLETE)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s is not signed yet"), d->name);
	if (d->have_file && stat(path, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino)
		return pdf_fail(d, KYSO_ERR_INVALID_ARG, _("%s is the input file: kyso never "
		    "changes the document it signs; write the signed one elsewhere"), path);
	return file_write_atomic(path, parts, 2, force, d->err, sizeof(d->err));
}

int
kyso_pdf_output(const kyso_pdf *d, unsigned char **out, size_t *len)
{
	unsigned char *p;

	*out = NULL;
	*len = 0;
	if (d->state != PDF_COMPLETE)
		return KYSO_ERR_INVALID_ARG;
	if ((p = malloc(d->len + d->rev.b.len)) == NULL)
		return KYSO_ERR_NOMEM;
	memcpy(p, d->data, d->len);
	memcpy(p + d->len, d->rev.b.data, d->rev.b.len);
	*out = p;
	*len = d->len + d->rev.b.len;
	return KYSO_OK;
}
