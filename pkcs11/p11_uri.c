/* p11_uri.c — RFC 7512 key URIs, parsed and formatted by p11-kit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/uri.h>

#include "kyso_err.h"
#include "p11_internal.h"

/* Copies a trimmed string into a blank-padded Cryptoki field. */
static void
pad_copy(CK_UTF8CHAR *dst, size_t dstlen, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', dstlen);
	memcpy(dst, src, n < dstlen ? n : dstlen);
}

static void
token_info_from_desc(const struct p11_token_desc *t, CK_TOKEN_INFO *ti)
{
	memset(ti, 0, sizeof(*ti));
	pad_copy(ti->label, sizeof(ti->label), t->label);
	pad_copy(ti->manufacturerID, sizeof(ti->manufacturerID), t->manufacturer);
	pad_copy(ti->model, sizeof(ti->model), t->model);
	pad_copy(ti->serialNumber, sizeof(ti->serialNumber), t->serial);
}

char *
p11_uri_for_key(const struct p11_token_desc *t, const unsigned char *id, size_t id_len,
    const char *label)
{
	P11KitUri *uri = p11_kit_uri_new();
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE a;
	char *s = NULL;

	if (uri == NULL)
		return NULL;
	token_info_from_desc(t, p11_kit_uri_get_token_info(uri));
	a = (CK_ATTRIBUTE){ CKA_CLASS, &cls, sizeof(cls) };
	p11_kit_uri_set_attribute(uri, &a);
	if (id_len > 0) {
		a = (CK_ATTRIBUTE){ CKA_ID, (void *)(uintptr_t)id, id_len };
		p11_kit_uri_set_attribute(uri, &a);
	}
	if (label != NULL && *label != '\0') {
		a = (CK_ATTRIBUTE){ CKA_LABEL, (void *)(uintptr_t)label, strlen(label) };
		p11_kit_uri_set_attribute(uri, &a);
	}
	if (p11_kit_uri_format(uri, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, &s) != P11_KIT_URI_OK)
		s = NULL;
	p11_kit_uri_free(uri);
	return s;
}

int
p11_uri_parse_key(const char *str, struct p11_uri_key *out)
{
	P11KitUri *uri;
	CK_TOKEN_INFO *ti;
	CK_ATTRIBUTE *a;
	int r = KYSO_ERR_INVALID_ARG;

	memset(out, 0, sizeof(*out));
	if (strncmp(str, "pkcs11:", 7) != 0 || (uri = p11_kit_uri_new()) == NULL)
		return KYSO_ERR_INVALID_ARG;
	/* an attribute p11-kit could not represent (an over-long label, type=bogus) must not
	 * be dropped silently: the URI would then match more keys than it names */
	if (p11_kit_uri_parse(str, P11_KIT_URI_FOR_OBJECT_ON_TOKEN, uri) != P11_KIT_URI_OK ||
	    p11_kit_uri_any_unrecognized(uri))
		goto out;
	ti = p11_kit_uri_get_token_info(uri);
	p11_trim_copy(out->token, ti->label, sizeof(ti->label));
	p11_trim_copy(out->manufacturer, ti->manufacturerID, sizeof(ti->manufacturerID));
	p11_trim_copy(out->model, ti->model, sizeof(ti->model));
	p11_trim_copy(out->serial, ti->serialNumber, sizeof(ti->serialNumber));
	out->type_private_ok = 1;
	if ((a = p11_kit_uri_get_attribute(uri, CKA_CLASS)) != NULL) {
		if (a->ulValueLen != sizeof(CK_OBJECT_CLASS) ||
		    *(CK_OBJECT_CLASS *)a->pValue != CKO_PRIVATE_KEY)
			out->type_private_ok = 0;
	}
	if ((a = p11_kit_uri_get_attribute(uri, CKA_ID)) != NULL) {
		if (a->ulValueLen > sizeof(out->id))
			goto out;
		memcpy(out->id, a->pValue, a->ulValueLen);
		out->id_len = a->ulValueLen;
	}
	if ((a = p11_kit_uri_get_attribute(uri, CKA_LABEL)) != NULL) {
		if (a->ulValueLen >= sizeof(out->object) ||
		    memchr(a->pValue, '\0', a->ulValueLen) != NULL)
			goto out;
		memcpy(out->object, a->pValue, a->ulValueLen);
		out->object[a->ulValueLen] = '\0';
	}
	/* a key URI must name the key somehow */
	if (out->id_len == 0 && out->object[0] == '\0')
		goto out;
	r = KYSO_OK;
out:
	p11_kit_uri_free(uri);
	return r;
}

int
p11_uri_match_token(const struct p11_uri_key *u, const struct p11_token_desc *t)
{
	return (u->token[0] == '\0' || strcmp(u->token, t->label) == 0) &&
	    (u->manufacturer[0] == '\0' || strcmp(u->manufacturer, t->manufacturer) == 0) &&
	    (u->model[0] == '\0' || strcmp(u->model, t->model) == 0) &&
	    (u->serial[0] == '\0' || strcmp(u->serial, t->serial) == 0);
}
