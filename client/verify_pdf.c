/*
 * verify_pdf.c — kyso_verify_pdf: every signature field of a PDF, what its /ByteRange
 * covers (checked against the file: it starts at 0, leaves out exactly the /Contents hex
 * string and ends where a revision ends), the CMS in /Contents (verify_cms.c), and what
 * came after each signature — bytes no signature covers make the document not valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "encode.h"
#include "kyso_err.h"
#include "pdf_internal.h"
#include "verify_internal.h"

struct vpdf {
	kyso_verify *v;
	const unsigned char *data;
	size_t len;
	qpdf_data q;
	size_t *eofs;       /* the end of each revision: just after its "%%EOF" */
	size_t neofs;
	X509_STORE *store;
	const char *anchor;
	size_t visited;
};

/* Is the "%%EOF" at i preceded by "startxref <digits>"? (It ends a revision.) */
static int
is_revision_end(const unsigned char *d, size_t i)
{
	size_t j = i;

	while (j > 0 && strchr(" \t\r\n\f", d[j - 1]) != NULL && i - j < 16)
		j--;
	if (j == 0 || d[j - 1] < '0' || d[j - 1] > '9')
		return 0;
	while (j > 0 && d[j - 1] >= '0' && d[j - 1] <= '9')
		j--;
	while (j > 0 && strchr(" \t\r\n\f", d[j - 1]) != NULL && i - j < 40)
		j--;
	return j >= 9 && memcmp(d + j - 9, "startxref", 9) == 0;
}

static int
find_revisions(struct vpdf *p)
{
	size_t cap = 0;

	for (size_t i = 0; i + 5 <= p->len; i++) {
		const unsigned char *m = memchr(p->data + i, '%', p->len - i);
		size_t e;

		if (m == NULL)
			break;
		i = (size_t)(m - p->data);
		if (i + 5 > p->len || memcmp(m, "%%EOF", 5) != 0 || !is_revision_end(p->data, i))
			continue;
		e = i + 5;
		if (p->neofs == cap) {
			size_t *n = realloc(p->eofs, (cap = cap ? cap * 2 : 8) * sizeof(*n));

			if (n == NULL)
				return KYSO_ERR_NOMEM;
			p->eofs = n;
		}
		p->eofs[p->neofs++] = e;
	}
	return KYSO_OK;
}

/* The 1-based revision ending at end (just after its "%%EOF", or after its EOL), or 0. */
static size_t
revision_at(const struct vpdf *p, size_t end)
{
	for (size_t k = 0; k < p->neofs; k++) {
		size_t e = p->eofs[k];

		if (end < e || end > e + 2)
			continue;
		for (size_t i = e; i < end; i++)
			if (p->data[i] != '\r' && p->data[i] != '\n')
				goto next;
		return k + 1;
next:
		;
	}
	return 0;
}

/* Only whitespace from off to the end of the file? */
static int
only_space_after(const struct vpdf *p, size_t off)
{
	for (size_t i = off; i < p->len; i++)
		if (strchr(" \t\r\n\f", p->data[i]) == NULL && p->data[i] != '\0')
			return 0;
	return 1;
}

/* "D:20261207150015+07'00'" as "2026-12-07T15:00:15+07:00" (as given if odd). */
static void
pdf_date_rfc3339(const char *s, char *out, size_t outlen)
{
	int y = 0, mo = 1, d = 1, h = 0, mi = 0, se = 0, oh = 0, om = 0, n = 0;
	char z = 'Z';

	if (strncmp(s, "D:", 2) == 0)
		s += 2;
	if (sscanf(s, "%4d%n", &y, &n) != 1 || n != 4) {
		snprintf(out, outlen, "%s", s);
		return;
	}
	s += 4;
	sscanf(s, "%2d%2d%2d%2d%2d", &mo, &d, &h, &mi, &se);
	while (*s >= '0' && *s <= '9')
		s++;
	if (*s == '+' || *s == '-') {
		z = *s;
		sscanf(s + 1, "%2d'%2d", &oh, &om);
	}
	if (z == 'Z')
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, mo, d, h, mi, se);
	else
		snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo, d, h,
		    mi, se, z, oh, om);
}

/* The DER length of the object at p (of at most n bytes), or 0. */
static size_t
der_length(const unsigned char *p, size_t n)
{
	size_t l, k;

	if (n < 2)
		return 0;
	if (p[1] < 0x80)
		return 2 + (size_t)p[1] <= n ? 2 + (size_t)p[1] : 0;
	k = p[1] & 0x7f;
	if (k == 0 || k > 4 || 2 + k > n)
		return 0;
	l = 0;
	for (size_t i = 0; i < k; i++)
		l = l << 8 | p[2 + i];
	return 2 + k + l <= n ? 2 + k + l : 0;
}

/* Checks one signature field's value (its signature dictionary). */
static void
check_signature(struct vpdf *p, json_t *sig, qpdf_oh sd)
{
	qpdf_data q = p->q;
	qpdf_oh br = qpdf_oh_get_key(q, sd, "/ByteRange"), ct = qpdf_oh_get_key(q, sd, "/Contents");
	qpdf_oh sf = qpdf_oh_get_key(q, sd, "/SubFilter"), m = qpdf_oh_get_key(q, sd, "/M");
	long long v[4];
	const char *cts;
	size_t ctlen, dl, rev;
	unsigned char *gap = NULL;
	size_t gaplen = 0;
	struct vrange r[2];
	char when[64], cov[256];
	int pades;

	if (qpdf_oh_is_name(q, sf))
		json_object_set_new(sig, "sub_filter", json_string(qpdf_oh_get_name(q, sf) + 1));
	pades = qpdf_oh_is_name_and_equals(q, sf, "/ETSI.CAdES.detached");
	if (qpdf_oh_is_string(q, m)) {
		pdf_date_rfc3339(qpdf_oh_get_string_value(q, m), when, sizeof(when));
		json_object_set_new(sig, "claimed_time", json_string(when));
		json_object_set_new(sig, "claimed_time_source", json_string("/M"));
	}
	if (!pades && !qpdf_oh_is_name_and_equals(q, sf, "/adbe.pkcs7.detached")) {
		verify_problem(sig, _("the signature's /SubFilter is %s: kyso verifies "
		    "ETSI.CAdES.detached and adbe.pkcs7.detached"), qpdf_oh_is_name(q, sf) ?
		    qpdf_oh_get_name(q, sf) : _("missing"));
		return;
	}
	if (!qpdf_oh_is_array(q, br) || qpdf_oh_get_array_n_items(q, br) != 4) {
		verify_problem(sig, _("the signature has no /ByteRange of four numbers"));
		return;
	}
	for (int i = 0; i < 4; i++) {
		qpdf_oh it = qpdf_oh_get_array_item(q, br, i);

		v[i] = qpdf_oh_is_integer(q, it) ? qpdf_oh_get_int_value(q, it) : -1;
	}
	/* [0 a b c]: from the start to the '<' of /Contents, from after its '>' on */
	if (v[0] != 0 || v[1] <= 0 || v[2] <= v[1] || v[3] < 0 ||
	    (unsigned long long)v[2] + (unsigned long long)v[3] > p->len) {
		verify_problem(sig, _("the /ByteRange [%lld %lld %lld %lld] does not fit the file "
		    "(%zu bytes)"), v[0], v[1], v[2], v[3], p->len);
		return;
	}
	if (!qpdf_oh_is_string(q, ct) || pdf_hex_gap(p->data + v[1], (size_t)(v[2] - v[1])) < 0 ||
	    pdf_hex_decode(p->data + v[1], (size_t)(v[2] - v[1]), &gap, &gaplen) != KYSO_OK ||
	    (cts = qpdf_oh_get_binary_string_value(q, ct, &ctlen)) == NULL || ctlen != gaplen ||
	    memcmp(cts, gap, gaplen) != 0) {
		verify_problem(sig, _("the bytes the /ByteRange leaves out are not exactly the "
		    "signature's /Contents"));
		free(gap);
		return;
	}
	/* after the CMS: zeros only (padding), so nothing hides in the unsigned gap */
	dl = der_length(gap, gaplen);
	for (size_t i = dl; dl > 0 && i < gaplen; i++)
		if (gap[i] != 0) {
			verify_problem(sig, _("/Contents has bytes that are not zeros in the %zu "
			    "bytes of padding after the signature"), gaplen - dl);
			break;
		}
	r[0] = (struct vrange){ p->data, (size_t)v[1] };
	r[1] = (struct vrange){ p->data + v[2], (size_t)v[3] };
	verify_cms_into(sig, gap, dl > 0 ? dl : gaplen, r, 2, p->store, p->anchor, pades);
	free(gap);
	rev = revision_at(p, (size_t)(v[2] + v[3]));
	json_object_set_new(sig, "signed_bytes", json_integer(v[2] + v[3]));
	json_object_set_new(sig, "revision", json_integer((json_int_t)rev));
	json_object_set_new(sig, "revisions", json_integer((json_int_t)p->neofs));
	if (rev == 0) {
		verify_problem(sig, _("the signed bytes end at offset %lld, which is not the end "
		    "of a revision"), v[2] + v[3]);
		snprintf(cov, sizeof(cov), _("bytes 0 to %lld (not a whole revision)"), v[2] + v[3]);
	} else if (only_space_after(p, (size_t)(v[2] + v[3]))) {
		snprintf(cov, sizeof(cov), _("the whole document (revision %zu of %zu)"), rev,
		    p->neofs);
	} else {
		snprintf(cov, sizeof(cov), _("revision %zu of %zu: the document was changed after "
		    "this signature (%zu more bytes)"), rev, p->neofs,
		    p->len - (size_t)(v[2] + v[3]));
	}
	json_object_set_new(sig, "whole_document", json_boolean(rev != 0 &&
	    only_space_after(p, (size_t)(v[2] + v[3]))));
	json_object_set_new(sig, "coverage", json_string(cov));
}

/* Finds the signature fields among a field and its kids. */
static void
walk_fields(struct vpdf *p, qpdf_oh f, const char *prefix, int inherited_sig, int depth)
{
	qpdf_data q = p->q;
	qpdf_oh t = qpdf_oh_get_key(q, f, "/T"), ft = qpdf_oh_get_key(q, f, "/FT");
	qpdf_oh val = qpdf_oh_get_key(q, f, "/V"), kids = qpdf_oh_get_key(q, f, "/Kids");
	char name[512];
	int is_sig = qpdf_oh_is_name(q, ft) ? qpdf_oh_is_name_and_equals(q, ft, "/Sig") :
	    inherited_sig;
	int n;

	if (depth > 32 || ++p->visited > 100000 || !qpdf_oh_is_dictionary(q, f))
		return;
	snprintf(name, sizeof(name), "%s%s%s", prefix, prefix[0] != '\0' &&
	    qpdf_oh_is_string(q, t) ? "." : "", qpdf_oh_is_string(q, t) ?
	    qpdf_oh_get_utf8_value(q, t) : "");
	if (is_sig && qpdf_oh_is_dictionary(q, val)) {
		json_t *sig = json_pack("{s:s, s:o}", "field", name, "problems", json_array());

		if (sig != NULL) {
			json_array_append_new(p->v->sigs, sig);
			check_signature(p, sig, val);
		}
	}
	n = qpdf_oh_is_array(q, kids) ? qpdf_oh_get_array_n_items(q, kids) : 0;
	for (int i = 0; i < n; i++)
		walk_fields(p, qpdf_oh_get_array_item(q, kids, i), name, is_sig, depth + 1);
}

static int
by_signed_bytes(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "signed_bytes"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "signed_bytes"));

	return (x > y) - (x < y);
}

/* Orders the signatures oldest first, numbers them, and checks what follows the last. */
static void
settle_order(struct vpdf *p)
{
	size_t n = json_array_size(p->v->sigs), last = 0;
	json_t **list = calloc(n ? n : 1, sizeof(*list)), *sorted = json_array();

	if (list == NULL || sorted == NULL) {
		free(list);
		json_decref(sorted);
		return;
	}
	for (size_t i = 0; i < n; i++)
		list[i] = json_array_get(p->v->sigs, i);
	qsort(list, n, sizeof(*list), by_signed_bytes);
	for (size_t i = 0; i < n; i++) {
		json_int_t end = json_integer_value(json_object_get(list[i], "signed_bytes"));

		json_object_set_new(list[i], "index", json_integer((json_int_t)i + 1));
		json_array_append(sorted, list[i]);
		if (end > 0 && (size_t)end > last)
			last = (size_t)end;
	}
	/* what came after each signature: the later signatures that cover it */
	for (size_t i = 0; i + 1 < n; i++) {
		const char *cov = json_string_value(json_object_get(list[i], "coverage"));
		char more[512], who[128] = "";
		size_t w = 0;

		if (json_is_true(json_object_get(list[i], "whole_document")) || cov == NULL)
			continue;
		for (size_t j = i + 1; j < n && w + 8 < sizeof(who); j++)
			w += (size_t)snprintf(who + w, sizeof(who) - w, "%s%zu", w > 0 ? ", " : "",
			    j + 1);
		/* TRANSLATORS: what the signature covers, then the later signatures' numbers */
		snprintf(more, sizeof(more), P_("%1$s; signed since by signature %2$s",
		    "%1$s; signed since by signatures %2$s", n - i - 1), cov, who);
		json_object_set_new(list[i], "coverage", json_string(more));
	}
	json_array_clear(p->v->sigs);
	json_array_extend(p->v->sigs, sorted);
	json_decref(sorted);
	free(list);
	if (n > 0 && !only_space_after(p, last))
		verify_problem(p->v->root, P_("the document was changed after its last signature: "
		    "%zu byte after offset %zu is not covered by any signature", "the document was "
		    "changed after its last signature: %zu bytes after offset %zu are not covered "
		    "by any signature", p->len - last), p->len - last, last);
}

/* DocMDP P (1, 2 or 3) of the certification signature dictionary sig, or 0. */
static long long
docmdp_p(qpdf_data q, qpdf_oh sig)
{
	qpdf_oh refs = qpdf_oh_get_key_if_dict(q, sig, "/Reference");
	int n = qpdf_oh_is_array(q, refs) ? qpdf_oh_get_array_n_items(q, refs) : 0;

	for (int i = 0; i < n; i++) {
		qpdf_oh ref = qpdf_oh_get_array_item(q, refs, i);
		qpdf_oh params = qpdf_oh_get_key_if_dict(q, ref, "/TransformParams");
		qpdf_oh pv = qpdf_oh_get_key_if_dict(q, params, "/P");

		if (qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key_if_dict(q, ref,
		    "/TransformMethod"), "/DocMDP"))
			return qpdf_oh_is_integer(q, pv) ? qpdf_oh_get_int_value(q, pv) : 2;
	}
	return 0;
}

/*
 * A document certified with "no changes allowed" (DocMDP P=1) that was changed after its
 * certification signature is not valid.
 */
static void
check_certification(struct vpdf *p, qpdf_oh root)
{
	qpdf_oh sig = qpdf_oh_get_key_if_dict(p->q, qpdf_oh_get_key_if_dict(p->q, root, "/Perms"),
	    "/DocMDP");
	qpdf_oh br = qpdf_oh_get_key_if_dict(p->q, sig, "/ByteRange");
	qpdf_oh b2, b3;

	if (docmdp_p(p->q, sig) != 1 || !qpdf_oh_is_array(p->q, br) ||
	    qpdf_oh_get_array_n_items(p->q, br) != 4)
		return;
	b2 = qpdf_oh_get_array_item(p->q, br, 2);
	b3 = qpdf_oh_get_array_item(p->q, br, 3);
	if (!qpdf_oh_is_integer(p->q, b2) || !qpdf_oh_is_integer(p->q, b3) ||
	    !only_space_after(p, (size_t)(qpdf_oh_get_int_value(p->q, b2) +
	    qpdf_oh_get_int_value(p->q, b3))))
		verify_problem(p->v->root, _("the document is certified with \"no changes "
		    "allowed\" (DocMDP P=1) and was changed after its certification"));
}

int
kyso_verify_pdf(const char *path, const char *ca, kyso_verify **out)
{
	struct vpdf p = { 0 };
	unsigned char *data = NULL;
	qpdf_oh root, form, fields;
	char anchor[512];
	int e, n;

	*out = p.v = verify_new(path);
	if (p.v == NULL)
		return KYSO_ERR_NOMEM;
	if ((p.store = verify_store(ca, anchor, sizeof(anchor), p.v->err, sizeof(p.v->err))) ==
	    NULL)
		return KYSO_ERR_INVALID_ARG;
	p.anchor = anchor;
	if ((e = file_read_all(path, PDF_FILE_MAX, &data, &p.len, NULL, NULL, p.v->err,
	    sizeof(p.v->err))) != KYSO_OK)
		goto out;
	p.data = data;
	if ((e = find_revisions(&p)) != KYSO_OK)
		goto out;
	if (p.len < 8 || memmem(data, p.len < 1024 ? p.len : 1024, "%PDF-", 5) == NULL ||
	    (p.q = qpdf_init()) == NULL) {
		snprintf(p.v->err, sizeof(p.v->err), _("%s is not a PDF file"), path);
		e = KYSO_ERR_DOCUMENT;
		goto out;
	}
	qpdf_silence_errors(p.q);
	qpdf_set_suppress_warnings(p.q, QPDF_TRUE);
	if (qpdf_read_memory(p.q, path, (const char *)data, p.len, "") & QPDF_ERRORS) {
		snprintf(p.v->err, sizeof(p.v->err), _("%s cannot be read: %s"), path,
		    pdf_qpdf_message(p.q));
		e = KYSO_ERR_DOCUMENT;
		goto out;
	}
	root = qpdf_get_root(p.q);
	form = qpdf_oh_get_key_if_dict(p.q, root, "/AcroForm");
	fields = qpdf_oh_get_key_if_dict(p.q, form, "/Fields");
	n = qpdf_oh_is_array(p.q, fields) ? qpdf_oh_get_array_n_items(p.q, fields) : 0;
	for (int i = 0; i < n; i++)
		walk_fields(&p, qpdf_oh_get_array_item(p.q, fields, i), "", 0, 0);
	if (qpdf_more_warnings(p.q))
		verify_problem(p.v->root, _("the file is damaged (qpdf had to repair it: %s)"),
		    pdf_qpdf_message(p.q));
	settle_order(&p);
	check_certification(&p, root);
	verify_settle(p.v);
	e = KYSO_OK;
out:
	if (p.q != NULL)
		qpdf_cleanup(&p.q);
	X509_STORE_free(p.store);
	free(p.eofs);
	free(data);
	return e;
}
