/*
 * kp11_attrs.c — the attributes of the objects a certificate stands for, read from its
 * DER with OpenSSL and from kysod's listing (the key's CKA_ID and label come from the
 * key URI, parsed with p11-kit), and C_GetAttributeValue's buffer rules.
 *
 * A certificate whose key can sign gives three objects with its CKA_ID: the X.509
 * certificate, the public key, and a private key that signs and does nothing else. A
 * certificate without such a key (a CA certificate on the token) is a certificate only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/objects.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <p11-kit/uri.h>

#include "encode.h"
#include "kp11.h"
#include "kyso_err.h"

/* ---- attribute lists ---- */

static int
attr_add(struct kp_attrs *l, CK_ATTRIBUTE_TYPE t, const void *v, size_t len)
{
	struct kp_attr *a;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 32;

		if ((a = realloc(l->a, cap * sizeof(*a))) == NULL)
			return -1;
		l->a = a;
		l->cap = cap;
	}
	a = &l->a[l->n];
	memset(a, 0, sizeof(*a));
	a->type = t;
	a->len = len;
	if (len > 0) {
		if ((a->value = malloc(len)) == NULL)
			return -1;
		memcpy(a->value, v, len);
	}
	l->n++;
	return 0;
}

static int
attr_bool(struct kp_attrs *l, CK_ATTRIBUTE_TYPE t, int v)
{
	CK_BBOOL b = v ? CK_TRUE : CK_FALSE;

	return attr_add(l, t, &b, sizeof(b));
}

static int
attr_ulong(struct kp_attrs *l, CK_ATTRIBUTE_TYPE t, CK_ULONG v)
{
	return attr_add(l, t, &v, sizeof(v));
}

static int
attr_sensitive(struct kp_attrs *l, CK_ATTRIBUTE_TYPE t)
{
	if (attr_add(l, t, NULL, 0) != 0)
		return -1;
	l->a[l->n - 1].sensitive = 1;
	return 0;
}

static void
attrs_free(struct kp_attrs *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->a[i].value);
	free(l->a);
	memset(l, 0, sizeof(*l));
}

const struct kp_attr *
kp_attr_find(const struct kp_attrs *list, CK_ATTRIBUTE_TYPE t)
{
	for (size_t i = 0; i < list->n; i++)
		if (list->a[i].type == t)
			return &list->a[i];
	return NULL;
}

CK_RV
kp_attrs_get(const struct kp_attrs *list, CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	CK_RV rv = CKR_OK;

	for (CK_ULONG i = 0; i < n; i++) {
		const struct kp_attr *a = kp_attr_find(list, tmpl[i].type);

		if (a != NULL && a->sensitive) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_SENSITIVE;
		} else if (a == NULL) {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		} else if (tmpl[i].pValue == NULL) {
			tmpl[i].ulValueLen = a->len;
		} else if (tmpl[i].ulValueLen >= a->len) {
			if (a->len > 0)
				memcpy(tmpl[i].pValue, a->value, a->len);
			tmpl[i].ulValueLen = a->len;
		} else {
			tmpl[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_BUFFER_TOO_SMALL;
		}
	}
	return rv;
}

int
kp_attrs_match(const struct kp_attrs *list, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++) {
		const struct kp_attr *a = kp_attr_find(list, tmpl[i].type);

		if (a == NULL || a->sensitive || a->len != tmpl[i].ulValueLen ||
		    (a->len > 0 && (tmpl[i].pValue == NULL ||
		    memcmp(a->value, tmpl[i].pValue, a->len) != 0)))
			return 0;
	}
	return 1;
}

/* ---- values from the certificate ---- */

/* What the certificate says, DER-encoded for Cryptoki. */
struct certvals {
	unsigned char *subject, *issuer, *serial, *spki;
	int subject_len, issuer_len, serial_len, spki_len;
	CK_DATE start, end;
	unsigned char check[3];
	int is_ca;
	/* the public key */
	unsigned char *modulus, *exponent, *ec_params, *ec_point;
	size_t modulus_len, exponent_len, ec_params_len, ec_point_len;
};

static void
certvals_free(struct certvals *v)
{
	OPENSSL_free(v->subject);
	OPENSSL_free(v->issuer);
	OPENSSL_free(v->serial);
	OPENSSL_free(v->spki);
	free(v->modulus);
	free(v->exponent);
	free(v->ec_params);
	free(v->ec_point);
	memset(v, 0, sizeof(*v));
}

static void
date_of(const ASN1_TIME *t, CK_DATE *d)
{
	struct tm tm;
	char buf[48];

	memset(d, 0, sizeof(*d));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return;
	snprintf(buf, sizeof(buf), "%04d%02d%02d", (tm.tm_year + 1900) % 10000,
	    tm.tm_mon + 1, tm.tm_mday);
	memcpy(d->year, buf, 4);
	memcpy(d->month, buf + 4, 2);
	memcpy(d->day, buf + 6, 2);
}

/* Copies n bytes into a new buffer. */
static unsigned char *
dup_bytes(const unsigned char *p, size_t n)
{
	unsigned char *d = malloc(n > 0 ? n : 1);

	if (d != NULL && n > 0)
		memcpy(d, p, n);
	return d;
}

/* DER OCTET STRING around p (CKA_EC_POINT). */
static int
octet_string(const unsigned char *p, size_t len, unsigned char **out, size_t *outlen)
{
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	unsigned char *der = NULL;
	int n = -1;

	if (os != NULL && ASN1_OCTET_STRING_set(os, p, (int)len) == 1)
		n = i2d_ASN1_OCTET_STRING(os, &der);
	ASN1_OCTET_STRING_free(os);
	if (n <= 0)
		return -1;
	*out = dup_bytes(der, (size_t)n);
	OPENSSL_free(der);
	*outlen = (size_t)n;
	return *out != NULL ? 0 : -1;
}

/*
 * The RSA modulus and exponent from the RSAPublicKey DER (SEQUENCE { n, e }) of the
 * certificate: read as plain ASN.1, not through an EVP_PKEY, so that an engine the
 * program loaded (the libp11 engine takes over RSA and EC keys) changes nothing.
 */
static int
rsa_values(const unsigned char *der, int len, struct certvals *v)
{
	const unsigned char *p = der;
	STACK_OF(ASN1_TYPE) *seq = d2i_ASN1_SEQUENCE_ANY(NULL, &p, len);
	ASN1_TYPE *n, *e;
	int r = -1;

	if (seq == NULL || sk_ASN1_TYPE_num(seq) != 2 ||
	    (n = sk_ASN1_TYPE_value(seq, 0))->type != V_ASN1_INTEGER ||
	    (e = sk_ASN1_TYPE_value(seq, 1))->type != V_ASN1_INTEGER)
		goto out;
	v->modulus_len = (size_t)ASN1_STRING_length(n->value.integer);
	v->exponent_len = (size_t)ASN1_STRING_length(e->value.integer);
	if ((v->modulus = dup_bytes(ASN1_STRING_get0_data(n->value.integer),
	    v->modulus_len)) == NULL ||
	    (v->exponent = dup_bytes(ASN1_STRING_get0_data(e->value.integer),
	    v->exponent_len)) == NULL)
		goto out;
	r = 0;
out:
	sk_ASN1_TYPE_pop_free(seq, ASN1_TYPE_free);
	return r;
}

/* CKA_EC_PARAMS (the named curve's OID) and CKA_EC_POINT (the point, in an OCTET
 * STRING). */
static int
ec_values(const void *param, int ptype, const unsigned char *pk, int pklen,
    struct certvals *v)
{
	unsigned char *oid = NULL;
	int n;

	if (ptype != V_ASN1_OBJECT)
		return -1;  /* explicit curve parameters: not something a token holds */
	if ((n = i2d_ASN1_OBJECT(param, &oid)) <= 0)
		return -1;
	v->ec_params = dup_bytes(oid, (size_t)n);
	v->ec_params_len = (size_t)n;
	OPENSSL_free(oid);
	if (v->ec_params == NULL)
		return -1;
	return octet_string(pk, (size_t)pklen, &v->ec_point, &v->ec_point_len);
}

static int
ed25519_values(const unsigned char *pk, int pklen, struct certvals *v)
{
	/* the curve as SoftHSM and OpenSC write it: PrintableString "edwards25519" */
	static const unsigned char params[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's',
		'2', '5', '5', '1', '9' };

	if (pklen != 32 || (v->ec_params = dup_bytes(params, sizeof(params))) == NULL)
		return -1;
	v->ec_params_len = sizeof(params);
	return octet_string(pk, (size_t)pklen, &v->ec_point, &v->ec_point_len);
}

/* Reads the certificate. Returns 0, or -1 if it is not usable X.509. */
static int
certvals_read(const unsigned char *der, size_t len, struct certvals *v, enum kp_key *key)
{
	const unsigned char *p = der, *pk;
	unsigned char sha1[SHA_DIGEST_LENGTH];
	X509 *x = d2i_X509(NULL, &p, (long)len);
	X509_PUBKEY *xpk;
	ASN1_OBJECT *alg;
	X509_ALGOR *algor;
	const void *param;
	int pklen, ptype, r = -1;

	memset(v, 0, sizeof(*v));
	*key = KP_KEY_NONE;
	if (x == NULL || p != der + len)
		goto out;
	if ((v->subject_len = i2d_X509_NAME(X509_get_subject_name(x), &v->subject)) <= 0 ||
	    (v->issuer_len = i2d_X509_NAME(X509_get_issuer_name(x), &v->issuer)) <= 0 ||
	    (v->serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &v->serial)) <= 0 ||
	    (xpk = X509_get_X509_PUBKEY(x)) == NULL ||
	    (v->spki_len = i2d_X509_PUBKEY(xpk, &v->spki)) <= 0 ||
	    X509_PUBKEY_get0_param(&alg, &pk, &pklen, &algor, xpk) != 1)
		goto out;
	date_of(X509_get0_notBefore(x), &v->start);
	date_of(X509_get0_notAfter(x), &v->end);
	SHA1(der, len, sha1);
	memcpy(v->check, sha1, sizeof(v->check));
	v->is_ca = X509_check_ca(x) != 0;
	X509_ALGOR_get0(NULL, &ptype, &param, algor);
	switch (OBJ_obj2nid(alg)) {
	case NID_rsaEncryption:
	case NID_rsassaPss:
		*key = KP_KEY_RSA;
		if (rsa_values(pk, pklen, v) != 0)
			goto out;
		break;
	case NID_X9_62_id_ecPublicKey:
		*key = KP_KEY_EC;
		if (ec_values(param, ptype, pk, pklen, v) != 0)
			goto out;
		break;
	case NID_ED25519:
		*key = KP_KEY_ED25519;
		if (ed25519_values(pk, pklen, v) != 0)
			goto out;
		break;
	default:
		break;  /* a certificate only: no key object for a key the module cannot use */
	}
	r = 0;
out:
	X509_free(x);
	if (r != 0)
		certvals_free(v);
	return r;
}

/* The CKA_ID and the key's label from kysod's key URI. */
static int
uri_read(const char *uri, unsigned char **id, size_t *id_len, char **label)
{
	P11KitUri *u = p11_kit_uri_new();
	CK_ATTRIBUTE *a;
	int r = -1;

	*id = NULL;
	*id_len = 0;
	*label = NULL;
	if (u == NULL)
		return -1;
	if (uri == NULL || p11_kit_uri_parse(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, u) !=
	    P11_KIT_URI_OK)
		goto out;
	if ((a = p11_kit_uri_get_attribute(u, CKA_ID)) != NULL && a->ulValueLen > 0) {
		if ((*id = malloc(a->ulValueLen)) == NULL)
			goto out;
		memcpy(*id, a->pValue, a->ulValueLen);
		*id_len = a->ulValueLen;
	}
	if ((a = p11_kit_uri_get_attribute(u, CKA_LABEL)) != NULL &&
	    (*label = strndup(a->pValue, a->ulValueLen)) == NULL)
		goto out;
	r = 0;
out:
	if (r != 0) {
		free(*id);
		*id = NULL;
		*id_len = 0;
	}
	p11_kit_uri_free(u);
	return r;
}

/* Attributes every object of the module has. */
static int
storage_attrs(struct kp_attrs *l, CK_OBJECT_CLASS cls, int private, const char *label,
    const unsigned char *id, size_t id_len)
{
	return attr_ulong(l, CKA_CLASS, cls) || attr_bool(l, CKA_TOKEN, 1) ||
	    attr_bool(l, CKA_PRIVATE, private) || attr_bool(l, CKA_MODIFIABLE, 0) ||
	    attr_bool(l, CKA_COPYABLE, 0) || attr_bool(l, CKA_DESTROYABLE, 0) ||
	    attr_add(l, CKA_LABEL, label, strlen(label)) || attr_add(l, CKA_ID, id, id_len);
}

/* Attributes of both key objects. */
static int
key_attrs(struct kp_attrs *l, const struct kp_cert *c, const struct certvals *v)
{
	static const CK_KEY_TYPE kt[] = { [KP_KEY_RSA] = CKK_RSA, [KP_KEY_EC] = CKK_EC,
		[KP_KEY_ED25519] = CKK_EC_EDWARDS };
	CK_MECHANISM_TYPE mechs[32];
	size_t n = kp_mechs_of(c->algs, mechs, sizeof(mechs) / sizeof(mechs[0]));
	CK_DATE empty;

	memset(&empty, 0, sizeof(empty));
	if (attr_ulong(l, CKA_KEY_TYPE, kt[c->key]) || attr_add(l, CKA_START_DATE, NULL, 0) ||
	    attr_add(l, CKA_END_DATE, NULL, 0) || attr_bool(l, CKA_DERIVE, 0) ||
	    attr_bool(l, CKA_LOCAL, 0) ||
	    attr_ulong(l, CKA_KEY_GEN_MECHANISM, CK_UNAVAILABLE_INFORMATION) ||
	    attr_add(l, CKA_ALLOWED_MECHANISMS, mechs, n * sizeof(*mechs)) ||
	    attr_add(l, CKA_SUBJECT, v->subject, (size_t)v->subject_len) ||
	    attr_add(l, CKA_PUBLIC_KEY_INFO, v->spki, (size_t)v->spki_len))
		return -1;
	if (c->key == KP_KEY_RSA)
		return attr_add(l, CKA_MODULUS, v->modulus, v->modulus_len) ||
		    attr_ulong(l, CKA_MODULUS_BITS, c->key_bits) ||
		    attr_add(l, CKA_PUBLIC_EXPONENT, v->exponent, v->exponent_len);
	return attr_add(l, CKA_EC_PARAMS, v->ec_params, v->ec_params_len);
}

static int
pub_attrs(struct kp_cert *c, const struct certvals *v, const char *label,
    const unsigned char *id, size_t id_len)
{
	struct kp_attrs *l = &c->pub;

	return storage_attrs(l, CKO_PUBLIC_KEY, 0, label, id, id_len) || key_attrs(l, c, v) ||
	    attr_bool(l, CKA_ENCRYPT, 0) || attr_bool(l, CKA_VERIFY, 1) ||
	    attr_bool(l, CKA_VERIFY_RECOVER, 0) || attr_bool(l, CKA_WRAP, 0) ||
	    attr_bool(l, CKA_TRUSTED, 0) ||
	    (c->key != KP_KEY_RSA && attr_add(l, CKA_EC_POINT, v->ec_point, v->ec_point_len));
}

static int
priv_attrs(struct kp_cert *c, const struct certvals *v, const char *label,
    const unsigned char *id, size_t id_len, int always_auth)
{
	static const CK_ATTRIBUTE_TYPE secret_rsa[] = { CKA_PRIVATE_EXPONENT, CKA_PRIME_1,
		CKA_PRIME_2, CKA_EXPONENT_1, CKA_EXPONENT_2, CKA_COEFFICIENT };
	struct kp_attrs *l = &c->priv;

	if (storage_attrs(l, CKO_PRIVATE_KEY, 1, label, id, id_len) || key_attrs(l, c, v) ||
	    attr_bool(l, CKA_SENSITIVE, 1) || attr_bool(l, CKA_DECRYPT, 0) ||
	    attr_bool(l, CKA_SIGN, 1) || attr_bool(l, CKA_SIGN_RECOVER, 0) ||
	    attr_bool(l, CKA_UNWRAP, 0) || attr_bool(l, CKA_EXTRACTABLE, 0) ||
	    attr_bool(l, CKA_ALWAYS_SENSITIVE, 1) || attr_bool(l, CKA_NEVER_EXTRACTABLE, 1) ||
	    attr_bool(l, CKA_WRAP_WITH_TRUSTED, 0) ||
	    attr_bool(l, CKA_ALWAYS_AUTHENTICATE, always_auth))
		return -1;
	if (c->key == KP_KEY_RSA) {
		for (size_t i = 0; i < sizeof(secret_rsa) / sizeof(secret_rsa[0]); i++)
			if (attr_sensitive(l, secret_rsa[i]) != 0)
				return -1;
		return 0;
	}
	return attr_sensitive(l, CKA_VALUE);
}

static int
cert_attrs(struct kp_cert *c, const struct certvals *v, const char *label,
    const unsigned char *id, size_t id_len, const unsigned char *der, size_t der_len)
{
	struct kp_attrs *l = &c->cert;
	/* CK_CERTIFICATE_CATEGORY: 1 token user (its key is here), 2 authority */
	CK_ULONG category = c->can_sign ? 1 : v->is_ca ? 2 : 0;

	return storage_attrs(l, CKO_CERTIFICATE, 0, label, id, id_len) ||
	    attr_ulong(l, CKA_CERTIFICATE_TYPE, CKC_X_509) || attr_bool(l, CKA_TRUSTED, 0) ||
	    attr_ulong(l, CKA_CERTIFICATE_CATEGORY, category) ||
	    attr_add(l, CKA_CHECK_VALUE, v->check, sizeof(v->check)) ||
	    attr_add(l, CKA_START_DATE, &v->start, sizeof(v->start)) ||
	    attr_add(l, CKA_END_DATE, &v->end, sizeof(v->end)) ||
	    attr_add(l, CKA_PUBLIC_KEY_INFO, v->spki, (size_t)v->spki_len) ||
	    attr_add(l, CKA_SUBJECT, v->subject, (size_t)v->subject_len) ||
	    attr_add(l, CKA_ISSUER, v->issuer, (size_t)v->issuer_len) ||
	    attr_add(l, CKA_SERIAL_NUMBER, v->serial, (size_t)v->serial_len) ||
	    attr_add(l, CKA_VALUE, der, der_len) || attr_add(l, CKA_URL, NULL, 0) ||
	    attr_add(l, CKA_HASH_OF_SUBJECT_PUBLIC_KEY, NULL, 0) ||
	    attr_add(l, CKA_HASH_OF_ISSUER_PUBLIC_KEY, NULL, 0) ||
	    attr_ulong(l, CKA_JAVA_MIDP_SECURITY_DOMAIN, 0);
}

int
kp_cert_build(json_t *o, int pin_by_program, struct kp_cert *c)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *uri = json_string_value(json_object_get(o, "key_uri"));
	const char *label = json_string_value(json_object_get(o, "label"));
	const char *b64 = json_string_value(json_object_get(o, "der"));
	json_t *algs = json_object_get(o, "algorithms");
	unsigned char *der = NULL, *ckaid = NULL;
	size_t der_len = 0, ckaid_len = 0;
	char *key_label = NULL;
	struct certvals v;
	int r = -1;

	memset(c, 0, sizeof(*c));
	memset(&v, 0, sizeof(v));
	if (id == NULL || strlen(id) != 64 || b64 == NULL ||
	    b64_decode(b64, &der, &der_len) != KYSO_OK ||
	    certvals_read(der, der_len, &v, &c->key) != 0 ||
	    uri_read(uri, &ckaid, &ckaid_len, &key_label) != 0)
		goto out;
	memcpy(c->id, id, 65);
	c->key_bits = (unsigned)json_integer_value(json_object_get(o, "key_bits"));
	if (label == NULL)
		label = "";
	if ((c->key_uri = strdup(uri)) == NULL)
		goto out;
	for (size_t i = 0; i < json_array_size(algs); i++) {
		int a = kp_alg_from_name(json_string_value(json_array_get(algs, i)) != NULL ?
		    json_string_value(json_array_get(algs, i)) : "");

		if (a >= 0)
			c->algs |= KP_ALG_BIT(a);
	}
	c->can_sign = json_is_true(json_object_get(o, "can_sign")) && c->algs != 0 &&
	    c->key != KP_KEY_NONE;
	c->always_auth = json_is_true(json_object_get(o, "always_authenticate"));
	if (cert_attrs(c, &v, label, ckaid, ckaid_len, der, der_len) != 0)
		goto out;
	/* the keys are named as kysod names them: the key object's own label */
	if (c->can_sign && (pub_attrs(c, &v, key_label != NULL ? key_label : label, ckaid,
	    ckaid_len) != 0 || priv_attrs(c, &v, key_label != NULL ? key_label : label, ckaid,
	    ckaid_len, c->always_auth && pin_by_program) != 0))
		goto out;
	r = 0;
out:
	certvals_free(&v);
	free(der);
	free(ckaid);
	free(key_label);
	if (r != 0)
		kp_cert_clear(c);
	return r;
}

void
kp_cert_clear(struct kp_cert *c)
{
	free(c->key_uri);
	attrs_free(&c->cert);
	attrs_free(&c->pub);
	attrs_free(&c->priv);
	memset(c, 0, sizeof(*c));
}
