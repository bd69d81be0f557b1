/* p11_objects.c — finding certificates and keys on a token. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "log.h"
#include "p11_internal.h"

/* Upper bound on objects read per search, against a hostile or broken module. */
#define OBJECTS_MAX 4096

int
p11_objects_find(struct p11_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl,
    CK_OBJECT_HANDLE **out, size_t *n, struct p11_fail *fail)
{
	CK_FUNCTION_LIST *fn = s->m->fn;
	CK_OBJECT_HANDLE *h = NULL, batch[64];
	CK_ULONG got;
	size_t count = 0;
	CK_RV rv;

	*out = NULL;
	*n = 0;
	if ((rv = fn->C_FindObjectsInit(s->h, tmpl, ntmpl)) != CKR_OK)
		return p11_fail_set(fail, "C_FindObjectsInit", rv);
	for (;;) {
		CK_OBJECT_HANDLE *nh;

		rv = fn->C_FindObjects(s->h, batch, 64, &got);
		if (rv != CKR_OK || got == 0 || got > 64)
			break;
		if (count + got > OBJECTS_MAX)
			break;
		if ((nh = realloc(h, (count + got) * sizeof(*h))) == NULL) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		h = nh;
		memcpy(h + count, batch, got * sizeof(*h));
		count += got;
	}
	(void)fn->C_FindObjectsFinal(s->h);
	if (rv != CKR_OK) {
		free(h);
		return p11_fail_set(fail, "C_FindObjects", rv);
	}
	*out = h;
	*n = count;
	return KYSO_OK;
}

int
p11_attr_read(struct p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    unsigned char **out, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	unsigned char *buf;

	*out = NULL;
	*len = 0;
	if (s->m->fn->C_GetAttributeValue(s->h, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 1024 * 1024)
		return KYSO_ERR_TOKEN;
	if ((buf = malloc(a.ulValueLen + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	a.pValue = buf;
	if (s->m->fn->C_GetAttributeValue(s->h, o, &a, 1) != CKR_OK) {
		free(buf);
		return KYSO_ERR_TOKEN;
	}
	buf[a.ulValueLen] = '\0';
	*out = buf;
	*len = a.ulValueLen;
	return KYSO_OK;
}

int
p11_attr_bool(struct p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = { type, &v, sizeof(v) };

	return s->m->fn->C_GetAttributeValue(s->h, o, &a, 1) == CKR_OK && v == CK_TRUE;
}

struct key_ids {
	unsigned char **id;
	size_t *len;
	int *can_sign;
	int *always_auth;
	char **label;
	size_t n;
};

static void
key_ids_free(struct key_ids *k)
{
	for (size_t i = 0; i < k->n; i++) {
		free(k->id[i]);
		free(k->label[i]);
	}
	free(k->id);
	free(k->label);
	free(k->len);
	free(k->can_sign);
	free(k->always_auth);
	memset(k, 0, sizeof(*k));
}

/* Collects the CKA_IDs (and CKA_SIGN) of all keys of class cls. */
static int
key_ids_collect(struct p11_session *s, CK_OBJECT_CLASS cls, struct key_ids *k,
    struct p11_fail *fail)
{
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_OBJECT_HANDLE *h = NULL;
	size_t n = 0, len;
	int r;

	memset(k, 0, sizeof(*k));
	if ((r = p11_objects_find(s, tmpl, 1, &h, &n, fail)) != KYSO_OK)
		return r;
	if (n > 0 && ((k->id = calloc(n, sizeof(*k->id))) == NULL ||
	    (k->len = calloc(n, sizeof(*k->len))) == NULL ||
	    (k->can_sign = calloc(n, sizeof(*k->can_sign))) == NULL ||
	    (k->always_auth = calloc(n, sizeof(*k->always_auth))) == NULL ||
	    (k->label = calloc(n, sizeof(*k->label))) == NULL)) {
		free(h);
		key_ids_free(k);
		return KYSO_ERR_NOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (p11_attr_read(s, h[i], CKA_ID, &k->id[k->n], &k->len[k->n]) != KYSO_OK)
			continue;
		k->can_sign[k->n] = cls == CKO_PRIVATE_KEY ? p11_attr_bool(s, h[i], CKA_SIGN) : 0;
		k->always_auth[k->n] = cls == CKO_PRIVATE_KEY ?
		    p11_attr_bool(s, h[i], CKA_ALWAYS_AUTHENTICATE) : 0;
		if (p11_attr_read(s, h[i], CKA_LABEL, (unsigned char **)&k->label[k->n], &len) !=
		    KYSO_OK)
			k->label[k->n] = NULL;
		else
			utf8_sanitize(k->label[k->n]);
		k->n++;
	}
	free(h);
	return KYSO_OK;
}

/* Returns the index of id in k, or -1. */
static long
key_ids_index(const struct key_ids *k, const unsigned char *id, size_t len)
{
	for (size_t i = 0; i < k->n; i++)
		if (k->len[i] == len && memcmp(k->id[i], id, len) == 0)
			return (long)i;
	return -1;
}

int
p11_session_certs(struct p11_session *s, struct p11_cert_desc **out, size_t *n,
    struct p11_fail *fail)
{
	CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
	CK_CERTIFICATE_TYPE ct = CKC_X_509;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_CERTIFICATE_TYPE, &ct, sizeof(ct) },
	};
	CK_OBJECT_HANDLE *h = NULL;
	struct key_ids priv, pub;
	struct p11_cert_desc *c = NULL;
	size_t nh = 0, got = 0;
	int r;

	*out = NULL;
	*n = 0;
	p11_fail_clear(fail);
	memset(&priv, 0, sizeof(priv));
	memset(&pub, 0, sizeof(pub));
	if ((r = p11_objects_find(s, tmpl, 2, &h, &nh, fail)) != KYSO_OK ||
	    (r = key_ids_collect(s, CKO_PRIVATE_KEY, &priv, fail)) != KYSO_OK ||
	    (r = key_ids_collect(s, CKO_PUBLIC_KEY, &pub, fail)) != KYSO_OK)
		goto out;
	if (nh > 0 && (c = calloc(nh, sizeof(*c))) == NULL) {
		r = KYSO_ERR_NOMEM;
		goto out;
	}
	for (size_t i = 0; i < nh; i++) {
		struct p11_cert_desc *d = &c[got];
		size_t lablen;
		long k;

		if (p11_attr_read(s, h[i], CKA_VALUE, &d->der, &d->der_len) != KYSO_OK ||
		    d->der_len == 0) {
			free(d->der);
			d->der = NULL;
			continue;
		}
		if (p11_attr_read(s, h[i], CKA_ID, &d->id, &d->id_len) != KYSO_OK)
			d->id_len = 0;
		if (p11_attr_read(s, h[i], CKA_LABEL, (unsigned char **)&d->label, &lablen) ==
		    KYSO_OK)
			utf8_sanitize(d->label);  /* a NUL inside ends it; bad bytes become '?' */
		else if ((d->label = strdup("")) == NULL) {
			r = KYSO_ERR_NOMEM;
			got++;
			goto out;
		}
		if (d->id_len > 0) {
			const char *kl = NULL;

			/* the public key's label first: it is visible before and after a
			 * login, so the key URI does not change when the token logs in */
			if ((k = key_ids_index(&pub, d->id, d->id_len)) >= 0) {
				d->has_public_key = 1;
				kl = pub.label[k];
			}
			if ((k = key_ids_index(&priv, d->id, d->id_len)) >= 0) {
				d->has_private_key = 1;
				d->key_can_sign = priv.can_sign[k];
				d->key_always_auth = priv.always_auth[k];
				if (kl == NULL)
					kl = priv.label[k];
			}
			if (kl != NULL && (d->key_label = strdup(kl)) == NULL) {
				r = KYSO_ERR_NOMEM;
				got++;
				goto out;
			}
		}
		got++;
	}
	*out = c;
	*n = got;
	c = NULL;
out:
	if (c != NULL)
		p11_certs_free(c, got);
	key_ids_free(&priv);
	key_ids_free(&pub);
	free(h);
	return r;
}

void
p11_keys_forget(struct p11_session *s)
{
	memset(s->keys, 0, sizeof(s->keys));
	s->next_key = 0;
}

int
p11_key_find(struct p11_session *s, const unsigned char *id, size_t id_len,
    CK_OBJECT_HANDLE *h, int *always_auth, struct p11_fail *fail)
{
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)(uintptr_t)id, id_len },
	};
	CK_OBJECT_HANDLE *found = NULL;
	size_t n = 0;
	int r;

	for (size_t i = 0; i < P11_KEY_CACHE; i++)
		if (s->keys[i].id_len == id_len && id_len > 0 &&
		    memcmp(s->keys[i].id, id, id_len) == 0) {
			*h = s->keys[i].handle;
			*always_auth = s->keys[i].always_auth;
			return KYSO_OK;
		}
	if ((r = p11_objects_find(s, tmpl, 2, &found, &n, fail)) != KYSO_OK)
		return r;
	if (n == 0) {
		free(found);
		return KYSO_ERR_KEY_NOT_FOUND;
	}
	if (n > 1)
		log_warn("%zu private keys share one CKA_ID; using the first", n);
	*h = found[0];
	*always_auth = p11_attr_bool(s, *h, CKA_ALWAYS_AUTHENTICATE);
	free(found);
	if (id_len <= sizeof(s->keys[0].id)) {
		struct p11_key_cache_entry *e = &s->keys[s->next_key++ % P11_KEY_CACHE];

		memcpy(e->id, id, id_len);
		e->id_len = id_len;
		e->handle = *h;
		e->always_auth = *always_auth;
	}
	return KYSO_OK;
}
