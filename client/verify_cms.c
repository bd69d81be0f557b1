/*
 * verify_cms.c — checking one CMS signature (of a PDF or a .p7s), each check recorded in
 * the report so that a failure says which: the digest of the signed bytes against the
 * message-digest attribute, the signature over the signed attributes, content-type,
 * signing-certificate(-v2) against the signer, the time stamp (its imprint over the
 * signature value, its signature and its TSA's chain), and the signer's chain to the
 * trust anchors (at the time stamp's time when the certificate has expired since).
 * Revocation (CRL, OCSP) is not checked, and the report says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/evp.h>
#include <openssl/ts.h>
#include <openssl/x509v3.h>

#include "kyso_err.h"
#include "pdf_internal.h"
#include "verify_internal.h"

/* The subject of x, RFC 2253 in UTF-8. */
static void
subject_text(X509_NAME *n, char *out, size_t outlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	long len;

	out[0] = '\0';
	if (b == NULL)
		return;
	X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	len = BIO_get_mem_data(b, &p);
	snprintf(out, outlen, "%.*s", (int)len, p);
	BIO_free(b);
}

/* Records the signer's names. */
static void
note_signer(json_t *sig, X509 *x)
{
	char buf[1024];
	BIGNUM *bn;
	char *hex;

	subject_text(X509_get_subject_name(x), buf, sizeof(buf));
	json_object_set_new(sig, "signer", json_string(buf));
	cert_subject_entry(x, NID_commonName, buf, sizeof(buf));
	json_object_set_new(sig, "name", json_string(buf));
	cert_subject_entry(x, NID_organizationName, buf, sizeof(buf));
	json_object_set_new(sig, "organization", json_string(buf));
	subject_text(X509_get_issuer_name(x), buf, sizeof(buf));
	json_object_set_new(sig, "issuer", json_string(buf));
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL)) != NULL &&
	    (hex = BN_bn2hex(bn)) != NULL) {
		json_object_set_new(sig, "serial", json_string(hex));
		OPENSSL_free(hex);
	}
	BN_free(bn);
}

/* Verifies x's chain to store for purpose, at time at (0: now); NULL or the reason. */
static const char *
chain_check(X509 *x, STACK_OF(X509) *untrusted, X509_STORE *store, int purpose, time_t at)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	const char *why = NULL;
	int ok;

	if (ctx == NULL || !X509_STORE_CTX_init(ctx, store, x, untrusted)) {
		X509_STORE_CTX_free(ctx);
		return _("out of memory");
	}
	X509_STORE_CTX_set_purpose(ctx, purpose);
	if (at != 0)
		X509_STORE_CTX_set_time(ctx, 0, at);
	ok = X509_verify_cert(ctx);
	if (ok != 1)
		why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return why;
}

/* The value of a signed attribute as DER of type (V_ASN1_SEQUENCE...), or NULL. */
static ASN1_STRING *
signed_attr(CMS_SignerInfo *si, int nid, int type)
{
	return CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(nid), -3, type);
}

/*
 * signing-certificate-v2 (or v1) against the signer: "matches", "missing" or why not, in
 * English (the report's JSON value; _() of it for people).
 */
static const char *
check_ess(CMS_SignerInfo *si, X509 *signer, STACK_OF(X509) *certs)
{
	ASN1_STRING *v2 = signed_attr(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE);
	ASN1_STRING *v1 = signed_attr(si, NID_id_smime_aa_signingCertificate, V_ASN1_SEQUENCE);
	ESS_SIGNING_CERT_V2 *ss2 = NULL;
	ESS_SIGNING_CERT *ss1 = NULL;
	STACK_OF(X509) *chain = sk_X509_new_null();
	const unsigned char *p;
	const char *r = N_("matches");

	if (v2 == NULL && v1 == NULL) {
		sk_X509_free(chain);
		return N_("missing");
	}
	if (v2 != NULL) {
		p = ASN1_STRING_get0_data(v2);
		ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, ASN1_STRING_length(v2));
	}
	if (v1 != NULL) {
		p = ASN1_STRING_get0_data(v1);
		ss1 = d2i_ESS_SIGNING_CERT(NULL, &p, ASN1_STRING_length(v1));
	}
	/* the signer first: the attribute's first entry must name it */
	sk_X509_push(chain, signer);
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (X509_cmp(sk_X509_value(certs, i), signer) != 0)
			sk_X509_push(chain, sk_X509_value(certs, i));
	if ((v2 != NULL && ss2 == NULL) || (v1 != NULL && ss1 == NULL))
		r = N_("cannot be read");
	else if (OSSL_ESS_check_signing_certs(ss1, ss2, chain, 1) != 1)
		r = N_("names another certificate than the signer's");
	ESS_SIGNING_CERT_V2_free(ss2);
	ESS_SIGNING_CERT_free(ss1);
	sk_X509_free(chain);
	ERR_clear_error();
	return r;
}

/* The time in an ASN1_TIME, or 0. */
static time_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* The signing-time attribute, or 0. */
static time_t
signing_time(CMS_SignerInfo *si)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_signed_get_attr(si, i) : NULL;
	ASN1_TYPE *t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;

	if (t == NULL || (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return 0;
	return asn1_time(t->value.utctime);
}

/*
 * The time stamp of the signature, if any: recorded under "timestamp". Returns its time
 * when it is valid, else 0.
 */
static time_t
check_timestamp(json_t *sig, CMS_SignerInfo *si, X509_STORE *store)
{
	int i = CMS_unsigned_get_attr_by_NID(si, NID_id_smime_aa_timeStampToken, -1);
	X509_ATTRIBUTE *a = i >= 0 ? CMS_unsigned_get_attr(si, i) : NULL;
	ASN1_TYPE *t = a != NULL ? X509_ATTRIBUTE_get0_type(a, 0) : NULL;
	ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
	json_t *ts;
	const unsigned char *p;
	PKCS7 *p7 = NULL;
	TS_TST_INFO *info = NULL;
	CMS_ContentInfo *tcms = NULL;
	STACK_OF(X509) *signers = NULL, *tcerts = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *why = NULL;
	char buf[256], when[40];
	time_t gen = 0;

	if (i < 0)
		return 0;
	ts = json_object();
	json_object_set_new(sig, "timestamp", ts);
	if (t == NULL || t->type != V_ASN1_SEQUENCE) {
		why = _("the time-stamp attribute holds no token");
		goto out;
	}
	p = t->value.sequence->data;
	if ((p7 = d2i_PKCS7(NULL, &p, t->value.sequence->length)) == NULL ||
	    (info = PKCS7_to_TS_TST_INFO(p7)) == NULL) {
		why = _("the time-stamp token cannot be read");
		goto out;
	}
	gen = asn1_time(TS_TST_INFO_get_time(info));
	verify_time_utc(gen, when, sizeof(when));
	json_object_set_new(ts, "time", json_string(when));
	{
		TS_MSG_IMPRINT *mi = TS_TST_INFO_get_msg_imprint(info);
		const ASN1_OBJECT *obj;
		const EVP_MD *alg;
		ASN1_OCTET_STRING *msg = TS_MSG_IMPRINT_get_msg(mi);

		X509_ALGOR_get0(&obj, NULL, NULL, TS_MSG_IMPRINT_get_algo(mi));
		alg = EVP_get_digestbyobj(obj);
		if (alg == NULL || !EVP_Digest(ASN1_STRING_get0_data(sv),
		    (size_t)ASN1_STRING_length(sv), md, &mdlen, alg, NULL) ||
		    (int)mdlen != ASN1_STRING_length(msg) ||
		    memcmp(md, ASN1_STRING_get0_data(msg), mdlen) != 0) {
			why = _("the time stamp is not over this signature (its imprint does not "
			    "match the signature value)");
			goto out;
		}
	}
	p = t->value.sequence->data;
	if ((tcms = d2i_CMS_ContentInfo(NULL, &p, t->value.sequence->length)) == NULL ||
	    CMS_verify(tcms, NULL, NULL, NULL, NULL, CMS_NO_SIGNER_CERT_VERIFY) != 1 ||
	    (signers = CMS_get0_signers(tcms)) == NULL || sk_X509_num(signers) != 1) {
		why = _("the time-stamp token's signature is not valid");
		goto out;
	}
	cert_subject_entry(sk_X509_value(signers, 0), NID_commonName, buf, sizeof(buf));
	json_object_set_new(ts, "authority", json_string(buf));
	tcerts = CMS_get1_certs(tcms);
	if ((why = chain_check(sk_X509_value(signers, 0), tcerts, store,
	    X509_PURPOSE_TIMESTAMP_SIGN, gen)) != NULL) {
		snprintf(buf, sizeof(buf), _("the time-stamp authority's certificate is not "
		    "trusted: %s"), why);
		why = buf;
	}
out:
	json_object_set_new(ts, "valid", json_boolean(why == NULL));
	if (why != NULL) {
		json_object_set_new(ts, "problem", json_string(why));
		verify_problem(sig, _("time stamp: %s"), why);
	}
	sk_X509_pop_free(tcerts, X509_free);
	sk_X509_free(signers);
	CMS_ContentInfo_free(tcms);
	TS_TST_INFO_free(info);
	PKCS7_free(p7);
	ERR_clear_error();
	return why == NULL ? gen : 0;
}

/* Hashes the ranges (or the CMS's own content) with md into out. */
static int
hash_content(CMS_ContentInfo *cms, const EVP_MD *md, const struct vrange *r, size_t nr,
    unsigned char *out, unsigned int *outlen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ASN1_OCTET_STRING **econt = NULL;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, md, NULL);

	if (nr == 0) {
		econt = CMS_get0_content(cms);
		ok = ok && econt != NULL && *econt != NULL &&
		    EVP_DigestUpdate(ctx, ASN1_STRING_get0_data(*econt),
		    (size_t)ASN1_STRING_length(*econt));
	}
	for (size_t i = 0; ok && i < nr; i++)
		ok = EVP_DigestUpdate(ctx, r[i].p, r[i].n);
	ok = ok && EVP_DigestFinal_ex(ctx, out, outlen);
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* The signer's certificate: its chain, usage and (at a valid time stamp's time) expiry. */
static void
check_signer_chain(json_t *sig, X509 *signer, STACK_OF(X509) *certs, X509_STORE *store,
    const char *anchor, time_t ts)
{
	json_t *chain = json_object();
	const char *why = chain_check(signer, certs, store, X509_PURPOSE_ANY, 0);
	uint32_t ku = X509_get_key_usage(signer);

	json_object_set_new(sig, "chain", chain);
	json_object_set_new(chain, "anchor", json_string(anchor));
	json_object_set_new(chain, "revocation", json_string("not checked"));
	if (why != NULL && ts != 0 &&
	    chain_check(signer, certs, store, X509_PURPOSE_ANY, ts) == NULL) {
		json_object_set_new(chain, "note", json_string(_("valid at the time stamp's "
		    "time; the certificate has expired since")));
		why = NULL;
	}
	if (why == NULL && ku != UINT32_MAX && !(ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)))
		why = _("the certificate's key usage allows no signatures");
	json_object_set_new(chain, "trusted", json_boolean(why == NULL));
	if (why != NULL) {
		json_object_set_new(chain, "problem", json_string(why));
		verify_problem(sig, _("the signer's certificate is not trusted by %s: %s"), anchor,
		    why);
	}
}

void
verify_cms_into(json_t *sig, const unsigned char *der, size_t len,
    const struct vrange *r, size_t nr, X509_STORE *store, const char *anchor, int pades)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	STACK_OF(X509) *certs = NULL;
	X509 *signer = NULL;
	X509_ALGOR *digalg = NULL;
	const ASN1_OBJECT *obj;
	const EVP_MD *md;
	ASN1_STRING *mdattr;
	ASN1_OBJECT *ctype;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	json_t *attrs = json_object();
	const char *ess, *dname;
	char when[40];
	time_t st, ts;

	json_object_set_new(sig, "signed_attributes", attrs);
	if ((cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		verify_problem(sig, _("the signature cannot be decoded as a CMS SignedData (it "
		    "was damaged or is not one)"));
		goto out;
	}
	if ((si = cms_signer_info(cms)) == NULL) {
		verify_problem(sig, _("the signature has %d signers; one was expected"),
		    sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)));
		goto out;
	}
	certs = CMS_get1_certs(cms);
	CMS_set1_signers_certs(cms, certs, 0);
	CMS_SignerInfo_get0_algs(si, NULL, &signer, &digalg, NULL);
	if (signer == NULL) {
		verify_problem(sig, _("the signature does not carry its signer's certificate"));
		goto out;
	}
	note_signer(sig, signer);
	X509_ALGOR_get0(&obj, NULL, NULL, digalg);
	md = EVP_get_digestbyobj(obj);
	dname = pdf_digest_name(md);
	json_object_set_new(sig, "digest_algorithm", json_string(dname != NULL ? dname : "?"));
	if (md == NULL || dname == NULL || strcmp(dname, "sha1") == 0) {
		verify_problem(sig, _("the digest algorithm is not accepted (SHA-256 or stronger)"));
		goto out;
	}
	if (CMS_signed_get_attr_count(si) <= 0) {
		verify_problem(sig, _("the signature has no signed attributes (not CAdES/PAdES)"));
		goto out;
	}
	/* the bytes signed: their digest is the message-digest the signer signed */
	mdattr = signed_attr(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING);
	if (hash_content(cms, md, r, nr, digest, &dlen) != 0) {
		verify_problem(sig, nr == 0 ? _("the signature holds no content; give the signed "
		    "file (--content)") : _("hashing the signed bytes failed"));
		goto out;
	}
	json_object_set_new(attrs, "message_digest", json_boolean(mdattr != NULL));
	json_object_set_new(sig, "digest_matches", json_boolean(mdattr != NULL &&
	    (unsigned)ASN1_STRING_length(mdattr) == dlen &&
	    memcmp(ASN1_STRING_get0_data(mdattr), digest, dlen) == 0));
	if (!json_is_true(json_object_get(sig, "digest_matches")))
		verify_problem(sig, mdattr == NULL ? _("the signature has no message-digest "
		    "attribute") : _("the signed bytes were changed: their digest is not the one "
		    "the signature holds"));
	ctype = (ASN1_OBJECT *)CMS_signed_get0_data_by_OBJ(si,
	    OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
	json_object_set_new(attrs, "content_type", json_boolean(ctype != NULL &&
	    OBJ_cmp(ctype, CMS_get0_eContentType(cms)) == 0));
	if (!json_is_true(json_object_get(attrs, "content_type")))
		verify_problem(sig, _("the content-type attribute is missing or wrong"));
	json_object_set_new(sig, "signature_valid", json_boolean(CMS_SignerInfo_verify(si) == 1));
	ERR_clear_error();
	if (!json_is_true(json_object_get(sig, "signature_valid")))
		verify_problem(sig, _("the signature value does not verify with the signer's "
		    "certificate (the signed attributes were changed, or it was made with "
		    "another key)"));
	ess = check_ess(si, signer, certs);
	json_object_set_new(attrs, "signing_certificate_v2", json_string(ess));
	if (strcmp(ess, "matches") != 0 && (pades || strcmp(ess, "missing") != 0))
		/* TRANSLATORS: the attribute's state: "missing", "cannot be read"... */
		verify_problem(sig, _("the signing-certificate attribute %s"), _(ess));
	if ((st = signing_time(si)) != 0) {
		verify_time_utc(st, when, sizeof(when));
		json_object_set_new(attrs, "signing_time", json_string(when));
		if (!pades) {
			json_object_set_new(sig, "claimed_time", json_string(when));
			json_object_set_new(sig, "claimed_time_source", json_string("signing-time"));
		} else {
			json_object_set_new(sig, "note", json_string(_("a signing-time attribute in "
			    "a PAdES signature (the baseline keeps the time in /M)")));
		}
	}
	ts = check_timestamp(sig, si, store);
	check_signer_chain(sig, signer, certs, store, anchor, ts);
out:
	if (json_object_get(sig, "problems") == NULL)
		json_object_set_new(sig, "problems", json_array());
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	ERR_clear_error();
}
