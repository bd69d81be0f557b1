/*
 * test_inventory.c — agent/inventory.h: token ids, lookups by id, prefix, label, serial
 * and key URI, and the Certificate objects, on an inventory built by hand (no token I/O).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "encode.h"
#include "idl.h"
#include "inventory.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "p11_internal.h"  /* struct p11_module, to give a token a module path */
#include "testcerts.h"

#define BIT(m) P11_MECH_BIT(m)

static EVP_PKEY *k_rsa, *k_ec, *k_ed, *k_shared;

struct fixture {
	struct inventory inv;
	struct token *t1, *t2, *t3;
	unsigned char *der_rsa, *der_ec, *der_ed, *der_shared;
	size_t len_rsa, len_ec, len_ed, len_shared;
	char id_rsa[65], id_ec[65], id_ed[65], id_shared[65];
};

static const unsigned char ID_RSA[] = { 0x01 }, ID_EC[] = { 0x02 }, ID_ED[] = { 0x03, 0x00 },
	ID_SHARED[] = { 0x0a };

/* softhsm-like: raw mechanisms only, no EdDSA; login required */
#define T1_MECHS (BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_RSA_PKCS_PSS) | BIT(P11_MECH_ECDSA))
/* combined SHA-256 mechanisms only, and EdDSA */
#define T2_MECHS (BIT(P11_MECH_SHA256_RSA_PKCS) | BIT(P11_MECH_ECDSA_SHA256) | \
	BIT(P11_MECH_EDDSA))


static unsigned char *
make_der(EVP_PKEY *key, const char *cn, const char *serial, size_t *len, char id[65])
{
	struct tc_spec spec = {
		.subject_cn = cn, .subject_o = "Acme", .issuer_cn = "Acme CA",
		.serial_hex = serial, .not_before = 1735787045, .not_after = 2871763199,
		.key_usage = TC_KU(TC_KU_DIGITAL_SIGNATURE) | TC_KU(TC_KU_NON_REPUDIATION),
	};
	unsigned char *der = tc_cert_der(key, &spec, len);

	assert_non_null(der);
	tc_sha256_hex(der, *len, id);
	return der;
}

static int
setup_keys(void **state)
{
	(void)state;
	/* the skipped garbage certificate is logged as a warning: keep the output clean */
	log_init("test_uri", LOG_LVL_ERROR, 0);
	k_rsa = tc_key("RSA", NULL, 2048);
	k_ec = tc_key("EC", "P-256", 0);
	k_ed = tc_key("ED25519", NULL, 0);
	k_shared = tc_key("EC", "P-384", 0);
	return k_rsa && k_ec && k_ed && k_shared ? 0 : -1;
}

static int
teardown_keys(void **state)
{
	(void)state;
	EVP_PKEY_free(k_rsa);
	EVP_PKEY_free(k_ec);
	EVP_PKEY_free(k_ed);
	EVP_PKEY_free(k_shared);
	return 0;
}

/*
 * t1 "Token One" SER1: rsa, (garbage), ec, ed, shared — login required
 * t2 "Token Two" SER2: shared
 * t3 "Token One" SER3: no certificates
 */
static int
setup_inventory(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct p11_token_desc d1 = desc("Token One", "Acme", "M1", "SER1", 1,
	    P11_TOKEN_LOGIN_REQUIRED, T1_MECHS);
	struct p11_token_desc d2 = desc("Token Two", "Acme", "M1", "SER2", 2, 0, T2_MECHS);
	struct p11_token_desc d3 = desc("Token One", "Other", "M9", "SER3", 3, 0, ~0u);
	struct p11_cert_desc c1[5], c2[1];

	if (f == NULL)
		return -1;
	f->der_rsa = make_der(k_rsa, "RSA Signer", "1001", &f->len_rsa, f->id_rsa);
	f->der_ec = make_der(k_ec, "EC Signer", "1002", &f->len_ec, f->id_ec);
	f->der_ed = make_der(k_ed, "Ed Signer", "1003", &f->len_ed, f->id_ed);
	f->der_shared = make_der(k_shared, "Shared", "1004", &f->len_shared, f->id_shared);
	if (inventory_add_token(&f->inv, NULL, &d1, &f->t1) != KYSO_OK ||
	    inventory_add_token(&f->inv, NULL, &d2, &f->t2) != KYSO_OK ||
	    inventory_add_token(&f->inv, NULL, &d3, &f->t3) != KYSO_OK)
		return -1;
	c1[0] = cdesc(f->der_rsa, f->len_rsa, ID_RSA, sizeof(ID_RSA), "rsa key", 1, 1, 1);
	c1[1] = cdesc((unsigned char *)"not a certificate", 17, ID_RSA, 1, "garbage", 1, 1, 1);
	c1[2] = cdesc(f->der_ec, f->len_ec, ID_EC, sizeof(ID_EC), "ec key", 1, 0, 1);
	/* private key hidden until login: the public key stands in */
	c1[3] = cdesc(f->der_ed, f->len_ed, ID_ED, sizeof(ID_ED), "ed key", 0, 1, 0);
	c1[4] = cdesc(f->der_shared, f->len_shared, ID_SHARED, 1, "shared key", 1, 1, 1);
	c2[0] = cdesc(f->der_shared, f->len_shared, ID_SHARED, 1, "shared key", 1, 1, 1);
	c2[0].key_label = (char *)(uintptr_t)"shared key";  /* the key's label is known here */
	if (inventory_set_certs(f->t1, c1, 5) != KYSO_OK ||
	    inventory_set_certs(f->t2, c2, 1) != KYSO_OK)
		return -1;
	*state = f;
	return 0;
}

static int
teardown_inventory(void **state)
{
	struct fixture *f = *state;

	inventory_free(&f->inv);
	assert_null(f->inv.tokens);
	assert_int_equal(f->inv.ntokens, 0);
	OPENSSL_free(f->der_rsa);
	OPENSSL_free(f->der_ec);
	OPENSSL_free(f->der_ed);
	OPENSSL_free(f->der_shared);
	free(f);
	return 0;
}

static void
expect_token_id(const struct token *t, const void *material, size_t len)
{
	unsigned char md[32];
	char want[17];

	assert_int_equal(EVP_Digest(material, len, md, NULL, EVP_sha256(), NULL), 1);
	hex_encode(md, 8, want);
	assert_string_equal(t->id, want);
}

static void
test_inv_token_ids(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(f->inv.ntokens, 3);
	assert_ptr_equal(f->inv.tokens, f->t1);
	assert_ptr_equal(f->t1->next, f->t2);
	assert_ptr_equal(f->t2->next, f->t3);
	assert_null(f->t3->next);
	/* first 16 hex digits of SHA-256(manufacturer NUL model NUL serial) */
	expect_token_id(f->t1, "Acme\0M1\0SER1", 12);
	expect_token_id(f->t2, "Acme\0M1\0SER2", 12);
	expect_token_id(f->t3, "Other\0M9\0SER3", 13);
	assert_int_equal(strlen(f->t1->id), 16);
	assert_string_not_equal(f->t1->id, f->t2->id);
}

static void
test_inv_token_without_serial(void **state)
{
	char path[] = "/usr/lib/fake-pkcs11.so";
	struct p11_module fake = { NULL, path, 0 };
	struct p11_token_desc d = desc("No Serial", "Acme", "M1", "", 7,
	    P11_TOKEN_LOGIN_REQUIRED | P11_TOKEN_USER_PIN_FINAL_TRY, 0);
	struct inventory inv = { NULL, 0 };
	struct token *t;
	json_t *o;
	char *s;

	(void)state;
	assert_int_equal(inventory_add_token(&inv, &fake, &d, &t), KYSO_OK);
	/* identified by where it sits: module path and slot */
	expect_token_id(t, "Acme\0M1\0/usr/lib/fake-pkcs11.so\0" "7", 33);
	assert_ptr_equal(t->module, &fake);
	t->logged_in = 1;
	o = inventory_token_json(t);
	assert_non_null(o);
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	{
		char want[1024];

		snprintf(want, sizeof(want), "{\"id\":\"%s\",\"label\":\"No Serial\","
		    "\"logged_in\":true,\"login_required\":true,\"manufacturer\":\"Acme\","
		    "\"model\":\"M1\",\"module\":\"/usr/lib/fake-pkcs11.so\","
		    "\"protected_auth_path\":false,\"serial\":\"\",\"slot_description\":"
		    "\"slot 7\",\"user_pin_count_low\":false,\"user_pin_final_try\":true,"
		    "\"user_pin_locked\":false,\"user_pin_to_be_changed\":false}", t->id);
		assert_string_equal(s, want);
	}
	free(s);
	json_decref(o);
	inventory_free(&inv);
}

static void
test_inv_find_token(void **state)
{
	struct fixture *f = *state;
	struct token *t = (struct token *)&t;
	char why[256] = "";

	assert_int_equal(inventory_find_token(&f->inv, f->t1->id, &t, why, sizeof(why)),
	    KYSO_OK);
	assert_ptr_equal(t, f->t1);
	assert_int_equal(inventory_find_token(&f->inv, f->t3->id, &t, why, sizeof(why)),
	    KYSO_OK);
	assert_ptr_equal(t, f->t3);
	assert_int_equal(inventory_find_token(&f->inv, "SER2", &t, why, sizeof(why)), KYSO_OK);
	assert_ptr_equal(t, f->t2);
	assert_int_equal(inventory_find_token(&f->inv, "SER3", &t, why, sizeof(why)), KYSO_OK);
	assert_ptr_equal(t, f->t3);
	assert_int_equal(inventory_find_token(&f->inv, "Token Two", &t, why, sizeof(why)),
	    KYSO_OK);
	assert_ptr_equal(t, f->t2);
	/* two tokens share the label */
	t = (struct token *)&t;
	assert_int_equal(inventory_find_token(&f->inv, "Token One", &t, why, sizeof(why)),
	    KYSO_ERR_INVALID_PARAMETER);
	assert_null(t);
	assert_string_equal(why, "'Token One' matches 2 tokens; use the token id");
	/* exact matches only */
	t = (struct token *)&t;
	assert_int_equal(inventory_find_token(&f->inv, "token two", &t, why, sizeof(why)),
	    KYSO_ERR_NO_SUCH_TOKEN);
	assert_null(t);
	assert_int_equal(inventory_find_token(&f->inv, "SER", &t, why, sizeof(why)),
	    KYSO_ERR_NO_SUCH_TOKEN);
	assert_int_equal(inventory_find_token(&f->inv, "nope", &t, why, sizeof(why)),
	    KYSO_ERR_NO_SUCH_TOKEN);
	/* an id prefix is not an id */
	{
		char prefix[9];

		memcpy(prefix, f->t1->id, 8);
		prefix[8] = '\0';
		assert_int_equal(inventory_find_token(&f->inv, prefix, &t, why, sizeof(why)),
		    KYSO_ERR_NO_SUCH_TOKEN);
	}
}

static void
test_inv_find_token_id_wins(void **state)
{
	struct p11_token_desc a = desc("First", "Acme", "M1", "A1", 0, 0, 0);
	struct p11_token_desc b;
	struct inventory inv = { NULL, 0 };
	struct token *ta, *tb, *t;
	char why[128];

	(void)state;
	assert_int_equal(inventory_add_token(&inv, NULL, &a, &ta), KYSO_OK);
	/* a second token whose label is the first one's id */
	b = desc(ta->id, "Acme", "M1", "B1", 0, 0, 0);
	assert_int_equal(inventory_add_token(&inv, NULL, &b, &tb), KYSO_OK);
	assert_int_equal(inventory_find_token(&inv, ta->id, &t, why, sizeof(why)), KYSO_OK);
	assert_ptr_equal(t, ta);
	inventory_free(&inv);
}

static const struct cert *
cert_by_id(const struct token *t, const char *id)
{
	for (size_t i = 0; i < t->ncerts; i++)
		if (strcmp(t->certs[i].ci.id, id) == 0)
			return &t->certs[i];
	return NULL;
}

static void
test_inv_certs_stored(void **state)
{
	struct fixture *f = *state;
	const struct cert *c;
	char *uri;

	/* the garbage entry was skipped; order kept */
	assert_int_equal(f->t1->ncerts, 4);
	assert_string_equal(f->t1->certs[0].ci.id, f->id_rsa);
	assert_string_equal(f->t1->certs[1].ci.id, f->id_ec);
	assert_string_equal(f->t1->certs[2].ci.id, f->id_ed);
	assert_string_equal(f->t1->certs[3].ci.id, f->id_shared);
	assert_int_equal(f->t2->ncerts, 1);
	assert_int_equal(f->t3->ncerts, 0);

	c = &f->t1->certs[0];
	assert_ptr_equal(c->token, f->t1);
	assert_string_equal(c->label, "rsa key");
	assert_int_equal(c->key_id_len, 1);
	assert_memory_equal(c->key_id, ID_RSA, 1);
	/* the key's own label is unknown here (key_label NULL): the URI names it by id */
	assert_null(c->key_label);
	uri = p11_uri_for_key(&f->t1->desc, ID_RSA, 1, NULL);
	assert_string_equal(c->key_uri, uri);
	assert_null(strstr(c->key_uri, "object="));
	free(uri);
	c = &f->t1->certs[2];
	assert_int_equal(c->key_id_len, 2);
	assert_memory_equal(c->key_id, ID_ED, 2);
	c = &f->t2->certs[0];
	assert_ptr_equal(c->token, f->t2);
	uri = p11_uri_for_key(&f->t2->desc, ID_SHARED, 1, "shared key");
	assert_string_equal(c->key_uri, uri);
	free(uri);
}

/* The names of the fields of a type in the IDL, in order. */
static size_t
idl_fields(const char *type, char names[][32], size_t max)
{
	char head[64];
	const char *p, *end;
	size_t n = 0;

	snprintf(head, sizeof(head), "type %s (", type);
	p = strstr(idl_io_kyso_agent, head);
	assert_non_null(p);
	p += strlen(head);
	end = strstr(p, "\n)");
	assert_non_null(end);
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p) + 1);
		const char *q = p, *colon;

		while (*q == ' ')
			q++;
		colon = strchr(q, ':');
		if (*q != '#' && colon != NULL && colon < eol && n < max) {
			snprintf(names[n], 32, "%.*s", (int)(colon - q), q);
			n++;
		}
		p = eol + 1;
	}
	return n;
}

static void
expect_strings(json_t *arr, const char *const *want, size_t n)
{
	assert_true(json_is_array(arr));
	if (json_array_size(arr) != n) {
		char *s = json_dumps(arr, JSON_COMPACT);

		fail_msg("%s has %zu entries, wanted %zu", s, json_array_size(arr), n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(json_string_value(json_array_get(arr, i)), want[i]);
}

static const char *const KU[] = { "digitalSignature", "nonRepudiation" };

static void
test_inv_cert_json(void **state)
{
	static const char *const rsa_t1[] = { "rsa-pkcs1v15-sha256", "rsa-pkcs1v15-sha384",
		"rsa-pkcs1v15-sha512", "rsa-pss-sha256", "rsa-pss-sha384", "rsa-pss-sha512" };
	struct fixture *f = *state;
	const struct cert *c = &f->t1->certs[0];
	json_t *o = c->json;
	char names[32][32];
	size_t nfields = idl_fields("Certificate", names, 32);
	unsigned char *der;
	size_t derlen;
	struct certinfo ci;

	/* exactly the fields the interface declares */
	assert_int_equal(nfields, 17);
	assert_int_equal(json_object_size(o), nfields);
	for (size_t i = 0; i < nfields; i++)
		if (json_object_get(o, names[i]) == NULL)
			fail_msg("Certificate field '%s' missing", names[i]);
	assert_string_equal(json_string_value(json_object_get(o, "id")), f->id_rsa);
	assert_string_equal(json_string_value(json_object_get(o, "token")), f->t1->id);
	assert_string_equal(json_string_value(json_object_get(o, "key_uri")), c->key_uri);
	assert_string_equal(json_string_value(json_object_get(o, "label")), "rsa key");
	assert_string_equal(json_string_value(json_object_get(o, "subject")),
	    "CN=RSA Signer,O=Acme");
	assert_string_equal(json_string_value(json_object_get(o, "issuer")), "CN=Acme CA");
	assert_string_equal(json_string_value(json_object_get(o, "serial")), "1001");
	assert_string_equal(json_string_value(json_object_get(o, "not_before")),
	    "2025-01-02T03:04:05Z");
	assert_string_equal(json_string_value(json_object_get(o, "not_after")),
	    "2060-12-31T23:59:59Z");
	assert_string_equal(json_string_value(json_object_get(o, "key_type")), "rsa");
	assert_int_equal(json_integer_value(json_object_get(o, "key_bits")), 2048);
	assert_string_equal(json_string_value(json_object_get(o, "curve")), "");
	expect_strings(json_object_get(o, "key_usage"), KU, 2);
	assert_true(json_is_true(json_object_get(o, "can_sign")));
	assert_true(json_is_false(json_object_get(o, "always_authenticate")));
	expect_strings(json_object_get(o, "algorithms"), rsa_t1, 6);
	/* der: base64 of the very certificate */
	assert_int_equal(b64_decode(json_string_value(json_object_get(o, "der")), &der,
	    &derlen), KYSO_OK);
	assert_int_equal(derlen, f->len_rsa);
	assert_memory_equal(der, f->der_rsa, derlen);
	assert_int_equal(certinfo_parse(der, derlen, &ci), KYSO_OK);
	certinfo_clear(&ci);
	free(der);
}

static void
test_inv_cert_algorithms(void **state)
{
	static const char *const ec_t1[] = { "ecdsa-sha256", "ecdsa-sha384", "ecdsa-sha512" };
	static const char *const rsa_t2[] = { "rsa-pkcs1v15-sha256" };
	static const char *const ec_t2[] = { "ecdsa-sha256" };
	static const char *const ed_t2[] = { "ed25519" };
	struct fixture *f = *state;
	const struct cert *c;
	json_t *a;

	/* P-256 on t1 (CKM_ECDSA only) */
	c = &f->t1->certs[1];
	assert_string_equal(json_string_value(json_object_get(c->json, "key_type")), "ec");
	assert_string_equal(json_string_value(json_object_get(c->json, "curve")), "P-256");
	assert_int_equal(json_integer_value(json_object_get(c->json, "key_bits")), 256);
	expect_strings(json_object_get(c->json, "algorithms"), ec_t1, 3);
	/* Ed25519 on t1: no EdDSA mechanism, so nothing to sign with */
	c = &f->t1->certs[2];
	assert_string_equal(json_string_value(json_object_get(c->json, "key_type")),
	    "ed25519");
	assert_string_equal(json_string_value(json_object_get(c->json, "curve")), "Ed25519");
	expect_strings(json_object_get(c->json, "algorithms"), NULL, 0);
	/* P-384 on t2 (only the combined SHA-256 mechanism) */
	c = &f->t2->certs[0];
	assert_string_equal(json_string_value(json_object_get(c->json, "curve")), "P-384");
	expect_strings(json_object_get(c->json, "algorithms"), ec_t2, 1);

	/* inventory_cert_algorithms follows the token's mechanisms */
	{
		struct cert fake = f->t1->certs[0];  /* RSA */

		fake.token = f->t2;
		a = inventory_cert_algorithms(&fake);
		expect_strings(a, rsa_t2, 1);
		json_decref(a);
		fake = f->t1->certs[2];  /* Ed25519 */
		fake.token = f->t2;
		a = inventory_cert_algorithms(&fake);
		expect_strings(a, ed_t2, 1);
		json_decref(a);
		fake.token = f->t3;  /* every mechanism */
		fake.ci.key_type = KEY_OTHER;
		a = inventory_cert_algorithms(&fake);
		expect_strings(a, NULL, 0);
		json_decref(a);
	}
}

static void
test_inv_can_sign(void **state)
{
	struct fixture *f = *state;
	struct p11_token_desc dl = desc("L", "Acme", "M1", "L1", 0, P11_TOKEN_LOGIN_REQUIRED,
	    T1_MECHS);
	struct p11_token_desc dn = desc("N", "Acme", "M1", "N1", 0, 0, T1_MECHS);
	struct inventory inv = { NULL, 0 };
	struct token *tl, *tn;
	struct p11_cert_desc c[5];
	static const struct {
		int priv, pub, key_can_sign;
		int want_login, want_login_logged_in, want_nologin;
	} cases[] = {
		{ 1, 1, 1, 1, 1, 1 },  /* private key that signs */
		{ 1, 0, 1, 1, 1, 1 },
		{ 1, 1, 0, 0, 0, 0 },  /* private key with CKA_SIGN false */
		{ 0, 1, 0, 1, 0, 0 },  /* only the public key: hidden private key */
		{ 0, 0, 0, 0, 0, 0 },  /* no key at all */
	};

	assert_int_equal(inventory_add_token(&inv, NULL, &dl, &tl), KYSO_OK);
	assert_int_equal(inventory_add_token(&inv, NULL, &dn, &tn), KYSO_OK);
	for (size_t i = 0; i < 5; i++)
		c[i] = cdesc(f->der_ec, f->len_ec, ID_EC, 1, "k", cases[i].priv, cases[i].pub,
		    cases[i].key_can_sign);
	assert_int_equal(inventory_set_certs(tl, c, 5), KYSO_OK);
	assert_int_equal(inventory_set_certs(tn, c, 5), KYSO_OK);
	assert_int_equal(tl->ncerts, 5);
	for (size_t i = 0; i < 5; i++) {
		json_t *o = tl->certs[i].json;

		if (tl->certs[i].can_sign != cases[i].want_login)
			fail_msg("case %zu on a login-required token: can_sign %d", i,
			    tl->certs[i].can_sign);
		assert_int_equal(json_is_true(json_object_get(o, "can_sign")),
		    cases[i].want_login);
		/* no signing, no algorithms */
		assert_int_equal(json_array_size(json_object_get(o, "algorithms")),
		    cases[i].want_login ? 3 : 0);
		if (tn->certs[i].can_sign != cases[i].want_nologin)
			fail_msg("case %zu on a token without login: can_sign %d", i,
			    tn->certs[i].can_sign);
	}
	/* once logged in, a missing private key is really missing */
	tl->logged_in = 1;
	assert_int_equal(inventory_set_certs(tl, c, 5), KYSO_OK);
	for (size_t i = 0; i < 5; i++)
		if (tl->certs[i].can_sign != cases[i].want_login_logged_in)
			fail_msg("case %zu logged in: can_sign %d", i, tl->certs[i].can_sign);
	/* replacing with nothing */
	assert_int_equal(inventory_set_certs(tl, NULL, 0), KYSO_OK);
	assert_int_equal(tl->ncerts, 0);
	inventory_free(&inv);
}

static void
expect_find(const struct fixture *f, const char *ref, int want, const struct cert *want_c,
    const char *want_why)
{
	struct cert *c = (struct cert *)&c;
	char why[256] = "";
	int r = inventory_find_cert(&f->inv, ref, &c, why, sizeof(why));

	if (r != want)
		fail_msg("'%s': returned %d, wanted %d (%s)", ref, r, want, why);
	if (want == KYSO_OK)
		assert_ptr_equal(c, want_c);
	else
		assert_null(c);
	if (want_why != NULL && strstr(why, want_why) == NULL)
		fail_msg("'%s': \"%s\" lacks \"%s\"", ref, why, want_why);
}

static void
test_inv_find_cert_by_id(void **state)
{
	struct fixture *f = *state;
	const struct cert *rsa = cert_by_id(f->t1, f->id_rsa);
	const struct cert *ed = cert_by_id(f->t1, f->id_ed);
	char ref[80];

	assert_non_null(rsa);
	assert_non_null(ed);
	expect_find(f, f->id_rsa, KYSO_OK, rsa, NULL);
	expect_find(f, f->id_ed, KYSO_OK, ed, NULL);
	/* either case */
	for (size_t i = 0; i <= 64; i++)
		ref[i] = (char)(f->id_rsa[i] >= 'a' ? f->id_rsa[i] - 'a' + 'A' : f->id_rsa[i]);
	expect_find(f, ref, KYSO_OK, rsa, NULL);
	/* a prefix of 8 digits and more */
	snprintf(ref, sizeof(ref), "%.8s", f->id_rsa);
	expect_find(f, ref, KYSO_OK, rsa, NULL);
	snprintf(ref, sizeof(ref), "%.20s", f->id_ed);
	expect_find(f, ref, KYSO_OK, ed, NULL);
}

static void
test_inv_find_cert_bad_refs(void **state)
{
	struct fixture *f = *state;
	char ref[80];

	snprintf(ref, sizeof(ref), "%.7s", f->id_rsa);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, "at least 8");
	expect_find(f, "", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	snprintf(ref, sizeof(ref), "%s0", f->id_rsa);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, NULL);  /* 65 digits */
	expect_find(f, "zzzzzzzz", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	snprintf(ref, sizeof(ref), "%.8s:", f->id_rsa);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	snprintf(ref, sizeof(ref), "%.8s ", f->id_rsa);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	snprintf(ref, sizeof(ref), "g%.63s", f->id_rsa + 1);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	/* well-formed but unknown: flip the first digit of an id until nothing matches */
	for (const char *d = "0123456789abcdef"; *d; d++) {
		int used = 0;

		snprintf(ref, sizeof(ref), "%c%.63s", *d, f->id_rsa + 1);
		for (const struct token *t = f->inv.tokens; t != NULL; t = t->next)
			for (size_t i = 0; i < t->ncerts; i++)
				if (strncmp(t->certs[i].ci.id, ref, 8) == 0)
					used = 1;
		if (!used)
			break;
	}
	expect_find(f, ref, KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	ref[8] = '\0';
	expect_find(f, ref, KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
}

static void
test_inv_find_cert_on_two_tokens(void **state)
{
	struct fixture *f = *state;
	char ref[80];

	expect_find(f, f->id_shared, KYSO_ERR_INVALID_PARAMETER, NULL,
	    "matches 2 certificates");
	snprintf(ref, sizeof(ref), "%.8s", f->id_shared);
	expect_find(f, ref, KYSO_ERR_INVALID_PARAMETER, NULL, "matches 2 certificates");
}

static void
test_inv_find_cert_by_uri(void **state)
{
	struct fixture *f = *state;
	const struct cert *rsa = &f->t1->certs[0], *ec = &f->t1->certs[1];
	const struct cert *ed = &f->t1->certs[2];
	const struct cert *sh1 = &f->t1->certs[3], *sh2 = &f->t2->certs[0];

	expect_find(f, rsa->key_uri, KYSO_OK, rsa, NULL);
	expect_find(f, ec->key_uri, KYSO_OK, ec, NULL);
	expect_find(f, sh1->key_uri, KYSO_OK, sh1, NULL);
	expect_find(f, sh2->key_uri, KYSO_OK, sh2, NULL);
	expect_find(f, "pkcs11:id=%01", KYSO_OK, rsa, NULL);
	expect_find(f, "pkcs11:id=%03%00", KYSO_OK, ed, NULL);
	expect_find(f, "pkcs11:id=%03", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);  /* whole ids */
	expect_find(f, "pkcs11:id=%01;type=private", KYSO_OK, rsa, NULL);
	expect_find(f, "pkcs11:object=ec%20key", KYSO_OK, ec, NULL);
	expect_find(f, "pkcs11:object=ec%20key;id=%02", KYSO_OK, ec, NULL);
	expect_find(f, "pkcs11:object=ec%20key;id=%01", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	expect_find(f, "pkcs11:object=ec", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	expect_find(f, "pkcs11:token=Token%20One;id=%01", KYSO_OK, rsa, NULL);
	expect_find(f, "pkcs11:serial=SER1;id=%01", KYSO_OK, rsa, NULL);
	expect_find(f, "pkcs11:serial=SER2;id=%01", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	expect_find(f, "pkcs11:manufacturer=Other;id=%01", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	expect_find(f, "pkcs11:id=%77", KYSO_ERR_NO_SUCH_CERT, NULL, NULL);
	/* the same key on two tokens: the URI must say which */
	expect_find(f, "pkcs11:id=%0a", KYSO_ERR_INVALID_PARAMETER, NULL, "matches 2 keys");
	expect_find(f, "pkcs11:object=shared%20key", KYSO_ERR_INVALID_PARAMETER, NULL,
	    "matches 2 keys");
	expect_find(f, "pkcs11:token=Token%20Two;id=%0a", KYSO_OK, sh2, NULL);
	expect_find(f, "pkcs11:serial=SER1;id=%0a", KYSO_OK, sh1, NULL);
	/* not key URIs */
	expect_find(f, "pkcs11:id=%01;type=cert", KYSO_ERR_INVALID_PARAMETER, NULL,
	    "not a usable PKCS#11 key URI");
	expect_find(f, "pkcs11:id=%01;type=public", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	expect_find(f, "pkcs11:token=Token%20One", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	expect_find(f, "pkcs11:", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
	expect_find(f, "pkcs11:id=%zz", KYSO_ERR_INVALID_PARAMETER, NULL, NULL);
}

/* A token label no token can have must not select a key on some other token. */
static void
test_inv_find_cert_uri_overlong_token(void **state)
{
	static const char *const refs[] = {
		"pkcs11:token=Token%20One%20with%20a%20label%20that%20is%20far%20too%20long;id=%01",
		"pkcs11:id=%01;type=bogus",
	};
	struct fixture *f = *state;

	for (size_t i = 0; i < sizeof(refs) / sizeof(refs[0]); i++) {
		struct cert *c = NULL;
		char why[256] = "";
		int r = inventory_find_cert(&f->inv, refs[i], &c, why, sizeof(why));

		if (r == KYSO_OK)
			fail_msg("'%s' selected the key '%s' on token '%s'", refs[i], c->label,
			    c->token->desc.label);
		assert_true(r == KYSO_ERR_INVALID_PARAMETER || r == KYSO_ERR_NO_SUCH_CERT);
		assert_null(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inv_token_ids, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test(test_inv_token_without_serial),
		cmocka_unit_test_setup_teardown(test_inv_find_token, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test(test_inv_find_token_id_wins),
		cmocka_unit_test_setup_teardown(test_inv_certs_stored, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_cert_json, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_cert_algorithms, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_can_sign, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_find_cert_by_id, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_find_cert_bad_refs, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_find_cert_on_two_tokens, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_find_cert_by_uri, setup_inventory,
		    teardown_inventory),
		cmocka_unit_test_setup_teardown(test_inv_find_cert_uri_overlong_token,
		    setup_inventory, teardown_inventory),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}
