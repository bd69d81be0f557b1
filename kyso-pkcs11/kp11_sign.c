/*
 * kp11_sign.c — C_SignInit, C_Sign, C_SignUpdate, C_SignFinal: every signature is one
 * kysod Sign (its policy, its dialogs, its audit record), and comes back in the form a
 * module on the token itself returns (ECDSA as r||s).
 *
 * What the program gives becomes what kysod takes: a DigestInfo (CKM_RSA_PKCS) is read
 * and its digest sent with rsa-pkcs1v15-shaN; a hash (CKM_ECDSA, CKM_RSA_PKCS_PSS) is sent
 * as the digest; the hash-and-sign mechanisms hash here, with OpenSSL (also over several
 * C_SignUpdate calls), and send the digest; CKM_EDDSA sends the document (kept here over
 * several C_SignUpdate calls, up to what one call to kysod carries). A length query
 * (no output buffer) does not reach the agent; a buffer too small for a signature already
 * made keeps it, so the program's second call does not sign (and audit) twice.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "encode.h"
#include "kp11_v3.h"
#include "kyso_err.h"

struct kp_sign_op {
	const struct kp_mech *mech;
	char *cert;                  /* how kysod is told which key: its certificate id or
	                              * (the same certificate on two tokens) its key URI */
	unsigned algs;               /* what kysod accepts for this key */
	unsigned pss_bits;           /* CKM_RSA_PKCS_PSS: the hash its parameters name */
	size_t sig_len;
	EVP_MD_CTX *md;              /* hash-and-sign mechanisms */
	int updated;                 /* C_SignUpdate was called */
	char *pin;                   /* a context-specific login's PIN (locked memory) */
	size_t pin_len;
	unsigned char *data;         /* EdDSA over several C_SignUpdate calls: the document */
	size_t data_len;
	unsigned char *sig;          /* made, not yet delivered (the buffer was too small) */
	size_t siglen;
	unsigned char made_for[SHA256_DIGEST_LENGTH];  /* SHA-256 of what sig signs */
};

static void
pin_wipe(struct kp_sign_op *op)
{
	if (op->pin == NULL)
		return;
	explicit_bzero(op->pin, op->pin_len + 1);
	(void)munlock(op->pin, op->pin_len + 1);
	free(op->pin);
	op->pin = NULL;
	op->pin_len = 0;
}

void
kp_sign_free(struct kp_sign_op *op)
{
	if (op == NULL)
		return;
	pin_wipe(op);
	EVP_MD_CTX_free(op->md);
	free(op->data);
	free(op->cert);
	free(op->sig);
	free(op);
}

CK_RV
kp_sign_context_pin(struct kp_sign_op *op, const char *pin, size_t len)
{
	pin_wipe(op);
	if (len > KP_PIN_MAX)
		return CKR_PIN_LEN_RANGE;
	if ((op->pin = malloc(len + 1)) == NULL)
		return CKR_HOST_MEMORY;
	(void)mlock(op->pin, len + 1);
	memcpy(op->pin, pin, len);
	op->pin[len] = '\0';
	op->pin_len = len;
	/* kysod's protocol is JSON text: a PIN that is not UTF-8 cannot be sent */
	for (size_t i = 0, n; i < len; i += n)
		if ((n = utf8_seq((const unsigned char *)op->pin + i)) == 0) {
			pin_wipe(op);
			return CKR_PIN_INVALID;
		}
	return CKR_OK;
}

static const EVP_MD *
md_of(unsigned bits)
{
	return bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : bits == 512 ?
	    EVP_sha512() : NULL;
}

/* How the certificate is named to kysod: its id, unless another token has it too. */
static char *
cert_ref(const struct kp_slot *mine, const struct kp_cert *c)
{
	for (size_t i = 0; i < kp.nslots; i++) {
		const struct kp_slot *s = &kp.slots[i];

		if (s == mine || !s->present)
			continue;
		for (size_t k = 0; k < s->ncerts; k++)
			if (strcmp(s->certs[k].id, c->id) == 0)
				return strdup(c->key_uri);
	}
	return strdup(c->id);
}

/* Checks the mechanism against the key. */
static CK_RV
mech_check(const CK_MECHANISM *m, const struct kp_mech *mech, const struct kp_cert *c,
    unsigned *pss_bits)
{
	CK_RV rv;

	*pss_bits = 0;
	if (mech == NULL)
		return CKR_MECHANISM_INVALID;
	if (mech->key != c->key)
		return CKR_KEY_TYPE_INCONSISTENT;
	if (!kp_mech_usable(mech, c->algs))
		return CKR_MECHANISM_INVALID;
	switch (mech->family) {
	case KP_FAM_PSS:
		if ((rv = kp_pss_check(m, mech->hash_bits, pss_bits)) != CKR_OK)
			return rv;
		return c->algs & KP_ALG_BIT(kp_mech_alg(KP_FAM_PSS, *pss_bits)) ? CKR_OK :
		    CKR_MECHANISM_PARAM_INVALID;
	case KP_FAM_EDDSA:
		return kp_eddsa_check(m);
	default:
		return m->pParameter == NULL && m->ulParameterLen == 0 ? CKR_OK :
		    CKR_MECHANISM_PARAM_INVALID;
	}
}

CK_RV
C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
	struct kp_sign_op *op = NULL;
	const struct kp_mech *mech;
	struct kp_session *se;
	struct kp_object *o;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	kp_sub_drain();  /* a token pulled out, or the agent gone: the session is over */
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	if (pMechanism == NULL) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (se->sign != NULL) {
		rv = CKR_OPERATION_ACTIVE;
		goto out;
	}
	if ((o = kp_object_get(se, hKey)) == NULL || o->cls == CKO_CERTIFICATE) {
		rv = CKR_KEY_HANDLE_INVALID;
		goto out;
	}
	if (o->cls != CKO_PRIVATE_KEY) {
		rv = CKR_KEY_FUNCTION_NOT_PERMITTED;  /* a public key does not sign */
		goto out;
	}
	mech = kp_mech_find(pMechanism->mechanism);
	if ((op = calloc(1, sizeof(*op))) == NULL) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	if ((rv = mech_check(pMechanism, mech, o->cert, &op->pss_bits)) != CKR_OK) {
		kp_log("C_SignInit: mechanism 0x%lx with key %s: %s",
		    (unsigned long)pMechanism->mechanism, o->cert->id, kp_ckr_name(rv));
		goto out;
	}
	op->mech = mech;
	op->algs = o->cert->algs;
	op->sig_len = kp_sig_len(o->cert->key, o->cert->key_bits);
	if ((op->cert = cert_ref(kp_slot_get(se->slot), o->cert)) == NULL ||
	    (mech->hash_bits != 0 && ((op->md = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(op->md, md_of(mech->hash_bits), NULL) != 1))) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	se->sign = op;
	op = NULL;
out:
	kp_sign_free(op);
	kp_leave();
	return rv;
}

/* What kysod is asked to sign. */
struct sign_req {
	int alg;
	const unsigned char *in;
	size_t len;
	int is_data, raw;
	unsigned char digest[EVP_MAX_MD_SIZE];
};

/* The digest of a hash-and-sign mechanism, from the data or the C_SignUpdate calls. */
static CK_RV
req_hash(struct kp_sign_op *op, const unsigned char *data, size_t len, struct sign_req *r)
{
	unsigned int n = 0;

	memset(r, 0, sizeof(*r));
	if ((data != NULL && EVP_DigestUpdate(op->md, data, len) != 1) ||
	    EVP_DigestFinal_ex(op->md, r->digest, &n) != 1)
		return CKR_FUNCTION_FAILED;
	r->alg = kp_mech_alg(op->mech->family, op->mech->hash_bits);
	r->in = r->digest;
	r->len = n;
	r->raw = op->mech->family == KP_FAM_ECDSA;
	return CKR_OK;
}

/* Turns C_Sign's input into kysod's request (single-part). */
static CK_RV
req_build(struct kp_sign_op *op, const unsigned char *data, size_t len, struct sign_req *r)
{
	const unsigned char *digest;
	unsigned bits;
	int di;

	if (op->mech->hash_bits != 0)
		return req_hash(op, data, len, r);
	memset(r, 0, sizeof(*r));
	switch (op->mech->family) {
	case KP_FAM_PKCS1:
		if ((di = kp_digestinfo_parse(data, len, &bits, &digest)) != KP_DI_OK) {
			kp_log("C_Sign CKM_RSA_PKCS: %s", di == KP_DI_SHA1 ? "a SHA-1 DigestInfo: "
			    "SHA-1 signatures are refused" : "the input is not a DigestInfo of "
			    "SHA-256, SHA-384 or SHA-512");
			return CKR_DATA_INVALID;
		}
		r->alg = kp_mech_alg(KP_FAM_PKCS1, bits);
		r->in = digest;
		r->len = bits / 8;
		break;
	case KP_FAM_PSS:
		if (len != op->pss_bits / 8)
			return CKR_DATA_LEN_RANGE;
		r->alg = kp_mech_alg(KP_FAM_PSS, op->pss_bits);
		r->in = data;
		r->len = len;
		break;
	case KP_FAM_ECDSA:
		/* the hash of SHA-256, SHA-384 or SHA-512: kysod refuses SHA-1 and others */
		if (len != 32 && len != 48 && len != 64) {
			kp_log("C_Sign CKM_ECDSA: a %zu-byte input is not a SHA-256/384/512 hash",
			    len);
			return CKR_DATA_LEN_RANGE;
		}
		r->alg = kp_mech_alg(KP_FAM_ECDSA, (unsigned)len * 8);
		r->in = data;
		r->len = len;
		r->raw = 1;
		break;
	case KP_FAM_EDDSA:
		if (len > KP_MAX_DATA)
			return CKR_DATA_LEN_RANGE;
		r->alg = KP_ALG_ED25519;
		r->in = data;
		r->len = len;
		r->is_data = 1;
		break;
	default:
		return CKR_FUNCTION_FAILED;
	}
	if (!(op->algs & KP_ALG_BIT(r->alg))) {
		kp_log("C_Sign: %s is not possible with this key", kp_alg_name(r->alg));
		return CKR_DATA_INVALID;
	}
	return CKR_OK;
}

/* Ends the operation of session se. */
static void
op_end(struct kp_session *se)
{
	kp_sign_free(se->sign);
	se->sign = NULL;
}

/*
 * Hands over the signature the operation holds, and ends the operation; or, with too
 * little room, says how much is needed and keeps it for the program's next call.
 */
static CK_RV
kept_deliver(struct kp_session *se, CK_BYTE_PTR out, CK_ULONG_PTR outlen)
{
	struct kp_sign_op *op = se->sign;

	if (*outlen < op->siglen) {
		*outlen = op->siglen;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(out, op->sig, op->siglen);
	*outlen = op->siglen;
	op_end(se);
	return CKR_OK;
}

/*
 * The common end of C_Sign and C_SignFinal, lock held: delivers a signature already
 * made, or asks kysod (unlocked) and delivers. hash is the SHA-256 of the request.
 */
static CK_RV
sign_deliver(struct kp_session *se, const struct sign_req *r, CK_BYTE_PTR out,
    CK_ULONG_PTR outlen)
{
	struct kp_sign_op *op = se->sign;
	unsigned long epoch = kp.epoch;
	unsigned char hash[SHA256_DIGEST_LENGTH], *sig = NULL;
	struct kp_slot *s;
	struct kp_fail f;
	size_t siglen = 0;
	int e;
	CK_RV rv;

	SHA256(r->in != NULL ? r->in : (const unsigned char *)"", r->len, hash);
	if (op->sig == NULL || memcmp(op->made_for, hash, sizeof(hash)) != 0) {
		free(op->sig);
		op->sig = NULL;
		se->busy = 1;
		kp_leave();
		e = kp_agent_sign(op->cert, kp_alg_name(r->alg), r->in, r->len, r->is_data, r->raw,
		    op->pin, &sig, &siglen, &f);
		pthread_mutex_lock(&kp.mu);
		if (kp_still(epoch) != CKR_OK || se->h == CK_INVALID_HANDLE) {
			/* C_Finalize or C_CloseSession meanwhile: nobody wants the signature */
			free(sig);
			kp_session_done(se);
			return kp_still(epoch) != CKR_OK ? CKR_CRYPTOKI_NOT_INITIALIZED :
			    CKR_SESSION_CLOSED;
		}
		se->busy = 0;
		if (e != KYSO_OK) {
			rv = kp_ckr(e, f.detail, KP_OP_SIGN);
			kp_log("C_Sign with %s (%s): %s -> %s", op->cert, kp_alg_name(r->alg),
			    f.message, kp_ckr_name(rv));
			/* kysod wants a PIN it could not ask for: the program logs in again */
			if (rv == CKR_USER_NOT_LOGGED_IN && (s = kp_slot_get(se->slot)) != NULL)
				s->app_logged_in = 0;
			op_end(se);
			return rv;
		}
		op->sig = sig;
		op->siglen = siglen;
		memcpy(op->made_for, hash, sizeof(hash));
	}
	return kept_deliver(se, out, outlen);
}

/* The checks C_Sign and C_SignFinal share. Returns CKR_OK with *out, or an error. */
static CK_RV
sign_session(CK_SESSION_HANDLE h, CK_ULONG_PTR outlen, struct kp_session **out)
{
	CK_RV rv;

	if ((rv = kp_session_get(h, out)) != CKR_OK)
		return rv;
	if ((*out)->sign == NULL)
		return CKR_OPERATION_NOT_INITIALIZED;
	if ((*out)->busy)
		return CKR_OPERATION_ACTIVE;  /* another thread signs on this session */
	if (outlen == NULL) {
		op_end(*out);
		return CKR_ARGUMENTS_BAD;
	}
	return CKR_OK;
}

CK_RV
C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
    CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	struct kp_session *se;
	struct sign_req r;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = sign_session(hSession, pulSignatureLen, &se)) != CKR_OK)
		goto out;
	if (pData == NULL && ulDataLen > 0) {
		op_end(se);
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	if (se->sign->updated) {
		rv = CKR_OPERATION_ACTIVE;  /* a multi-part operation ends with C_SignFinal */
		goto out;
	}
	if (pSignature == NULL) {
		*pulSignatureLen = se->sign->siglen > 0 ? se->sign->siglen : se->sign->sig_len;
		goto out;
	}
	if (se->sign->sig == NULL && *pulSignatureLen < se->sign->sig_len) {
		*pulSignatureLen = se->sign->sig_len;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	if (se->sign->md != NULL && se->sign->sig != NULL) {
		/* a retry after CKR_BUFFER_TOO_SMALL: the hash is done; the signature waits */
		rv = kept_deliver(se, pSignature, pulSignatureLen);
		goto out;
	}
	if ((rv = req_build(se->sign, pData, ulDataLen, &r)) != CKR_OK) {
		op_end(se);
		goto out;
	}
	rv = sign_deliver(se, &r, pSignature, pulSignatureLen);
out:
	kp_leave();
	return rv;
}

/* Keeps a part of an EdDSA document, up to what one call to kysod can carry. */
static CK_RV
data_append(struct kp_sign_op *op, const unsigned char *p, size_t len)
{
	unsigned char *d;

	if (len > KP_MAX_DATA - op->data_len)
		return CKR_DATA_LEN_RANGE;
	if (len == 0)
		return CKR_OK;
	if ((d = realloc(op->data, op->data_len + len)) == NULL)
		return CKR_HOST_MEMORY;
	memcpy(d + op->data_len, p, len);
	op->data = d;
	op->data_len += len;
	return CKR_OK;
}

CK_RV
C_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	struct kp_session *se;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = kp_session_get(hSession, &se)) != CKR_OK)
		goto out;
	if (se->sign == NULL) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
	} else if (se->busy) {
		rv = CKR_OPERATION_ACTIVE;
	} else if (se->sign->md == NULL && se->sign->mech->family != KP_FAM_EDDSA) {
		/* the raw mechanisms are single-part, as on the token */
		op_end(se);
		rv = CKR_FUNCTION_NOT_SUPPORTED;
	} else if (pPart == NULL && ulPartLen > 0) {
		op_end(se);
		rv = CKR_ARGUMENTS_BAD;
	} else if (se->sign->sig != NULL) {
		rv = CKR_OPERATION_ACTIVE;  /* the signature is made: only C_SignFinal is left */
	} else if (se->sign->md == NULL) {
		/* EdDSA signs the document itself: it is kept until C_SignFinal */
		rv = data_append(se->sign, pPart, ulPartLen);
		if (rv != CKR_OK)
			op_end(se);
		else
			se->sign->updated = 1;
	} else if (ulPartLen > 0 && EVP_DigestUpdate(se->sign->md, pPart, ulPartLen) != 1) {
		op_end(se);
		rv = CKR_FUNCTION_FAILED;
	} else {
		se->sign->updated = 1;
	}
out:
	kp_leave();
	return rv;
}

CK_RV
C_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
    CK_ULONG_PTR pulSignatureLen)
{
	struct kp_session *se;
	struct sign_req r;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = sign_session(hSession, pulSignatureLen, &se)) != CKR_OK)
		goto out;
	if (se->sign->md == NULL && se->sign->mech->family != KP_FAM_EDDSA) {
		op_end(se);
		rv = CKR_FUNCTION_NOT_SUPPORTED;
		goto out;
	}
	if (pSignature == NULL) {
		*pulSignatureLen = se->sign->siglen > 0 ? se->sign->siglen : se->sign->sig_len;
		goto out;
	}
	if (se->sign->sig != NULL) {  /* the retry after CKR_BUFFER_TOO_SMALL */
		rv = kept_deliver(se, pSignature, pulSignatureLen);
		goto out;
	}
	if (*pulSignatureLen < se->sign->sig_len) {
		*pulSignatureLen = se->sign->sig_len;
		rv = CKR_BUFFER_TOO_SMALL;
		goto out;
	}
	if (se->sign->md == NULL)  /* EdDSA: the document kept from the parts */
		rv = req_build(se->sign, se->sign->data, se->sign->data_len, &r);
	else
		rv = req_hash(se->sign, NULL, 0, &r);
	if (rv != CKR_OK) {
		op_end(se);
		goto out;
	}
	rv = sign_deliver(se, &r, pSignature, pulSignatureLen);
out:
	kp_leave();
	return rv;
}

/* PKCS#11 3.0: ends the session's signature operation (CKF_SIGN). */
CK_RV
C_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	struct kp_session *se;
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if ((rv = kp_session_get(hSession, &se)) == CKR_OK && (flags & CKF_SIGN) &&
	    se->sign != NULL) {
		if (se->busy)
			rv = KP_CKR_OPERATION_CANCEL_FAILED;  /* kysod is at work: it cannot be recalled */
		else
			op_end(se);
	}
	kp_leave();
	return rv;
}
