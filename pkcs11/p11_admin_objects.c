/*
 * p11_admin_objects.c — kyso-admin's view of the objects on a token: list them, read a
 * public key, delete by CKA_ID, store a certificate.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "p11_internal.h"

const char *
p11_obj_class_name(int cls)
{
	switch (cls) {
	case P11_OBJ_DATA: return "data";
	case P11_OBJ_CERTIFICATE: return "certificate";
	case P11_OBJ_PUBLIC_KEY: return "public-key";
	case P11_OBJ_PRIVATE_KEY: return "private-key";
	case P11_OBJ_SECRET_KEY: return "secret-key";
	default: return "other";
	}
}

static enum p11_obj_class
class_of(CK_OBJECT_CLASS c)
{
	switch (c) {
	case CKO_DATA: return P11_OBJ_DATA;
	case CKO_CERTIFICATE: return P11_OBJ_CERTIFICATE;
	case CKO_PUBLIC_KEY: return P11_OBJ_PUBLIC_KEY;
	case CKO_PRIVATE_KEY: return P11_OBJ_PRIVATE_KEY;
	case CKO_SECRET_KEY: return P11_OBJ_SECRET_KEY;
	default: return P11_OBJ_OTHER;
	}
}

static int
ulong_attr(struct p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, CK_ULONG *v)
{
	CK_ATTRIBUTE a = { type, v, sizeof(*v) };

	return s->m->fn->C_GetAttributeValue(s->h, o, &a, 1) == CKR_OK &&
	    a.ulValueLen == sizeof(*v);
}

/* Bits of a big-endian unsigned number. */
static unsigned
num_bits(const unsigned char *p, size_t len)
{
	while (len > 0 && *p == 0) {
		p++;
		len--;
	}
	if (len == 0)
		return 0;
	unsigned bits = (unsigned)(len - 1) * 8, top = *p;

	while (top != 0) {
		bits++;
		top >>= 1;
	}
	return bits;
}

/* Fills key_type and key_bits of a key object. */
static void
key_describe(struct p11_session *s, CK_OBJECT_HANDLE o, struct p11_object_desc *d)
{
	CK_ULONG ckk, bits;
	unsigned char *v = NULL;
	size_t len;
	const char *curve;

	if (!ulong_attr(s, o, CKA_KEY_TYPE, &ckk))
		return;
	if (ckk == CKK_RSA) {
		if (ulong_attr(s, o, CKA_MODULUS_BITS, &bits) && bits > 0 && bits < 65536)
			d->key_bits = (unsigned)bits;
		else if (p11_attr_read(s, o, CKA_MODULUS, &v, &len) == KYSO_OK)
			d->key_bits = num_bits(v, len);
		if (d->key_bits > 0)
			snprintf(d->key_type, sizeof(d->key_type), "rsa:%u", d->key_bits);
		else
			snprintf(d->key_type, sizeof(d->key_type), "rsa");
	} else if (ckk == CKK_EC || ckk == CKK_EC_EDWARDS) {
		if (p11_attr_read(s, o, CKA_EC_PARAMS, &v, &len) == KYSO_OK &&
		    (curve = p11_curve_name(v, len, &d->key_bits)) != NULL)
			snprintf(d->key_type, sizeof(d->key_type), "%s", curve);
		else
			snprintf(d->key_type, sizeof(d->key_type), ckk == CKK_EC ? "ec" : "eddsa");
	} else {
		snprintf(d->key_type, sizeof(d->key_type), "0x%lx", (unsigned long)ckk);
	}
	free(v);
}

static unsigned
flags_read(struct p11_session *s, CK_OBJECT_HANDLE o)
{
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		unsigned flag;
	} map[] = {
		{ CKA_TOKEN, P11_OBJ_TOKEN }, { CKA_PRIVATE, P11_OBJ_PRIVATE },
		{ CKA_SENSITIVE, P11_OBJ_SENSITIVE }, { CKA_EXTRACTABLE, P11_OBJ_EXTRACTABLE },
		{ CKA_ALWAYS_SENSITIVE, P11_OBJ_ALWAYS_SENSITIVE },
		{ CKA_NEVER_EXTRACTABLE, P11_OBJ_NEVER_EXTRACTABLE }, { CKA_SIGN, P11_OBJ_SIGN },
		{ CKA_VERIFY, P11_OBJ_VERIFY }, { CKA_DECRYPT, P11_OBJ_DECRYPT },
		{ CKA_ENCRYPT, P11_OBJ_ENCRYPT }, { CKA_UNWRAP, P11_OBJ_UNWRAP },
		{ CKA_WRAP, P11_OBJ_WRAP }, { CKA_DERIVE, P11_OBJ_DERIVE },
		{ CKA_LOCAL, P11_OBJ_LOCAL }, { CKA_TRUSTED, P11_OBJ_TRUSTED },
		{ CKA_ALWAYS_AUTHENTICATE, P11_OBJ_ALWAYS_AUTH },
	};
	unsigned f = 0;

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (p11_attr_bool(s, o, map[i].type))
			f |= map[i].flag;
	return f;
}

void
p11_objects_free(struct p11_object_desc *o, size_t n)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(o[i].id);
		free(o[i].label);
		free(o[i].der);
	}
	free(o);
}

/* Describes one object; KYSO_OK, or KYSO_ERR_TOKEN if its class cannot be read. */
static int
object_describe(struct p11_session *s, CK_OBJECT_HANDLE o, struct p11_object_desc *d)
{
	CK_ULONG cls, ct;
	size_t len;

	memset(d, 0, sizeof(*d));
	if (!ulong_attr(s, o, CKA_CLASS, &cls))
		return KYSO_ERR_TOKEN;
	d->cls = class_of(cls);
	if (p11_attr_read(s, o, CKA_ID, &d->id, &d->id_len) != KYSO_OK &&
	    (d->id = calloc(1, 1)) == NULL)
		return KYSO_ERR_NOMEM;
	if (p11_attr_read(s, o, CKA_LABEL, (unsigned char **)&d->label, &len) == KYSO_OK)
		utf8_sanitize(d->label);
	else if ((d->label = strdup("")) == NULL)
		return KYSO_ERR_NOMEM;
	d->flags = flags_read(s, o);
	if (d->cls == P11_OBJ_PUBLIC_KEY || d->cls == P11_OBJ_PRIVATE_KEY)
		key_describe(s, o, d);
	if (d->cls == P11_OBJ_CERTIFICATE) {
		if (!ulong_attr(s, o, CKA_CERTIFICATE_CATEGORY, &d->category))
			d->category = 0;
		if (ulong_attr(s, o, CKA_CERTIFICATE_TYPE, &ct) && ct == CKC_X_509 &&
		    p11_attr_read(s, o, CKA_VALUE, &d->der, &d->der_len) != KYSO_OK)
			d->der = NULL;
	}
	return KYSO_OK;
}

int
p11_session_objects(struct p11_session *s, struct p11_object_desc **out, size_t *n,
    struct p11_fail *fail)
{
	CK_BBOOL on_token = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = { { CKA_TOKEN, &on_token, sizeof(on_token) } };
	CK_OBJECT_HANDLE *h = NULL;
	struct p11_object_desc *d = NULL;
	size_t nh = 0, got = 0;
	int r;

	*out = NULL;
	*n = 0;
	p11_fail_clear(fail);
	if ((r = p11_objects_find(s, tmpl, 1, &h, &nh, fail)) != KYSO_OK)
		return r;
	if (nh > 0 && (d = calloc(nh, sizeof(*d))) == NULL) {
		free(h);
		return KYSO_ERR_NOMEM;
	}
	for (size_t i = 0; i < nh; i++) {
		r = object_describe(s, h[i], &d[got]);
		if (r == KYSO_OK) {
			got++;
		} else {
			/* an object that went away between the search and the reading */
			free(d[got].id);
			free(d[got].label);
			free(d[got].der);
			memset(&d[got], 0, sizeof(d[got]));
			if (r == KYSO_ERR_NOMEM) {
				p11_objects_free(d, got);
				free(h);
				return r;
			}
		}
	}
	free(h);
	*out = d;
	*n = got;
	return KYSO_OK;
}

void
p11_pubkey_clear(struct p11_pubkey *k)
{
	free(k->modulus);
	free(k->exponent);
	free(k->params);
	free(k->point);
	memset(k, 0, sizeof(*k));
}

/* The first object of class cls with CKA_ID id; KYSO_ERR_KEY_NOT_FOUND if none. */
static int
find_by_id(struct p11_session *s, CK_OBJECT_CLASS cls, const unsigned char *id, size_t id_len,
    CK_OBJECT_HANDLE *h, struct p11_fail *fail)
{
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
	};
	CK_OBJECT_HANDLE *found = NULL;
	size_t n = 0;
	int r;

	if ((r = p11_objects_find(s, tmpl, 2, &found, &n, fail)) != KYSO_OK)
		return r;
	if (n > 0)
		*h = found[0];
	free(found);
	return n > 0 ? KYSO_OK : KYSO_ERR_KEY_NOT_FOUND;
}

int
p11_session_pubkey(struct p11_session *s, const unsigned char *id, size_t id_len,
    struct p11_pubkey *out, struct p11_fail *fail)
{
	CK_OBJECT_HANDLE h;
	CK_ULONG ckk;
	int r;

	memset(out, 0, sizeof(*out));
	p11_fail_clear(fail);
	if ((r = find_by_id(s, CKO_PUBLIC_KEY, id, id_len, &h, fail)) == KYSO_ERR_KEY_NOT_FOUND)
		r = find_by_id(s, CKO_PRIVATE_KEY, id, id_len, &h, fail);
	if (r != KYSO_OK)
		return r;
	if (!ulong_attr(s, h, CKA_KEY_TYPE, &ckk))
		return p11_fail_set(fail, "C_GetAttributeValue", CKR_ATTRIBUTE_TYPE_INVALID);
	if (ckk == CKK_RSA) {
		out->kind = 'r';
		if (p11_attr_read(s, h, CKA_MODULUS, &out->modulus, &out->modulus_len) != KYSO_OK ||
		    p11_attr_read(s, h, CKA_PUBLIC_EXPONENT, &out->exponent,
		    &out->exponent_len) != KYSO_OK)
			goto unreadable;
	} else if (ckk == CKK_EC || ckk == CKK_EC_EDWARDS) {
		out->kind = ckk == CKK_EC ? 'e' : 'd';
		if (p11_attr_read(s, h, CKA_EC_PARAMS, &out->params, &out->params_len) != KYSO_OK ||
		    p11_attr_read(s, h, CKA_EC_POINT, &out->point, &out->point_len) != KYSO_OK)
			goto unreadable;
	} else {
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	return KYSO_OK;
unreadable:
	p11_pubkey_clear(out);
	return p11_fail_set(fail, "C_GetAttributeValue", CKR_ATTRIBUTE_TYPE_INVALID);
}

int
p11_session_delete(struct p11_session *s, const unsigned char *id, size_t id_len,
    unsigned classes, size_t *deleted, struct p11_fail *fail)
{
	CK_ATTRIBUTE tmpl[] = { { CKA_ID, (void *)(uintptr_t)id, id_len } };
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0;
	CK_RV rv;
	int r;

	*deleted = 0;
	p11_fail_clear(fail);
	if ((r = p11_objects_find(s, tmpl, 1, &h, &n, fail)) != KYSO_OK)
		return r;
	for (size_t i = 0; i < n; i++) {
		CK_ULONG cls;

		if (!ulong_attr(s, h[i], CKA_CLASS, &cls) ||
		    !(classes & P11_OBJ_BIT(class_of(cls))))
			continue;
		if ((rv = s->m->fn->C_DestroyObject(s->h, h[i])) != CKR_OK) {
			free(h);
			return p11_fail_set(fail, "C_DestroyObject", rv);
		}
		(*deleted)++;
	}
	free(h);
	p11_keys_forget(s);
	return KYSO_OK;
}

int
p11_session_store_cert(struct p11_session *s, const struct p11_cert_store *c,
    struct p11_fail *fail)
{
	static const CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_ULONG category = c->ca ? 2 : 1;
	CK_ATTRIBUTE t[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
		{ CKA_TOKEN, (void *)(uintptr_t)&yes, sizeof(yes) },
		{ CKA_PRIVATE, (void *)(uintptr_t)&no, sizeof(no) },
		{ CKA_VALUE, (void *)(uintptr_t)c->der, c->der_len },
		{ CKA_SUBJECT, (void *)(uintptr_t)c->subject, c->subject_len },
		{ CKA_ISSUER, (void *)(uintptr_t)c->issuer, c->issuer_len },
		{ CKA_SERIAL_NUMBER, (void *)(uintptr_t)c->serial, c->serial_len },
		{ CKA_ID, (void *)(uintptr_t)c->id, c->id_len },
		{ CKA_LABEL, (void *)(uintptr_t)c->label, strlen(c->label) },
		{ CKA_CERTIFICATE_CATEGORY, &category, sizeof(category) },
	};
	CK_ULONG nt = sizeof(t) / sizeof(t[0]);
	CK_OBJECT_HANDLE h;
	CK_RV rv;

	/*
	 * No CKA_TRUSTED: only the SO may set it, and a refused template is not always
	 * harmless (SoftHSM 2.6 leaves an empty certificate object behind when it refuses
	 * CKA_TRUSTED from a user session). CA certificates are told by their category.
	 */
	p11_fail_clear(fail);
	if (c->der == NULL || c->der_len == 0 || c->subject == NULL || c->issuer == NULL ||
	    c->serial == NULL || c->label == NULL)
		return KYSO_ERR_INVALID_ARG;
	rv = s->m->fn->C_CreateObject(s->h, t, nt, &h);
	if (rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_ATTRIBUTE_TYPE_INVALID)
		/* modules of PKCS#11 2.11 and older: no certificate category */
		rv = s->m->fn->C_CreateObject(s->h, t, nt - 1, &h);
	return p11_fail_set(fail, "C_CreateObject", rv);
}
