/*
 * pdf_batch.h — signing many PDF files under one consent, whoever makes the CMS.
 *
 * pdf_sign_files prepares every file, has a signer sign all the digests in one batch,
 * then completes and writes each file. kyso_sign_pdfs (pdf_agent.c) plugs in the agent
 * (SignDocuments through libkyso's batch API); tests plug in a signer of their own.
 */
#ifndef KYSO_PDF_BATCH_H
#define KYSO_PDF_BATCH_H

#include <stddef.h>

#include "kyso_pdf.h"

/* The most documents in one batch (SignDocuments' cap). */
#define PDF_BATCH_MAX 1000

/* One document of a batch: what to sign, and what the signer gives back. */
struct pdf_sign_item {
	const char *name;              /* shown to the officer, recorded in the audit log */
	const char *digest_alg;        /* "sha256", ... */
	const unsigned char *digest;
	size_t digest_len;
	unsigned char *cms;            /* out: the detached CMS (malloc'd), or NULL */
	size_t cms_len;
	int err;                       /* out: KYSO_OK, or why this one was not signed */
	char message[256];             /* out: a sentence when err is set */
};

struct pdf_signer {
	/*
	 * Finds the certificate: its DER in *der (malloc'd) and the id to sign with in *id
	 * (malloc'd). Returns KYSO_OK or an error with a sentence in err.
	 */
	int (*certificate)(void *arg, const char *certificate, unsigned char **der,
	    size_t *len, char **id, char *err, size_t errlen);
	/*
	 * Signs every item under one consent, filling in each item's cms or err. Returns
	 * KYSO_OK when the batch ran to its end (items may still have failed), or the error
	 * that stopped it (items signed before it keep their cms) with a sentence in err.
	 */
	int (*sign)(void *arg, const char *id, const char *description,
	    struct pdf_sign_item *items, size_t n, char *err, size_t errlen);
	void *arg;
};

/* Where a batch's time went, in seconds (sign-pdf --timings, the benchmark). */
struct pdf_timings {
	double open;      /* reading the files, qpdf parsing them, the checks */
	double prepare;   /* laying out the revisions, hashing the signed bytes */
	double certificate; /* finding the certificate */
	double sign;      /* the signer: the agent and the token */
	double complete;  /* checking each CMS, time stamps, embedding */
	double write;     /* writing, syncing and renaming the files */
};

/*
 * Signs the files in[0..n) into out[0..n) as kyso_sign_pdfs describes, with signer s.
 * Returns KYSO_OK when every file was written, else the first error, with *message (a
 * malloc'd sentence, if message is not NULL) saying what went wrong. t (may be NULL)
 * gets where the time went.
 */
int pdf_sign_files(const struct pdf_signer *s, const char *certificate,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *t);

/* kyso_sign_pdfs with its timings (t may be NULL); pdf_agent.c. */
int pdf_agent_sign_files(kyso_client *c, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *t);

#endif
