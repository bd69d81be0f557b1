/*
 * origin.h — web origins (RFC 6454) as kyso accepts them: the page a browser request comes
 * from, as the browser host passes it to kysod, and the patterns of kysod.conf's
 * web_origins. One rule for the host, the agent and the configuration.
 *
 * Accepted: "https://HOST" or "https://HOST:PORT", HOST a DNS name (ASCII letters, digits
 * and hyphens in dot-separated labels of 1-63 characters, at most 253 in all; an
 * internationalised name in its xn-- form, as browsers serialise origins), an IPv4
 * address, or an IPv6 address in brackets. Also "http://" for a loopback host only
 * (localhost, 127.x.y.z, [::1]): pages served on the officer's own machine, for
 * development and tests; the policy must list such an origin exactly (docs/web.md).
 * Nothing else: no user, path, query, fragment, trailing dot, or other scheme.
 *
 * Normalised: scheme and host in lower case, the scheme's default port (443, 80)
 * dropped, leading zeros of the port dropped. Normalised origins compare with strcmp.
 *
 * A pattern (web_origins) is an origin, or an https origin whose host is "*.DOMAIN"
 * and an optional port: every host below DOMAIN (at any depth, not DOMAIN itself) on
 * that port. DOMAIN must be a DNS name of at least two labels, so "*.vn" is refused;
 * http patterns are never wildcards.
 */
#ifndef KYSO_ORIGIN_H
#define KYSO_ORIGIN_H

#include <stddef.h>

/* The longest origin accepted, in bytes (NUL excluded): "https://" + 253 + ":65535". */
#define ORIGIN_MAX 270

/* origin_normalize flags */
#define ORIGIN_PATTERN 1u     /* accept a leading "*." label (web_origins) */
#define ORIGIN_SLASH_OK 2u    /* accept one trailing '/' (as an administrator may write) */

/*
 * Checks in and writes its normalised form into out (ORIGIN_MAX + 1 bytes suffice).
 * Returns KYSO_OK; KYSO_ERR_INVALID_ARG with *why (a static phrase such as "the scheme
 * must be https", never quoting the input) when in is not an accepted origin (or pattern,
 * with ORIGIN_PATTERN); KYSO_ERR_TOO_LARGE when in, or outlen, is too long or short.
 * why may be NULL.
 */
int origin_normalize(const char *in, unsigned flags, char *out, size_t outlen,
    const char **why);

/* Returns 1 if the normalised origin o is an http origin (a loopback page), else 0. */
int origin_is_http(const char *o);

/* Returns 1 if the normalised pattern p is an https pattern with the host "*.D", else 0. */
int origin_is_wildcard(const char *p);

/*
 * Returns 1 if the normalised origin o is matched by the normalised pattern p: equal, or
 * p is https with the host "*.D" and o is https with the host "X.D", X one or more
 * labels, on the same port; else 0.
 */
int origin_match(const char *p, const char *o);

/*
 * Returns 1 if every origin pattern inner matches is also matched by outer (both
 * normalised): equal; inner an origin that outer matches; or both wildcards with inner's
 * domain equal to or below outer's, on the same port. Else 0. (A user's web_origins
 * entry is kept when some administrator's entry covers it.)
 */
int origin_pattern_within(const char *inner, const char *outer);

#endif
