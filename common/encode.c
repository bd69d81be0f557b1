/* encode.c — base64 through OpenSSL's block coder with strict validation; hex. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "buf.h"
#include "encode.h"
#include "kyso_err.h"

char *
b64_encode(const unsigned char *p, size_t len)
{
	size_t n;
	char *s;

	if (len > (size_t)(1u << 30))
		return NULL;
	n = 4 * ((len + 2) / 3);
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	if (EVP_EncodeBlock((unsigned char *)s, p, (int)len) != (int)n) {
		free(s);
		return NULL;
	}
	s[n] = '\0';
	return s;
}

int
b64_append(struct kbuf *b, const unsigned char *p, size_t len)
{
	size_t n;
	int r;

	if (len > (size_t)(1u << 30))
		return KYSO_ERR_TOO_LARGE;
	n = 4 * ((len + 2) / 3);
	if ((r = kbuf_reserve(b, n + 1)) != KYSO_OK)  /* EVP_EncodeBlock ends with a NUL */
		return r;
	if (EVP_EncodeBlock(b->data + b->len, p, (int)len) != (int)n)
		return KYSO_ERR_CRYPTO;
	b->len += n;
	return KYSO_OK;
}

/* The base64 alphabet (RFC 4648, section 4), by byte: 1 for its 64 characters. */
static const unsigned char b64_alphabet[256] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
	0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
};

int
b64_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(s), pad = 0, i;
	unsigned char *buf;
	int n;

	*out = NULL;
	*outlen = 0;
	if (len % 4 != 0 || len > (size_t)(1u << 30))
		return KYSO_ERR_INVALID_ARG;
	if (len > 0 && s[len - 1] == '=')
		pad++;
	if (len > 1 && s[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_alphabet[(unsigned char)s[i]])
			return KYSO_ERR_INVALID_ARG;
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	if (len == 0) {
		*out = buf;
		return KYSO_OK;
	}
	n = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)len);
	if (n < 0 || (size_t)n < pad) {
		free(buf);
		return KYSO_ERR_INVALID_ARG;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return KYSO_OK;
}

void
hex_encode(const unsigned char *p, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

char *
hex_encode_new(const unsigned char *p, size_t len)
{
	char *s;

	if (len > ((size_t)-1 - 1) / 2 || (s = malloc(2 * len + 1)) == NULL)
		return NULL;
	hex_encode(p, len, s);
	return s;
}

size_t
utf8_seq(const unsigned char *s)
{
	unsigned c = s[0];
	size_t n;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

size_t
utf8_sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t bad = 0, n;

	while (*p != '\0') {
		if ((n = utf8_seq(p)) == 0) {
			*p++ = '?';
			bad++;
		} else {
			p += n;
		}
	}
	return bad;
}

int
utf8_prefix(const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k;

	if (s == NULL)
		return 0;
	while (p[n] != '\0') {
		k = utf8_seq(p + n);
		if (k == 0)
			k = 1;
		if (n + k > max || n + k > (size_t)INT_MAX)
			break;
		n += k;
	}
	return (int)n;
}

size_t
utf8_repair(char *s)
{
	unsigned char *p = (unsigned char *)s;
	size_t len = strlen(s), cut = 0, start;

	/* a lead byte near the end whose sequence the end cuts short: drop it */
	for (start = len; start > 0 && len - start < 4; start--) {
		unsigned char c = p[start - 1];

		if ((c & 0xc0) == 0x80)
			continue;  /* a continuation byte: look further back */
		if (c >= 0xc0 && utf8_seq(p + start - 1) == 0) {
			size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;

			if (len - (start - 1) < need) {
				cut = len - (start - 1);
				p[start - 1] = '\0';
			}
		}
		break;
	}
	return cut + utf8_sanitize(s);
}

int
json_quote(struct kbuf *b, const char *s)
{
	static const char hexd[] = "0123456789ABCDEF";  /* as jansson: \u001F */
	const unsigned char *p = (const unsigned char *)s;
	size_t start = 0, i = 0, k;
	int e = kbuf_append(b, "\"", 1);

	/* runs of bytes that need nothing are appended at once */
	while (e == KYSO_OK && p[i] != '\0') {
		unsigned c = p[i];
		char esc[6] = { '\\', 0, 0, 0, 0, 0 };
		size_t n = 2;

		k = c < 0x80 ? 1 : utf8_seq(p + i);
		if (k != 0 && c >= 0x20 && c != '"' && c != '\\') {
			i += k;
			continue;
		}
		if ((e = kbuf_append(b, p + start, i - start)) != KYSO_OK)
			break;
		if (k == 0) {
			e = kbuf_append(b, "\xef\xbf\xbd", 3);  /* U+FFFD */
		} else {
			switch (c) {
			case '"': esc[1] = '"'; break;
			case '\\': esc[1] = '\\'; break;
			case '\b': esc[1] = 'b'; break;
			case '\f': esc[1] = 'f'; break;
			case '\n': esc[1] = 'n'; break;
			case '\r': esc[1] = 'r'; break;
			case '\t': esc[1] = 't'; break;
			default:
				memcpy(esc + 1, "u00", 3);
				esc[4] = hexd[c >> 4];
				esc[5] = hexd[c & 15];
				n = 6;
			}
			e = kbuf_append(b, esc, n);
		}
		i++;
		start = i;
	}
	if (e == KYSO_OK)
		e = kbuf_append(b, p + start, i - start);
	return e == KYSO_OK ? kbuf_append(b, "\"", 1) : e;
}

int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *s, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(s), n = 0;
	unsigned char *buf;

	*out = NULL;
	*outlen = 0;
	if ((buf = malloc(len / 2 + 1)) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < len;) {
		int hi, lo;

		if (n > 0 && s[i] == ':' && i + 1 < len)
			i++;
		if (i + 1 >= len || (hi = hex_digit(s[i])) < 0 ||
		    (lo = hex_digit(s[i + 1])) < 0) {
			free(buf);
			return KYSO_ERR_INVALID_ARG;
		}
		buf[n++] = (unsigned char)(hi << 4 | lo);
		i += 2;
	}
	*out = buf;
	*outlen = n;
	return KYSO_OK;
}

int
json_member(struct kbuf *b, const char *key, const char *value)
{
	int e;
	size_t k;

	if (value == NULL)
		return KYSO_OK;
	for (const char *p = value; *p != '\0'; p += k)
		if ((k = utf8_seq((const unsigned char *)p)) == 0)
			return KYSO_ERR_INVALID_ARG;
	if ((e = kbuf_append(b, ",\"", 2)) == KYSO_OK &&
	    (e = kbuf_append(b, key, strlen(key))) == KYSO_OK &&
	    (e = kbuf_append(b, "\":", 2)) == KYSO_OK)
		e = json_quote(b, value);
	return e;
}

int
json_b64_item(struct kbuf *b, int first, const unsigned char *p, size_t len)
{
	int e;

	if ((first || (e = kbuf_append(b, ",", 1)) == KYSO_OK) &&
	    (e = kbuf_append(b, "\"", 1)) == KYSO_OK &&
	    (e = b64_append(b, p, len)) == KYSO_OK)
		e = kbuf_append(b, "\"", 1);
	return e;
}
