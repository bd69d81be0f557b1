/* verify_internal.h — shared by the verification files of libkyso-pdf only. */
#ifndef KYSO_VERIFY_INTERNAL_H
#define KYSO_VERIFY_INTERNAL_H

#include <stddef.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "kyso_pdf.h"

/* The report: {"file", "valid", "signatures": [...], "problems": [...]}. */
struct kyso_verify {
	json_t *root;
	json_t *sigs;      /* the "signatures" array (borrowed from root) */
	json_t *problems;  /* the document's "problems" array (borrowed) */
	char *json;        /* root dumped, made on demand */
	char err[512];
};

/* A new, empty report about file; NULL when out of memory. */
kyso_verify *verify_new(const char *file);

/* Adds a problem (a sentence) to a signature's or the document's "problems". */
void verify_problem(json_t *obj, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets "valid" of every signature and of the document from their problems. */
void verify_settle(kyso_verify *v);

/*
 * The trust anchors: the PEM bundle ca, or the system's certificates when ca is NULL
 * (anchor says which, for the report). Returns NULL with a sentence in err.
 */
X509_STORE *verify_store(const char *ca, char *anchor, size_t anchor_len, char *err,
    size_t errlen);

/* A piece of the signed content. */
struct vrange {
	const unsigned char *p;
	size_t n;
};

/*
 * Verifies the CMS der over the content ranges (nr 0: the content inside the CMS), and
 * records into sig: the signer, the signed attributes, the digest and signature checks,
 * the time stamp, the chain to store. pades: a PAdES signature (the ESS attribute is
 * required, a signing-time attribute is noted). Problems go to sig's "problems".
 */
void verify_cms_into(json_t *sig, const unsigned char *der, size_t len,
    const struct vrange *r, size_t nr, X509_STORE *store, const char *anchor, int pades);

/* Formats t as RFC 3339 in UTC ("2026-12-07T08:00:00Z"). */
void verify_time_utc(time_t t, char *out, size_t outlen);

#endif
