/* admin_cmd_cert.c — kyso-admin csr (a PKCS#10 request signed on the token) and import-cert. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "admin.h"
#include "certmatch.h"
#include "csr.h"
#include "encode.h"
#include "kyso_err.h"
#include "secret.h"

#define FILE_MAX (1024 * 1024)

/* ---- csr ---- */

/* What the signing callback needs. */
struct csr_signer {
	struct admin *a;
	struct admin_target *t;
	struct p11_session *s;
	const unsigned char *id;
	size_t id_len;
	const struct kyso_secret *pin;  /* NULL: as admin_login */
	int rc;                         /* the exit code when the callback failed and said why */
};

/* The mechanism csr.h's table names for alg. */
static int
csr_mech(int alg, enum p11_mech *mech)
{
	switch (alg) {
	case CSR_SIGN_RSA_PKCS1_SHA256: *mech = P11_MECH_RSA_PKCS; return 0;
	case CSR_SIGN_ECDSA_SHA256:
	case CSR_SIGN_ECDSA_SHA384: *mech = P11_MECH_ECDSA; return 0;
	case CSR_SIGN_ED25519: *mech = P11_MECH_EDDSA; return 0;
	default: return -1;
	}
}

/* csr_sign_fn: logs in (only now: a bad subject never costs a PIN) and signs with C_Sign. */
static int
csr_sign_cb(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char **sig,
    size_t *siglen)
{
	struct csr_signer *c = ctx;
	struct p11_sign_req req = { .key_id = c->id, .key_id_len = c->id_len, .in = in,
		.in_len = len };
	struct p11_fail f;
	int r;

	*sig = NULL;
	if (csr_mech(alg, &req.mech) != 0)
		return KYSO_ERR_UNSUPPORTED_ALG;
	if (c->pin != NULL && (c->t->d.token.flags & P11_TOKEN_LOGIN_REQUIRED) &&
	    !p11_session_logged_in(c->s)) {
		if ((r = p11_session_login(c->s, c->pin, &f)) != KYSO_OK) {
			c->rc = admin_fail(c->a, _("user PIN"), r, &f);
			return r;
		}
	} else if ((c->rc = admin_login(c->a, c->t, c->s)) != AX_OK) {
		return KYSO_ERR_PIN_REQUIRED;
	}
	if ((r = p11_session_sign(c->s, &req, sig, siglen, &f)) != KYSO_OK) {
		c->rc = admin_fail(c->a, _("signing the request on the token"), r, &f);
		*sig = NULL;
		return r;
	}
	return KYSO_OK;
}

/* Exit code for a kyso_err from the admin library. */
static int
lib_exit(int r)
{
	switch (r) {
	case KYSO_ERR_INVALID_ARG: return AX_USAGE;
	case KYSO_ERR_UNSUPPORTED_ALG: return AX_REFUSED;
	case KYSO_ERR_KEY_NOT_FOUND: return AX_NOT_FOUND;
	case KYSO_ERR_TOKEN: return AX_TOKEN;
	default: return AX_ERROR;
	}
}

/* Writes text to path (NULL: standard output). */
static int
text_write(struct admin *a, const char *path, const char *text)
{
	FILE *f;
	int ok;

	if (path == NULL)
		return fputs(text, stdout) >= 0 && fflush(stdout) == 0 ? AX_OK : AX_ERROR;
	if ((f = fopen(path, "we")) == NULL) {
		fprintf(stderr, _("kyso-admin %s: cannot write %s: %s\n"), a->cmd, path,
		    strerror(errno));
		return AX_ERROR;
	}
	ok = fputs(text, f) >= 0;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		fprintf(stderr, _("kyso-admin %s: cannot write %s\n"), a->cmd, path);
		return AX_ERROR;
	}
	return AX_OK;
}

int
admin_csr_write(struct admin *a, struct admin_target *t, struct p11_session *s,
    const unsigned char *id, size_t id_len, const char *subject, const char *const *sans,
    size_t nsans, const struct kyso_secret *pin, const char *path)
{
	struct csr_signer c = { .a = a, .t = t, .s = s, .id = id, .id_len = id_len, .pin = pin,
		.rc = AX_OK };
	struct csr_params p = { .subject = subject, .sans = sans, .nsans = nsans,
		.sign = csr_sign_cb, .sign_ctx = &c };
	struct p11_pubkey k;
	struct p11_fail f;
	char err[512], hex[2 * 256 + 1] = "";
	char *pem = NULL;
	int r, rc;

	if (id_len <= 256)
		hex_encode(id, id_len, hex);
	r = p11_session_pubkey(s, id, id_len, &k, &f);
	if (r == KYSO_ERR_KEY_NOT_FOUND && !p11_session_logged_in(s) &&
	    (t->d.token.flags & P11_TOKEN_LOGIN_REQUIRED)) {
		/* no public key object: the private key's public half needs the login */
		if (pin != NULL) {
			if ((r = p11_session_login(s, pin, &f)) != KYSO_OK)
				return admin_fail(a, _("user PIN"), r, &f);
		} else if ((rc = admin_login(a, t, s)) != AX_OK) {
			return rc;
		}
		r = p11_session_pubkey(s, id, id_len, &k, &f);
	}
	if (r == KYSO_ERR_KEY_NOT_FOUND) {
		fprintf(stderr, _("kyso-admin %s: token %s holds no key with id %s (see kyso-admin "
		    "list)\n"), a->cmd, admin_token_name(&t->d.token), hex);
		return AX_NOT_FOUND;
	}
	if (r != KYSO_OK)
		return admin_fail(a, _("reading the public key"), r, &f);
	r = admin_pubkey_evp(&k, &p.pubkey);
	p11_pubkey_clear(&k);
	if (r != KYSO_OK)
		return admin_fail(a, _("building the public key with OpenSSL"), r, NULL);
	r = csr_make(&p, &pem, err, sizeof(err));
	EVP_PKEY_free(p.pubkey);
	if (r != KYSO_OK) {
		if (c.rc != AX_OK)
			return c.rc;  /* the callback said why */
		fprintf(stderr, _("kyso-admin %s: %s; no request was written\n"), a->cmd, err);
		return lib_exit(r);
	}
	rc = text_write(a, path, pem);
	free(pem);
	if (rc == AX_OK && path != NULL)
		fprintf(stderr, _("certificate request for key %s written to %s\n"), hex, path);
	return rc;
}

int
cmd_csr(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	X509_NAME *name = NULL;
	GENERAL_NAMES *gn = NULL;
	unsigned char *id = NULL;
	size_t id_len = 0;
	char err[512];
	int rc, r;

	if (a->key_hex == NULL || hex_decode(a->key_hex, &id, &id_len) != KYSO_OK ||
	    id_len == 0 || id_len > 256) {
		free(id);
		fprintf(stderr, _("kyso-admin csr: --key ID is required: the key's CKA_ID in hex "
		    "(kyso-admin list shows it)\n"));
		return AX_USAGE;
	}
	/* the subject and names are checked before the token is touched */
	if (a->subject == NULL) {
		fprintf(stderr, _("kyso-admin csr: --subject \"CN=...,O=...\" is required\n"));
		free(id);
		return AX_USAGE;
	}
	if ((r = csr_parse_subject(a->subject, &name, err, sizeof(err))) != KYSO_OK ||
	    (r = csr_parse_sans(a->sans, a->nsans, &gn, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, _("kyso-admin csr: %s\n"), err);
		X509_NAME_free(name);
		free(id);
		return lib_exit(r);
	}
	X509_NAME_free(name);
	GENERAL_NAMES_free(gn);
	if ((rc = admin_find_target(a, &t, 0)) == AX_OK &&
	    (rc = admin_open_session(a, &t, &s)) == AX_OK)
		rc = admin_csr_write(a, &t, s, id, id_len, a->subject, a->sans, a->nsans, NULL,
		    a->out);
	p11_session_close(s);
	free(id);
	return rc;
}

/* ---- import-cert ---- */

/* Reads a whole file (at most 1 MiB). */
static int
file_read(struct admin *a, const char *path, unsigned char **data, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	unsigned char *buf;
	size_t n;

	*data = NULL;
	if (f == NULL) {
		fprintf(stderr, _("kyso-admin %s: cannot open %s: %s\n"), a->cmd, path, strerror(errno));
		return AX_ERROR;
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return AX_ERROR;
	}
	n = fread(buf, 1, FILE_MAX + 1, f);
	if (ferror(f) || n > FILE_MAX) {
		fprintf(stderr, n > FILE_MAX ? _("kyso-admin %s: cannot read %s: larger than 1 "
		    "MiB\n") : _("kyso-admin %s: cannot read %s\n"), a->cmd, path);
		fclose(f);
		free(buf);
		return AX_ERROR;
	}
	fclose(f);
	*data = buf;
	*len = n;
	return AX_OK;
}

/* The token's keys: one entry per CKA_ID of a public or private key. */
struct token_keys {
	EVP_PKEY **pk;
	unsigned char **id;
	size_t *id_len;
	char **label;
	size_t n;
};

static void
token_keys_free(struct token_keys *k)
{
	for (size_t i = 0; i < k->n; i++) {
		EVP_PKEY_free(k->pk[i]);
		free(k->id[i]);
		free(k->label[i]);
	}
	free(k->pk);
	free(k->id);
	free(k->id_len);
	free(k->label);
	memset(k, 0, sizeof(*k));
}

/*
 * Collects the public keys of the token (p11_session_pubkey: the public key object, else
 * the private key's public attributes), with the label of the private key (else the
 * public key's).
 */
static int
token_keys_read(struct admin *a, struct p11_session *s, const struct p11_object_desc *o,
    size_t n, struct token_keys *k)
{
	memset(k, 0, sizeof(*k));
	if ((k->pk = calloc(n + 1, sizeof(*k->pk))) == NULL ||
	    (k->id = calloc(n + 1, sizeof(*k->id))) == NULL ||
	    (k->id_len = calloc(n + 1, sizeof(*k->id_len))) == NULL ||
	    (k->label = calloc(n + 1, sizeof(*k->label))) == NULL) {
		token_keys_free(k);
		fprintf(stderr, _("kyso-admin %s: out of memory\n"), a->cmd);
		return AX_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		struct p11_pubkey pub;
		struct p11_fail f;
		size_t j;

		if ((o[i].cls != P11_OBJ_PUBLIC_KEY && o[i].cls != P11_OBJ_PRIVATE_KEY) ||
		    o[i].id_len == 0)
			continue;
		for (j = 0; j < k->n; j++)
			if (k->id_len[j] == o[i].id_len &&
			    memcmp(k->id[j], o[i].id, o[i].id_len) == 0)
				break;
		if (j < k->n) {
			if (o[i].cls == P11_OBJ_PRIVATE_KEY && o[i].label[0] != '\0') {
				char *l = strdup(o[i].label);

				if (l != NULL) {
					free(k->label[j]);
					k->label[j] = l;
				}
			}
			continue;
		}
		if ((k->id[j] = malloc(o[i].id_len)) == NULL ||
		    (k->label[j] = strdup(o[i].label)) == NULL) {
			free(k->id[j]);
			k->id[j] = NULL;
			token_keys_free(k);
			return AX_ERROR;
		}
		memcpy(k->id[j], o[i].id, o[i].id_len);
		k->id_len[j] = o[i].id_len;
		k->n++;
		if (p11_session_pubkey(s, o[i].id, o[i].id_len, &pub, &f) == KYSO_OK) {
			if (admin_pubkey_evp(&pub, &k->pk[j]) != KYSO_OK)
				k->pk[j] = NULL;  /* a key OpenSSL cannot read matches nothing */
			p11_pubkey_clear(&pub);
		}
	}
	return AX_OK;
}

/* Whether a certificate with this DER is already on the token. */
static int
cert_on_token(const struct p11_object_desc *o, size_t n, const struct certmatch_cert *c)
{
	for (size_t i = 0; i < n; i++)
		if (o[i].cls == P11_OBJ_CERTIFICATE && o[i].der != NULL &&
		    o[i].der_len == c->der_len && memcmp(o[i].der, c->der, c->der_len) == 0)
			return 1;
	return 0;
}

/* The CKA_ID of a CA certificate: the SHA-1 of its SubjectPublicKeyInfo. */
static int
ca_id(const struct certmatch_cert *c, unsigned char id[SHA_DIGEST_LENGTH])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(c->pubkey, &der);
	int ok = len > 0 && SHA1(der, (size_t)len, id) != NULL;

	OPENSSL_free(der);
	return ok;
}

static struct p11_cert_store
store_of(const struct certmatch_cert *c)
{
	struct p11_cert_store st = { .der = c->der, .der_len = c->der_len, .subject = c->subject,
		.subject_len = c->subject_len, .issuer = c->issuer, .issuer_len = c->issuer_len,
		.serial = c->serial, .serial_len = c->serial_len, .label = c->label };

	return st;
}

/* Stores the chain certificates not on the token yet; *stored counts them. */
static int
chain_store(struct admin *a, struct p11_session *s, const struct certmatch_cert *chain,
    size_t nchain, const int *skip, size_t *stored)
{
	struct p11_fail f;
	unsigned char id[SHA_DIGEST_LENGTH];
	int r;

	for (size_t i = 0; i < nchain; i++) {
		struct p11_cert_store st = store_of(&chain[i]);

		if (skip[i])
			continue;
		if (!ca_id(&chain[i], id)) {
			fprintf(stderr, _("kyso-admin %s: cannot hash the key of chain certificate "
			    "'%s'\n"), a->cmd, chain[i].label);
			return AX_ERROR;
		}
		st.id = id;
		st.id_len = sizeof(id);
		st.ca = 1;
		if ((r = p11_session_store_cert(s, &st, &f)) != KYSO_OK)
			return admin_fail(a, _("storing a chain certificate"), r, &f);
		(*stored)++;
		printf(_("stored CA certificate '%s'\n"), chain[i].label);
	}
	return AX_OK;
}

int
cmd_import_cert(struct admin *a)
{
	struct admin_target t;
	struct p11_session *s = NULL;
	struct p11_object_desc *o = NULL;
	struct p11_fail f;
	struct certmatch_cert cert = { 0 }, *chain = NULL;
	struct token_keys k = { 0 };
	unsigned char *data = NULL;
	size_t len = 0, n = 0, nchain = 0, idx = 0, stored = 0;
	int *skip = NULL;
	char err[512], hex[2 * 256 + 1] = "";
	int rc, r;

	if (a->file == NULL) {
		fprintf(stderr, _("kyso-admin import-cert: --file F (the certificate, PEM or DER) is "
		    "required\n"));
		return AX_USAGE;
	}
	/* read and check everything before the token is touched */
	if ((rc = file_read(a, a->file, &data, &len)) != AX_OK)
		goto out;
	if ((r = certmatch_load(data, len, &cert, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, _("kyso-admin import-cert: %s: %s\n"), a->file, err);
		rc = lib_exit(r);
		goto out;
	}
	free(data);
	data = NULL;
	if (a->chain != NULL) {
		if ((rc = file_read(a, a->chain, &data, &len)) != AX_OK)
			goto out;
		if ((r = certmatch_load_chain(data, len, &chain, &nchain, err, sizeof(err))) !=
		    KYSO_OK) {
			fprintf(stderr, _("kyso-admin import-cert: %s: %s\n"), a->chain, err);
			rc = lib_exit(r);
			goto out;
		}
		if ((skip = calloc(nchain + 1, sizeof(*skip))) == NULL) {
			rc = AX_ERROR;
			goto out;
		}
	}
	if ((rc = admin_find_target(a, &t, 0)) != AX_OK ||
	    (rc = admin_user_session(a, &t, &s)) != AX_OK)
		goto out;
	if ((r = p11_session_objects(s, &o, &n, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot list the token's objects"), r, &f);
		goto out;
	}
	if ((rc = token_keys_read(a, s, o, n, &k)) != AX_OK)
		goto out;
	if ((r = certmatch_find_key(&cert, k.pk, k.n, &idx, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, _("kyso-admin import-cert: %s: %s %s; nothing was written\n"),
		    a->file, err, admin_token_name(&t.d.token));
		rc = r == KYSO_ERR_KEY_NOT_FOUND ? AX_NOT_FOUND : lib_exit(r);
		goto out;
	}
	if (k.id_len[idx] <= 256)
		hex_encode(k.id[idx], k.id_len[idx], hex);
	if (cert_on_token(o, n, &cert)) {
		fprintf(stderr, _("kyso-admin import-cert: certificate '%s' is already on token %s "
		    "(key %s); nothing was written (kyso-admin delete removes it)\n"), cert.label,
		    admin_token_name(&t.d.token), hex);
		rc = AX_DECLINED;
		goto out;
	}
	for (size_t i = 0; i < nchain; i++) {
		for (size_t j = 0; j < i && !skip[i]; j++)
			skip[i] = chain[j].der_len == chain[i].der_len &&
			    memcmp(chain[j].der, chain[i].der, chain[i].der_len) == 0;
		if (!skip[i] && cert_on_token(o, n, &chain[i])) {
			skip[i] = 1;
			printf(_("note: CA certificate '%s' is already on the token; skipped\n"),
			    chain[i].label);
		}
	}
	{
		struct p11_cert_store st = store_of(&cert);

		st.id = k.id[idx];
		st.id_len = k.id_len[idx];
		st.label = k.label[idx][0] != '\0' ? k.label[idx] : cert.label;
		if ((r = p11_session_store_cert(s, &st, &f)) != KYSO_OK) {
			rc = admin_fail(a, _("storing the certificate"), r, &f);
			goto out;
		}
		printf(_("stored certificate '%s' on token %s with key %s (id %s, label '%s')\n"),
		    cert.label, admin_token_name(&t.d.token), hex, hex, st.label);
	}
	if ((rc = chain_store(a, s, chain, nchain, skip, &stored)) != AX_OK)
		fprintf(stderr, P_("kyso-admin import-cert: the certificate and %zu CA "
		    "certificate were stored before the failure\n", "kyso-admin import-cert: the "
		    "certificate and %zu CA certificates were stored before the failure\n", stored),
		    stored);
out:
	token_keys_free(&k);
	p11_objects_free(o, n);
	p11_session_close(s);
	certmatch_cert_clear(&cert);
	certmatch_certs_free(chain, nchain);
	free(skip);
	free(data);
	return rc;
}
