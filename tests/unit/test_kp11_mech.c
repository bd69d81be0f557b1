/* test_kp11_mech.c — kyso-pkcs11's mechanisms: DigestInfo, PSS and EdDSA parameters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kp11.h"

static const unsigned char prefix256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char prefix512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86,
	0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };
static const unsigned char prefix1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03,
	0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };

static size_t
digestinfo(unsigned char *out, const unsigned char *prefix, size_t plen, size_t dlen)
{
	memcpy(out, prefix, plen);
	for (size_t i = 0; i < dlen; i++)
		out[plen + i] = (unsigned char)(0xa0 + i);
	return plen + dlen;
}

static void
test_digestinfo_sha256_sha512(void **state)
{
	unsigned char in[128];
	const unsigned char *digest;
	unsigned bits;
	size_t n;

	(void)state;
	n = digestinfo(in, prefix256, sizeof(prefix256), 32);
	assert_int_equal(kp_digestinfo_parse(in, n, &bits, &digest), KP_DI_OK);
	assert_int_equal(bits, 256);
	assert_ptr_equal(digest, in + sizeof(prefix256));
	n = digestinfo(in, prefix512, sizeof(prefix512), 64);
	assert_int_equal(kp_digestinfo_parse(in, n, &bits, &digest), KP_DI_OK);
	assert_int_equal(bits, 512);
	assert_int_equal(digest[0], 0xa0);
}

static void
test_digestinfo_sha1_refused_by_name(void **state)
{
	unsigned char in[64];
	const unsigned char *digest;
	unsigned bits;
	size_t n = digestinfo(in, prefix1, sizeof(prefix1), 20);
	static const unsigned char nonull[] = { 0x30, 0x1f, 0x30, 0x07, 0x06, 0x05, 0x2b, 0x0e,
		0x03, 0x02, 0x1a, 0x04, 0x14 };

	(void)state;
	assert_int_equal(kp_digestinfo_parse(in, n, &bits, &digest), KP_DI_SHA1);
	assert_null(digest);
	/* without the NULL parameters too */
	n = digestinfo(in, nonull, sizeof(nonull), 20);
	assert_int_equal(kp_digestinfo_parse(in, n, &bits, &digest), KP_DI_SHA1);
}

static void
test_digestinfo_anything_else_bad(void **state)
{
	unsigned char in[128], copy[128];
	const unsigned char *digest;
	unsigned bits;
	size_t n = digestinfo(in, prefix256, sizeof(prefix256), 32);

	(void)state;
	/* a bare hash, one byte short, one byte more, a changed OID, a SHA-256 DigestInfo
	 * with a SHA-512 length, nothing at all */
	assert_int_equal(kp_digestinfo_parse(in + 19, 32, &bits, &digest), KP_DI_BAD);
	assert_int_equal(kp_digestinfo_parse(in, n - 1, &bits, &digest), KP_DI_BAD);
	memcpy(copy, in, n);
	copy[n] = 0;
	assert_int_equal(kp_digestinfo_parse(copy, n + 1, &bits, &digest), KP_DI_BAD);
	memcpy(copy, in, n);
	copy[14] = 0x04;  /* id-sha224 */
	assert_int_equal(kp_digestinfo_parse(copy, n, &bits, &digest), KP_DI_BAD);
	assert_int_equal(kp_digestinfo_parse(in, 19 + 64, &bits, &digest), KP_DI_BAD);
	assert_int_equal(kp_digestinfo_parse(NULL, 0, &bits, &digest), KP_DI_BAD);
	assert_int_equal(kp_digestinfo_parse(in, 0, &bits, &digest), KP_DI_BAD);
}

static CK_RV
pss(CK_MECHANISM_TYPE hash, CK_RSA_PKCS_MGF_TYPE mgf, CK_ULONG salt, unsigned mech_hash,
    unsigned *bits)
{
	CK_RSA_PKCS_PSS_PARAMS p = { hash, mgf, salt };
	CK_MECHANISM m = { CKM_RSA_PKCS_PSS, &p, sizeof(p) };

	return kp_pss_check(&m, mech_hash, bits);
}

static void
test_pss_matches_kysod(void **state)
{
	unsigned bits;

	(void)state;
	assert_int_equal(pss(CKM_SHA256, CKG_MGF1_SHA256, 32, 0, &bits), CKR_OK);
	assert_int_equal(bits, 256);
	assert_int_equal(pss(CKM_SHA384, CKG_MGF1_SHA384, 48, 384, &bits), CKR_OK);
	assert_int_equal(bits, 384);
	assert_int_equal(pss(CKM_SHA512, CKG_MGF1_SHA512, 64, 0, &bits), CKR_OK);
	assert_int_equal(bits, 512);
}

static void
test_pss_refused(void **state)
{
	CK_RSA_PKCS_PSS_PARAMS p = { CKM_SHA256, CKG_MGF1_SHA256, 32 };
	CK_MECHANISM m = { CKM_RSA_PKCS_PSS, NULL, 0 };
	unsigned bits = 1;

	(void)state;
	/* salt, MGF hash, hash, the mechanism's own hash, SHA-1 */
	assert_int_equal(pss(CKM_SHA256, CKG_MGF1_SHA256, 20, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
	assert_int_equal(bits, 0);
	assert_int_equal(pss(CKM_SHA256, CKG_MGF1_SHA1, 32, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
	assert_int_equal(pss(CKM_SHA256, CKG_MGF1_SHA384, 32, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
	assert_int_equal(pss(CKM_SHA256, CKG_MGF1_SHA256, 32, 384, &bits),
	    CKR_MECHANISM_PARAM_INVALID);
	assert_int_equal(pss(CKM_SHA_1, CKG_MGF1_SHA1, 20, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
	/* no parameters, or of the wrong size */
	assert_int_equal(kp_pss_check(&m, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
	m.pParameter = &p;
	m.ulParameterLen = sizeof(p) - 1;
	assert_int_equal(kp_pss_check(&m, 0, &bits), CKR_MECHANISM_PARAM_INVALID);
}

static void
test_eddsa_params(void **state)
{
	struct {
		CK_BBOOL phFlag;
		CK_ULONG ulContextDataLen;
		CK_BYTE_PTR pContextData;
	} p = { CK_FALSE, 0, NULL };
	CK_MECHANISM m = { CKM_EDDSA, NULL, 0 };
	CK_BYTE ctx[4] = "abc";

	(void)state;
	assert_int_equal(kp_eddsa_check(&m), CKR_OK);
	m.pParameter = &p;
	m.ulParameterLen = sizeof(p);
	assert_int_equal(kp_eddsa_check(&m), CKR_OK);
	p.phFlag = CK_TRUE;  /* Ed25519ph */
	assert_int_equal(kp_eddsa_check(&m), CKR_MECHANISM_PARAM_INVALID);
	p.phFlag = CK_FALSE;
	p.ulContextDataLen = 3;  /* Ed25519ctx */
	p.pContextData = ctx;
	assert_int_equal(kp_eddsa_check(&m), CKR_MECHANISM_PARAM_INVALID);
	m.ulParameterLen = 3;
	assert_int_equal(kp_eddsa_check(&m), CKR_MECHANISM_PARAM_INVALID);
}

static void
test_mechanisms_of_keys(void **state)
{
	CK_MECHANISM_TYPE list[32];
	unsigned ec256 = KP_ALG_BIT(KP_ALG_ECDSA_256);
	unsigned rsa = KP_ALG_BIT(KP_ALG_PKCS1_256) | KP_ALG_BIT(KP_ALG_PKCS1_384) |
	    KP_ALG_BIT(KP_ALG_PSS_512);
	size_t n;

	(void)state;
	n = kp_mechs_of(ec256, list, 32);
	assert_int_equal(n, 2);
	assert_int_equal(list[0], CKM_ECDSA);
	assert_int_equal(list[1], CKM_ECDSA_SHA256);
	n = kp_mechs_of(rsa, list, 32);
	assert_int_equal(n, 5);
	assert_int_equal(list[0], CKM_RSA_PKCS);
	assert_int_equal(list[1], CKM_SHA256_RSA_PKCS);
	assert_int_equal(list[2], CKM_SHA384_RSA_PKCS);
	assert_int_equal(list[3], CKM_RSA_PKCS_PSS);
	assert_int_equal(list[4], CKM_SHA512_RSA_PKCS_PSS);
	assert_int_equal(kp_mechs_of(KP_ALG_BIT(KP_ALG_ED25519), list, 32), 1);
	assert_int_equal(list[0], CKM_EDDSA);
	assert_int_equal(kp_mechs_of(0, list, 32), 0);
	assert_int_equal(kp_mechs_of(rsa, list, 2), 2);  /* the room given */
	/* SHA-1 is not offered */
	assert_null(kp_mech_find(CKM_SHA1_RSA_PKCS));
	assert_null(kp_mech_find(CKM_ECDSA_SHA1));
	assert_non_null(kp_mech_find(CKM_SHA512_RSA_PKCS_PSS));
}

static void
test_names_and_lengths(void **state)
{
	(void)state;
	for (int a = 0; a < KP_ALG_COUNT; a++)
		assert_int_equal(kp_alg_from_name(kp_alg_name(a)), a);
	assert_int_equal(kp_alg_from_name("rsa-pkcs1v15-sha1"), -1);
	assert_string_equal(kp_alg_name(kp_mech_alg(KP_FAM_PSS, 384)), "rsa-pss-sha384");
	assert_int_equal(kp_mech_alg(KP_FAM_ECDSA, 160), -1);
	assert_int_equal(kp_sig_len(KP_KEY_RSA, 2048), 256);
	assert_int_equal(kp_sig_len(KP_KEY_RSA, 3072), 384);
	assert_int_equal(kp_sig_len(KP_KEY_EC, 256), 64);
	assert_int_equal(kp_sig_len(KP_KEY_EC, 384), 96);
	assert_int_equal(kp_sig_len(KP_KEY_EC, 521), 132);
	assert_int_equal(kp_sig_len(KP_KEY_ED25519, 256), 64);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digestinfo_sha256_sha512),
		cmocka_unit_test(test_digestinfo_sha1_refused_by_name),
		cmocka_unit_test(test_digestinfo_anything_else_bad),
		cmocka_unit_test(test_pss_matches_kysod),
		cmocka_unit_test(test_pss_refused),
		cmocka_unit_test(test_eddsa_params),
		cmocka_unit_test(test_mechanisms_of_keys),
		cmocka_unit_test(test_names_and_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
