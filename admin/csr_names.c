/* csr_names.c — the subject and subject alternative names of a request (see csr.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "csr.h"
#include "encode.h"
#include "errmsg.h"
#include "kyso_err.h"

#define SUBJECT_MAX 4096
#define SAN_MAX 1024

/* ---- the subject ---- */

static const struct attr {
	const char *name;        /* as messages write it */
	const char *alias[3];
	int nid;
} attrs[] = {
	{ "CN", { "commonName" }, NID_commonName },
	{ "O", { "organizationName" }, NID_organizationName },
	{ "OU", { "organizationalUnitName" }, NID_organizationalUnitName },
	{ "C", { "countryName" }, NID_countryName },
	{ "L", { "localityName" }, NID_localityName },
	{ "ST", { "stateOrProvinceName", "S" }, NID_stateOrProvinceName },
	{ "street", { "streetAddress" }, NID_streetAddress },
	{ "SN", { "surname" }, NID_surname },
	{ "GN", { "givenName", "G" }, NID_givenName },
	{ "title", { "T" }, NID_title },
	{ "serialNumber", { 0 }, NID_serialNumber },
	{ "emailAddress", { "E", "email" }, NID_pkcs9_emailAddress },
	{ "DC", { "domainComponent" }, NID_domainComponent },
	{ "UID", { "userId" }, NID_userId },
	{ "organizationIdentifier", { 0 }, NID_organizationIdentifier },
	{ "pseudonym", { 0 }, NID_pseudonym },
	{ "initials", { 0 }, NID_initials },
	{ "generationQualifier", { 0 }, NID_generationQualifier },
	{ "dnQualifier", { 0 }, NID_dnQualifier },
	{ "postalCode", { 0 }, NID_postalCode },
};
#define NATTRS (sizeof(attrs) / sizeof(attrs[0]))

static const struct attr *
attr_find(const char *s, size_t len)
{
	for (size_t i = 0; i < NATTRS; i++) {
		if (strlen(attrs[i].name) == len && strncasecmp(attrs[i].name, s, len) == 0)
			return &attrs[i];
		for (size_t j = 0; j < 3 && attrs[i].alias[j] != NULL; j++)
			if (strlen(attrs[i].alias[j]) == len &&
			    strncasecmp(attrs[i].alias[j], s, len) == 0)
				return &attrs[i];
	}
	return NULL;
}

/* Copies at most 64 bytes of s into out (printable ASCII; others as '?'), for messages. */
static const char *
shown(const char *s, size_t len, char out[68])
{
	size_t n = len > 64 ? 64 : len, i;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (len > n)
		out[i++] = '.', out[i++] = '.', out[i++] = '.';
	out[i] = '\0';
	return out;
}

struct ava {
	const struct attr *attr;
	size_t rdn;             /* which RDN, in the order written */
	unsigned char *val;
	size_t len;
};

/* Decodes the escape at s[*i] ('\\') into buf; advances *i. */
static int
unescape(const char *s, size_t *i, unsigned char *buf, size_t *len, char *err,
    size_t errlen)
{
	char c = s[*i + 1];
	char tmp[68];

	if (hex_digit(c) >= 0 && s[*i + 2] != '\0' && hex_digit(s[*i + 2]) >= 0) {
		buf[(*len)++] = (unsigned char)(hex_digit(c) * 16 + hex_digit(s[*i + 2]));
		*i += 3;
		return KYSO_OK;
	}
	if (c != '\0' && strchr(",+\"\\<>;=# /", c) != NULL) {
		buf[(*len)++] = (unsigned char)c;
		*i += 2;
		return KYSO_OK;
	}
	if (c == '\0')
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject ends with a lone backslash"));
	return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
	    _("the subject has an unknown escape \"\\%s\" (escape , + \" \\ < > ; = # / and "
	    "space, or write a byte as \\XX in hex)"), shown(s + *i + 1, 1, tmp));
}

static int
check_value(const struct attr *a, unsigned char *v, size_t len, char *err, size_t errlen)
{
	char *copy;
	size_t bad;

	if (len == 0)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("the subject's %s is empty"),
		    a->name);
	if (memchr(v, 0, len) != NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject's %s contains a NUL byte"), a->name);
	for (size_t i = 0; i < len; i++)
		if (v[i] < 0x20 || v[i] == 0x7f)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject's %s contains a control character"), a->name);
	if ((copy = malloc(len + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	memcpy(copy, v, len);
	copy[len] = '\0';
	bad = utf8_sanitize(copy);
	free(copy);
	if (bad != 0)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject's %s is not valid UTF-8"), a->name);
	if (a->nid == NID_countryName) {
		char tmp[68];
		int letters = len == 2;

		for (size_t i = 0; i < len && letters; i++)
			letters = (v[i] | 0x20) >= 'a' && (v[i] | 0x20) <= 'z';
		if (!letters)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject's C must be a two-letter country code such as DE, "
			    "not \"%s\""), shown((const char *)v, len, tmp));
		v[0] = (unsigned char)(v[0] & ~0x20);  /* upper case */
		v[1] = (unsigned char)(v[1] & ~0x20);
	}
	return KYSO_OK;
}

/* Reads one value starting at s[*i] (after '=') into a new buffer. */
static int
read_value(const char *s, size_t *i, char sep, const struct attr *a, unsigned char **out,
    size_t *outlen, char *err, size_t errlen)
{
	unsigned char *buf = malloc(strlen(s + *i) + 1);
	size_t len = 0, keep = 0;
	int r;

	if (buf == NULL)
		return KYSO_ERR_NOMEM;
	if (s[*i] == '"') {
		for ((*i)++; s[*i] != '"'; ) {
			if (s[*i] == '\0') {
				r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
				    _("the subject's %s has no closing quote"), a->name);
				goto bad;
			}
			if (s[*i] == '\\') {
				if ((r = unescape(s, i, buf, &len, err, errlen)) != KYSO_OK)
					goto bad;
			} else {
				buf[len++] = (unsigned char)s[(*i)++];
			}
		}
		for ((*i)++; s[*i] == ' '; (*i)++)
			;
		if (s[*i] != '\0' && s[*i] != sep && s[*i] != '+') {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject has text after the quoted %s"), a->name);
			goto bad;
		}
		keep = len;
	} else {
		if (s[*i] == '#') {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject's %s starts with \"#\" (write \"\\#\" for a literal #)"),
			    a->name);
			goto bad;
		}
		while (s[*i] != '\0' && s[*i] != sep && s[*i] != '+') {
			if (s[*i] == '\\') {
				if ((r = unescape(s, i, buf, &len, err, errlen)) != KYSO_OK)
					goto bad;
				keep = len;  /* an escaped space is kept */
			} else {
				buf[len++] = (unsigned char)s[*i];
				if (s[(*i)++] != ' ')
					keep = len;
			}
		}
	}
	if ((r = check_value(a, buf, keep, err, errlen)) != KYSO_OK)
		goto bad;
	*out = buf;
	*outlen = keep;
	return KYSO_OK;
bad:
	free(buf);
	return r;
}

static void
avas_free(struct ava *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].val);
	free(v);
}

/* Splits s into attribute-value pairs; sep is ',' (RFC 4514) or '/' (OpenSSL). */
static int
parse_avas(const char *s, char sep, struct ava **out, size_t *nout, char *err,
    size_t errlen)
{
	struct ava *v = NULL, *nv;
	size_t n = 0, cap = 0, i = 0, rdn = 0, t0, t1;
	char prev = 0, tmp[68];
	const struct attr *a;
	int r;

	for (;;) {
		while (s[i] == ' ')
			i++;
		for (t0 = i; s[i] != '\0' && s[i] != '=' && s[i] != sep && s[i] != '+'; i++)
			;
		for (t1 = i; t1 > t0 && s[t1 - 1] == ' '; t1--)
			;
		if (s[i] != '=') {
			if (t1 == t0)
				r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
				    _("the subject has an empty part (two separators in a row, or "
				    "one at an end)"));
			else if (prev != 0)
				r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG, prev == '+' ?
				    _("the subject part \"%s\" has no \"=\" (write \"\\%c\" for a "
				    "plus sign inside a value)") : prev == ',' ? _("the subject part "
				    "\"%s\" has no \"=\" (write \"\\%c\" for a comma inside a "
				    "value)") : _("the subject part \"%s\" has no \"=\" (write \"\\%c\" "
				    "for a slash inside a value)"), shown(s + t0, t1 - t0, tmp), prev);
			else
				r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
				    _("the subject part \"%s\" has no \"=\""),
				    shown(s + t0, t1 - t0, tmp));
			goto bad;
		}
		if (t1 == t0) {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject has a value with no attribute name before \"=\""));
			goto bad;
		}
		if ((a = attr_find(s + t0, t1 - t0)) == NULL) {
			r = errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject has an unknown attribute \"%s\" (known: CN, O, OU, C, L, "
			    "ST, street, SN, GN, title, serialNumber, emailAddress, DC, UID, "
			    "organizationIdentifier, pseudonym, initials, generationQualifier, "
			    "dnQualifier, postalCode)"), shown(s + t0, t1 - t0, tmp));
			goto bad;
		}
		for (i++; s[i] == ' '; i++)
			;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				r = KYSO_ERR_NOMEM;
				goto bad;
			}
			v = nv;
		}
		v[n].attr = a;
		v[n].rdn = rdn;
		if ((r = read_value(s, &i, sep, a, &v[n].val, &v[n].len, err, errlen)) !=
		    KYSO_OK)
			goto bad;
		n++;
		if (s[i] == '\0')
			break;
		prev = s[i];
		if (s[i++] == sep)
			rdn++;
	}
	*out = v;
	*nout = n;
	return KYSO_OK;
bad:
	avas_free(v, n);
	return r;
}

static int
add_entry(X509_NAME *name, const struct ava *av, int set, char *err, size_t errlen)
{
	const ASN1_STRING_TABLE *t;
	unsigned long e;
	int reason;

	ERR_clear_error();
	if (X509_NAME_add_entry_by_NID(name, av->attr->nid, MBSTRING_UTF8, av->val,
	    (int)av->len, -1, set) == 1)
		return KYSO_OK;
	e = ERR_peek_last_error();
	reason = ERR_GET_LIB(e) == ERR_LIB_ASN1 ? ERR_GET_REASON(e) : 0;
	t = ASN1_STRING_TABLE_get(av->attr->nid);
	if (reason == ASN1_R_STRING_TOO_LONG && t != NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject's %s is too long (at most %ld characters)"), av->attr->name,
		    t->maxsize);
	if (reason == ASN1_R_ILLEGAL_CHARACTERS && t != NULL &&
	    (t->mask & B_ASN1_PRINTABLESTRING))
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject's %s may hold only letters, digits, spaces and ' ( ) + , - . "
		    "/ : = ?"), av->attr->name);
	if (reason == ASN1_R_ILLEGAL_CHARACTERS)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject's %s may hold only ASCII characters"), av->attr->name);
	if (e != 0 && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
		return errmsg(err, errlen, KYSO_ERR_NOMEM, _("out of memory"));
	return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("the subject's %s is not valid"),
	    av->attr->name);
}

int
csr_parse_subject(const char *subject, X509_NAME **out, char *err, size_t errlen)
{
	struct ava *v = NULL;
	size_t n = 0, nrdn;
	X509_NAME *name = NULL;
	int slash, r;

	*out = NULL;
	if (subject == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("no subject was given"));
	if (strlen(subject) > SUBJECT_MAX)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject is longer than %d bytes"), SUBJECT_MAX);
	while (*subject == ' ')
		subject++;
	if (*subject == '\0')
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, _("the subject is empty"));
	slash = *subject == '/';
	if ((r = parse_avas(subject + slash, slash ? '/' : ',', &v, &n, err, errlen)) !=
	    KYSO_OK)
		return r;
	if ((name = X509_NAME_new()) == NULL) {
		r = KYSO_ERR_NOMEM;
		goto out;
	}
	/* the string form of RFC 4514 writes the last RDN first; OpenSSL's writes the first */
	nrdn = v[n - 1].rdn + 1;
	for (size_t k = 0; k < nrdn; k++) {
		size_t rdn = slash ? k : nrdn - 1 - k;
		int first = 1;

		for (size_t i = 0; i < n; i++) {
			if (v[i].rdn != rdn)
				continue;
			if ((r = add_entry(name, &v[i], first ? 0 : -1, err, errlen)) != KYSO_OK)
				goto out;
			first = 0;
		}
	}
	*out = name;
	name = NULL;
	r = KYSO_OK;
out:
	X509_NAME_free(name);
	avas_free(v, n);
	return r;
}

/* ---- subject alternative names ---- */

static int
check_san(int type, const char *v, const char *whole, char *err, size_t errlen)
{
	char tmp[68];
	const char *at;
	size_t len = strlen(v);

	for (const char *p = v; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG, type == GEN_DNS ?
			    _("the subject alternative name \"%s\" may hold only ASCII characters "
			    "without spaces (write internationalised names in their xn-- form)") :
			    _("the subject alternative name \"%s\" may hold only ASCII characters "
			    "without spaces"), shown(whole, strlen(whole), tmp));
	switch (type) {
	case GEN_EMAIL:
		at = strchr(v, '@');
		if (at == NULL || at == v || at[1] == '\0' || strchr(at + 1, '@') != NULL)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject alternative name \"%s\" is not an e-mail address"),
			    shown(whole, strlen(whole), tmp));
		break;
	case GEN_DNS:
		if (len > 253 || v[0] == '.' || v[len - 1] == '.' || strstr(v, "..") != NULL ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789-.") != len)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject alternative name \"%s\" is not a DNS name"),
			    shown(whole, strlen(whole), tmp));
		break;
	case GEN_URI:
		if (strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789+-.") == 0 || strchr(v, ':') == NULL ||
		    strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789+-.") != (size_t)(strchr(v, ':') - v))
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject alternative name \"%s\" is not a URI (it needs a "
			    "scheme, as in uri:https://... or uri:urn:...)"),
			    shown(whole, strlen(whole), tmp));
		break;
	}
	return KYSO_OK;
}

static int
parse_san(const char *s, GENERAL_NAME **out, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		int type;
	} kinds[] = {
		{ "email:", GEN_EMAIL }, { "dns:", GEN_DNS }, { "uri:", GEN_URI },
		{ "ip:", GEN_IPADD },
	};
	GENERAL_NAME *gen;
	ASN1_STRING *str = NULL;
	char tmp[68];
	const char *v = NULL;
	int type = -1, r;

	*out = NULL;
	if (s == NULL)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("a subject alternative name is missing"));
	if (strlen(s) > SAN_MAX)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("a subject alternative name is longer than %d bytes"), SAN_MAX);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strncasecmp(s, kinds[i].prefix, strlen(kinds[i].prefix)) == 0) {
			type = kinds[i].type;
			v = s + strlen(kinds[i].prefix);
		}
	if (type < 0)
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject alternative name \"%s\" has no known kind (write email:, "
		    "dns:, uri: or ip: before the value)"), shown(s, strlen(s), tmp));
	if (*v == '\0')
		return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
		    _("the subject alternative name \"%s\" has an empty value"),
		    shown(s, strlen(s), tmp));
	if ((r = check_san(type, v, s, err, errlen)) != KYSO_OK)
		return r;
	if (type == GEN_IPADD) {
		if ((str = a2i_IPADDRESS(v)) == NULL)
			return errmsg(err, errlen, KYSO_ERR_INVALID_ARG,
			    _("the subject alternative name \"%s\" is not an IP address"),
			    shown(s, strlen(s), tmp));
	} else if ((str = ASN1_IA5STRING_new()) == NULL ||
	    ASN1_STRING_set(str, v, (int)strlen(v)) != 1) {
		ASN1_STRING_free(str);
		return KYSO_ERR_NOMEM;
	}
	if ((gen = GENERAL_NAME_new()) == NULL) {
		ASN1_STRING_free(str);
		return KYSO_ERR_NOMEM;
	}
	GENERAL_NAME_set0_value(gen, type, str);
	*out = gen;
	return KYSO_OK;
}

int
csr_parse_sans(const char *const *sans, size_t n, GENERAL_NAMES **out, char *err,
    size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	GENERAL_NAME *gen;
	int r;

	*out = NULL;
	if (gens == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((r = parse_san(sans[i], &gen, err, errlen)) != KYSO_OK)
			goto bad;
		if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
			GENERAL_NAME_free(gen);
			r = KYSO_ERR_NOMEM;
			goto bad;
		}
	}
	*out = gens;
	return KYSO_OK;
bad:
	GENERAL_NAMES_free(gens);
	return r;
}
