/* alg.c — signature algorithms, mechanism choice, DigestInfo and ECDSA encodings. */
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>

#include "alg.h"
#include "kyso_err.h"

static const struct alg algs[] = {
	{ "rsa-pkcs1v15-sha256", KEY_RSA, SCHEME_PKCS1, 256 },
	{ "rsa-pkcs1v15-sha384", KEY_RSA, SCHEME_PKCS1, 384 },
	{ "rsa-pkcs1v15-sha512", KEY_RSA, SCHEME_PKCS1, 512 },
	{ "rsa-pss-sha256", KEY_RSA, SCHEME_PSS, 256 },
	{ "rsa-pss-sha384", KEY_RSA, SCHEME_PSS, 384 },
	{ "rsa-pss-sha512", KEY_RSA, SCHEME_PSS, 512 },
	{ "ecdsa-sha256", KEY_EC, SCHEME_ECDSA, 256 },
	{ "ecdsa-sha384", KEY_EC, SCHEME_ECDSA, 384 },
	{ "ecdsa-sha512", KEY_EC, SCHEME_ECDSA, 512 },
	{ "ed25519", KEY_ED25519, SCHEME_EDDSA, 0 },
};

const struct alg *
alg_find(const char *name)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, name) == 0)
			return &algs[i];
	return NULL;
}

int
alg_is_sha1(const char *name)
{
	size_t n = strlen(name);

	return (n >= 5 && strcmp(name + n - 5, "-sha1") == 0) ||
	    (n >= 6 && strcmp(name + n - 6, "-sha-1") == 0);
}

size_t
alg_all(const struct alg **list)
{
	*list = algs;
	return sizeof(algs) / sizeof(algs[0]);
}

/* Index 0/1/2 for SHA-256/384/512, -1 otherwise. */
static int
hash_index(unsigned bits)
{
	return bits == 256 ? 0 : bits == 384 ? 1 : bits == 512 ? 2 : -1;
}

int
alg_plan(const struct alg *a, enum key_type key, unsigned mechs, int have_data,
    struct alg_plan *plan)
{
	static const enum p11_mech pkcs1[] = { P11_MECH_SHA256_RSA_PKCS,
		P11_MECH_SHA384_RSA_PKCS, P11_MECH_SHA512_RSA_PKCS };
	static const enum p11_mech pss[] = { P11_MECH_SHA256_RSA_PKCS_PSS,
		P11_MECH_SHA384_RSA_PKCS_PSS, P11_MECH_SHA512_RSA_PKCS_PSS };
	static const enum p11_mech ecdsa[] = { P11_MECH_ECDSA_SHA256, P11_MECH_ECDSA_SHA384,
		P11_MECH_ECDSA_SHA512 };
	enum p11_mech combined, raw;
	enum plan_input raw_input = INPUT_DIGEST;
	int h = hash_index(a->hash_bits);

	if (a->key != key)
		return KYSO_ERR_UNSUPPORTED_ALG;
	switch (a->scheme) {
	case SCHEME_EDDSA:
		if (!(mechs & P11_MECH_BIT(P11_MECH_EDDSA)))
			return KYSO_ERR_UNSUPPORTED_ALG;
		plan->mech = P11_MECH_EDDSA;
		plan->input = INPUT_DATA;
		return KYSO_OK;
	case SCHEME_PKCS1:
		combined = pkcs1[h];
		raw = P11_MECH_RSA_PKCS;
		raw_input = INPUT_DIGEST_INFO;
		break;
	case SCHEME_PSS:
		combined = pss[h];
		raw = P11_MECH_RSA_PKCS_PSS;
		break;
	case SCHEME_ECDSA:
		combined = ecdsa[h];
		raw = P11_MECH_ECDSA;
		break;
	default:
		return KYSO_ERR_UNSUPPORTED_ALG;
	}
	if (have_data && (mechs & P11_MECH_BIT(combined))) {
		plan->mech = combined;
		plan->input = INPUT_DATA;
		return KYSO_OK;
	}
	if (mechs & P11_MECH_BIT(raw)) {
		plan->mech = raw;
		plan->input = raw_input;
		return KYSO_OK;
	}
	return KYSO_ERR_UNSUPPORTED_ALG;
}

int
alg_usable(const struct alg *a, enum key_type key, unsigned mechs)
{
	struct alg_plan p;

	return alg_plan(a, key, mechs, 1, &p) == KYSO_OK;
}

size_t
alg_digest_len(const struct alg *a)
{
	return a->hash_bits / 8;
}

int
alg_hash(unsigned bits, const unsigned char *data, size_t len, unsigned char *out)
{
	const EVP_MD *md = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() :
	    bits == 512 ? EVP_sha512() : NULL;
	unsigned int n = 0;

	if (md == NULL || EVP_Digest(data, len, out, &n, md, NULL) != 1)
		return KYSO_ERR_CRYPTO;
	return KYSO_OK;
}

size_t
alg_digest_info(unsigned bits, const unsigned char *digest, size_t dlen, unsigned char *out)
{
	/* DER of DigestInfo { AlgorithmIdentifier { id-sha*, NULL }, OCTET STRING } */
	static const unsigned char prefix[3][19] = {
		{ 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		  0x02, 0x01, 0x05, 0x00, 0x04, 0x20 },
		{ 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		  0x02, 0x02, 0x05, 0x00, 0x04, 0x30 },
		{ 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
		  0x02, 0x03, 0x05, 0x00, 0x04, 0x40 },
	};
	int h = hash_index(bits);

	if (h < 0 || dlen != bits / 8)
		return 0;
	memcpy(out, prefix[h], sizeof(prefix[h]));
	memcpy(out + sizeof(prefix[h]), digest, dlen);
	return sizeof(prefix[h]) + dlen;
}

int
alg_ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der,
    size_t *derlen)
{
	ECDSA_SIG *sig = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *out = NULL, *p;
	int n, ret = KYSO_ERR_CRYPTO;

	*der = NULL;
	*derlen = 0;
	if (len == 0 || len % 2 != 0 || len > 264)
		return KYSO_ERR_INVALID_ARG;
	if ((sig = ECDSA_SIG_new()) == NULL ||
	    (r = BN_bin2bn(raw, (int)(len / 2), NULL)) == NULL ||
	    (s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL)) == NULL)
		goto out;
	if (ECDSA_SIG_set0(sig, r, s) != 1)
		goto out;
	r = s = NULL;  /* owned by sig now */
	if ((n = i2d_ECDSA_SIG(sig, NULL)) <= 0)
		goto out;
	if ((out = malloc((size_t)n)) == NULL) {
		ret = KYSO_ERR_NOMEM;
		goto out;
	}
	p = out;
	if (i2d_ECDSA_SIG(sig, &p) != n) {
		free(out);
		goto out;
	}
	*der = out;
	*derlen = (size_t)n;
	ret = KYSO_OK;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(sig);
	return ret;
}
