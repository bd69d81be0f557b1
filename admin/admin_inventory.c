/* admin_inventory.c — kyso-admin inventory: a token's keys and certificates as JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/x509.h>

#include "admin.h"
#include "encode.h"
#include "kyso_err.h"

/* "2026-11-22T10:00:01Z" from an ASN1_TIME, or null. */
static json_t *
time_json(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

/* RFC 2253 text of a name, or null. */
static json_t *
name_json(const X509_NAME *n)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;
	json_t *j = json_null();

	if (b != NULL && X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0 &&
	    (len = BIO_get_mem_data(b, &p)) >= 0) {
		json_decref(j);
		j = json_stringn(p, (size_t)len);
	}
	BIO_free(b);
	return j != NULL ? j : json_null();
}

static json_t *
hex_json(const unsigned char *p, size_t len)
{
	char *h = hex_encode_new(p, len);
	json_t *j = h != NULL ? json_string(h) : json_null();

	free(h);
	return j;
}

static json_t *
cert_json(const struct p11_object_desc *o, int has_key)
{
	json_t *j = json_pack("{s:o,s:s,s:s,s:b}", "id", hex_json(o->id, o->id_len), "label",
	    o->label, "category", o->category == 2 ? "ca" : o->category == 1 ? "own" :
	    o->category == 3 ? "other-entity" : "unspecified", "has_private_key", has_key);
	const unsigned char *p = o->der;
	X509 *x;

	if (j == NULL)
		return NULL;
	if (o->der == NULL || (x = d2i_X509(NULL, &p, (long)o->der_len)) == NULL) {
		json_object_set_new(j, "error", json_string("not a readable X.509 certificate"));
		return j;
	}
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *serial = bn != NULL ? BN_bn2hex(bn) : NULL;

	json_object_set_new(j, "subject", name_json(X509_get_subject_name(x)));
	json_object_set_new(j, "issuer", name_json(X509_get_issuer_name(x)));
	json_object_set_new(j, "serial", serial != NULL ? json_string(serial) : json_null());
	json_object_set_new(j, "not_before", time_json(X509_get0_notBefore(x)));
	json_object_set_new(j, "not_after", time_json(X509_get0_notAfter(x)));
	json_object_set_new(j, "expired", json_boolean(X509_cmp_current_time(
	    X509_get0_notAfter(x)) < 0));
	OPENSSL_free(serial);
	BN_free(bn);
	X509_free(x);
	return j;
}

static json_t *
key_json(const struct p11_object_desc *o)
{
	return json_pack("{s:o,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b}", "id",
	    hex_json(o->id, o->id_len), "label", o->label, "class", p11_obj_class_name(o->cls),
	    "type", o->key_type, "sensitive", (o->flags & P11_OBJ_SENSITIVE) != 0,
	    "extractable", (o->flags & P11_OBJ_EXTRACTABLE) != 0,
	    "never_extractable", (o->flags & P11_OBJ_NEVER_EXTRACTABLE) != 0,
	    "local", (o->flags & P11_OBJ_LOCAL) != 0, "sign", (o->flags & P11_OBJ_SIGN) != 0,
	    "decrypt", (o->flags & P11_OBJ_DECRYPT) != 0);
}

int
cmd_inventory(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	struct p11_object_desc *o = NULL;
	struct p11_fail f;
	size_t n = 0;
	json_t *root, *keys, *certs;
	int rc, r;

	if ((rc = admin_find_target(a, &t, 0)) != AX_OK ||
	    (rc = admin_user_session(a, &t, &s)) != AX_OK)
		return rc;
	if ((r = p11_session_objects(s, &o, &n, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot list the token's objects"), r, &f);
		p11_session_close(s);
		return rc;
	}
	keys = json_array();
	certs = json_array();
	for (size_t i = 0; i < n; i++) {
		if (o[i].cls == P11_OBJ_PRIVATE_KEY || o[i].cls == P11_OBJ_PUBLIC_KEY) {
			json_array_append_new(keys, key_json(&o[i]));
		} else if (o[i].cls == P11_OBJ_CERTIFICATE) {
			int has_key = 0;

			for (size_t k = 0; k < n; k++)
				if (o[k].cls == P11_OBJ_PRIVATE_KEY && o[k].id_len == o[i].id_len &&
				    o[i].id_len > 0 && memcmp(o[k].id, o[i].id, o[i].id_len) == 0)
					has_key = 1;
			json_array_append_new(certs, cert_json(&o[i], has_key));
		}
	}
	root = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:b,s:o,s:o}", "module",
	    p11_module_path(t.m), "slot", (json_int_t)t.d.slot, "label", t.d.token.label,
	    "serial", t.d.token.serial, "manufacturer", t.d.token.manufacturer, "model",
	    t.d.token.model, "user_pin_locked",
	    (t.d.token.flags & P11_TOKEN_USER_PIN_LOCKED) != 0, "keys", keys,
	    "certificates", certs);
	if (root == NULL) {
		fprintf(stderr, _("kyso-admin inventory: out of memory\n"));
		rc = AX_ERROR;
	} else {
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
	}
	json_decref(root);
	p11_objects_free(o, n);
	p11_session_close(s);
	return rc;
}
