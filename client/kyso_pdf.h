/*
 * kyso_pdf.h — libkyso-pdf: signed documents on top of libkyso.
 *
 * PAdES signatures on PDF files (an incremental update appended to the original bytes),
 * RFC 3161 time stamps added to CMS signatures, and verification of PDF and CMS (.p7s)
 * signatures. It is a library of its own, beside libkyso, because it needs qpdf, cairo,
 * pango and libcurl, which libkyso's users (and the static PKCS#11 module built on it)
 * must not carry: link with `pkg-config --cflags --libs kyso-pdf`.
 *
 * Signing a PDF has three steps, so that many documents are signed under one consent:
 *   1. kyso_pdf_open + kyso_pdf_prepare: the new revision is laid out with room for the
 *      signature, and the digest of the bytes the signature covers (/ByteRange) is known;
 *   2. the digests are signed in one batch: kyso_sign_batch (profile "pades") in libkyso
 *      returns a detached CMS per document — or kyso_sign_pdfs does steps 1 to 3 for you;
 *   3. kyso_pdf_complete embeds each CMS (with a time stamp when the options name a
 *      time-stamp authority) and kyso_pdf_write writes the signed file.
 *
 * Every function that can fail returns KYSO_OK (0) or a negative kyso_err; the object it
 * worked on then holds a sentence saying what went wrong (kyso_pdf_error,
 * kyso_pdf_options_error, kyso_tsa_error, kyso_verify_error). Objects are not
 * thread-safe; different objects may be used from different threads.
 */
#ifndef KYSO_PDF_H
#define KYSO_PDF_H

#include <stddef.h>
#include <time.h>

#include "kyso.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- options: what the signature says and how it looks ---- */

typedef struct kyso_pdf_options kyso_pdf_options;

/* The text settings (kyso_pdf_options_set). */
enum kyso_pdf_setting {
	KYSO_PDF_REASON = 1,   /* /Reason, and the appearance's reason */
	KYSO_PDF_LOCATION,     /* /Location */
	KYSO_PDF_CONTACT,      /* /ContactInfo */
	KYSO_PDF_NAME,         /* /Name and the appearance's name (default: the certificate's CN) */
	KYSO_PDF_FIELD,        /* the signature field's name (default: Signature1, 2, ...);
	                        * an empty signature field of that name is signed into, at
	                        * its place (kyso_pdf_options_set_visible is then refused) */
	KYSO_PDF_IMAGE,        /* a PNG file shown in the appearance (a seal, a handwritten
	                        * signature; transparency kept) */
	KYSO_PDF_TEXT,         /* the appearance's text template (see below); "" for none */
	KYSO_PDF_FONT,         /* a fontconfig family with Vietnamese glyphs (default
	                        * "DejaVu Sans") */
	KYSO_PDF_COLOR,        /* the text colour, RRGGBB hex (default 000000) */
	KYSO_PDF_TIME_FORMAT,  /* strftime format of the shown time; %z gives +07:00
	                        * (default "%Y-%m-%dT%H:%M:%S%z", ISO 8601) */
	KYSO_PDF_DIGEST,       /* sha256 (default; sha512 for an Ed25519 key), sha384, sha512 */
	KYSO_PDF_TSA_URL,      /* an RFC 3161 time-stamp authority: PAdES B-T */
	KYSO_PDF_TSA_CA,       /* a PEM bundle the time-stamp authority must chain to */
};

/*
 * The text template: lines separated by '\n', with %n the signer's name, %o the
 * organisation (the certificate's O), %u the unit (OU), %t the signing time, %r the
 * reason, %l the location, %c the contact, %% a '%'. A line whose fields are all empty
 * is left out. The default is Vietnamese:
 *   "Ký số bởi: %n\n%o\nThời gian ký: %t\nLý do: %r\nNơi ký: %l"
 */
#define KYSO_PDF_DEFAULT_TEXT \
	"K\xc3\xbd s\xe1\xbb\x91 b\xe1\xbb\x9fi: %n\n%o\nTh\xe1\xbb\x9di gian k\xc3\xbd: %t\n" \
	"L\xc3\xbd do: %r\nN\xc6\xa1i k\xc3\xbd: %l"

/* Returns KYSO_OK with new default options in *out (an invisible signature), or NOMEM. */
int kyso_pdf_options_new(kyso_pdf_options **out);

/* Frees o; NULL is allowed. */
void kyso_pdf_options_free(kyso_pdf_options *o);

/*
 * Sets a text setting (UTF-8; NULL restores the default). Returns KYSO_OK, or
 * KYSO_ERR_INVALID_ARG when the value is unusable (not UTF-8, a field name with '.', an
 * unknown digest, a colour that is not RRGGBB, an unreadable image...) with the reason
 * in kyso_pdf_options_error; the setting is then unchanged.
 */
int kyso_pdf_options_set(kyso_pdf_options *o, enum kyso_pdf_setting what, const char *value);

/*
 * Makes the signature visible on page (1 is the first page, -1 the last) in the
 * rectangle whose lower-left corner is x, y points from the lower-left corner of the
 * page's visible area (CropBox), w by h points. Returns KYSO_OK or KYSO_ERR_INVALID_ARG
 * (page 0, a rectangle of no area or over 14400 points). The page's range is checked by
 * kyso_pdf_prepare.
 */
int kyso_pdf_options_set_visible(kyso_pdf_options *o, int page, double x, double y,
    double w, double h);

/* The font size in points (0, the default: the largest that fits, at most 10). */
int kyso_pdf_options_set_font_size(kyso_pdf_options *o, double points);

/*
 * The signing time written to /M and shown (default, or when is (time_t)-1: the time
 * kyso_pdf_prepare runs) and the UTC offset it is shown in, in minutes (default 420:
 * Vietnam, UTC+07:00). Returns
 * KYSO_OK or KYSO_ERR_INVALID_ARG (an offset beyond ±14 hours).
 */
int kyso_pdf_options_set_time(kyso_pdf_options *o, time_t when, int utc_offset_minutes);

/*
 * The room kept for the CMS in /Contents, in bytes (0, the default: enough for the
 * certificate, a chain of three more like it and, with a time-stamp authority, its
 * token). Returns KYSO_OK or KYSO_ERR_INVALID_ARG (over 1 MiB).
 */
int kyso_pdf_options_set_reserve(kyso_pdf_options *o, size_t bytes);

/* Returns a sentence about the last failure on o ("" if none). */
const char *kyso_pdf_options_error(const kyso_pdf_options *o);

/* ---- one PDF document ---- */

typedef struct kyso_pdf kyso_pdf;

/*
 * Reads the PDF file at path (the file is never changed) and checks that a signature can
 * be added: a PDF that qpdf reads without repairing it, not encrypted, not certified
 * with "no changes allowed" (DocMDP P=1). Returns KYSO_OK with *out; KYSO_ERR_IO (cannot
 * read), KYSO_ERR_DOCUMENT (not a PDF, damaged or truncated, encrypted, DocMDP P=1) or
 * KYSO_ERR_NOMEM. Except after NOMEM, *out is set even on failure, so that
 * kyso_pdf_error says why; free it with kyso_pdf_free.
 */
int kyso_pdf_open(const char *path, kyso_pdf **out);

/* The same for a PDF in memory (copied); name is used in messages. */
int kyso_pdf_open_memory(const unsigned char *data, size_t len, const char *name,
    kyso_pdf **out);

/* Returns the number of pages of an open document. */
int kyso_pdf_page_count(const kyso_pdf *d);

/*
 * Lays out the new revision for a signature by the certificate cert (DER: the signer's,
 * whose names the appearance shows and whose size sizes /Contents). Returns KYSO_OK, then
 * kyso_pdf_digest gives what to sign; KYSO_ERR_INVALID_ARG (a field name that exists, a
 * page out of range, a certificate OpenSSL cannot read), KYSO_ERR_DOCUMENT (the page or
 * form cannot be updated), KYSO_ERR_CRYPTO or KYSO_ERR_NOMEM. A document is prepared once.
 */
int kyso_pdf_prepare(kyso_pdf *d, const kyso_pdf_options *o, const unsigned char *cert,
    size_t cert_len);

/*
 * Gives the digest of the bytes the signature will cover and its algorithm ("sha256",
 * ...), valid while d lives. Returns KYSO_OK, or KYSO_ERR_INVALID_ARG if d is not
 * prepared.
 */
int kyso_pdf_digest(const kyso_pdf *d, const char **algorithm, const unsigned char **digest,
    size_t *len);

/*
 * Embeds cms, a detached CMS SignedData (DER) over the prepared digest — after adding a
 * time stamp from the options' time-stamp authority to it, if they name one. The CMS is
 * checked first: one signer, its message-digest the prepared digest, its signature valid
 * for the certificate it carries. Returns KYSO_OK; KYSO_ERR_CRYPTO (the CMS is not such a
 * signature), KYSO_ERR_TSA (the time-stamp authority failed: nothing embedded),
 * KYSO_ERR_TOO_LARGE (the CMS does not fit the room kept: see
 * kyso_pdf_options_set_reserve) or KYSO_ERR_INVALID_ARG (d not prepared, or done).
 */
int kyso_pdf_complete(kyso_pdf *d, const unsigned char *cms, size_t cms_len);

/*
 * Writes the signed document to path, through a temporary file in the same directory that
 * is renamed over path once complete and synced: nothing half-written remains after any
 * failure. An existing path is refused (KYSO_ERR_EXISTS) unless force; path may not be
 * the input file. Returns KYSO_OK, KYSO_ERR_EXISTS, KYSO_ERR_IO (with errno's sentence:
 * a full disk...) or KYSO_ERR_INVALID_ARG (not completed).
 */
int kyso_pdf_write(kyso_pdf *d, const char *path, int force);

/*
 * Gives the signed document in memory (the original bytes, then the new revision):
 * *out malloc'd (free with kyso_free). Returns KYSO_OK, KYSO_ERR_NOMEM or
 * KYSO_ERR_INVALID_ARG (not completed).
 */
int kyso_pdf_output(const kyso_pdf *d, unsigned char **out, size_t *len);

/* Returns a sentence about the last failure on d ("" if none). */
const char *kyso_pdf_error(const kyso_pdf *d);

/* Frees d; NULL is allowed. */
void kyso_pdf_free(kyso_pdf *d);

/* ---- signing PDF files through the agent ---- */

/*
 * Called after each document of kyso_sign_pdfs: index (0-based) of total, and that
 * document's result (KYSO_OK, or its kyso_err with the sentence in message). Returning
 * non-zero stops the batch between documents.
 */
typedef int (*kyso_pdf_progress)(void *arg, size_t index, size_t total, int err,
    const char *message);

/*
 * Signs n PDF files (at most 1000: the agent's batch) with the certificate (id, unique
 * prefix of 8+ digits, label or key URI) under one consent, with pin if the program has
 * the token's PIN (NULL: the agent asks the officer in its dialog): every input is opened and prepared first (any
 * failure there stops everything before the agent is asked, and nothing is written),
 * then the digests are signed in one SignDocuments batch (profile "pades"), then each
 * signed document is completed and written to out[i] (refused if it exists, unless
 * force). description is shown to the officer (NULL: the agent lists the file names).
 * fn (may be NULL) is called for each document once it is written or has failed (not
 * when nothing was signed at all). Returns KYSO_OK when every document was written;
 * otherwise the first error — the
 * agent's (KYSO_ERR_CANCELLED, PIN errors...: documents signed before a cancel are
 * still written), a document's, or the time-stamp authority's — with, if message is
 * not NULL, a sentence in *message (free with kyso_free).
 */
int kyso_sign_pdfs(kyso_client *c, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out, int force,
    const char *description, kyso_pdf_progress fn, void *arg, char **message);

/* ---- RFC 3161 time stamps ---- */

typedef struct kyso_tsa kyso_tsa;

/*
 * A client of the time-stamp authority at url (http or https). Returns KYSO_OK with *out,
 * KYSO_ERR_INVALID_ARG (not an http(s) URL) or KYSO_ERR_NOMEM.
 */
int kyso_tsa_new(const char *url, kyso_tsa **out);

/*
 * Also checks the tokens' signer against the CA certificates in the PEM file ca (without
 * it, a token's signature is checked with the certificate it carries). Returns KYSO_OK or
 * KYSO_ERR_INVALID_ARG (unreadable bundle).
 */
int kyso_tsa_set_ca(kyso_tsa *t, const char *ca);

/* Limits each request to seconds (default 30). Returns KYSO_OK or KYSO_ERR_INVALID_ARG. */
int kyso_tsa_set_timeout(kyso_tsa *t, int seconds);

/*
 * Asks for a time-stamp token over imprint, a digest made with algorithm ("sha256"...),
 * with a fresh nonce and the TSA's certificate; checks the answer (status granted, the
 * imprint and nonce sent, the token's signature). Returns KYSO_OK with the token (DER
 * ContentInfo) in *token (free with kyso_free), KYSO_ERR_TSA (unreachable, HTTP error, not
 * a time-stamp response, refused, or a token that does not match or verify) or
 * KYSO_ERR_NOMEM.
 */
int kyso_tsa_stamp(kyso_tsa *t, const char *algorithm, const unsigned char *imprint,
    size_t len, unsigned char **token, size_t *token_len);

/*
 * Time-stamps the signature of a CMS SignedData (DER, one signer): a token over the
 * signature value, added as the unsigned attribute id-aa-signatureTimeStampToken (CAdES
 * and PAdES B-T); the signature stays valid. Returns KYSO_OK with the new CMS in *out
 * (free with kyso_free), KYSO_ERR_CRYPTO (not such a CMS), KYSO_ERR_TSA or KYSO_ERR_NOMEM.
 */
int kyso_tsa_stamp_cms(kyso_tsa *t, const unsigned char *cms, size_t cms_len,
    unsigned char **out, size_t *out_len);

/* Returns a sentence about the last failure on t ("" if none). */
const char *kyso_tsa_error(const kyso_tsa *t);

/* Frees t; NULL is allowed. */
void kyso_tsa_free(kyso_tsa *t);

/* ---- verification ---- */

typedef struct kyso_verify kyso_verify;

/*
 * Verifies every signature of the PDF at path: the bytes each covers (whole document, or
 * which revision, and what came after), its digest and signature, its signed attributes
 * (message-digest, signing-certificate-v2), its time stamp, and its certificate's chain
 * to the CA certificates in the PEM file ca (NULL: the system's, /etc/ssl/certs).
 * Returns KYSO_OK when the checks ran — then kyso_verify_valid says whether all passed —
 * or KYSO_ERR_IO (cannot read), KYSO_ERR_DOCUMENT (not a PDF qpdf can read),
 * KYSO_ERR_INVALID_ARG (unreadable CA bundle) or KYSO_ERR_NOMEM. *out is set unless NOMEM.
 */
int kyso_verify_pdf(const char *path, const char *ca, kyso_verify **out);

/*
 * Verifies a CMS signature (.p7s, DER or PEM) over the file content (NULL when the
 * content is inside the CMS). Returns as kyso_verify_pdf.
 */
int kyso_verify_cms(const char *p7s, const char *content, const char *ca, kyso_verify **out);

/* Returns 1 when there is at least one signature and every check passed, else 0. */
int kyso_verify_valid(const kyso_verify *v);

/* Returns the number of signatures found. */
size_t kyso_verify_count(const kyso_verify *v);

/*
 * What was found about signature i (0 is the first, the oldest), as a string owned by v,
 * or NULL if i or what is out of range / unknown: "signer" (the subject), "name" (its CN),
 * "organization", "claimed_time" (/M or signing-time, RFC 3339), "timestamp_time" (NULL
 * without a time stamp), "coverage" (a sentence), "problem" (why it is not valid; NULL
 * when valid), "field" (PDF field name).
 */
const char *kyso_verify_get(const kyso_verify *v, size_t i, const char *what);

/*
 * Returns the whole report as JSON text owned by v: {"valid": bool, "signatures": [...],
 * "problems": [...]} (docs/kyso.1 lists the members).
 */
const char *kyso_verify_json(const kyso_verify *v);

/* Returns a sentence about the last failure, or the document's first problem ("" if none). */
const char *kyso_verify_error(const kyso_verify *v);

/* Frees v; NULL is allowed. */
void kyso_verify_free(kyso_verify *v);

#ifdef __cplusplus
}
#endif
#endif
