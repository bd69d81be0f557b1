/* p11_sign.c — one signature: C_SignInit + C_Sign with the right mechanism. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "p11_internal.h"
#include "secret.h"

const CK_MECHANISM_TYPE p11_mech_ckm[P11_MECH_COUNT] = {
	[P11_MECH_RSA_PKCS] = CKM_RSA_PKCS,
	[P11_MECH_SHA256_RSA_PKCS] = CKM_SHA256_RSA_PKCS,
	[P11_MECH_SHA384_RSA_PKCS] = CKM_SHA384_RSA_PKCS,
	[P11_MECH_SHA512_RSA_PKCS] = CKM_SHA512_RSA_PKCS,
	[P11_MECH_RSA_PKCS_PSS] = CKM_RSA_PKCS_PSS,
	[P11_MECH_SHA256_RSA_PKCS_PSS] = CKM_SHA256_RSA_PKCS_PSS,
	[P11_MECH_SHA384_RSA_PKCS_PSS] = CKM_SHA384_RSA_PKCS_PSS,
	[P11_MECH_SHA512_RSA_PKCS_PSS] = CKM_SHA512_RSA_PKCS_PSS,
	[P11_MECH_ECDSA] = CKM_ECDSA,
	[P11_MECH_ECDSA_SHA256] = CKM_ECDSA_SHA256,
	[P11_MECH_ECDSA_SHA384] = CKM_ECDSA_SHA384,
	[P11_MECH_ECDSA_SHA512] = CKM_ECDSA_SHA512,
	[P11_MECH_EDDSA] = CKM_EDDSA,
};

static int
mech_is_pss(enum p11_mech m)
{
	return m >= P11_MECH_RSA_PKCS_PSS && m <= P11_MECH_SHA512_RSA_PKCS_PSS;
}

/* Fills the PSS parameters: MGF1 with the same hash, salt as long as the hash. */
static int
pss_params(unsigned bits, CK_RSA_PKCS_PSS_PARAMS *p)
{
	switch (bits) {
	case 256:
		p->hashAlg = CKM_SHA256;
		p->mgf = CKG_MGF1_SHA256;
		break;
	case 384:
		p->hashAlg = CKM_SHA384;
		p->mgf = CKG_MGF1_SHA384;
		break;
	case 512:
		p->hashAlg = CKM_SHA512;
		p->mgf = CKG_MGF1_SHA512;
		break;
	default:
		return KYSO_ERR_INVALID_ARG;
	}
	p->sLen = bits / 8;
	return KYSO_OK;
}

/*
 * Ends an operation C_SignInit started, after a failure between it and C_Sign: a C_Sign
 * with room for the whole signature ends it either way. If it cannot (no memory, or the
 * module still says the buffer is too small), the session is marked stuck and the
 * worker replaces it (p11_session_stuck).
 */
static void
sign_abandon(struct p11_session *s, const struct p11_sign_req *req)
{
	CK_ULONG n = 0;
	unsigned char *buf;
	CK_RV rv;

	if (s->m->fn->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)req->in, req->in_len, NULL, &n) !=
	    CKR_OK || n == 0 || n > 65536 || (buf = malloc(n)) == NULL) {
		s->stuck = 1;
		return;
	}
	rv = s->m->fn->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)req->in, req->in_len, buf, &n);
	s->stuck = rv == CKR_BUFFER_TOO_SMALL;
	free(buf);
}

/* The context-specific login a CKA_ALWAYS_AUTHENTICATE key needs after C_SignInit. */
static int
sign_context_login(struct p11_session *s, const struct p11_sign_req *req,
    struct p11_fail *fail)
{
	const struct kyso_secret *pin = req->context_pin;
	CK_RV rv;

	if (pin != NULL)
		rv = s->m->fn->C_Login(s->h, CKU_CONTEXT_SPECIFIC,
		    (CK_UTF8CHAR_PTR)(uintptr_t)secret_data(pin), (CK_ULONG)secret_len(pin));
	else  /* protected authentication path: the reader asks for the PIN */
		rv = s->m->fn->C_Login(s->h, CKU_CONTEXT_SPECIFIC, NULL, 0);
	if (rv != CKR_OK) {
		sign_abandon(s, req);
		return p11_fail_set(fail, "C_Login", rv);
	}
	return KYSO_OK;
}

/* C_SignInit (+ context login) + C_Sign (length query, then the signature). */
static int
sign_once(struct p11_session *s, CK_OBJECT_HANDLE key, int always_auth, CK_MECHANISM *mech,
    const struct p11_sign_req *req, unsigned char **sig, size_t *siglen,
    struct p11_fail *fail)
{
	CK_FUNCTION_LIST *fn = s->m->fn;
	CK_ULONG len = 0;
	unsigned char *buf;
	CK_RV rv;
	int r;

	if (always_auth && req->context_pin == NULL && !req->context_pin_pad)
		return KYSO_ERR_PIN_REQUIRED;  /* checked before C_SignInit: nothing to undo */
	if ((rv = fn->C_SignInit(s->h, mech, key)) != CKR_OK)
		return p11_fail_set(fail, "C_SignInit", rv);
	if (always_auth && (r = sign_context_login(s, req, fail)) != KYSO_OK)
		return r;
	rv = fn->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)req->in, req->in_len, NULL, &len);
	if (rv != CKR_OK)
		return p11_fail_set(fail, "C_Sign", rv);
	if (len == 0 || len > 16384 || (buf = malloc(len)) == NULL) {
		/* end the operation the length query left active; if that fails too, the
		 * session is replaced */
		sign_abandon(s, req);
		return len == 0 || len > 16384 ? p11_fail_set(fail, "C_Sign", CKR_GENERAL_ERROR)
		    : KYSO_ERR_NOMEM;
	}
	rv = fn->C_Sign(s->h, (CK_BYTE_PTR)(uintptr_t)req->in, req->in_len, buf, &len);
	if (rv != CKR_OK) {
		free(buf);
		if (rv == CKR_BUFFER_TOO_SMALL)  /* the module lied about the length */
			sign_abandon(s, req);
		return p11_fail_set(fail, "C_Sign", rv);
	}
	*sig = buf;
	*siglen = len;
	return KYSO_OK;
}

int
p11_session_key_always_auth(struct p11_session *s, const unsigned char *id, size_t id_len)
{
	CK_OBJECT_HANDLE key;
	struct p11_fail f;
	int always_auth = 0;

	return p11_key_find(s, id, id_len, &key, &always_auth, &f) == KYSO_OK && always_auth;
}

int
p11_session_sign(struct p11_session *s, const struct p11_sign_req *req,
    unsigned char **sig, size_t *siglen, struct p11_fail *fail)
{
	CK_RSA_PKCS_PSS_PARAMS pss;
	CK_MECHANISM mech = { 0, NULL, 0 };
	CK_OBJECT_HANDLE key;
	int r, always_auth = 0;

	*sig = NULL;
	*siglen = 0;
	p11_fail_clear(fail);
	if ((unsigned)req->mech >= P11_MECH_COUNT)
		return KYSO_ERR_INVALID_ARG;
	mech.mechanism = p11_mech_ckm[req->mech];
	if (mech_is_pss(req->mech)) {
		if ((r = pss_params(req->pss_hash_bits, &pss)) != KYSO_OK)
			return r;
		mech.pParameter = &pss;
		mech.ulParameterLen = sizeof(pss);
	}
	if ((r = p11_key_find(s, req->key_id, req->key_id_len, &key, &always_auth, fail)) != KYSO_OK)
		return r;
	r = sign_once(s, key, always_auth, &mech, req, sig, siglen, fail);
	if (r == KYSO_ERR_TOKEN && (fail->ckr == CKR_KEY_HANDLE_INVALID ||
	    fail->ckr == CKR_OBJECT_HANDLE_INVALID)) {
		/* the cached handle went stale (objects changed): look the key up again */
		p11_keys_forget(s);
		if ((r = p11_key_find(s, req->key_id, req->key_id_len, &key, &always_auth, fail)) != KYSO_OK)
			return r;
		r = sign_once(s, key, always_auth, &mech, req, sig, siglen, fail);
	}
	return r;
}

int
p11_session_sign_many(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail)
{
	struct p11_sign_req one = *req;
	int r = KYSO_OK;
	size_t i;

	for (i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	if (n > P11_SIGN_MANY_MAX) {
		p11_fail_clear(fail);
		return KYSO_ERR_INVALID_ARG;
	}
	one.context_pin = NULL;
	one.context_pin_pad = 0;
	one.in_len = in_len;
	for (i = 0; i < n && r == KYSO_OK; i++) {
		one.in = ins + i * in_len;
		r = p11_session_sign(s, &one, &sigs[i], &siglens[i], fail);
	}
	if (r == KYSO_OK)
		return KYSO_OK;
	for (i = 0; i < n; i++) {
		if (sigs[i] != NULL)
			explicit_bzero(sigs[i], siglens[i]);
		free(sigs[i]);
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	return r;
}

/* In this process the signing is done in _send; its outcome waits here for _recv. */
struct p11_sign_many_call {
	size_t n;
	int r;
	struct p11_fail fail;
	unsigned char **sigs;
	size_t *lens;
};

int
p11_session_sign_many_send(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, struct p11_sign_many_call **out,
    struct p11_fail *fail)
{
	struct p11_sign_many_call *c;

	*out = NULL;
	p11_fail_clear(fail);
	if (n == 0 || n > P11_SIGN_MANY_MAX)
		return KYSO_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->sigs = calloc(n, sizeof(*c->sigs))) ==
	    NULL || (c->lens = calloc(n, sizeof(*c->lens))) == NULL) {
		if (c != NULL)
			free(c->sigs);
		free(c);
		return KYSO_ERR_NOMEM;
	}
	c->n = n;
	c->r = p11_session_sign_many(s, req, ins, in_len, n, c->sigs, c->lens, &c->fail);
	*out = c;
	return KYSO_OK;
}

int
p11_session_sign_many_recv(struct p11_sign_many_call *c, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail)
{
	int r = c->r;

	memcpy(sigs, c->sigs, c->n * sizeof(*sigs));
	memcpy(siglens, c->lens, c->n * sizeof(*siglens));
	*fail = c->fail;
	free(c->sigs);
	free(c->lens);
	free(c);
	return r;
}

/* In this process the signature is made in _send; it waits here for _recv. */
struct p11_sign_call {
	int r;
	struct p11_fail fail;
	unsigned char *sig;
	size_t len;
};

int
p11_session_sign_send(struct p11_session *s, const struct p11_sign_req *req,
    struct p11_sign_call **out, struct p11_fail *fail)
{
	struct p11_sign_call *c;

	*out = NULL;
	p11_fail_clear(fail);
	if (req->context_pin != NULL || req->context_pin_pad)
		return KYSO_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	c->r = p11_session_sign(s, req, &c->sig, &c->len, &c->fail);
	*out = c;
	return KYSO_OK;
}

int
p11_session_sign_recv(struct p11_sign_call *c, unsigned char **sig, size_t *siglen,
    struct p11_fail *fail)
{
	int r = c->r;

	*sig = c->sig;
	*siglen = c->len;
	*fail = c->fail;
	free(c);
	return r;
}
