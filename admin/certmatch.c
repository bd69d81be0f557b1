/* certmatch.c — certificates to import: their token key and attributes (see certmatch.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "certmatch.h"
#include "encode.h"
#include "errmsg.h"
#include "kyso_err.h"

#define FILE_MAX (16 * 1024 * 1024)
#define CHAIN_MAX 32

/* Moves n bytes that OpenSSL allocated at p (n <= 0: a failed i2d) into a malloc'd copy. */
static int
take_der(unsigned char *p, int n, unsigned char **out, size_t *outlen)
{
	if (n > 0 && (*out = malloc((size_t)n)) != NULL) {
		memcpy(*out, p, (size_t)n);
		*outlen = (size_t)n;
	}
	OPENSSL_free(p);
	return n > 0 && *out != NULL;
}

static char *
entry_utf8(const X509_NAME *name, int nid)
{
	int i = -1, last = -1;
	unsigned char *u = NULL;
	char *s = NULL;
	int n;

	while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0)
		last = i;   /* the last one: the most specific in RFC 4514 reading order */
	if (last < 0)
		return NULL;
	n = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last)));
	if (n > 0 && (s = malloc((size_t)n + 1)) != NULL) {
		memcpy(s, u, (size_t)n);
		s[n] = '\0';
		if (memchr(u, 0, (size_t)n) != NULL) {  /* an embedded NUL: not a usable label */
			free(s);
			s = NULL;
		} else {
			utf8_sanitize(s);
		}
	}
	OPENSSL_free(u);
	return s;
}

static char *
make_label(X509 *x)
{
	static const int nids[] = { NID_commonName, NID_organizationName,
		NID_organizationalUnitName };
	const ASN1_INTEGER *serial = X509_get0_serialNumber(x);
	char hex[9], *s;
	size_t n;

	for (size_t i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
		if ((s = entry_utf8(X509_get_subject_name(x), nids[i])) != NULL) {
			if (*s != '\0')
				return s;
			free(s);
		}
	n = (size_t)ASN1_STRING_length(serial);
	hex_encode(ASN1_STRING_get0_data(serial), n > 4 ? 4 : n, hex);
	if ((s = malloc(sizeof("certificate ") + sizeof(hex))) != NULL)
		sprintf(s, "certificate %s", hex);
	return s;
}

/* Fills c from one DER certificate (all of der). */
static int
from_der(const unsigned char *der, size_t len, struct certmatch_cert *c, char *err,
    size_t errlen)
{
	const unsigned char *p = der;
	unsigned char *subj, *iss, *ser;
	X509 *x;
	int ns, ni, nr, ok, r = KYSO_ERR_NOMEM;

	memset(c, 0, sizeof(*c));
	if ((x = d2i_X509(NULL, &p, (long)len)) == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the data is not an X.509 certificate"));
	if ((size_t)(p - der) != len) {
		X509_free(x);
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    P_("the certificate is followed by %zu byte of something else",
		    "the certificate is followed by %zu bytes of something else",
		    len - (size_t)(p - der)), len - (size_t)(p - der));
	}
	if ((c->der = malloc(len)) == NULL)
		goto out;
	memcpy(c->der, der, len);
	c->der_len = len;
	subj = iss = ser = NULL;
	ns = i2d_X509_NAME(X509_get_subject_name(x), &subj);
	ni = i2d_X509_NAME(X509_get_issuer_name(x), &iss);
	nr = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &ser);
	ok = take_der(subj, ns, &c->subject, &c->subject_len);  /* each frees its input */
	ok &= take_der(iss, ni, &c->issuer, &c->issuer_len);
	ok &= take_der(ser, nr, &c->serial, &c->serial_len);
	if (!ok ||
	    (c->label = make_label(x)) == NULL)
		goto out;
	if ((c->pubkey = X509_get_pubkey(x)) == NULL) {
		r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the certificate's public key is of a kind OpenSSL cannot read"));
		goto out;
	}
	c->is_ca = (X509_get_extension_flags(x) & EXFLAG_CA) != 0;
	c->self_signed = X509_self_signed(x, 1) == 1;
	r = KYSO_OK;
out:
	X509_free(x);
	ERR_clear_error();
	if (r != KYSO_OK)
		certmatch_cert_clear(c);
	return r;
}

/*
 * Reads the PEM blocks of data; each CERTIFICATE goes into *certs. Any other block is
 * refused. Returns KYSO_OK (possibly with *n == 0) or an error.
 */
static int
read_pem(const unsigned char *data, size_t len, struct certmatch_cert **certs, size_t *n,
    char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(data, (int)len);
	struct certmatch_cert *v = NULL, *nv;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long derlen = 0;
	size_t count = 0;
	unsigned long e;
	int r = KYSO_ERR_NOMEM;

	if (b == NULL)
		return KYSO_ERR_NOMEM;
	ERR_clear_error();
	while (PEM_read_bio(b, &name, &header, &der, &derlen) == 1) {
		if (strcmp(name, "CERTIFICATE") != 0 && strcmp(name, "X509 CERTIFICATE") != 0) {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the file holds a \"%.40s\" PEM block; only certificates are expected"),
			    name);
			goto out;
		}
		if (count == CHAIN_MAX) {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the file holds more than %d certificates"), CHAIN_MAX);
			goto out;
		}
		if ((nv = realloc(v, (count + 1) * sizeof(*v))) == NULL)
			goto out;
		v = nv;
		if ((r = from_der(der, (size_t)derlen, &v[count], err, errlen)) != KYSO_OK) {
			if (r == KYSO_ERR_INVALID_ARG)
				r = errmsg(err, errlen, r, _("PEM block %zu of the file is not a valid "
				    "certificate"), count + 1);
			goto out;
		}
		count++;
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(der);
		name = header = NULL;
		der = NULL;
	}
	e = ERR_peek_last_error();
	if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    P_("the file has a damaged PEM block after %zu certificate",
		    "the file has a damaged PEM block after %zu certificates", count), count);
		goto out;
	}
	ERR_clear_error();
	*certs = v;
	*n = count;
	v = NULL;
	count = 0;
	r = KYSO_OK;
out:
	certmatch_certs_free(v, count);
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(b);
	return r;
}

int
certmatch_load_chain(const unsigned char *data, size_t len, struct certmatch_cert **certs,
    size_t *n, char *err, size_t errlen)
{
	int r;

	*certs = NULL;
	*n = 0;
	if (data == NULL || len == 0)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("the file is empty"));
	if (len > FILE_MAX)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the file is larger than %d MiB"), FILE_MAX / (1024 * 1024));
	if (data[0] == 0x30) {  /* a DER SEQUENCE: one binary certificate */
		if ((*certs = calloc(1, sizeof(**certs))) == NULL)
			return KYSO_ERR_NOMEM;
		if ((r = from_der(data, len, *certs, err, errlen)) != KYSO_OK) {
			free(*certs);
			*certs = NULL;
			return r;
		}
		*n = 1;
		return KYSO_OK;
	}
	if ((r = read_pem(data, len, certs, n, err, errlen)) != KYSO_OK)
		return r;
	if (*n == 0)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the file holds no certificate (neither DER nor PEM)"));
	return KYSO_OK;
}

int
certmatch_load(const unsigned char *data, size_t len, struct certmatch_cert *c, char *err,
    size_t errlen)
{
	struct certmatch_cert *v;
	size_t n;
	int r;

	memset(c, 0, sizeof(*c));
	if ((r = certmatch_load_chain(data, len, &v, &n, err, errlen)) != KYSO_OK)
		return r;
	if (n != 1) {
		certmatch_certs_free(v, n);
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the file holds %zu certificates, not one"), n);
	}
	*c = v[0];
	free(v);
	return KYSO_OK;
}

int
certmatch_find_key(const struct certmatch_cert *c, EVP_PKEY *const *keys, size_t nkeys,
    size_t *index, char *err, size_t errlen)
{
	if (c == NULL || c->pubkey == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("no certificate was given"));
	for (size_t i = 0; i < nkeys; i++)
		if (keys[i] != NULL && EVP_PKEY_eq(c->pubkey, keys[i]) == 1) {
			*index = i;
			ERR_clear_error();
			return KYSO_OK;
		}
	return errmsg(err, errlen, KYSO_ERR_KEY_NOT_FOUND,
	    _("the certificate's public key matches no key on the token"));
}

void
certmatch_cert_clear(struct certmatch_cert *c)
{
	free(c->der);
	free(c->subject);
	free(c->issuer);
	free(c->serial);
	free(c->label);
	EVP_PKEY_free(c->pubkey);
	memset(c, 0, sizeof(*c));
}

void
certmatch_certs_free(struct certmatch_cert *certs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		certmatch_cert_clear(&certs[i]);
	free(certs);
}
