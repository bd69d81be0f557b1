/* kp11_mech.c — the mechanisms the module signs with, DigestInfo and PSS parameters. */
#include <string.h>

#include "kp11.h"

static const char *const alg_names[KP_ALG_COUNT] = {
	[KP_ALG_PKCS1_256] = "rsa-pkcs1v15-sha256",
	[KP_ALG_PKCS1_384] = "rsa-pkcs1v15-sha384",
	[KP_ALG_PKCS1_512] = "rsa-pkcs1v15-sha512",
	[KP_ALG_PSS_256] = "rsa-pss-sha256",
	[KP_ALG_PSS_384] = "rsa-pss-sha384",
	[KP_ALG_PSS_512] = "rsa-pss-sha512",
	[KP_ALG_ECDSA_256] = "ecdsa-sha256",
	[KP_ALG_ECDSA_384] = "ecdsa-sha384",
	[KP_ALG_ECDSA_512] = "ecdsa-sha512",
	[KP_ALG_ED25519] = "ed25519",
};

/*
 * The mechanisms, in the order C_GetMechanismList lists them. A raw mechanism (hash_bits
 * 0) signs what the program hashed; the others hash the data here, with OpenSSL, and
 * send kysod the digest. SHA-1 mechanisms are not offered: kysod refuses SHA-1.
 */
static const struct kp_mech mechs[] = {
	{ CKM_RSA_PKCS, KP_KEY_RSA, KP_FAM_PKCS1, 0 },
	{ CKM_SHA256_RSA_PKCS, KP_KEY_RSA, KP_FAM_PKCS1, 256 },
	{ CKM_SHA384_RSA_PKCS, KP_KEY_RSA, KP_FAM_PKCS1, 384 },
	{ CKM_SHA512_RSA_PKCS, KP_KEY_RSA, KP_FAM_PKCS1, 512 },
	{ CKM_RSA_PKCS_PSS, KP_KEY_RSA, KP_FAM_PSS, 0 },
	{ CKM_SHA256_RSA_PKCS_PSS, KP_KEY_RSA, KP_FAM_PSS, 256 },
	{ CKM_SHA384_RSA_PKCS_PSS, KP_KEY_RSA, KP_FAM_PSS, 384 },
	{ CKM_SHA512_RSA_PKCS_PSS, KP_KEY_RSA, KP_FAM_PSS, 512 },
	{ CKM_ECDSA, KP_KEY_EC, KP_FAM_ECDSA, 0 },
	{ CKM_ECDSA_SHA256, KP_KEY_EC, KP_FAM_ECDSA, 256 },
	{ CKM_ECDSA_SHA384, KP_KEY_EC, KP_FAM_ECDSA, 384 },
	{ CKM_ECDSA_SHA512, KP_KEY_EC, KP_FAM_ECDSA, 512 },
	{ CKM_EDDSA, KP_KEY_ED25519, KP_FAM_EDDSA, 0 },
};

const char *
kp_alg_name(int a)
{
	return a >= 0 && a < KP_ALG_COUNT ? alg_names[a] : "";
}

int
kp_alg_from_name(const char *s)
{
	for (int a = 0; a < KP_ALG_COUNT; a++)
		if (strcmp(alg_names[a], s) == 0)
			return a;
	return -1;
}

const struct kp_mech *
kp_mech_find(CK_MECHANISM_TYPE ckm)
{
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (mechs[i].ckm == ckm)
			return &mechs[i];
	return NULL;
}

int
kp_mech_alg(int family, unsigned hash_bits)
{
	int h = hash_bits == 256 ? 0 : hash_bits == 384 ? 1 : hash_bits == 512 ? 2 : -1;

	switch (family) {
	case KP_FAM_PKCS1:
		return h < 0 ? -1 : KP_ALG_PKCS1_256 + h;
	case KP_FAM_PSS:
		return h < 0 ? -1 : KP_ALG_PSS_256 + h;
	case KP_FAM_ECDSA:
		return h < 0 ? -1 : KP_ALG_ECDSA_256 + h;
	case KP_FAM_EDDSA:
		return KP_ALG_ED25519;
	default:
		return -1;
	}
}

int
kp_mech_usable(const struct kp_mech *m, unsigned algs)
{
	if (m->family == KP_FAM_EDDSA)
		return (algs & KP_ALG_BIT(KP_ALG_ED25519)) != 0;
	if (m->hash_bits != 0)
		return (algs & KP_ALG_BIT(kp_mech_alg(m->family, m->hash_bits))) != 0;
	/* a raw mechanism: the program may bring a digest of any hash kysod signs */
	for (unsigned bits = 256; bits <= 512; bits += 128)
		if (algs & KP_ALG_BIT(kp_mech_alg(m->family, bits)))
			return 1;
	return 0;
}

size_t
kp_mechs_of(unsigned algs, CK_MECHANISM_TYPE *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]) && n < max; i++)
		if (kp_mech_usable(&mechs[i], algs))
			out[n++] = mechs[i].ckm;
	return n;
}

/* DER of DigestInfo { AlgorithmIdentifier { id-shaN, NULL }, OCTET STRING (N/8 bytes) }
 * up to the digest */
static const struct {
	unsigned bits;
	unsigned char prefix[19];
	size_t len;
} di_prefixes[] = {
	{ 256, { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 19 },
	{ 384, { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 19 },
	{ 512, { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 19 },
	/* SHA-1, recognised only to be refused by name */
	{ 160, { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
	    0x04, 0x14 }, 15 },
};

int
kp_digestinfo_parse(const unsigned char *in, size_t len, unsigned *bits,
    const unsigned char **digest)
{
	*bits = 0;
	*digest = NULL;
	if (in == NULL)
		return KP_DI_BAD;
	for (size_t i = 0; i < sizeof(di_prefixes) / sizeof(di_prefixes[0]); i++) {
		size_t plen = di_prefixes[i].len, dlen = di_prefixes[i].bits / 8;

		if (len != plen + dlen || memcmp(in, di_prefixes[i].prefix, plen) != 0)
			continue;
		if (di_prefixes[i].bits == 160)
			return KP_DI_SHA1;
		*bits = di_prefixes[i].bits;
		*digest = in + plen;
		return KP_DI_OK;
	}
	/* a SHA-1 DigestInfo without the NULL parameters */
	if (len == 33 && memcmp(in, "\x30\x1f\x30\x07\x06\x05\x2b\x0e\x03\x02\x1a\x04\x14",
	    13) == 0)
		return KP_DI_SHA1;
	return KP_DI_BAD;
}

CK_RV
kp_pss_check(const CK_MECHANISM *m, unsigned mech_hash, unsigned *bits)
{
	const CK_RSA_PKCS_PSS_PARAMS *p;
	unsigned h;
	CK_RSA_PKCS_MGF_TYPE mgf;

	*bits = 0;
	if (m->pParameter == NULL || m->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
		return CKR_MECHANISM_PARAM_INVALID;
	p = m->pParameter;
	switch (p->hashAlg) {
	case CKM_SHA256:
		h = 256;
		mgf = CKG_MGF1_SHA256;
		break;
	case CKM_SHA384:
		h = 384;
		mgf = CKG_MGF1_SHA384;
		break;
	case CKM_SHA512:
		h = 512;
		mgf = CKG_MGF1_SHA512;
		break;
	default:
		return CKR_MECHANISM_PARAM_INVALID;
	}
	if ((mech_hash != 0 && h != mech_hash) || p->mgf != mgf || p->sLen != h / 8)
		return CKR_MECHANISM_PARAM_INVALID;
	*bits = h;
	return CKR_OK;
}

/* CK_EDDSA_PARAMS of PKCS#11 3.0 (p11-kit 0.24's header does not have it) */
struct kp_eddsa_params {
	CK_BBOOL phFlag;
	CK_ULONG ulContextDataLen;
	CK_BYTE_PTR pContextData;
};

CK_RV
kp_eddsa_check(const CK_MECHANISM *m)
{
	const struct kp_eddsa_params *p = m->pParameter;

	if (m->pParameter == NULL && m->ulParameterLen == 0)
		return CKR_OK;
	if (p == NULL || m->ulParameterLen != sizeof(*p) || p->phFlag || p->ulContextDataLen != 0)
		return CKR_MECHANISM_PARAM_INVALID;
	return CKR_OK;
}

size_t
kp_sig_len(enum kp_key key, unsigned key_bits)
{
	switch (key) {
	case KP_KEY_RSA:
		return (key_bits + 7) / 8;
	case KP_KEY_EC:
		return 2 * ((key_bits + 7) / 8);
	case KP_KEY_ED25519:
		return 64;
	default:
		return 0;
	}
}
