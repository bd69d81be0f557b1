/*
 * pdf_agent.c — kyso_sign_pdfs: the agent as the signer of a PDF batch. The certificate
 * comes from ListCertificates; the digests go to SignDocuments (profile "pades") in one
 * call through libkyso's kyso_batch API, so the officer consents once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "pdf_batch.h"
#include "pdf_internal.h"

struct agent {
	kyso_client *c;
	const char *pin;
};

/* Does want name cert c: its id, a unique prefix of 8+ digits, its label or key URI? */
static int
cert_matches(const kyso_cert *c, const char *want, int *exact)
{
	size_t n = strlen(want);

	*exact = strcmp(kyso_cert_id(c), want) == 0 || strcmp(kyso_cert_key_uri(c), want) == 0;
	return *exact || (n >= 8 && strncmp(kyso_cert_id(c), want, n) == 0) ||
	    strcmp(kyso_cert_label(c), want) == 0;
}

static int
agent_certificate(void *arg, const char *certificate, unsigned char **der, size_t *len,
    char **id, char *err, size_t errlen)
{
	struct agent *a = arg;
	kyso_cert **certs = NULL;
	const kyso_cert *found = NULL;
	const unsigned char *fder;
	size_t n = 0, matches = 0, flen = 0;
	int e, exact;

	if ((e = kyso_list_certificates(a->c, NULL, &certs, &n)) != KYSO_OK) {
		snprintf(err, errlen, "%s", kyso_error_message(a->c));
		return e;
	}
	for (size_t i = 0; i < n; i++)
		if (cert_matches(certs[i], certificate, &exact)) {
			if (exact) {
				found = certs[i];
				matches = 1;
				break;
			}
			found = certs[i];
			matches++;
		}
	if (matches != 1) {
		snprintf(err, errlen, matches == 0 ? _("no certificate '%s' on the tokens the agent "
		    "sees ('kyso certs' lists them)") : _("'%s' names several certificates; give "
		    "more digits of the id"), certificate);
		kyso_certs_free(certs);
		return matches == 0 ? KYSO_ERR_NO_SUCH_CERT : KYSO_ERR_INVALID_ARG;
	}
	fder = kyso_cert_der(found, &flen);
	*der = malloc(flen > 0 ? flen : 1);
	*id = strdup(kyso_cert_id(found));
	e = KYSO_OK;
	if (*der == NULL || *id == NULL) {
		snprintf(err, errlen, _("out of memory"));
		e = KYSO_ERR_NOMEM;
	} else {
		memcpy(*der, fder, flen);
		*len = flen;
	}
	kyso_certs_free(certs);
	return e;
}

static int
agent_sign(void *arg, const char *id, const char *description, struct pdf_sign_item *items,
    size_t n, char *err, size_t errlen)
{
	struct agent *a = arg;
	kyso_batch *b = NULL;
	const unsigned char *cms;
	size_t len;
	int e, r;

	if ((r = kyso_batch_new(id, &b)) != KYSO_OK ||
	    (r = kyso_batch_set_profile(b, "pades")) != KYSO_OK ||
	    (description != NULL && (r = kyso_batch_set_description(b, description)) != KYSO_OK) ||
	    (a->pin != NULL && (r = kyso_batch_set_pin(b, a->pin)) != KYSO_OK)) {
		snprintf(err, errlen, _("the batch cannot be made: %s"), kyso_strerror(r));
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if ((r = kyso_batch_add(b, items[i].name, items[i].digest_alg, items[i].digest,
		    items[i].digest_len, NULL, NULL)) != KYSO_OK) {
			snprintf(err, errlen, _("%s cannot be added to the batch: %s"), items[i].name,
			    kyso_strerror(r));
			goto out;
		}
	r = kyso_sign_batch(a->c, b, NULL, NULL);
	if (r != KYSO_OK)
		snprintf(err, errlen, "%s", kyso_error_message(a->c));
	for (size_t i = 0; i < n; i++) {
		if ((e = kyso_batch_result(b, i, &cms, &len)) != KYSO_OK) {
			items[i].err = e;
			snprintf(items[i].message, sizeof(items[i].message), "%s",
			    kyso_batch_message(b, i));
			continue;
		}
		if ((items[i].cms = malloc(len)) == NULL) {
			items[i].err = KYSO_ERR_NOMEM;
			continue;
		}
		memcpy(items[i].cms, cms, len);
		items[i].cms_len = len;
	}
out:
	kyso_batch_free(b);
	return r;
}

int
pdf_agent_sign_files(kyso_client *c, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *t)
{
	struct agent a = { c, pin };
	struct pdf_signer s = { agent_certificate, agent_sign, &a };

	return pdf_sign_files(&s, certificate, o, n, in, out, force, description, fn, arg,
	    message, t);
}

int
kyso_sign_pdfs(kyso_client *c, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message)
{
	return pdf_agent_sign_files(c, certificate, pin, o, n, in, out, force, description,
	    fn, arg, message, NULL);
}
