/* inventory.c — tokens and certificates known to the agent, and lookups by name. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "encode.h"
#include "inventory.h"
#include "kyso_err.h"
#include "log.h"

/* A token's id: the first 16 hex digits of SHA-256(manufacturer, model, serial). */
void
inventory_token_id(struct p11_module *m, const struct p11_token_desc *d, char id[17])
{
	unsigned char md[32];
	char buf[512];
	int n;

	if (d->serial[0] != '\0')
		n = snprintf(buf, sizeof(buf), "%s%c%s%c%s", d->manufacturer, 0, d->model, 0,
		    d->serial);
	else  /* no serial: identify by where it sits */
		n = snprintf(buf, sizeof(buf), "%s%c%s%c%s%c%lu", d->manufacturer, 0, d->model,
		    0, p11_module_path(m), 0, d->slot);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	EVP_Digest(buf, (size_t)n, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, 8, id);
}

int
inventory_add_token(struct inventory *inv, struct p11_module *m,
    const struct p11_token_desc *d, struct token **out)
{
	struct token *t, **tail;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return KYSO_ERR_NOMEM;
	t->module = m;
	t->desc = *d;
	t->visible = 1;
	inventory_token_id(m, d, t->id);
	for (tail = &inv->tokens; *tail != NULL; tail = &(*tail)->next)
		;
	*tail = t;
	inv->ntokens++;
	*out = t;
	return KYSO_OK;
}

void
inventory_set_desc(struct token *t, const struct p11_token_desc *d)
{
	t->desc = *d;
}

static void
certs_free(struct cert *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		certinfo_clear(&c[i].ci);
		free(c[i].key_id);
		free(c[i].label);
		free(c[i].key_label);
		free(c[i].key_uri);
		free(c[i].der);
		json_decref(c[i].json);
	}
	free(c);
}

json_t *
inventory_cert_algorithms(const struct cert *c)
{
	const struct alg *all;
	size_t n = alg_all(&all);
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (alg_usable(&all[i], c->ci.key_type, c->token->desc.mechs))
			json_array_append_new(a, json_string(all[i].name));
	return a;
}

static void
add_usage(const char *name, void *arg)
{
	json_array_append_new(arg, json_string(name));
}

static json_t *
cert_json(const struct cert *c, const unsigned char *der, size_t der_len)
{
	json_t *usage = json_array(), *o;
	char *b64 = b64_encode(der, der_len);

	if (usage != NULL)
		certinfo_key_usages(&c->ci, add_usage, usage);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:o, s:b,"
	    " s:b, s:o, s:s}",
	    "id", c->ci.id, "token", c->token->id, "key_uri", c->key_uri, "label", c->label,
	    "subject", c->ci.subject, "issuer", c->ci.issuer, "serial", c->ci.serial,
	    "not_before", c->ci.not_before, "not_after", c->ci.not_after,
	    "key_type", certinfo_key_type_name(c->ci.key_type), "key_bits", c->ci.key_bits,
	    "curve", c->ci.curve, "key_usage", usage != NULL ? usage : json_array(),
	    "can_sign", c->can_sign, "always_authenticate", c->always_auth, "algorithms",
	    c->can_sign ? inventory_cert_algorithms(c) : json_array(), "der",
	    b64 != NULL ? b64 : "");
	free(b64);
	return o;
}

/*
 * Whether the token can sign with the certificate's key. Private keys are often hidden
 * until login: then a public key with the same CKA_ID stands in for it.
 */
static int
cert_can_sign(const struct token *t, const struct p11_cert_desc *d)
{
	if (d->has_private_key)
		return d->key_can_sign;
	return !t->logged_in && (t->desc.flags & P11_TOKEN_LOGIN_REQUIRED) &&
	    d->has_public_key;
}

int
inventory_set_certs(struct token *t, const struct p11_cert_desc *c, size_t n)
{
	struct cert *nc = NULL;
	size_t got = 0;

	if (n > 0 && (nc = calloc(n, sizeof(*nc))) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct cert *x = &nc[got];
		int r = certinfo_parse(c[i].der, c[i].der_len, &x->ci);

		if (r == KYSO_ERR_INVALID_ARG) {
			log_warn("token %s: certificate '%s' is not valid X.509; skipped",
			    t->desc.label, c[i].label);
			continue;
		}
		x->token = t;
		if (r != KYSO_OK ||
		    (x->label = strdup(c[i].label)) == NULL ||
		    (c[i].id_len > 0 && (x->key_id = malloc(c[i].id_len)) == NULL) ||
		    (c[i].key_label != NULL &&
		    (x->key_label = strdup(c[i].key_label)) == NULL) ||
		    (x->key_uri = p11_uri_for_key(&t->desc, c[i].id, c[i].id_len,
		    c[i].key_label)) == NULL ||
		    (x->der = malloc(c[i].der_len > 0 ? c[i].der_len : 1)) == NULL) {
			got++;
			certs_free(nc, got);
			return KYSO_ERR_NOMEM;
		}
		if (c[i].id_len > 0)
			memcpy(x->key_id, c[i].id, c[i].id_len);
		x->key_id_len = c[i].id_len;
		memcpy(x->der, c[i].der, c[i].der_len);
		x->der_len = c[i].der_len;
		x->can_sign = cert_can_sign(t, &c[i]);
		x->always_auth = c[i].key_always_auth;
		if ((x->json = cert_json(x, c[i].der, c[i].der_len)) == NULL) {
			log_warn("token %s: certificate '%s' cannot be listed; skipped",
			    t->desc.label, c[i].label);
			certinfo_clear(&x->ci);
			free(x->label);
			free(x->key_label);
			free(x->key_uri);
			free(x->key_id);
			free(x->der);
			memset(x, 0, sizeof(*x));
			continue;
		}
		got++;
	}
	certs_free(t->certs, t->ncerts);
	t->certs = nc;
	t->ncerts = got;
	return KYSO_OK;
}

json_t *
inventory_token_json(const struct token *t)
{
	const struct p11_token_desc *d = &t->desc;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:b, "
	    "s:b}",
	    "id", t->id, "label", d->label, "manufacturer", d->manufacturer, "model", d->model,
	    "serial", d->serial, "module", p11_module_path(t->module), "slot_description",
	    d->slot_description, "logged_in", t->logged_in,
	    "login_required", !!(d->flags & P11_TOKEN_LOGIN_REQUIRED),
	    "protected_auth_path", !!(d->flags & P11_TOKEN_PROTECTED_AUTH_PATH),
	    "user_pin_count_low", !!(d->flags & P11_TOKEN_USER_PIN_COUNT_LOW),
	    "user_pin_final_try", !!(d->flags & P11_TOKEN_USER_PIN_FINAL_TRY),
	    "user_pin_locked", !!(d->flags & P11_TOKEN_USER_PIN_LOCKED),
	    "user_pin_to_be_changed", !!(d->flags & P11_TOKEN_USER_PIN_TO_BE_CHANGED));
}

int
inventory_find_token(const struct inventory *inv, const char *ref, struct token **out,
    char *why, size_t whylen)
{
	struct token *found = NULL;
	int matches = 0;

	*out = NULL;
	/* an exact id wins over labels and serials */
	for (struct token *t = inv->tokens; t != NULL; t = t->next)
		if (t->visible && strcmp(t->id, ref) == 0) {
			*out = t;
			return KYSO_OK;
		}
	for (struct token *t = inv->tokens; t != NULL; t = t->next)
		if (t->visible && (strcmp(t->desc.serial, ref) == 0 ||
		    strcmp(t->desc.label, ref) == 0)) {
			found = t;
			matches++;
		}
	if (matches == 0)
		return KYSO_ERR_NO_SUCH_TOKEN;
	if (matches > 1) {
		snprintf(why, whylen, "'%.*s' matches %d tokens; use the token id",
		    utf8_prefix(ref, 64), ref,
		    matches);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	*out = found;
	return KYSO_OK;
}

static int
is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F')))
			return 0;
	return 1;
}

static int
find_cert_by_uri(const struct inventory *inv, const char *ref, struct cert **out, char *why,
    size_t whylen)
{
	struct p11_uri_key u;
	struct cert *found = NULL;
	int matches = 0;

	if (p11_uri_parse_key(ref, &u) != KYSO_OK || !u.type_private_ok) {
		snprintf(why, whylen, "not a usable PKCS#11 key URI (it must name a private "
		    "key by id or object label)");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	for (struct token *t = inv->tokens; t != NULL; t = t->next) {
		if (!t->visible || !p11_uri_match_token(&u, &t->desc))
			continue;
		for (size_t i = 0; i < t->ncerts; i++) {
			struct cert *c = &t->certs[i];

			if (u.id_len > 0 && (c->key_id_len != u.id_len ||
			    memcmp(c->key_id, u.id, u.id_len) != 0))
				continue;
			/* object= names the key; a key whose label is hidden (before login)
			 * is matched by its certificate's label */
			if (u.object[0] != '\0' && strcmp(c->key_label != NULL ? c->key_label :
			    c->label, u.object) != 0)
				continue;
			found = c;
			matches++;
		}
	}
	if (matches == 0)
		return KYSO_ERR_NO_SUCH_CERT;
	if (matches > 1) {
		snprintf(why, whylen, "the URI matches %d keys; add id= or token= to it",
		    matches);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	*out = found;
	return KYSO_OK;
}

int
inventory_find_cert(const struct inventory *inv, const char *ref, struct cert **out,
    char *why, size_t whylen)
{
	struct cert *found = NULL;
	size_t len = strlen(ref);
	int matches = 0;

	*out = NULL;
	if (strncmp(ref, "pkcs11:", 7) == 0)
		return find_cert_by_uri(inv, ref, out, why, whylen);
	if (len < 8 || len > 64 || !is_hex(ref)) {
		snprintf(why, whylen, "expected a certificate id (64 hex digits, or a unique "
		    "prefix of at least 8) or a pkcs11: URI");
		return KYSO_ERR_INVALID_PARAMETER;
	}
	for (struct token *t = inv->tokens; t != NULL; t = t->next)
		for (size_t i = 0; t->visible && i < t->ncerts; i++)
			if (strncasecmp(t->certs[i].ci.id, ref, len) == 0) {
				/* the same certificate on two tokens is two matches */
				found = &t->certs[i];
				matches++;
			}
	if (matches == 0)
		return KYSO_ERR_NO_SUCH_CERT;
	if (matches > 1) {
		snprintf(why, whylen, "'%.*s' matches %d certificates; give more digits",
		    utf8_prefix(ref, 64), ref,
		    matches);
		return KYSO_ERR_INVALID_PARAMETER;
	}
	*out = found;
	return KYSO_OK;
}

void
inventory_reap(struct inventory *inv)
{
	struct token **pp = &inv->tokens, *t;

	while ((t = *pp) != NULL) {
		if (t->gone && t->pending == 0) {
			*pp = t->next;
			certs_free(t->certs, t->ncerts);
			free(t);
			inv->ntokens--;
		} else {
			pp = &t->next;
		}
	}
}

void
inventory_free(struct inventory *inv)
{
	struct token *t, *next;

	for (t = inv->tokens; t != NULL; t = next) {
		next = t->next;
		certs_free(t->certs, t->ncerts);
		free(t);
	}
	inv->tokens = NULL;
	inv->ntokens = 0;
}
