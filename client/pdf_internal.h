/* pdf_internal.h — shared by the files of libkyso-pdf only. */
#ifndef KYSO_PDF_INTERNAL_H
#define KYSO_PDF_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include <openssl/cms.h>
#include <openssl/x509.h>
#include <qpdf/qpdf-c.h>

#include "buf.h"
#include "i18n.h"
#include "kyso_pdf.h"

#define PDF_ERRLEN 512
/* Largest PDF read (memory: the file is held whole) and largest appended revision. */
#define PDF_FILE_MAX (2048L * 1024 * 1024)
#define PDF_REVISION_MAX (64L * 1024 * 1024)
/* Largest CMS kept in /Contents. */
#define PDF_RESERVE_MAX (1024 * 1024)

struct kyso_pdf_options {
	char *text[KYSO_PDF_TSA_CA + 1];  /* by enum kyso_pdf_setting; NULL: the default */
	int visible, page;                /* page: 1-based, negative from the end */
	double x, y, w, h;
	double font_size;
	int have_time;
	time_t when;
	int utc_offset;                   /* minutes east of UTC */
	size_t reserve;
	char err[PDF_ERRLEN];
};

/* The value of a text setting, or its default. */
const char *pdfopt_text(const kyso_pdf_options *o, enum kyso_pdf_setting what);

/* ---- writing PDF syntax: a sticky-error writer over a kbuf ---- */

struct pdfw {
	struct kbuf b;
	int err;      /* the first failure; later writes do nothing */
	size_t base;  /* the file offset of b.data[0] */
};

void pdfw_init(struct pdfw *w, size_t base);
void pdfw_free(struct pdfw *w);
/* The file offset of the next byte written. */
size_t pdfw_offset(const struct pdfw *w);
void pdfw_bytes(struct pdfw *w, const void *p, size_t n);
void pdfw_printf(struct pdfw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A PDF text string: a literal string when s is printable ASCII, else UTF-16BE hex. */
void pdfw_text_string(struct pdfw *w, const char *utf8);
/* A name (s without its '/'), '#'-escaped where PDF needs it. */
void pdfw_name(struct pdfw *w, const char *s);

/* ---- pure helpers (pdf_text.c, unit-tested) ---- */

/*
 * Converts UTF-8 to UTF-16BE with a byte-order mark. Returns KYSO_OK with *out (malloc'd)
 * and *outlen, KYSO_ERR_INVALID_ARG (not UTF-8) or KYSO_ERR_NOMEM.
 */
int pdf_utf16be(const char *utf8, unsigned char **out, size_t *outlen);

/* Formats when as a PDF date "D:YYYYMMDDHHmmSS+07'00'" at the given UTC offset. */
void pdf_date(time_t when, int utc_offset, char *out, size_t outlen);

/*
 * Formats when with strftime format fmt at the given UTC offset; "%z" becomes "+07:00".
 * Returns KYSO_OK or KYSO_ERR_INVALID_ARG (the result is empty or too long).
 */
int pdf_time_text(time_t when, int utc_offset, const char *fmt, char *out, size_t outlen);

/* The fields a text template can show. */
struct pdf_fields {
	const char *name, *org, *unit, *time, *reason, *location, *contact;
};

/*
 * Expands a text template (kyso_pdf.h): lines whose fields are all empty are left out.
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *pdf_template_expand(const char *tmpl, const struct pdf_fields *f);

/*
 * Checks the bytes of a /Contents hex string in the file, data[0..len), '<' to '>':
 * hex digits only. Returns the number of hex digits, or -1.
 */
long pdf_hex_gap(const unsigned char *data, size_t len);

/*
 * Decodes such a hex string ("<...>", hex digits only; an odd last digit is followed by
 * 0). Returns KYSO_OK with *out (malloc'd), KYSO_ERR_INVALID_ARG or KYSO_ERR_NOMEM.
 */
int pdf_hex_decode(const unsigned char *data, size_t len, unsigned char **out,
    size_t *outlen);

/* Returns the EVP digest for "sha256", "sha384", "sha512", else NULL. */
const EVP_MD *pdf_digest_md(const char *name);
/* Returns "sha256", "sha384", "sha512" or "sha1" for md, else NULL. */
const char *pdf_digest_name(const EVP_MD *md);

/* ---- a document ---- */

enum pdf_state { PDF_OPEN, PDF_PREPARED, PDF_COMPLETE, PDF_BROKEN };

struct kyso_pdf {
	char *name;                /* in messages */
	int have_file;             /* read from a file: dev/ino name it */
	dev_t dev;
	ino_t ino;
	unsigned char *data;       /* the original bytes, never changed */
	size_t len;
	qpdf_data q;
	int npages;
	long long startxref;       /* the offset of the last cross-reference section */
	int xref_stream;           /* ... which is a cross-reference stream */
	long long size;            /* the last trailer's /Size */
	enum pdf_state state;
	struct pdfw rev;           /* the appended revision; rev.base == len */
	size_t contents_at;        /* file offset of /Contents' '<' */
	size_t contents_digits;    /* hex digits between '<' and '>' */
	char digest_alg[8];
	unsigned char digest[64];
	size_t digest_len;
	X509 *cert;                /* the signer, from kyso_pdf_prepare */
	char *tsa_url, *tsa_ca;    /* from the options, for kyso_pdf_complete */
	char err[PDF_ERRLEN];
};

/* Sets d's message and returns err. */
int pdf_fail(kyso_pdf *d, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* qpdf's last error or warning as a sentence (or "" when it has none). */
const char *pdf_qpdf_message(qpdf_data q);
/* True if qpdf has an error or unread warnings (which are then consumed into d's message). */
int pdf_qpdf_trouble(kyso_pdf *d, const char *doing);

/*
 * The fully qualified names of the form's fields (malloc'd array of malloc'd strings).
 * Returns KYSO_OK or KYSO_ERR_NOMEM / KYSO_ERR_DOCUMENT.
 */
int pdf_field_names(kyso_pdf *d, char ***names, size_t *n);
void pdf_names_free(char **names, size_t n);

/* ---- emitting objects of a qpdf document into the revision ---- */

/* A key of a dictionary replaced (text is PDF syntax) or removed (text NULL). */
struct pdf_override {
	const char *key;   /* "/Annots" */
	const char *text;
};

/*
 * Writes the dictionary oh of q with the overrides applied (keys not present are added).
 * Indirect values are written as references. Returns KYSO_OK or an error (w->err).
 */
int pdf_emit_dict(struct pdfw *w, qpdf_data q, qpdf_oh oh, const struct pdf_override *ov,
    size_t nov);

/* Writes the array oh of q (0: an empty one) with extra (PDF syntax) appended. */
int pdf_emit_array_append(struct pdfw *w, qpdf_data q, qpdf_oh oh, const char *extra);

/* A map from a foreign document's object numbers to new ones, for copying objects. */
struct pdf_copy {
	qpdf_data src;
	int next;                  /* the next free object number in the target */
	int *from, *to;            /* pairs, n of them */
	size_t n, cap;
	size_t done;               /* pairs already written */
};

/*
 * Writes the direct object oh of c->src with every indirect reference renumbered
 * (queued for pdf_copy_flush). Returns KYSO_OK or an error.
 */
int pdf_copy_value(struct pdfw *w, struct pdf_copy *c, qpdf_oh oh);

/*
 * Writes every queued object (and the objects they refer to) as new objects, recording
 * each (number, offset) with note(arg, num, offset). Returns KYSO_OK or an error.
 */
int pdf_copy_flush(struct pdfw *w, struct pdf_copy *c,
    int (*note)(void *arg, int num, int gen, size_t offset), void *arg);
void pdf_copy_free(struct pdf_copy *c);

/* ---- the appearance (pdf_appearance.c) ---- */

struct pdf_look {
	const kyso_pdf_options *o;
	const struct pdf_fields *fields;
	double w, h;   /* as the page is shown */
	int rotate;    /* the page's /Rotate (0, 90, 180, 270): the form turns against it */
};

/*
 * Renders the appearance with cairo and pango into a one-page PDF in memory, and writes
 * its page as a Form XObject numbered form_num (with its fonts, images and the rest as
 * new objects from c->next on). Returns KYSO_OK, KYSO_ERR_INVALID_ARG (the image cannot
 * be read) or another error with a sentence in err.
 */
int pdf_appearance_write(struct pdfw *w, const struct pdf_look *look, int form_num,
    int *next_num, int (*note)(void *arg, int num, int gen, size_t offset), void *arg,
    char *err, size_t errlen);

/* ---- certificates and CMS (cms_attrs.c) ---- */

/*
 * Copies an entry of the certificate's subject (NID_commonName...) as UTF-8 into out
 * ("" when absent).
 */
void cert_subject_entry(X509 *x, int nid, char *out, size_t outlen);

/*
 * Checks that cms is a detached SignedData with one signer whose certificate it holds,
 * whose message-digest attribute is digest and whose signature over its signed attributes
 * is valid. Returns KYSO_OK with *out parsed (free with CMS_ContentInfo_free), or
 * KYSO_ERR_CRYPTO with a sentence in err.
 */
int cms_check_detached(const unsigned char *cms, size_t len, const unsigned char *digest,
    size_t digest_len, CMS_ContentInfo **out, char *err, size_t errlen);

/* The one SignerInfo of cms, or NULL. */
CMS_SignerInfo *cms_signer_info(CMS_ContentInfo *cms);

/*
 * Adds the time-stamp token (DER ContentInfo) as the unsigned attribute
 * id-aa-signatureTimeStampToken of the CMS's signer. Returns KYSO_OK or KYSO_ERR_CRYPTO.
 */
int cms_add_timestamp(CMS_ContentInfo *cms, const unsigned char *token, size_t len);

/* ---- files (pdf_file.c) ---- */

/*
 * Reads the whole file at path, at most max bytes. Returns KYSO_OK with *data (malloc'd)
 * and *len (and dev/ino if not NULL), or KYSO_ERR_IO / KYSO_ERR_TOO_LARGE /
 * KYSO_ERR_NOMEM with a sentence in err.
 */
int file_read_all(const char *path, size_t max, unsigned char **data, size_t *len,
    dev_t *dev, ino_t *ino, char *err, size_t errlen);

/* A piece of the file to write. */
struct file_part {
	const void *p;
	size_t n;
};

/*
 * Writes the parts to a temporary file in path's directory, syncs it and renames it to
 * path (refusing an existing path unless force, atomically); on any failure nothing is
 * left behind. Returns KYSO_OK, KYSO_ERR_EXISTS or KYSO_ERR_IO with a sentence in err.
 */
int file_write_atomic(const char *path, const struct file_part *parts, size_t n, int force,
    char *err, size_t errlen);

#endif
