/* admin_pubkey.c — an OpenSSL public key from the attributes a token gives. */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "admin.h"
#include "curves.h"
#include "kyso_err.h"

/*
 * CKA_EC_POINT is a DER OCTET STRING around the point (PKCS#11 2.40), though some
 * modules give the bare point. Sets *p and *len to the point itself.
 */
static void
ec_point_unwrap(const unsigned char *in, size_t inlen, const unsigned char **p, size_t *len)
{
	*p = in;
	*len = inlen;
	if (inlen >= 2 && in[0] == 0x04) {
		size_t hdr = 2, body;

		if (in[1] < 0x80) {
			body = in[1];
		} else if (in[1] == 0x81 && inlen >= 3) {
			body = in[2];
			hdr = 3;
		} else {
			return;
		}
		/* a bare uncompressed point also starts with 0x04: only unwrap when the length
		 * byte accounts for the rest exactly */
		if (hdr + body == inlen) {
			*p = in + hdr;
			*len = body;
		}
	}
}

/* The OpenSSL group name of a Weierstrass curve's CKA_EC_PARAMS, or NULL. */
static const char *
curve_group(const unsigned char *der, size_t len)
{
	const struct curve *c = curve_by_params(der, len);

	return c != NULL && c->id != CURVE_ED25519 ? c->nist : NULL;
}

static int
from_params(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int ok = params != NULL && ctx != NULL && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) == 1;

	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return ok ? KYSO_OK : KYSO_ERR_CRYPTO;
}

int
admin_pubkey_evp(const struct p11_pubkey *k, EVP_PKEY **out)
{
	OSSL_PARAM_BLD *bld;
	const unsigned char *pt;
	size_t ptlen;
	const char *curve;
	int r = KYSO_ERR_CRYPTO;

	*out = NULL;
	if (k->kind == 'r') {
		BIGNUM *n = BN_bin2bn(k->modulus, (int)k->modulus_len, NULL);
		BIGNUM *e = BN_bin2bn(k->exponent, (int)k->exponent_len, NULL);

		if (n != NULL && e != NULL && (bld = OSSL_PARAM_BLD_new()) != NULL) {
			if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
			    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
				r = from_params("RSA", bld, out);
			OSSL_PARAM_BLD_free(bld);
		}
		BN_free(n);
		BN_free(e);
		return r;
	}
	ec_point_unwrap(k->point, k->point_len, &pt, &ptlen);
	if (k->kind == 'd') {
		if (ptlen != 32)
			return KYSO_ERR_UNSUPPORTED_ALG;
		*out = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt, ptlen);
		return *out != NULL ? KYSO_OK : KYSO_ERR_CRYPTO;
	}
	curve = k->params != NULL ? curve_group(k->params, k->params_len) : NULL;
	if (k->kind != 'e' || curve == NULL)
		return KYSO_ERR_UNSUPPORTED_ALG;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL)
		return KYSO_ERR_CRYPTO;
	if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve, 0) == 1 &&
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen) == 1)
		r = from_params("EC", bld, out);
	OSSL_PARAM_BLD_free(bld);
	return r;
}
