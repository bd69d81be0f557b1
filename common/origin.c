/* origin.c — web origins and web_origins patterns: checked, normalised, matched. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "i18n.h"
#include "kyso_err.h"
#include "origin.h"

#define HOST_MAX 253
#define LABEL_MAX 63

static int
bad(const char **why, const char *what)
{
	if (why != NULL)
		*why = what;
	return KYSO_ERR_INVALID_ARG;
}

static int
is_ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * Checks a DNS name of len bytes at h (already in lower case). Returns the number of
 * labels, 0 if it is not a name.
 */
static int
dns_labels(const char *h, size_t len)
{
	size_t start = 0;
	int labels = 0;

	if (len == 0 || len > HOST_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && h[i] != '.') {
			if (!is_ldh(h[i]))
				return 0;
			continue;
		}
		if (i == start || i - start > LABEL_MAX || h[start] == '-' || h[i - 1] == '-')
			return 0;
		labels++;
		start = i + 1;
	}
	return labels;
}

/* 1 if the len bytes at h are all digits and dots (meant as an IPv4 address). */
static int
looks_ipv4(const char *h, size_t len)
{
	size_t i;

	for (i = 0; i < len && ((h[i] >= '0' && h[i] <= '9') || h[i] == '.'); i++)
		;
	return len > 0 && i == len;
}

/* Writes the host at in (len bytes) in normalised form to host; returns KYSO_OK or bad. */
static int
parse_host(const char *in, size_t len, int pattern, char *host, size_t hostlen,
    int *wildcard, const char **why)
{
	unsigned char addr[16];
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t off = 0;

	*wildcard = 0;
	if (len == 0)
		return bad(why, _("the host is missing"));
	if (len > HOST_MAX + 2 || len >= hostlen)
		return bad(why, _("the host is too long"));
	if (in[0] == '[') {
		if (len < 3 || in[len - 1] != ']' || len - 2 >= sizeof(tmp))
			return bad(why, _("the IPv6 address is not valid"));
		memcpy(tmp, in + 1, len - 2);
		tmp[len - 2] = '\0';
		if (inet_pton(AF_INET6, tmp, addr) != 1 || inet_ntop(AF_INET6, addr, tmp,
		    sizeof(tmp)) == NULL)
			return bad(why, _("the IPv6 address is not valid"));
		if ((size_t)snprintf(host, hostlen, "[%s]", tmp) >= hostlen)
			return bad(why, _("the host is too long"));
		return KYSO_OK;
	}
	if (pattern && len >= 2 && in[0] == '*' && in[1] == '.') {
		*wildcard = 1;
		off = 2;
	}
	for (size_t i = 0; i < len; i++) {
		char c = in[i];

		host[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	host[len] = '\0';
	if (pattern && strchr(host + off, '*') != NULL)
		return bad(why, _("a '*' may only stand for the leading label (https://*.example.vn)"));
	if (looks_ipv4(host + off, len - off)) {
		if (*wildcard)
			return bad(why, _("a '*.' rule needs a domain name, not an address"));
		if (inet_pton(AF_INET, host, addr) != 1)
			return bad(why, _("the IPv4 address is not valid"));
		return KYSO_OK;
	}
	switch (dns_labels(host + off, len - off)) {
	case 0:
		return bad(why, _("the host is not a valid DNS name (letters, digits and hyphens "
		    "in dot-separated labels; an international name in its xn-- form)"));
	case 1:
		if (*wildcard)
			return bad(why, _("a '*.' rule needs a domain of at least two labels"));
		break;
	default:
		break;
	}
	return KYSO_OK;
}

static int
is_loopback(const char *host)
{
	unsigned char a[4];

	if (strcmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return 1;
	return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

int
origin_normalize(const char *in, unsigned flags, char *out, size_t outlen, const char **why)
{
	char host[HOST_MAX + 8];
	const char *p, *hend, *end;
	unsigned long port = 0;
	size_t inlen;
	int http, wildcard, r, n;

	if (in == NULL)
		return bad(why, _("no origin"));
	inlen = strlen(in);
	if (inlen > ORIGIN_MAX + 1 || outlen < ORIGIN_MAX + 1) {
		if (why != NULL)
			*why = _("the origin is too long");
		return KYSO_ERR_TOO_LARGE;
	}
	end = in + inlen;
	if ((flags & ORIGIN_SLASH_OK) && inlen > 0 && end[-1] == '/')
		end--;
	if (strncasecmp(in, "https://", 8) == 0) {
		http = 0;
		p = in + 8;
	} else if (strncasecmp(in, "http://", 7) == 0) {
		http = 1;
		p = in + 7;
	} else {
		return bad(why, _("the scheme must be https (an origin is scheme://host[:port])"));
	}
	for (const char *s = p; s < end; s++)
		if (*s == '/' || *s == '?' || *s == '#' || *s == '@' || *s == '\\' ||
		    (unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return bad(why, *s == '/' || *s == '?' || *s == '#' ? _("an origin has no "
			    "path, query or fragment (scheme://host[:port] only)") : *s == '@' ?
			    _("an origin has no user name") : _("the origin holds a character that no "
			    "host name holds"));
	/* the host ends at the port's ':' (after the ']' of an IPv6 address) */
	if (*p == '[') {
		hend = memchr(p, ']', (size_t)(end - p));
		hend = hend != NULL ? hend + 1 : end;
	} else {
		hend = memchr(p, ':', (size_t)(end - p));
		if (hend == NULL)
			hend = end;
	}
	if ((r = parse_host(p, (size_t)(hend - p), (flags & ORIGIN_PATTERN) != 0, host,
	    sizeof(host), &wildcard, why)) != KYSO_OK)
		return r;
	if (hend < end) {
		const char *d = hend + 1;

		if (*hend != ':' || d == end)
			return bad(why, _("the port is not a number from 1 to 65535"));
		for (; d < end; d++) {
			if (*d < '0' || *d > '9')
				return bad(why, _("the port is not a number from 1 to 65535"));
			if (port <= 65535)   /* past that it only needs to stay too large */
				port = port * 10 + (unsigned long)(*d - '0');
		}
		if (port == 0 || port > 65535)
			return bad(why, _("the port is not a number from 1 to 65535"));
	}
	if (http && wildcard)
		return bad(why, _("an http origin cannot have a '*.' rule"));
	if (http && !is_loopback(host))
		return bad(why, _("the scheme must be https (http only for a page on this machine: "
		    "localhost, 127.0.0.1 or [::1])"));
	if (port == (http ? 80UL : 443UL))
		port = 0;
	if (port != 0)
		n = snprintf(out, outlen, "%s://%s:%lu", http ? "http" : "https", host, port);
	else
		n = snprintf(out, outlen, "%s://%s", http ? "http" : "https", host);
	if (n < 0 || (size_t)n >= outlen || (size_t)n > ORIGIN_MAX) {
		if (why != NULL)
			*why = _("the origin is too long");
		return KYSO_ERR_TOO_LARGE;
	}
	return KYSO_OK;
}

int
origin_is_http(const char *o)
{
	return strncmp(o, "http://", 7) == 0;
}

int
origin_is_wildcard(const char *p)
{
	return strncmp(p, "https://*.", 10) == 0;
}

/* The port part of a normalised origin or pattern ("" or ":8443"). */
static const char *
port_of(const char *o)
{
	const char *h = strstr(o, "://") + 3;
	const char *c = *h == '[' ? strchr(h, ']') : h;

	c = c != NULL ? strchr(c, ':') : NULL;
	return c != NULL ? c : o + strlen(o);
}

/* 1 if host (len bytes) is below domain (dlen bytes) by at least one label. */
static int
below(const char *host, size_t len, const char *domain, size_t dlen)
{
	return len > dlen + 1 && host[len - dlen - 1] == '.' &&
	    memcmp(host + len - dlen, domain, dlen) == 0;
}

int
origin_match(const char *p, const char *o)
{
	const char *pp, *op, *dom, *host;

	if (strcmp(p, o) == 0)
		return 1;
	if (!origin_is_wildcard(p) || strncmp(o, "https://", 8) != 0)
		return 0;
	pp = port_of(p);
	op = port_of(o);
	if (strcmp(pp, op) != 0)
		return 0;
	dom = p + 10;
	host = o + 8;
	if (*host == '[')
		return 0;
	return below(host, (size_t)(op - host), dom, (size_t)(pp - dom));
}

int
origin_pattern_within(const char *inner, const char *outer)
{
	const char *ip, *op;

	if (!origin_is_wildcard(inner))
		return origin_match(outer, inner);
	if (!origin_is_wildcard(outer))
		return 0;
	ip = port_of(inner);
	op = port_of(outer);
	if (strcmp(ip, op) != 0)
		return 0;
	/* *.a.b.vn is within *.b.vn, and *.b.vn within itself */
	if ((size_t)(ip - inner) == (size_t)(op - outer) && strncmp(inner, outer,
	    (size_t)(ip - inner)) == 0)
		return 1;
	return below(inner + 10, (size_t)(ip - inner - 10), outer + 10,
	    (size_t)(op - outer - 10));
}
