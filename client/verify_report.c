/*
 * verify_report.c — the verification report: JSON (jansson) from which the accessors
 * read, the trust anchors, and kyso_verify_cms for .p7s files.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"
#include "verify_internal.h"

kyso_verify *
verify_new(const char *file)
{
	kyso_verify *v = calloc(1, sizeof(*v));

	if (v == NULL)
		return NULL;
	v->sigs = json_array();
	v->problems = json_array();
	v->root = json_pack("{s:s, s:b, s:o, s:o}", "file", file, "valid", 0, "signatures",
	    v->sigs, "problems", v->problems);
	if (v->root == NULL) {
		free(v);
		return NULL;
	}
	return v;
}

void
verify_problem(json_t *obj, const char *fmt, ...)
{
	json_t *list = json_object_get(obj, "problems");
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (list == NULL) {
		list = json_array();
		json_object_set_new(obj, "problems", list);
	}
	json_array_append_new(list, json_string(buf));
}

void
verify_settle(kyso_verify *v)
{
	size_t i;
	json_t *sig;
	int all = json_array_size(v->sigs) > 0 && json_array_size(v->problems) == 0;

	json_array_foreach(v->sigs, i, sig) {
		json_t *p = json_object_get(sig, "problems");
		int ok = p == NULL || json_array_size(p) == 0;

		json_object_set_new(sig, "valid", json_boolean(ok));
		json_object_set_new(sig, "problem", ok ? json_null() :
		    json_incref(json_array_get(p, 0)));
		all = all && ok;
	}
	if (json_array_size(v->sigs) == 0 && json_array_size(v->problems) == 0)
		verify_problem(v->root, _("no signature found"));
	json_object_set_new(v->root, "valid", json_boolean(all));
}

X509_STORE *
verify_store(const char *ca, char *anchor, size_t anchor_len, char *err, size_t errlen)
{
	X509_STORE *s = X509_STORE_new();
	unsigned long e;

	if (s == NULL) {
		snprintf(err, errlen, _("out of memory"));
		return NULL;
	}
	if (ca != NULL) {
		if (X509_STORE_load_file(s, ca) != 1) {
			e = ERR_peek_last_error();
			snprintf(err, errlen, _("cannot read the CA bundle %s: %s"), ca,
			    e != 0 && ERR_reason_error_string(e) != NULL ?
			    ERR_reason_error_string(e) : _("no certificates"));
			ERR_clear_error();
			X509_STORE_free(s);
			return NULL;
		}
		snprintf(anchor, anchor_len, _("the CA bundle %s"), ca);
	} else {
		X509_STORE_set_default_paths(s);
		ERR_clear_error();
		snprintf(anchor, anchor_len, _("the system's CA certificates (%s)"),
		    X509_get_default_cert_dir());
	}
	return s;
}

void
verify_time_utc(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "?");
}

/* Reads a CMS signature: DER, or PEM ("-----BEGIN CMS/PKCS7-----"). */
static int
read_cms(const char *path, unsigned char **der, size_t *len, char *err, size_t errlen)
{
	unsigned char *data = NULL, *p = NULL;
	CMS_ContentInfo *cms = NULL;
	size_t n = 0;
	BIO *b;
	int r, l;

	if ((r = file_read_all(path, 64L * 1024 * 1024, &data, &n, NULL, NULL, err, errlen)) !=
	    KYSO_OK)
		return r;
	if (n < 11 || memcmp(data, "-----BEGIN", 10) != 0) {
		*der = data;
		*len = n;
		return KYSO_OK;
	}
	b = BIO_new_mem_buf(data, (int)n);
	cms = b != NULL ? PEM_read_bio_CMS(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	free(data);
	if (cms == NULL || (l = i2d_CMS_ContentInfo(cms, &p)) <= 0) {
		CMS_ContentInfo_free(cms);
		ERR_clear_error();
		snprintf(err, errlen, _("%s is PEM but not a CMS signature"), path);
		return KYSO_ERR_DOCUMENT;
	}
	CMS_ContentInfo_free(cms);
	*der = malloc((size_t)l);
	if (*der != NULL)
		memcpy(*der, p, (size_t)l);
	OPENSSL_free(p);
	*len = (size_t)l;
	return *der != NULL ? KYSO_OK : KYSO_ERR_NOMEM;
}

int
kyso_verify_cms(const char *p7s, const char *content, const char *ca, kyso_verify **out)
{
	kyso_verify *v = verify_new(p7s);
	unsigned char *der = NULL, *data = NULL;
	size_t len = 0, dlen = 0;
	struct vrange r;
	X509_STORE *store = NULL;
	char anchor[512];
	json_t *sig;
	int e;

	*out = v;
	if (v == NULL)
		return KYSO_ERR_NOMEM;
	if ((store = verify_store(ca, anchor, sizeof(anchor), v->err, sizeof(v->err))) == NULL) {
		e = KYSO_ERR_INVALID_ARG;
		goto out;
	}
	if ((e = read_cms(p7s, &der, &len, v->err, sizeof(v->err))) != KYSO_OK)
		goto out;
	if (content != NULL && (e = file_read_all(content, PDF_FILE_MAX, &data, &dlen, NULL,
	    NULL, v->err, sizeof(v->err))) != KYSO_OK)
		goto out;
	if ((sig = json_pack("{s:i}", "index", 1)) == NULL) {
		e = KYSO_ERR_NOMEM;
		goto out;
	}
	json_array_append_new(v->sigs, sig);
	r.p = data;
	r.n = dlen;
	verify_cms_into(sig, der, len, &r, content != NULL ? 1 : 0, store, anchor, 0);
	json_object_set_new(sig, "coverage", json_string(content != NULL ?
	    _("the whole content file") : _("the content inside the signature")));
	verify_settle(v);
	e = KYSO_OK;
out:
	X509_STORE_free(store);
	free(der);
	free(data);
	return e;
}

int
kyso_verify_valid(const kyso_verify *v)
{
	return v != NULL && json_is_true(json_object_get(v->root, "valid"));
}

size_t
kyso_verify_count(const kyso_verify *v)
{
	return v != NULL ? json_array_size(v->sigs) : 0;
}

const char *
kyso_verify_get(const kyso_verify *v, size_t i, const char *what)
{
	json_t *sig = v != NULL ? json_array_get(v->sigs, i) : NULL;

	if (sig == NULL || what == NULL)
		return NULL;
	if (strcmp(what, "timestamp_time") == 0)
		return json_string_value(json_object_get(json_object_get(sig, "timestamp"),
		    "time"));
	return json_string_value(json_object_get(sig, what));
}

const char *
kyso_verify_json(const kyso_verify *v)
{
	kyso_verify *w = (kyso_verify *)v;

	if (v == NULL)
		return "{}";
	free(w->json);
	w->json = json_dumps(v->root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	return w->json != NULL ? w->json : "{}";
}

const char *
kyso_verify_error(const kyso_verify *v)
{
	json_t *p;

	if (v == NULL)
		return _("out of memory");
	if (v->err[0] != '\0')
		return v->err;
	p = json_array_get(v->problems, 0);
	return p != NULL ? json_string_value(p) : "";
}

void
kyso_verify_free(kyso_verify *v)
{
	if (v == NULL)
		return;
	json_decref(v->root);
	free(v->json);
	free(v);
}
