/*
 * test_csr.c — admin/csr.h: PKCS#10 requests signed through a callback. The callback here
 * plays the token with a software key, doing exactly what CKM_RSA_PKCS, CKM_ECDSA and
 * CKM_EDDSA do, so the whole path runs; every request is checked by OpenSSL in process and
 * by the `openssl req -verify` command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "csr.h"
#include "kyso_err.h"
#include "testcerts.h"

static EVP_PKEY *rsa2048, *p256, *p384, *ed25519;

/* The "token": a software key behind the csr_sign_fn contract. */
struct soft_token {
	EVP_PKEY *key;
	int calls, alg;
	unsigned char in[4096];   /* what the callback was given, to check the contract */
	size_t inlen;
	int fail;                 /* return this instead of signing */
	int short_sig;            /* return one byte less */
};

/* DER ECDSA-Sig-Value → r||s, each half n bytes (what a PKCS#11 token returns). */
static unsigned char *
der_to_raw(const unsigned char *der, size_t len, size_t n)
{
	const unsigned char *p = der;
	ECDSA_SIG *s = d2i_ECDSA_SIG(NULL, &p, (long)len);
	unsigned char *raw = malloc(2 * n);

	assert_non_null(s);
	assert_non_null(raw);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(s), raw, (int)n), (int)n);
	assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(s), raw + n, (int)n), (int)n);
	ECDSA_SIG_free(s);
	return raw;
}

static int
soft_sign(void *ctx, int alg, const unsigned char *in, size_t len, unsigned char **sig,
    size_t *siglen)
{
	struct soft_token *t = ctx;
	unsigned char buf[1024];
	size_t n = sizeof(buf);
	EVP_PKEY_CTX *pc = NULL;
	EVP_MD_CTX *mc;

	t->calls++;
	t->alg = alg;
	assert_true(len <= sizeof(t->in));
	memcpy(t->in, in, len);
	t->inlen = len;
	if (t->fail)
		return t->fail;
	if (alg == CSR_SIGN_ED25519) {  /* CKM_EDDSA: the whole message */
		assert_non_null(mc = EVP_MD_CTX_new());
		assert_int_equal(EVP_DigestSignInit(mc, NULL, NULL, NULL, t->key), 1);
		assert_int_equal(EVP_DigestSign(mc, buf, &n, in, len), 1);
		EVP_MD_CTX_free(mc);
	} else {  /* CKM_RSA_PKCS (PKCS#1 v1.5 padding of the input) or CKM_ECDSA (a digest) */
		assert_non_null(pc = EVP_PKEY_CTX_new(t->key, NULL));
		assert_int_equal(EVP_PKEY_sign_init(pc), 1);
		if (alg == CSR_SIGN_RSA_PKCS1_SHA256)
			assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING), 1);
		assert_int_equal(EVP_PKEY_sign(pc, buf, &n, in, len), 1);
		EVP_PKEY_CTX_free(pc);
	}
	if (alg == CSR_SIGN_ECDSA_SHA256 || alg == CSR_SIGN_ECDSA_SHA384) {
		size_t half = alg == CSR_SIGN_ECDSA_SHA256 ? 32 : 48;

		*sig = der_to_raw(buf, n, half);
		*siglen = 2 * half;
	} else {
		assert_non_null(*sig = malloc(n));
		memcpy(*sig, buf, n);
		*siglen = n;
	}
	if (t->short_sig)
		(*siglen)--;
	return KYSO_OK;
}

static int
setup(void **state)
{
	(void)state;
	rsa2048 = tc_key("RSA", NULL, 2048);
	p256 = tc_key("EC", "P-256", 0);
	p384 = tc_key("EC", "P-384", 0);
	ed25519 = tc_key("ED25519", NULL, 0);
	return rsa2048 && p256 && p384 && ed25519 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa2048);
	EVP_PKEY_free(p256);
	EVP_PKEY_free(p384);
	EVP_PKEY_free(ed25519);
	return 0;
}

/* Only the public half, as the token side builds it from CKA_* attributes. */
static EVP_PKEY *
public_only(EVP_PKEY *key)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	int n = i2d_PUBKEY(key, &der);
	EVP_PKEY *pub;

	assert_true(n > 0);
	p = der;
	assert_non_null(pub = d2i_PUBKEY(NULL, &p, n));
	OPENSSL_free(der);
	return pub;
}

static X509_REQ *
pem_to_req(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509_REQ *req;

	assert_non_null(b);
	assert_non_null(req = PEM_read_bio_X509_REQ(b, NULL, NULL, NULL));
	BIO_free(b);
	return req;
}

static char *
rfc2253(const X509_NAME *name)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p, *s;
	long n;

	assert_true(X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0);
	n = BIO_get_mem_data(b, &p);
	assert_non_null(s = strndup(p, (size_t)n));
	BIO_free(b);
	return s;
}

/*
 * Runs `openssl req -verify -noout` on data. Returns 1 if it said the self-signature
 * verifies, else 0. (OpenSSL 3.0's req exits 0 even when the signature is bad, so its
 * words are what counts.)
 */
static int
openssl_verifies(const void *data, size_t len, const char *inform)
{
	char path[] = "/tmp/kyso-test-csr-XXXXXX", cmd[256], out[4096];
	int fd = mkstemp(path), st;
	size_t n = 0, k;
	FILE *f;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "openssl req -verify -noout -inform %s -in %s 2>&1",
	    inform, path);
	assert_non_null(f = popen(cmd, "r"));
	while (n < sizeof(out) - 1 && (k = fread(out + n, 1, sizeof(out) - 1 - n, f)) > 0)
		n += k;
	out[n] = '\0';
	st = pclose(f);
	unlink(path);
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	    strstr(out, "self-signature verify OK") != NULL && strstr(out, "fail") == NULL;
}

/* What the callback must have received for req, per the contract in csr.h. */
static void
check_contract(X509_REQ *req, const struct soft_token *t)
{
	static const unsigned char sha256_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09,
		0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
	unsigned char *tbs = NULL, md[64];
	int n = i2d_re_X509_REQ_tbs(req, &tbs);

	assert_true(n > 0);
	switch (t->alg) {
	case CSR_SIGN_RSA_PKCS1_SHA256:
		assert_int_equal(t->inlen, 51);
		assert_memory_equal(t->in, sha256_prefix, 19);
		EVP_Digest(tbs, (size_t)n, md, NULL, EVP_sha256(), NULL);
		assert_memory_equal(t->in + 19, md, 32);
		break;
	case CSR_SIGN_ECDSA_SHA256:
		assert_int_equal(t->inlen, 32);
		EVP_Digest(tbs, (size_t)n, md, NULL, EVP_sha256(), NULL);
		assert_memory_equal(t->in, md, 32);
		break;
	case CSR_SIGN_ECDSA_SHA384:
		assert_int_equal(t->inlen, 48);
		EVP_Digest(tbs, (size_t)n, md, NULL, EVP_sha384(), NULL);
		assert_memory_equal(t->in, md, 48);
		break;
	default:
		assert_int_equal(t->alg, CSR_SIGN_ED25519);
		assert_int_equal(t->inlen, (size_t)n);
		assert_memory_equal(t->in, tbs, (size_t)n);
	}
	OPENSSL_free(tbs);
}

static void
check_extensions(X509_REQ *req, int with_sans)
{
	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	ASN1_BIT_STRING *ku;
	GENERAL_NAMES *gens;
	int crit = -1;

	assert_non_null(exts);
	assert_non_null(ku = X509V3_get_d2i(exts, NID_key_usage, &crit, NULL));
	assert_int_equal(crit, 1);
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 0), 1);  /* digitalSignature */
	assert_int_equal(ASN1_BIT_STRING_get_bit(ku, 1), 1);  /* nonRepudiation */
	for (int b = 2; b <= 8; b++)
		assert_int_equal(ASN1_BIT_STRING_get_bit(ku, b), 0);
	ASN1_BIT_STRING_free(ku);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (!with_sans) {
		assert_null(gens);
		assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	} else {
		static const struct { int type; const char *v; } want[] = {
			{ GEN_EMAIL, "an.nguyen@example.vn" }, { GEN_DNS, "signer.example.vn" },
			{ GEN_URI, "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e" },
			{ GEN_EMAIL, "second@example.vn" },
		};
		assert_non_null(gens);
		assert_int_equal(crit, 0);
		assert_int_equal(sk_GENERAL_NAME_num(gens), 5);
		for (int i = 0; i < 4; i++) {
			int type;
			ASN1_IA5STRING *s = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i),
			    &type);

			assert_int_equal(type, want[i].type);
			assert_int_equal(ASN1_STRING_length(s), (int)strlen(want[i].v));
			assert_memory_equal(ASN1_STRING_get0_data(s), want[i].v, strlen(want[i].v));
		}
		{
			int type;
			ASN1_OCTET_STRING *ip = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, 4),
			    &type);

			assert_int_equal(type, GEN_IPADD);
			assert_memory_equal(ASN1_STRING_get0_data(ip), "\x0a\x01\x02\x03", 4);
		}
		GENERAL_NAMES_free(gens);
	}
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
}

static const char *const sans[] = {
	"email:an.nguyen@example.vn", "DNS:signer.example.vn",
	"uri:urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e", "Email:second@example.vn",
	"ip:10.1.2.3",
};

static void
make_and_check(EVP_PKEY *key, int want_alg, int want_nid, int with_sans)
{
	static const char subject[] = "CN=Nguyễn Văn An,OU=Phòng Kế hoạch\\, Tài chính,"
	    "O=\"Sở Tài chính, Hà Nội\",C=vn";
	static const char printed[] = "CN=Nguyễn Văn An,OU=Phòng Kế hoạch\\, Tài chính,"
	    "O=Sở Tài chính\\, Hà Nội,C=VN";
	struct soft_token t = { .key = key };
	EVP_PKEY *pub = public_only(key);
	struct csr_params p = { .pubkey = pub, .subject = subject,
		.sans = with_sans ? sans : NULL, .nsans = with_sans ? 5 : 0,
		.sign = soft_sign, .sign_ctx = &t };
	unsigned char *der = NULL;
	char err[512] = "", *pem = NULL, *s;
	X509_REQ *req;
	int alg, n;

	assert_int_equal(csr_sign_alg(pub, &alg, err, sizeof(err)), KYSO_OK);
	assert_int_equal(alg, want_alg);
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_OK);
	assert_string_equal(err, "");
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.alg, want_alg);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----\n"));

	req = pem_to_req(pem);
	assert_int_equal(X509_REQ_verify(req, key), 1);
	assert_int_equal(X509_REQ_get_version(req), X509_REQ_VERSION_1);
	assert_int_equal(X509_REQ_get_signature_nid(req), want_nid);
	assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req), key), 1);
	s = rfc2253(X509_REQ_get_subject_name(req));
	assert_string_equal(s, printed);
	free(s);
	check_extensions(req, with_sans);
	check_contract(req, &t);
	assert_true(openssl_verifies(pem, strlen(pem), "PEM"));

	/* the same request with one bit of its signature flipped: openssl refuses it */
	assert_true((n = i2d_X509_REQ(req, &der)) > 0);
	der[n - 1] ^= 0x01;
	assert_false(openssl_verifies(der, (size_t)n, "DER"));
	OPENSSL_free(der);
	X509_REQ_free(req);
	free(pem);
	EVP_PKEY_free(pub);
}

static void
test_rsa(void **state)
{
	(void)state;
	make_and_check(rsa2048, CSR_SIGN_RSA_PKCS1_SHA256, NID_sha256WithRSAEncryption, 1);
	make_and_check(rsa2048, CSR_SIGN_RSA_PKCS1_SHA256, NID_sha256WithRSAEncryption, 0);
}

static void
test_p256(void **state)
{
	(void)state;
	make_and_check(p256, CSR_SIGN_ECDSA_SHA256, NID_ecdsa_with_SHA256, 1);
	make_and_check(p256, CSR_SIGN_ECDSA_SHA256, NID_ecdsa_with_SHA256, 0);
}

static void
test_p384(void **state)
{
	(void)state;
	make_and_check(p384, CSR_SIGN_ECDSA_SHA384, NID_ecdsa_with_SHA384, 1);
}

static void
test_ed25519(void **state)
{
	(void)state;
	make_and_check(ed25519, CSR_SIGN_ED25519, NID_ED25519, 1);
	make_and_check(ed25519, CSR_SIGN_ED25519, NID_ED25519, 0);
}

/* Many ECDSA requests: r or s with leading zeros (short DER integers) come out right. */
static void
test_ecdsa_many(void **state)
{
	(void)state;
	for (int i = 0; i < 40; i++) {
		struct soft_token t = { .key = p256 };
		struct csr_params p = { .pubkey = p256, .subject = "CN=x", .sign = soft_sign,
			.sign_ctx = &t };
		char *pem = NULL, err[256];
		X509_REQ *req;

		assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_OK);
		req = pem_to_req(pem);
		assert_int_equal(X509_REQ_verify(req, p256), 1);
		X509_REQ_free(req);
		free(pem);
	}
}

static void
expect_subject(const char *subject, const char *want_rfc2253, int first_nid)
{
	X509_NAME *name = NULL;
	char err[512] = "", *s;

	assert_int_equal(csr_parse_subject(subject, &name, err, sizeof(err)), KYSO_OK);
	assert_string_equal(err, "");
	s = rfc2253(name);
	assert_string_equal(s, want_rfc2253);
	assert_int_equal(OBJ_obj2nid(X509_NAME_ENTRY_get_object(X509_NAME_get_entry(name, 0))),
	    first_nid);
	free(s);
	X509_NAME_free(name);
}

static void
test_subject_forms(void **state)
{
	X509_NAME *name = NULL;
	char err[256];

	(void)state;
	/* RFC 4514: most specific first; the certificate holds C first */
	expect_subject("CN=Alice Example,O=Acme,C=DE", "CN=Alice Example,O=Acme,C=DE",
	    NID_countryName);
	/* OpenSSL's form: in certificate order */
	expect_subject("/C=DE/O=Acme\\/Sub, Inc./CN=Alice", "CN=Alice,O=Acme/Sub\\, Inc.,C=DE",
	    NID_countryName);
	/* spaces around separators, long names, case-insensitive names */
	expect_subject("  commonName = Alice ,  organizationName=Acme  , c=de ",
	    "CN=Alice,O=Acme,C=DE", NID_countryName);
	/* escapes: hex bytes (UTF-8), specials, a kept trailing space, a literal # */
	expect_subject("CN=Caf\\C3\\A9 \\+ Bar\\ ,O=a\\=b\\;c\\<d\\>\\\"e\\\\,OU=\\#1",
	    "CN=Café \\+ Bar\\ ,O=a=b\\;c\\<d\\>\\\"e\\\\,OU=\\#1", NID_organizationalUnitName);
	/* quoted values may hold separators */
	expect_subject("O=\"Acme, Inc. + Co\",CN=\"x\"", "O=Acme\\, Inc. \\+ Co,CN=x",
	    NID_commonName);
	/* the other attributes */
	expect_subject("CN=A,SN=Nguyễn,GN=An,serialNumber=PNOVN-0123,title=Officer,"
	    "emailAddress=a@example.vn,UID=an,DC=example,DC=vn,organizationIdentifier="
	    "VATVN-0101,L=Hà Nội,ST=HN,street=1 Tràng Tiền,postalCode=100000",
	    "CN=A,SN=Nguyễn,GN=An,serialNumber=PNOVN-0123,title=Officer,"
	    "emailAddress=a@example.vn,UID=an,DC=example,DC=vn,organizationIdentifier="
	    "VATVN-0101,L=Hà Nội,ST=HN,street=1 Tràng Tiền,postalCode=100000",
	    NID_postalCode);

	/* a multi-valued RDN: CN and UID in one set */
	assert_int_equal(csr_parse_subject("CN=Alice+UID=alice,O=Acme", &name, err,
	    sizeof(err)), KYSO_OK);
	assert_int_equal(X509_NAME_entry_count(name), 3);
	assert_int_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 1)),
	    X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 2)));
	assert_int_not_equal(X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 0)),
	    X509_NAME_ENTRY_set(X509_NAME_get_entry(name, 1)));
	/* string types: UTF8String for names, PrintableString for C */
	X509_NAME_free(name);
	assert_int_equal(csr_parse_subject("CN=Ä,C=VN", &name, err, sizeof(err)), KYSO_OK);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 0))),
	    V_ASN1_PRINTABLESTRING);
	assert_int_equal(ASN1_STRING_type(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, 1))),
	    V_ASN1_UTF8STRING);
	X509_NAME_free(name);
}

static void
expect_bad_subject(const char *subject, const char *sentence)
{
	X509_NAME *name = (X509_NAME *)1;
	char err[512] = "";

	assert_int_equal(csr_parse_subject(subject, &name, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_null(name);
	if (strstr(err, sentence) == NULL)
		fail_msg("subject \"%s\": got \"%s\", want \"%s\"", subject, err, sentence);
}

static void
test_bad_subjects(void **state)
{
	char longcn[80];

	(void)state;
	expect_bad_subject("CN=Alice,XYZ=1", "the subject has an unknown attribute \"XYZ\" "
	    "(known: CN, O, OU, C,");
	expect_bad_subject("/CN=Alice/Foo=bar", "unknown attribute \"Foo\"");
	expect_bad_subject("CN=Alice,O=Acme, Inc.", "the subject part \"Inc.\" has no \"=\" "
	    "(write \"\\,\" for a comma inside a value)");
	expect_bad_subject("CN=A+B", "the subject part \"B\" has no \"=\" (write \"\\+\" for "
	    "a plus sign inside a value)");
	expect_bad_subject("Alice", "the subject part \"Alice\" has no \"=\"");
	expect_bad_subject("", "the subject is empty");
	expect_bad_subject("   ", "the subject is empty");
	expect_bad_subject("CN=", "the subject's CN is empty");
	expect_bad_subject("CN=  ,O=x", "the subject's CN is empty");
	expect_bad_subject("CN=a,,O=b", "the subject has an empty part");
	expect_bad_subject("CN=a,", "the subject has an empty part");
	expect_bad_subject("=x", "no attribute name before \"=\"");
	expect_bad_subject("C=Germany", "the subject's C must be a two-letter country code "
	    "such as DE, not \"Germany\"");
	expect_bad_subject("C=D1", "two-letter country code");
	expect_bad_subject("CN=\xff\xfe", "the subject's CN is not valid UTF-8");
	expect_bad_subject("CN=\xc3\xa9\xc3", "the subject's CN is not valid UTF-8");
	expect_bad_subject("CN=a\\FFb", "the subject's CN is not valid UTF-8");
	expect_bad_subject("CN=a\\00b", "the subject's CN contains a NUL byte");
	expect_bad_subject("CN=a\tb", "the subject's CN contains a control character");
	expect_bad_subject("CN=a\\qb", "the subject has an unknown escape \"\\q\"");
	expect_bad_subject("CN=ab\\", "the subject ends with a lone backslash");
	expect_bad_subject("CN=\"abc", "the subject's CN has no closing quote");
	expect_bad_subject("CN=\"abc\" def", "the subject has text after the quoted CN");
	expect_bad_subject("CN=#04024869", "the subject's CN starts with \"#\"");
	memset(longcn, 0, sizeof(longcn));
	memcpy(longcn, "CN=", 3);
	memset(longcn + 3, 'x', 65);
	expect_bad_subject(longcn, "the subject's CN is too long (at most 64 characters)");
	expect_bad_subject("emailAddress=ân@example.vn", "the subject's emailAddress may hold "
	    "only ASCII characters");
	expect_bad_subject("serialNumber=a_b", "the subject's serialNumber may hold only "
	    "letters, digits");
}

static void
expect_bad_san(const char *san, const char *sentence)
{
	const char *list[] = { "dns:ok.example", san };
	GENERAL_NAMES *gens = (GENERAL_NAMES *)1;
	char err[512] = "";

	assert_int_equal(csr_parse_sans(list, 2, &gens, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_null(gens);
	if (strstr(err, sentence) == NULL)
		fail_msg("SAN \"%s\": got \"%s\", want \"%s\"", san, err, sentence);
}

static void
test_bad_sans(void **state)
{
	(void)state;
	expect_bad_san("foo:bar", "the subject alternative name \"foo:bar\" has no known kind "
	    "(write email:, dns:, uri: or ip: before the value)");
	expect_bad_san("an@example.vn", "has no known kind");
	expect_bad_san("email:", "the subject alternative name \"email:\" has an empty value");
	expect_bad_san("email:nobody", "\"email:nobody\" is not an e-mail address");
	expect_bad_san("email:a@b@c", "is not an e-mail address");
	expect_bad_san("email:ân@example.vn", "may hold only ASCII characters without spaces");
	expect_bad_san("dns:bad name.example", "may hold only ASCII characters without spaces");
	expect_bad_san("dns:tài-chính.vn", "(write internationalised names in their xn-- form)");
	expect_bad_san("dns:a..b", "\"dns:a..b\" is not a DNS name");
	expect_bad_san("dns:under_score.example", "is not a DNS name");
	expect_bad_san("uri:no-scheme", "\"uri:no-scheme\" is not a URI");
	expect_bad_san("uri::x", "is not a URI");
	expect_bad_san("ip:999.1.1.1", "\"ip:999.1.1.1\" is not an IP address");
	expect_bad_san(NULL, "a subject alternative name is missing");
}

/* Refusals that happen before the token is asked: it is never called. */
static void
test_refused_before_signing(void **state)
{
	static const char *const bad_san[] = { "dns:bad name" };
	EVP_PKEY *p521 = tc_key("EC", "P-521", 0), *rsa1024 = tc_key("RSA", NULL, 1024);
	struct soft_token t = { .key = p256 };
	struct csr_params p = { .pubkey = p256, .subject = "CN=a,Bogus=b", .sign = soft_sign,
		.sign_ctx = &t };
	char err[512], *pem = (char *)1;

	(void)state;
	assert_non_null(p521);
	assert_non_null(rsa1024);
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_INVALID_ARG);
	assert_null(pem);
	assert_non_null(strstr(err, "unknown attribute \"Bogus\""));

	p.subject = "CN=a";
	p.sans = bad_san;
	p.nsans = 1;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_INVALID_ARG);
	assert_non_null(strstr(err, "\"dns:bad name\""));

	p.nsans = 0;
	p.pubkey = p521;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_UNSUPPORTED_ALG);
	assert_string_equal(err, "the key is on the elliptic curve secp521r1; requests are "
	    "made for P-256 and P-384 keys");
	p.pubkey = rsa1024;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_UNSUPPORTED_ALG);
	assert_string_equal(err, "the key is RSA of 1024 bits; requests are made for RSA keys "
	    "of 2048 bits or more");
	p.pubkey = NULL;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_INVALID_ARG);
	p.pubkey = p256;
	p.sign = NULL;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_INVALID_ARG);
	assert_int_equal(t.calls, 0);
	EVP_PKEY_free(p521);
	EVP_PKEY_free(rsa1024);
}

/* What the token does wrong reaches the caller. */
static void
test_signer_failures(void **state)
{
	struct soft_token t = { .key = p256, .fail = KYSO_ERR_PIN_INCORRECT };
	struct csr_params p = { .pubkey = p256, .subject = "CN=a", .sign = soft_sign,
		.sign_ctx = &t };
	char err[512], *pem = (char *)1;

	(void)state;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_PIN_INCORRECT);
	assert_null(pem);
	assert_non_null(strstr(err, "the token did not sign the request: "));
	assert_non_null(strstr(err, kyso_strerror(KYSO_ERR_PIN_INCORRECT)));

	t.fail = 0;
	t.short_sig = 1;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_TOKEN);
	assert_string_equal(err, "the token returned a 63-byte ecdsa-with-SHA256 signature "
	    "where 64 bytes were expected");

	/* the token signed with another key of the same kind */
	t.short_sig = 0;
	t.key = tc_key("EC", "P-256", 0);
	assert_non_null(t.key);
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_CRYPTO);
	assert_non_null(strstr(err, "does not verify with the key's public key"));
	assert_null(pem);
	EVP_PKEY_free(t.key);

	/* an RSA signature of the wrong size */
	t.key = rsa2048;
	t.short_sig = 1;
	p.pubkey = rsa2048;
	assert_int_equal(csr_make(&p, &pem, err, sizeof(err)), KYSO_ERR_TOKEN);
	assert_non_null(strstr(err, "255-byte sha256WithRSAEncryption"));
}

static void
test_alg_names(void **state)
{
	(void)state;
	assert_string_equal(csr_sign_alg_name(CSR_SIGN_RSA_PKCS1_SHA256),
	    "sha256WithRSAEncryption");
	assert_string_equal(csr_sign_alg_name(CSR_SIGN_ECDSA_SHA256), "ecdsa-with-SHA256");
	assert_string_equal(csr_sign_alg_name(CSR_SIGN_ECDSA_SHA384), "ecdsa-with-SHA384");
	assert_string_equal(csr_sign_alg_name(CSR_SIGN_ED25519), "Ed25519");
	assert_string_equal(csr_sign_alg_name(99), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_ecdsa_many),
		cmocka_unit_test(test_subject_forms),
		cmocka_unit_test(test_bad_subjects),
		cmocka_unit_test(test_bad_sans),
		cmocka_unit_test(test_refused_before_signing),
		cmocka_unit_test(test_signer_failures),
		cmocka_unit_test(test_alg_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
