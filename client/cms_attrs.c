/*
 * cms_attrs.c — what libkyso-pdf does with a CMS SignedData: check the one the agent
 * returned before embedding it, and add a time-stamp token as an unsigned attribute.
 * Also the certificate's names for the appearance.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/cms.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "kyso_err.h"
#include "pdf_internal.h"

void
cert_subject_entry(X509 *x, int nid, char *out, size_t outlen)
{
	X509_NAME *n = X509_get_subject_name(x);
	int i = n != NULL ? X509_NAME_get_index_by_NID(n, nid, -1) : -1;
	unsigned char *u = NULL;
	int l;

	out[0] = '\0';
	if (i < 0)
		return;
	l = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i)));
	if (l >= 0)
		snprintf(out, outlen, "%.*s", l, (const char *)u);
	OPENSSL_free(u);
}

CMS_SignerInfo *
cms_signer_info(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);

	if (sis == NULL || sk_CMS_SignerInfo_num(sis) != 1)
		return NULL;
	return sk_CMS_SignerInfo_value(sis, 0);
}

int
cms_check_detached(const unsigned char *der, size_t len, const unsigned char *digest,
    size_t digest_len, CMS_ContentInfo **out, char *err, size_t errlen)
{
	const unsigned char *p = der;
	CMS_ContentInfo *cms = NULL;
	CMS_SignerInfo *si;
	STACK_OF(X509) *certs = NULL;
	ASN1_OCTET_STRING *md;
	X509 *signer = NULL;
	int r = KYSO_ERR_CRYPTO;

	*out = NULL;
	if (len > 16 * 1024 * 1024 ||
	    (cms = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL ||
	    p != der + len || OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		snprintf(err, errlen, _("the signature is not a DER CMS SignedData"));
		goto out;
	}
	if (!CMS_is_detached(cms)) {
		snprintf(err, errlen, _("the CMS signature holds its content; a detached one "
		    "was expected"));
		goto out;
	}
	if ((si = cms_signer_info(cms)) == NULL) {
		snprintf(err, errlen, _("the CMS signature has %d signers; one was expected"),
		    CMS_get0_SignerInfos(cms) != NULL ?
		    sk_CMS_SignerInfo_num(CMS_get0_SignerInfos(cms)) : 0);
		goto out;
	}
	certs = CMS_get1_certs(cms);
	CMS_set1_signers_certs(cms, certs, 0);
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	if (signer == NULL) {
		snprintf(err, errlen, _("the CMS signature does not hold its signer's certificate"));
		goto out;
	}
	md = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
	    V_ASN1_OCTET_STRING);
	if (md == NULL || (size_t)ASN1_STRING_length(md) != digest_len ||
	    memcmp(ASN1_STRING_get0_data(md), digest, digest_len) != 0) {
		snprintf(err, errlen, _("the CMS signature's message-digest is not the digest "
		    "of this document"));
		goto out;
	}
	if (CMS_SignerInfo_verify(si) != 1) {
		snprintf(err, errlen, _("the CMS signature is not valid for its certificate"));
		goto out;
	}
	*out = cms;
	cms = NULL;
	r = KYSO_OK;
out:
	sk_X509_pop_free(certs, X509_free);
	CMS_ContentInfo_free(cms);
	return r;
}

int
cms_add_timestamp(CMS_ContentInfo *cms, const unsigned char *token, size_t len)
{
	CMS_SignerInfo *si = cms_signer_info(cms);

	if (si == NULL || len > 1024 * 1024)
		return KYSO_ERR_CRYPTO;
	/* the token is a ContentInfo: a SEQUENCE, stored as its DER */
	if (!CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken,
	    V_ASN1_SEQUENCE, token, (int)len))
		return KYSO_ERR_CRYPTO;
	return KYSO_OK;
}
