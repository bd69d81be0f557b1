/* admin_cmd_keys.c — kyso-admin keygen, list, delete. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "admin.h"
#include "encode.h"
#include "kyso_err.h"

#define KEY_ID_LEN 20

/* Prints the key types as "rsa:2048, ec:p256" (or "none") into buf. */
static void
types_text(unsigned types, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < P11_KEY_TYPE_COUNT; i++)
		if (types & (1u << i))
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
			    used > 0 ? ", " : "", p11_key_type_name(i));
	if (used == 0)
		snprintf(buf, len, "%s", _("none"));
}

/* Whether any object on the token has CKA_ID id. */
static int
id_in_use(struct p11_session *s, const unsigned char *id, size_t len, int *used,
    struct p11_fail *f)
{
	struct p11_object_desc *o = NULL;
	size_t n = 0;
	int r;

	*used = 0;
	if ((r = p11_session_objects(s, &o, &n, f)) != KYSO_OK)
		return r;
	for (size_t i = 0; i < n; i++)
		if (o[i].id_len == len && memcmp(o[i].id, id, len) == 0)
			*used = 1;
	p11_objects_free(o, n);
	return KYSO_OK;
}

/* Writes the public key with CKA_ID id as PEM to path. */
static int
pubkey_write(struct admin *a, struct p11_session *s, const unsigned char *id, size_t len)
{
	struct p11_pubkey k;
	struct p11_fail f;
	EVP_PKEY *pk = NULL;
	FILE *out;
	int r, ok;

	if ((r = p11_session_pubkey(s, id, len, &k, &f)) != KYSO_OK)
		return admin_fail(a, _("reading the new public key"), r, &f);
	r = admin_pubkey_evp(&k, &pk);
	p11_pubkey_clear(&k);
	if (r != KYSO_OK)
		return admin_fail(a, _("building the public key with OpenSSL"), r, NULL);
	if ((out = fopen(a->pubkey_out, "we")) == NULL) {
		EVP_PKEY_free(pk);
		fprintf(stderr, _("kyso-admin keygen: cannot write %s\n"), a->pubkey_out);
		return AX_ERROR;
	}
	ok = PEM_write_PUBKEY(out, pk) == 1;
	ok = fclose(out) == 0 && ok;
	EVP_PKEY_free(pk);
	if (!ok) {
		fprintf(stderr, _("kyso-admin keygen: cannot write %s\n"), a->pubkey_out);
		return AX_ERROR;
	}
	return AX_OK;
}

int
cmd_keygen(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	struct p11_fail f;
	enum p11_key_type type;
	unsigned char *id = NULL;
	size_t id_len = 0;
	unsigned types;
	char can[120], hex[2 * 256 + 1];
	int rc, r, used;

	if (a->type == NULL || p11_key_type_parse(a->type, &type) != KYSO_OK) {
		if (a->type != NULL)
			fprintf(stderr, _("kyso-admin keygen: --type is one of rsa:2048, rsa:3072, "
			    "rsa:4096, ec:p256, ec:p384, ed25519, not %s\n"), a->type);
		else
			fputs(_("kyso-admin keygen: --type is one of rsa:2048, rsa:3072, rsa:4096, "
			    "ec:p256, ec:p384, ed25519\n"), stderr);
		return AX_USAGE;
	}
	if (a->label == NULL || a->label[0] == '\0') {
		fprintf(stderr, _("kyso-admin keygen: --label LABEL is required\n"));
		return AX_USAGE;
	}
	if (a->id_hex != NULL && (hex_decode(a->id_hex, &id, &id_len) != KYSO_OK ||
	    id_len == 0 || id_len > 255)) {
		free(id);
		fprintf(stderr, _("kyso-admin keygen: --id wants 1 to 255 bytes in hex, not '%s'\n"),
		    a->id_hex);
		return AX_USAGE;
	}
	if (id == NULL) {
		if ((id = malloc(KEY_ID_LEN)) == NULL ||
		    getrandom(id, KEY_ID_LEN, 0) != KEY_ID_LEN) {
			free(id);
			fprintf(stderr, _("kyso-admin keygen: no random bytes for the key id\n"));
			return AX_ERROR;
		}
		id_len = KEY_ID_LEN;
	}
	if ((rc = admin_find_target(a, &t, 0)) != AX_OK)
		goto out;
	if ((r = p11_slot_keygen_types(t.m, t.d.slot, &types, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot read the token's mechanisms"), r, &f);
		goto out;
	}
	if (!(types & (1u << type))) {
		types_text(types, can, sizeof(can));
		fprintf(stderr, _("kyso-admin keygen: token %s cannot generate %s keys; it can "
		    "generate: %s. Nothing was changed\n"), admin_token_name(&t.d.token), a->type,
		    can);
		rc = AX_REFUSED;
		goto out;
	}
	if ((rc = admin_user_session(a, &t, &s)) != AX_OK)
		goto out;
	hex_encode(id, id_len, hex);
	if ((r = id_in_use(s, id, id_len, &used, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot list the token's objects"), r, &f);
		goto out;
	}
	if (used) {
		fprintf(stderr, _("kyso-admin keygen: token %s already holds objects with id %s; "
		    "choose another --id or delete them first. Nothing was changed\n"),
		    admin_token_name(&t.d.token), hex);
		rc = AX_DECLINED;
		goto out;
	}
	if ((r = p11_session_keygen(s, type, id, id_len, a->label, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("generating the key"), r, &f);
		goto out;
	}
	printf(_("generated a %s key pair '%s' on token %s\nid %s\n"), a->type, a->label,
	    admin_token_name(&t.d.token), hex);
	if (a->pubkey_out != NULL && (rc = pubkey_write(a, s, id, id_len)) == AX_OK)
		printf(_("public key written to %s\n"), a->pubkey_out);
out:
	p11_session_close(s);
	free(id);
	return rc;
}

/* The attributes worth showing of a key, as "sensitive never-extractable sign". */
static void
flags_text(unsigned fl, char *buf, size_t len)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ P11_OBJ_PRIVATE, "private" }, { P11_OBJ_SENSITIVE, "sensitive" },
		{ P11_OBJ_EXTRACTABLE, "EXTRACTABLE" },
		{ P11_OBJ_NEVER_EXTRACTABLE, "never-extractable" }, { P11_OBJ_LOCAL, "local" },
		{ P11_OBJ_SIGN, "sign" }, { P11_OBJ_VERIFY, "verify" },
		{ P11_OBJ_DECRYPT, "decrypt" }, { P11_OBJ_ENCRYPT, "encrypt" },
		{ P11_OBJ_UNWRAP, "unwrap" }, { P11_OBJ_WRAP, "wrap" },
		{ P11_OBJ_DERIVE, "derive" }, { P11_OBJ_ALWAYS_AUTH, "always-authenticate" },
		{ P11_OBJ_TRUSTED, "trusted" },
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (fl & names[i].flag)
			used += (size_t)snprintf(buf + used, used < len ? len - used : 0, "%s%s",
			    used > 0 ? " " : "", names[i].name);
}

static void
object_print(const struct p11_object_desc *o)
{
	char hex[2 * 256 + 1] = "", flags[200];
	X509 *x;
	const unsigned char *p;

	if (o->id_len <= 256)
		hex_encode(o->id, o->id_len, hex);
	/* TRANSLATORS: an object's class (the standard's name), CKA_ID, CKA_LABEL */
	printf(_("%-12s id %s  label '%s'"), p11_obj_class_name(o->cls), hex[0] ? hex :
	    _("(none)"), o->label);
	if (o->key_type[0] != '\0')
		printf("  %s", o->key_type);
	if (o->cls == P11_OBJ_CERTIFICATE) {
		/* TRANSLATORS: a certificate's category: a CA's, or the token owner's own */
		printf("  %s", o->category == 2 ? _("CA") : o->category == 1 ? _("own") : "");
		p = o->der;
		if (o->der != NULL && (x = d2i_X509(NULL, &p, (long)o->der_len)) != NULL) {
			char *subj = X509_NAME_oneline(X509_get_subject_name(x), NULL, 0);

			printf(_("\n             subject %s"), subj != NULL ? subj : "?");
			OPENSSL_free(subj);
			X509_free(x);
		}
	} else if (o->cls == P11_OBJ_PUBLIC_KEY || o->cls == P11_OBJ_PRIVATE_KEY) {
		flags_text(o->flags, flags, sizeof(flags));
		printf("\n             %s", flags);
	}
	printf("\n");
}

int
cmd_list(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	struct p11_object_desc *o = NULL;
	struct p11_fail f;
	size_t n = 0;
	int rc, r;

	if ((rc = admin_find_target(a, &t, 0)) != AX_OK ||
	    (rc = admin_user_session(a, &t, &s)) != AX_OK)
		return rc;
	if ((r = p11_session_objects(s, &o, &n, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot list the token's objects"), r, &f);
	} else {
		printf(P_("token %s: %zu object\n", "token %s: %zu objects\n", n),
		    admin_token_name(&t.d.token), n);
		for (size_t i = 0; i < n; i++)
			object_print(&o[i]);
	}
	p11_objects_free(o, n);
	p11_session_close(s);
	return rc;
}

int
cmd_delete(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	struct p11_object_desc *o = NULL;
	struct p11_fail f;
	unsigned char *id = NULL;
	size_t id_len = 0, n = 0, hits = 0, deleted = 0;
	char hex[2 * 256 + 1];
	int rc, r, c;

	if (a->id_hex == NULL || hex_decode(a->id_hex, &id, &id_len) != KYSO_OK ||
	    id_len == 0 || id_len > 256) {
		free(id);
		fprintf(stderr, _("kyso-admin delete: --id HEX is required (the CKA_ID that kyso-admin "
		    "list shows)\n"));
		return AX_USAGE;
	}
	hex_encode(id, id_len, hex);
	if ((rc = admin_find_target(a, &t, 0)) != AX_OK ||
	    (rc = admin_user_session(a, &t, &s)) != AX_OK)
		goto out;
	if ((r = p11_session_objects(s, &o, &n, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot list the token's objects"), r, &f);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (o[i].id_len == id_len && memcmp(o[i].id, id, id_len) == 0) {
			if (hits++ == 0)
				printf(_("on token %s:\n"), admin_token_name(&t.d.token));
			object_print(&o[i]);
		}
	if (hits == 0) {
		fprintf(stderr, _("kyso-admin delete: token %s holds no object with id %s\n"),
		    admin_token_name(&t.d.token), hex);
		rc = AX_NOT_FOUND;
		goto out;
	}
	fflush(stdout);
	/* TRANSLATORS: the answer stays 'yes' (what the officer types is compared with it) */
	if (!a->yes && (c = admin_confirm(_("Delete these objects for ever? Type 'yes': "),
	    "yes")) != 1) {
		fprintf(stderr, _("kyso-admin delete: %s; nothing was deleted\n"), c < 0 ?
		    _("no terminal to confirm on: add --yes to delete without asking") :
		    _("not confirmed"));
		rc = AX_DECLINED;
		goto out;
	}
	r = p11_session_delete(s, id, id_len, ~0u, &deleted, &f);
	if (r != KYSO_OK) {
		rc = admin_fail(a, _("deleting"), r, &f);
		fprintf(stderr, P_("kyso-admin delete: %zu of %zu object was deleted before the "
		    "failure\n", "kyso-admin delete: %zu of %zu objects were deleted before the "
		    "failure\n", hits), deleted, hits);
		goto out;
	}
	printf(P_("deleted %zu object with id %s\n", "deleted %zu objects with id %s\n",
	    deleted), deleted, hex);
out:
	p11_objects_free(o, n);
	p11_session_close(s);
	free(id);
	return rc;
}
