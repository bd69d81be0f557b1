/*
 * tsa.c — the RFC 3161 time-stamp client: a request (the imprint, a fresh 64-bit nonce,
 * the TSA's certificate asked for) POSTed with libcurl, and the response checked with
 * OpenSSL's TS API (status granted, version, imprint and nonce as sent, the token's
 * signature — against the CA bundle given, else the certificate the token carries, which
 * must be for time stamping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "kyso_err.h"
#include "pdf_internal.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

#define TSA_REPLY_MAX (1024 * 1024)

struct kyso_tsa {
	char *url;
	X509_STORE *store;  /* the CA bundle, or NULL */
	long timeout;
	char err[PDF_ERRLEN];
};

static int
tsa_fail(kyso_tsa *t, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
tsa_fail(kyso_tsa *t, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err, sizeof(t->err), fmt, ap);
	va_end(ap);
	return err;
}

/* OpenSSL's last error as a short phrase (and the queue emptied). */
static const char *
ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0)
		snprintf(buf, len, _("no detail"));
	else
		snprintf(buf, len, "%s", ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : _("unknown reason"));
	ERR_clear_error();
	return buf;
}

int
kyso_tsa_new(const char *url, kyso_tsa **out)
{
	kyso_tsa *t;

	*out = NULL;
	if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return KYSO_ERR_INVALID_ARG;
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->url = strdup(url)) == NULL) {
		free(t);
		return KYSO_ERR_NOMEM;
	}
	t->timeout = 30;
	*out = t;
	return KYSO_OK;
}

int
kyso_tsa_set_ca(kyso_tsa *t, const char *ca)
{
	X509_STORE *s = X509_STORE_new();
	char why[128];

	if (s == NULL)
		return tsa_fail(t, KYSO_ERR_NOMEM, _("out of memory"));
	if (X509_STORE_load_file(s, ca) != 1) {
		X509_STORE_free(s);
		return tsa_fail(t, KYSO_ERR_INVALID_ARG, _("cannot read the CA bundle %s: %s"),
		    ca, ssl_reason(why, sizeof(why)));
	}
	X509_STORE_free(t->store);
	t->store = s;
	return KYSO_OK;
}

int
kyso_tsa_set_timeout(kyso_tsa *t, int seconds)
{
	if (seconds <= 0 || seconds > 3600)
		return tsa_fail(t, KYSO_ERR_INVALID_ARG, _("a timeout is 1 to 3600 seconds"));
	t->timeout = seconds;
	return KYSO_OK;
}

const char *
kyso_tsa_error(const kyso_tsa *t)
{
	return t != NULL ? t->err : _("out of memory");
}

void
kyso_tsa_free(kyso_tsa *t)
{
	if (t == NULL)
		return;
	X509_STORE_free(t->store);
	free(t->url);
	free(t);
}

/* Copies n bytes of OpenSSL's DER into *out (malloc'd, for kyso_free). */
static int
der_copy(const unsigned char *der, int n, unsigned char **out, size_t *out_len)
{
	if (n <= 0 || (*out = malloc((size_t)n)) == NULL)
		return KYSO_ERR_NOMEM;
	memcpy(*out, der, (size_t)n);
	*out_len = (size_t)n;
	return KYSO_OK;
}

/* The request: imprint, nonce, certReq. NULL when out of memory. */
static TS_REQ *
make_request(const EVP_MD *md, const unsigned char *imprint, size_t len)
{
	TS_REQ *req = TS_REQ_new();
	TS_MSG_IMPRINT *mi = TS_MSG_IMPRINT_new();
	X509_ALGOR *alg = X509_ALGOR_new();
	ASN1_INTEGER *nonce = NULL;
	BIGNUM *bn = BN_new();
	int ok;

	ok = req != NULL && mi != NULL && alg != NULL && bn != NULL &&
	    TS_REQ_set_version(req, 1) &&
	    X509_ALGOR_set0(alg, OBJ_nid2obj(EVP_MD_get_type(md)), V_ASN1_NULL, NULL) &&
	    TS_MSG_IMPRINT_set_algo(mi, alg) &&
	    TS_MSG_IMPRINT_set_msg(mi, (unsigned char *)imprint, (int)len) &&
	    TS_REQ_set_msg_imprint(req, mi) &&
	    BN_rand(bn, 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    (nonce = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    TS_REQ_set_nonce(req, nonce) &&
	    TS_REQ_set_cert_req(req, 1);
	ASN1_INTEGER_free(nonce);
	BN_free(bn);
	X509_ALGOR_free(alg);
	TS_MSG_IMPRINT_free(mi);
	if (!ok) {
		TS_REQ_free(req);
		return NULL;
	}
	return req;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct kbuf *b = arg;

	if (kbuf_append(b, p, size * n) != KYSO_OK)
		return 0;  /* over the cap: curl stops with a write error */
	return size * n;
}

/* POSTs the request; the reply's body in body. */
static int
post(kyso_tsa *t, const unsigned char *der, size_t len, struct kbuf *body)
{
	CURL *curl = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	long code = 0;
	CURLcode c;
	int r = KYSO_OK;

	if (curl == NULL)
		return tsa_fail(t, KYSO_ERR_NOMEM, _("libcurl cannot start"));
	hdrs = curl_slist_append(hdrs, "Content-Type: application/timestamp-query");
	hdrs = curl_slist_append(hdrs, "Accept: application/timestamp-reply");
	curl_easy_setopt(curl, CURLOPT_URL, t->url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, der);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "kyso/" KYSO_VERSION);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, t->timeout);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, t->timeout < 10 ? t->timeout : 10L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	if ((c = curl_easy_perform(curl)) == CURLE_WRITE_ERROR) {
		r = tsa_fail(t, KYSO_ERR_TSA, _("the time-stamp authority at %s answered more "
		    "than %d bytes"), t->url, TSA_REPLY_MAX);
		goto out;
	}
	if (c != CURLE_OK) {
		r = tsa_fail(t, KYSO_ERR_TSA, _("cannot reach the time-stamp authority at %s: %s"),
		    t->url, errbuf[0] != '\0' ? errbuf : curl_easy_strerror(c));
		goto out;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200)
		r = tsa_fail(t, KYSO_ERR_TSA, _("the time-stamp authority at %s answered HTTP "
		    "%ld"), t->url, code);
out:
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	return r;
}

/* The token's signature, checked with the certificate it carries (no CA bundle). */
static int
check_token_signature(kyso_tsa *t, PKCS7 *token)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	CMS_ContentInfo *cms = NULL;
	STACK_OF(X509) *signers = NULL;
	char why[128];
	int len = i2d_PKCS7(token, &der), r = KYSO_ERR_TSA;

	p = der;
	if (len <= 0 || (cms = d2i_CMS_ContentInfo(NULL, &p, len)) == NULL) {
		tsa_fail(t, r, _("the time-stamp token cannot be read as CMS"));
		goto out;
	}
	if (CMS_verify(cms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY) != 1) {
		tsa_fail(t, r, _("the time-stamp token's signature is not valid: %s"),
		    ssl_reason(why, sizeof(why)));
		goto out;
	}
	signers = CMS_get0_signers(cms);
	if (signers == NULL || sk_X509_num(signers) != 1 ||
	    X509_check_purpose(sk_X509_value(signers, 0), X509_PURPOSE_TIMESTAMP_SIGN, 0) != 1) {
		tsa_fail(t, r, _("the time-stamp token is not signed by a certificate for time "
		    "stamping"));
		goto out;
	}
	r = KYSO_OK;
out:
	sk_X509_free(signers);
	CMS_ContentInfo_free(cms);
	OPENSSL_free(der);
	ERR_clear_error();
	return r;
}

/* Checks the response against the request; KYSO_OK or KYSO_ERR_TSA. */
static int
check_response(kyso_tsa *t, TS_REQ *req, TS_RESP *resp)
{
	TS_STATUS_INFO *si = TS_RESP_get_status_info(resp);
	long status = ASN1_INTEGER_get(TS_STATUS_INFO_get0_status(si));
	TS_VERIFY_CTX *ctx = NULL;
	char why[128];
	int r = KYSO_ERR_TSA;

	if (status != 0 && status != 1) {
		const STACK_OF(ASN1_UTF8STRING) *text = TS_STATUS_INFO_get0_text(si);
		ASN1_UTF8STRING *s = text != NULL && sk_ASN1_UTF8STRING_num(text) > 0 ?
		    sk_ASN1_UTF8STRING_value(text, 0) : NULL;

		if (s == NULL)
			return tsa_fail(t, r, _("the time-stamp authority refused (status %ld)"),
			    status);
		/* TRANSLATORS: the status number, then the authority's own text */
		return tsa_fail(t, r, _("the time-stamp authority refused (status %ld: %.*s)"),
		    status, ASN1_STRING_length(s), (const char *)ASN1_STRING_get0_data(s));
	}
	if (TS_RESP_get_token(resp) == NULL)
		return tsa_fail(t, r, _("the time-stamp authority's answer has no token"));
	if ((ctx = TS_REQ_to_TS_VERIFY_CTX(req, NULL)) == NULL)
		return tsa_fail(t, KYSO_ERR_NOMEM, _("out of memory"));
	/* the version, the imprint and the nonce sent; the signature and the TSA's chain
	 * when there is a CA bundle (else check_token_signature, without a chain) */
	TS_VERIFY_CTX_set_flags(ctx, TS_VFY_VERSION | TS_VFY_IMPRINT | TS_VFY_NONCE);
	if (t->store != NULL) {
		/* the context frees the store it is given */
		X509_STORE_up_ref(t->store);
		TS_VERIFY_CTX_set_store(ctx, t->store);
		TS_VERIFY_CTX_add_flags(ctx, TS_VFY_SIGNATURE);
	}
	if (TS_RESP_verify_response(ctx, resp) != 1) {
		tsa_fail(t, r, _("the time-stamp authority's token does not match the request "
		    "or does not verify: %s"), ssl_reason(why, sizeof(why)));
		goto out;
	}
	r = t->store != NULL ? KYSO_OK : check_token_signature(t, TS_RESP_get_token(resp));
out:
	TS_VERIFY_CTX_free(ctx);
	return r;
}

int
kyso_tsa_stamp(kyso_tsa *t, const char *algorithm, const unsigned char *imprint,
    size_t len, unsigned char **token, size_t *token_len)
{
	const EVP_MD *md = pdf_digest_md(algorithm);
	TS_REQ *req = NULL;
	TS_RESP *resp = NULL;
	unsigned char *der = NULL, *tok = NULL;
	const unsigned char *p;
	struct kbuf body;
	int n, r;

	*token = NULL;
	*token_len = 0;
	t->err[0] = '\0';
	kbuf_init(&body, TSA_REPLY_MAX);
	if (md == NULL || (size_t)EVP_MD_get_size(md) != len)
		return tsa_fail(t, KYSO_ERR_INVALID_ARG, _("a %zu-byte imprint made with '%s' "
		    "cannot be time-stamped"), len, algorithm != NULL ? algorithm : "?");
	if ((req = make_request(md, imprint, len)) == NULL ||
	    (n = i2d_TS_REQ(req, &der)) <= 0) {
		r = tsa_fail(t, KYSO_ERR_NOMEM, _("out of memory"));
		goto out;
	}
	if ((r = post(t, der, (size_t)n, &body)) != KYSO_OK)
		goto out;
	p = body.data;
	if (body.len == 0 || (resp = d2i_TS_RESP(NULL, &p, (long)body.len)) == NULL) {
		r = tsa_fail(t, KYSO_ERR_TSA, _("the time-stamp authority at %s did not answer "
		    "with a time-stamp response (%zu bytes that are not one)"), t->url, body.len);
		ERR_clear_error();
		goto out;
	}
	if ((r = check_response(t, req, resp)) != KYSO_OK)
		goto out;
	n = i2d_PKCS7(TS_RESP_get_token(resp), &tok);
	if ((r = der_copy(tok, n, token, token_len)) != KYSO_OK)
		tsa_fail(t, r, _("out of memory"));
out:
	OPENSSL_free(tok);
	OPENSSL_free(der);
	TS_RESP_free(resp);
	TS_REQ_free(req);
	kbuf_free(&body);
	return r;
}

int
kyso_tsa_stamp_cms(kyso_tsa *t, const unsigned char *cms, size_t cms_len,
    unsigned char **out, size_t *out_len)
{
	const unsigned char *p = cms;
	CMS_ContentInfo *ci = NULL;
	CMS_SignerInfo *si;
	X509_ALGOR *digalg = NULL;
	ASN1_OCTET_STRING *sig;
	const ASN1_OBJECT *obj;
	unsigned char md[EVP_MAX_MD_SIZE], *token = NULL, *der = NULL;
	unsigned int mdlen = 0;
	size_t token_len = 0;
	const EVP_MD *alg;
	int n, r;

	*out = NULL;
	*out_len = 0;
	t->err[0] = '\0';
	if (cms_len > 16 * 1024 * 1024 ||
	    (ci = d2i_CMS_ContentInfo(NULL, &p, (long)cms_len)) == NULL ||
	    (si = cms_signer_info(ci)) == NULL ||
	    (sig = CMS_SignerInfo_get0_signature(si)) == NULL) {
		r = tsa_fail(t, KYSO_ERR_CRYPTO, _("the signature to time-stamp is not a CMS "
		    "SignedData with one signer"));
		goto out;
	}
	/* the imprint: the signature value, hashed as the signer hashed the document */
	CMS_SignerInfo_get0_algs(si, NULL, NULL, &digalg, NULL);
	X509_ALGOR_get0(&obj, NULL, NULL, digalg);
	alg = pdf_digest_md(pdf_digest_name(EVP_get_digestbyobj(obj)));
	if (alg == NULL)
		alg = EVP_sha256();
	if (!EVP_Digest(ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig), md, &mdlen,
	    alg, NULL)) {
		r = tsa_fail(t, KYSO_ERR_CRYPTO, _("hashing the signature failed"));
		goto out;
	}
	if ((r = kyso_tsa_stamp(t, pdf_digest_name(alg), md, mdlen, &token, &token_len)) !=
	    KYSO_OK)
		goto out;
	if ((r = cms_add_timestamp(ci, token, token_len)) != KYSO_OK ||
	    (n = i2d_CMS_ContentInfo(ci, &der)) <= 0) {
		r = tsa_fail(t, KYSO_ERR_CRYPTO, _("the time stamp cannot be added to the CMS"));
		goto out;
	}
	if ((r = der_copy(der, n, out, out_len)) != KYSO_OK)
		tsa_fail(t, r, _("out of memory"));
out:
	OPENSSL_free(der);
	free(token);
	CMS_ContentInfo_free(ci);
	ERR_clear_error();
	return r;
}
