/* test_alg.c — agent/alg.h: algorithm table, mechanism choice, DigestInfo, ECDSA DER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "alg.h"
#include "encode.h"
#include "kyso_err.h"

#define BIT(m) P11_MECH_BIT(m)

static void
hexeq(const unsigned char *p, size_t len, const char *want)
{
	char *s = hex_encode_new(p, len);

	assert_non_null(s);
	assert_string_equal(s, want);
	free(s);
}

/* ---- the table ---- */

static void
test_find_every_name(void **state)
{
	static const struct {
		const char *name;
		enum key_type key;
		enum alg_scheme scheme;
		unsigned bits;
	} want[] = {
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
	const struct alg *all;

	(void)state;
	assert_int_equal(alg_all(&all), sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct alg *a = alg_find(want[i].name);

		assert_non_null(a);
		assert_ptr_equal(a, &all[i]);
		assert_string_equal(a->name, want[i].name);
		assert_int_equal(a->key, want[i].key);
		assert_int_equal(a->scheme, want[i].scheme);
		assert_int_equal(a->hash_bits, want[i].bits);
		assert_int_equal(alg_digest_len(a), want[i].bits / 8);
	}
}

static void
test_find_unknown(void **state)
{
	(void)state;
	assert_null(alg_find(""));
	assert_null(alg_find("rsa-pkcs1v15-sha1"));
	assert_null(alg_find("ecdsa-sha1"));
	assert_null(alg_find("ECDSA-SHA256"));
	assert_null(alg_find("ecdsa-sha256 "));
	assert_null(alg_find("ecdsa-sha25"));
	assert_null(alg_find("rsa-pss-sha224"));
	assert_null(alg_find("eddsa"));
}

static void
test_is_sha1(void **state)
{
	(void)state;
	assert_int_equal(alg_is_sha1("rsa-pkcs1v15-sha1"), 1);
	assert_int_equal(alg_is_sha1("rsa-pss-sha1"), 1);
	assert_int_equal(alg_is_sha1("ecdsa-sha1"), 1);
	assert_int_equal(alg_is_sha1("ecdsa-sha-1"), 1);
	assert_int_equal(alg_is_sha1("ecdsa-sha256"), 0);
	assert_int_equal(alg_is_sha1("rsa-pkcs1v15-sha512"), 0);
	assert_int_equal(alg_is_sha1("ecdsa-sha12"), 0);
	assert_int_equal(alg_is_sha1("ed25519"), 0);
	assert_int_equal(alg_is_sha1(""), 0);
	assert_int_equal(alg_is_sha1("sha"), 0);
}

/* ---- hashing and DigestInfo ---- */

static void
test_hash_known_answers(void **state)
{
	unsigned char out[64];

	(void)state;
	assert_int_equal(alg_hash(256, (const unsigned char *)"abc", 3, out), KYSO_OK);
	hexeq(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(alg_hash(384, (const unsigned char *)"abc", 3, out), KYSO_OK);
	hexeq(out, 48, "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed"
	    "8086072ba1e7cc2358baeca134c825a7");
	assert_int_equal(alg_hash(512, (const unsigned char *)"abc", 3, out), KYSO_OK);
	hexeq(out, 64, "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
	    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	assert_int_equal(alg_hash(160, (const unsigned char *)"abc", 3, out), KYSO_ERR_CRYPTO);
	assert_int_equal(alg_hash(0, (const unsigned char *)"abc", 3, out), KYSO_ERR_CRYPTO);
}

static const struct {
	unsigned bits;
	const char *prefix;
	int nid;
} di_prefixes[] = {
	{ 256, "3031300d060960864801650304020105000420", NID_sha256 },
	{ 384, "3041300d060960864801650304020205000430", NID_sha384 },
	{ 512, "3051300d060960864801650304020305000440", NID_sha512 },
};

static void
test_digest_info_bytes(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		unsigned bits = di_prefixes[i].bits;
		size_t dlen = bits / 8, n;
		unsigned char digest[64], out[19 + 64];
		char want[2 * (19 + 64) + 1];
		char *dhex;

		for (size_t j = 0; j < dlen; j++)
			digest[j] = (unsigned char)(0xa0 + j);
		memset(out, 0xee, sizeof(out));
		n = alg_digest_info(bits, digest, dlen, out);
		assert_int_equal(n, 19 + dlen);
		dhex = hex_encode_new(digest, dlen);
		snprintf(want, sizeof(want), "%s%s", di_prefixes[i].prefix, dhex);
		hexeq(out, n, want);
		free(dhex);
	}
}

static void
test_digest_info_parses_as_x509_sig(void **state)
{
	(void)state;
	for (size_t i = 0; i < 3; i++) {
		unsigned bits = di_prefixes[i].bits;
		size_t dlen = bits / 8, n;
		unsigned char digest[64], out[19 + 64];
		const unsigned char *p = out;
		const X509_ALGOR *algor;
		const ASN1_OCTET_STRING *os;
		const ASN1_OBJECT *obj;
		const void *pval;
		X509_SIG *sig;
		int ptype;

		assert_int_equal(alg_hash(bits, (const unsigned char *)"kyso", 4, digest), KYSO_OK);
		n = alg_digest_info(bits, digest, dlen, out);
		assert_int_equal(n, 19 + dlen);
		sig = d2i_X509_SIG(NULL, &p, (long)n);
		assert_non_null(sig);
		assert_ptr_equal(p, out + n);  /* no trailing bytes */
		X509_SIG_get0(sig, &algor, &os);
		X509_ALGOR_get0(&obj, &ptype, &pval, algor);
		assert_int_equal(OBJ_obj2nid(obj), di_prefixes[i].nid);
		assert_int_equal(ptype, V_ASN1_NULL);
		assert_int_equal(ASN1_STRING_length(os), (int)dlen);
		assert_memory_equal(ASN1_STRING_get0_data(os), digest, dlen);
		X509_SIG_free(sig);
	}
}

static void
test_digest_info_rejects(void **state)
{
	unsigned char digest[64] = { 0 }, out[19 + 64];

	(void)state;
	assert_int_equal(alg_digest_info(256, digest, 31, out), 0);
	assert_int_equal(alg_digest_info(256, digest, 33, out), 0);
	assert_int_equal(alg_digest_info(256, digest, 48, out), 0);
	assert_int_equal(alg_digest_info(384, digest, 32, out), 0);
	assert_int_equal(alg_digest_info(512, digest, 48, out), 0);
	assert_int_equal(alg_digest_info(160, digest, 20, out), 0);
	assert_int_equal(alg_digest_info(0, digest, 0, out), 0);
}

/* Signs the DigestInfo raw (as CKM_RSA_PKCS does) and lets OpenSSL verify it as a
 * PKCS#1 v1.5 signature of the digest. */
static void
test_digest_info_verifies_with_openssl(void **state)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	static const EVP_MD *(*const mds[3])(void) = { EVP_sha256, EVP_sha384, EVP_sha512 };

	(void)state;
	assert_non_null(key);
	for (size_t i = 0; i < 3; i++) {
		unsigned bits = di_prefixes[i].bits;
		size_t dlen = bits / 8, n, siglen = 0;
		unsigned char digest[64], di[19 + 64], sig[256];
		EVP_PKEY_CTX *ctx;

		assert_int_equal(alg_hash(bits, (const unsigned char *)"document", 8, digest),
		    KYSO_OK);
		n = alg_digest_info(bits, digest, dlen, di);
		assert_int_equal(n, 19 + dlen);

		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_non_null(ctx);
		assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
		siglen = sizeof(sig);
		assert_int_equal(EVP_PKEY_sign(ctx, sig, &siglen, di, n), 1);
		assert_int_equal(siglen, 256);
		EVP_PKEY_CTX_free(ctx);

		ctx = EVP_PKEY_CTX_new(key, NULL);
		assert_non_null(ctx);
		assert_int_equal(EVP_PKEY_verify_init(ctx), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_signature_md(ctx, mds[i]()), 1);
		assert_int_equal(EVP_PKEY_verify(ctx, sig, siglen, digest, dlen), 1);
		/* and a different digest does not verify */
		digest[0] ^= 1;
		assert_int_not_equal(EVP_PKEY_verify(ctx, sig, siglen, digest, dlen), 1);
		EVP_PKEY_CTX_free(ctx);
	}
	EVP_PKEY_free(key);
}

/* ---- ECDSA raw r||s to DER ---- */

static void
expect_der(const unsigned char *raw, size_t len, const char *want_hex)
{
	unsigned char *der = NULL;
	size_t derlen = 0;

	assert_int_equal(alg_ecdsa_raw_to_der(raw, len, &der, &derlen), KYSO_OK);
	assert_non_null(der);
	hexeq(der, derlen, want_hex);
	free(der);
}

static void
test_ecdsa_der_high_bit(void **state)
{
	unsigned char raw[64];
	char want[2 * 80];
	size_t n;

	(void)state;
	/* r = 0x80 00 .. 00 needs a 00 in front to stay positive; s = 1 is one byte */
	memset(raw, 0, sizeof(raw));
	raw[0] = 0x80;
	raw[63] = 0x01;
	n = (size_t)snprintf(want, sizeof(want), "302602210080");
	for (int i = 0; i < 31; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "00");
	snprintf(want + n, sizeof(want) - n, "020101");
	assert_int_equal(strlen(want), 2 * (2 + 2 + 33 + 3));
	expect_der(raw, sizeof(raw), want);
	/* both halves with the top bit set */
	memset(raw, 0xff, sizeof(raw));
	n = (size_t)snprintf(want, sizeof(want), "3046022100");
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "ff");
	n += (size_t)snprintf(want + n, sizeof(want) - n, "022100");
	for (int i = 0; i < 32; i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "ff");
	expect_der(raw, sizeof(raw), want);
}

static void
test_ecdsa_der_leading_zeros(void **state)
{
	/* r = 00 00 01 02 -> 0102; s = 00 ff 00 01 -> 00ff0001 (the 00 stays: high bit) */
	static const unsigned char raw1[] = { 0x00, 0x00, 0x01, 0x02, 0x00, 0xff, 0x00, 0x01 };
	/* r = 00 7f .. -> 7f..; s = 00 00 00 80 -> 0080 */
	static const unsigned char raw2[] = { 0x00, 0x7f, 0x11, 0x22, 0x00, 0x00, 0x00, 0x80 };

	(void)state;
	expect_der(raw1, sizeof(raw1), "300a02020102020400ff0001");
	expect_der(raw2, sizeof(raw2), "300902037f112202020080");
}

static void
test_ecdsa_der_rejects(void **state)
{
	unsigned char raw[266], *der = (unsigned char *)"x";
	size_t derlen = 7;

	(void)state;
	memset(raw, 0x42, sizeof(raw));
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 0, &der, &derlen), KYSO_ERR_INVALID_ARG);
	assert_null(der);
	assert_int_equal(derlen, 0);
	der = (unsigned char *)"x";
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 63, &der, &derlen), KYSO_ERR_INVALID_ARG);
	assert_null(der);
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 1, &der, &derlen), KYSO_ERR_INVALID_ARG);
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 65, &der, &derlen), KYSO_ERR_INVALID_ARG);
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 266, &der, &derlen), KYSO_ERR_INVALID_ARG);
	/* P-521: 2 x 66 bytes is fine */
	assert_int_equal(alg_ecdsa_raw_to_der(raw, 132, &der, &derlen), KYSO_OK);
	assert_non_null(der);
	free(der);
}

/* Signs with OpenSSL, turns the DER into r||s, back to DER with kyso, and verifies. */
static void
ecdsa_round_trip(const char *curve, size_t half, const EVP_MD *md, int rounds)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", curve);
	int saw_high_bit = 0;

	assert_non_null(key);
	for (int i = 0; i < rounds; i++) {
		unsigned char msg[32], sig[200], raw[2 * 66], *der = NULL;
		size_t siglen = sizeof(sig), derlen = 0;
		const unsigned char *p = sig;
		const BIGNUM *r, *s;
		EVP_MD_CTX *mctx = EVP_MD_CTX_new();
		ECDSA_SIG *es;

		for (size_t j = 0; j < sizeof(msg); j++)
			msg[j] = (unsigned char)(i * 31 + j);
		assert_non_null(mctx);
		assert_int_equal(EVP_DigestSignInit(mctx, NULL, md, NULL, key), 1);
		assert_int_equal(EVP_DigestSign(mctx, sig, &siglen, msg, sizeof(msg)), 1);
		EVP_MD_CTX_free(mctx);

		es = d2i_ECDSA_SIG(NULL, &p, (long)siglen);
		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		assert_int_equal(BN_bn2binpad(r, raw, (int)half), (int)half);
		assert_int_equal(BN_bn2binpad(s, raw + half, (int)half), (int)half);
		ECDSA_SIG_free(es);
		if ((raw[0] & 0x80) || (raw[half] & 0x80))
			saw_high_bit = 1;

		assert_int_equal(alg_ecdsa_raw_to_der(raw, 2 * half, &der, &derlen), KYSO_OK);
		/* DER is canonical: the very bytes OpenSSL made */
		assert_int_equal(derlen, siglen);
		assert_memory_equal(der, sig, siglen);
		/* P-521 signatures are long enough to need a two-byte SEQUENCE length */
		if (half == 66)
			assert_int_equal(der[1], 0x81);
		else
			assert_int_equal(der[1], derlen - 2);

		mctx = EVP_MD_CTX_new();
		assert_non_null(mctx);
		assert_int_equal(EVP_DigestVerifyInit(mctx, NULL, md, NULL, key), 1);
		assert_int_equal(EVP_DigestVerify(mctx, der, derlen, msg, sizeof(msg)), 1);
		EVP_MD_CTX_free(mctx);
		free(der);
	}
	/* with this many signatures, some r or s has its top bit set (never on P-521,
	 * whose 66-byte halves start with 0x00 or 0x01) */
	if (half != 66)
		assert_true(rounds < 8 || saw_high_bit);
	else
		assert_false(saw_high_bit);
	EVP_PKEY_free(key);
}

static void
test_ecdsa_round_trip_p256(void **state)
{
	(void)state;
	ecdsa_round_trip("P-256", 32, EVP_sha256(), 40);
}

static void
test_ecdsa_round_trip_p384(void **state)
{
	(void)state;
	ecdsa_round_trip("P-384", 48, EVP_sha384(), 10);
}

static void
test_ecdsa_round_trip_p521(void **state)
{
	(void)state;
	ecdsa_round_trip("P-521", 66, EVP_sha512(), 10);
}

/* ---- mechanism choice ---- */

static void
expect_plan(const char *name, enum key_type key, unsigned mechs, int have_data,
    enum p11_mech mech, enum plan_input input)
{
	struct alg_plan p = { P11_MECH_COUNT, (enum plan_input)99 };
	const struct alg *a = alg_find(name);
	int r;

	assert_non_null(a);
	r = alg_plan(a, key, mechs, have_data, &p);
	if (r != KYSO_OK || p.mech != mech || p.input != input)
		fail_msg("%s (key %d, mechs %#x, data %d): got %d mech %d input %d, "
		    "wanted mech %d input %d", name, key, mechs, have_data, r, p.mech, p.input,
		    mech, input);
}

static void
expect_no_plan(const char *name, enum key_type key, unsigned mechs, int have_data)
{
	struct alg_plan p;
	const struct alg *a = alg_find(name);
	int r;

	assert_non_null(a);
	r = alg_plan(a, key, mechs, have_data, &p);
	if (r != KYSO_ERR_UNSUPPORTED_ALG)
		fail_msg("%s (key %d, mechs %#x, data %d): got %d, wanted "
		    "KYSO_ERR_UNSUPPORTED_ALG", name, key, mechs, have_data, r);
}

#define ALL_MECHS (BIT(P11_MECH_COUNT) - 1)

static void
test_plan_pkcs1(void **state)
{
	unsigned both = BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_SHA256_RSA_PKCS) |
	    BIT(P11_MECH_SHA384_RSA_PKCS) | BIT(P11_MECH_SHA512_RSA_PKCS);

	(void)state;
	/* with data, the combined mechanism hashes on the token */
	expect_plan("rsa-pkcs1v15-sha256", KEY_RSA, both, 1, P11_MECH_SHA256_RSA_PKCS,
	    INPUT_DATA);
	expect_plan("rsa-pkcs1v15-sha384", KEY_RSA, both, 1, P11_MECH_SHA384_RSA_PKCS,
	    INPUT_DATA);
	expect_plan("rsa-pkcs1v15-sha512", KEY_RSA, ALL_MECHS, 1, P11_MECH_SHA512_RSA_PKCS,
	    INPUT_DATA);
	/* with a digest, raw RSA over a DigestInfo */
	expect_plan("rsa-pkcs1v15-sha256", KEY_RSA, both, 0, P11_MECH_RSA_PKCS,
	    INPUT_DIGEST_INFO);
	expect_plan("rsa-pkcs1v15-sha512", KEY_RSA, ALL_MECHS, 0, P11_MECH_RSA_PKCS,
	    INPUT_DIGEST_INFO);
	/* data, but the token lacks the combined mechanism for this hash */
	expect_plan("rsa-pkcs1v15-sha384", KEY_RSA,
	    BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_SHA256_RSA_PKCS), 1, P11_MECH_RSA_PKCS,
	    INPUT_DIGEST_INFO);
	/* a digest, and only combined mechanisms */
	expect_no_plan("rsa-pkcs1v15-sha256", KEY_RSA, BIT(P11_MECH_SHA256_RSA_PKCS), 0);
	expect_no_plan("rsa-pkcs1v15-sha384", KEY_RSA, BIT(P11_MECH_SHA256_RSA_PKCS), 1);
	/* PSS mechanisms do not make PKCS#1 v1.5 signatures */
	expect_no_plan("rsa-pkcs1v15-sha256", KEY_RSA, BIT(P11_MECH_RSA_PKCS_PSS) |
	    BIT(P11_MECH_SHA256_RSA_PKCS_PSS), 1);
	expect_no_plan("rsa-pkcs1v15-sha256", KEY_RSA, 0, 1);
}

static void
test_plan_pss(void **state)
{
	(void)state;
	expect_plan("rsa-pss-sha256", KEY_RSA, ALL_MECHS, 1, P11_MECH_SHA256_RSA_PKCS_PSS,
	    INPUT_DATA);
	expect_plan("rsa-pss-sha384", KEY_RSA, ALL_MECHS, 1, P11_MECH_SHA384_RSA_PKCS_PSS,
	    INPUT_DATA);
	expect_plan("rsa-pss-sha512", KEY_RSA, ALL_MECHS, 1, P11_MECH_SHA512_RSA_PKCS_PSS,
	    INPUT_DATA);
	expect_plan("rsa-pss-sha256", KEY_RSA, ALL_MECHS, 0, P11_MECH_RSA_PKCS_PSS,
	    INPUT_DIGEST);
	expect_plan("rsa-pss-sha512", KEY_RSA, BIT(P11_MECH_RSA_PKCS_PSS), 1,
	    P11_MECH_RSA_PKCS_PSS, INPUT_DIGEST);
	expect_no_plan("rsa-pss-sha256", KEY_RSA, BIT(P11_MECH_RSA_PKCS), 1);
	expect_no_plan("rsa-pss-sha256", KEY_RSA, BIT(P11_MECH_SHA256_RSA_PKCS_PSS), 0);
}

static void
test_plan_ecdsa(void **state)
{
	/* SoftHSM offers CKM_ECDSA only */
	unsigned softhsm = BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_RSA_PKCS_PSS) |
	    BIT(P11_MECH_ECDSA) | BIT(P11_MECH_EDDSA);

	(void)state;
	expect_plan("ecdsa-sha256", KEY_EC, softhsm, 1, P11_MECH_ECDSA, INPUT_DIGEST);
	expect_plan("ecdsa-sha384", KEY_EC, softhsm, 1, P11_MECH_ECDSA, INPUT_DIGEST);
	expect_plan("ecdsa-sha512", KEY_EC, softhsm, 0, P11_MECH_ECDSA, INPUT_DIGEST);
	expect_plan("ecdsa-sha256", KEY_EC, ALL_MECHS, 1, P11_MECH_ECDSA_SHA256, INPUT_DATA);
	expect_plan("ecdsa-sha384", KEY_EC, ALL_MECHS, 1, P11_MECH_ECDSA_SHA384, INPUT_DATA);
	expect_plan("ecdsa-sha512", KEY_EC, ALL_MECHS, 1, P11_MECH_ECDSA_SHA512, INPUT_DATA);
	expect_plan("ecdsa-sha384", KEY_EC, ALL_MECHS, 0, P11_MECH_ECDSA, INPUT_DIGEST);
	expect_no_plan("ecdsa-sha256", KEY_EC, BIT(P11_MECH_ECDSA_SHA256), 0);
	expect_no_plan("ecdsa-sha384", KEY_EC, BIT(P11_MECH_ECDSA_SHA256), 1);
	expect_no_plan("ecdsa-sha256", KEY_EC, BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_EDDSA), 1);
}

static void
test_plan_ed25519(void **state)
{
	(void)state;
	expect_plan("ed25519", KEY_ED25519, BIT(P11_MECH_EDDSA), 1, P11_MECH_EDDSA, INPUT_DATA);
	expect_plan("ed25519", KEY_ED25519, ALL_MECHS, 0, P11_MECH_EDDSA, INPUT_DATA);
	expect_no_plan("ed25519", KEY_ED25519, ALL_MECHS & ~BIT(P11_MECH_EDDSA), 1);
	expect_no_plan("ed25519", KEY_ED25519, BIT(P11_MECH_ECDSA), 1);
	expect_no_plan("ed25519", KEY_ED25519, 0, 1);
}

static void
test_plan_key_mismatch(void **state)
{
	const struct alg *all;
	size_t n = alg_all(&all);
	static const enum key_type keys[] = { KEY_RSA, KEY_EC, KEY_ED25519, KEY_OTHER };

	(void)state;
	expect_no_plan("ecdsa-sha256", KEY_RSA, ALL_MECHS, 1);
	expect_no_plan("rsa-pkcs1v15-sha256", KEY_EC, ALL_MECHS, 1);
	expect_no_plan("rsa-pss-sha256", KEY_ED25519, ALL_MECHS, 0);
	expect_no_plan("ed25519", KEY_EC, ALL_MECHS, 1);
	/* every algorithm with every other key type, every mechanism on offer */
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < 4; k++)
			if (keys[k] != all[i].key) {
				expect_no_plan(all[i].name, keys[k], ALL_MECHS, 1);
				expect_no_plan(all[i].name, keys[k], ALL_MECHS, 0);
				assert_int_equal(alg_usable(&all[i], keys[k], ALL_MECHS), 0);
			}
}

static void
test_usable(void **state)
{
	const struct alg *all;
	size_t n = alg_all(&all);
	unsigned softhsm = BIT(P11_MECH_RSA_PKCS) | BIT(P11_MECH_RSA_PKCS_PSS) |
	    BIT(P11_MECH_ECDSA) | BIT(P11_MECH_EDDSA);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(alg_usable(&all[i], all[i].key, ALL_MECHS), 1);
		assert_int_equal(alg_usable(&all[i], all[i].key, softhsm), 1);
		assert_int_equal(alg_usable(&all[i], all[i].key, 0), 0);
	}
	/* a combined mechanism alone is enough: data can always be sent */
	assert_int_equal(alg_usable(alg_find("rsa-pkcs1v15-sha256"), KEY_RSA,
	    BIT(P11_MECH_SHA256_RSA_PKCS)), 1);
	assert_int_equal(alg_usable(alg_find("rsa-pkcs1v15-sha384"), KEY_RSA,
	    BIT(P11_MECH_SHA256_RSA_PKCS)), 0);
	assert_int_equal(alg_usable(alg_find("ecdsa-sha256"), KEY_EC,
	    BIT(P11_MECH_RSA_PKCS)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_every_name),
		cmocka_unit_test(test_find_unknown),
		cmocka_unit_test(test_is_sha1),
		cmocka_unit_test(test_hash_known_answers),
		cmocka_unit_test(test_digest_info_bytes),
		cmocka_unit_test(test_digest_info_parses_as_x509_sig),
		cmocka_unit_test(test_digest_info_rejects),
		cmocka_unit_test(test_digest_info_verifies_with_openssl),
		cmocka_unit_test(test_ecdsa_der_high_bit),
		cmocka_unit_test(test_ecdsa_der_leading_zeros),
		cmocka_unit_test(test_ecdsa_der_rejects),
		cmocka_unit_test(test_ecdsa_round_trip_p256),
		cmocka_unit_test(test_ecdsa_round_trip_p384),
		cmocka_unit_test(test_ecdsa_round_trip_p521),
		cmocka_unit_test(test_plan_pkcs1),
		cmocka_unit_test(test_plan_pss),
		cmocka_unit_test(test_plan_ecdsa),
		cmocka_unit_test(test_plan_ed25519),
		cmocka_unit_test(test_plan_key_mismatch),
		cmocka_unit_test(test_usable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
