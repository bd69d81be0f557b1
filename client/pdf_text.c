/* pdf_text.c — pure helpers of libkyso-pdf: text strings, dates, templates, hex checks. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/objects.h>

#include "encode.h"
#include "kyso_err.h"
#include "pdf_internal.h"

int
pdf_utf16be(const char *utf8, unsigned char **out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t n = strlen(utf8), o = 0, l;
	unsigned char *u;
	uint32_t cp;

	*out = NULL;
	*outlen = 0;
	/* at most 4 bytes out per byte in (a 4-byte sequence gives a surrogate pair) */
	if ((u = malloc(2 + 4 * n)) == NULL)
		return KYSO_ERR_NOMEM;
	u[o++] = 0xfe;
	u[o++] = 0xff;
	while (*s != '\0') {
		if ((l = utf8_seq(s)) == 0) {
			free(u);
			return KYSO_ERR_INVALID_ARG;
		}
		switch (l) {
		case 1: cp = s[0]; break;
		case 2: cp = (uint32_t)(s[0] & 0x1f) << 6 | (s[1] & 0x3f); break;
		case 3: cp = (uint32_t)(s[0] & 0x0f) << 12 | (uint32_t)(s[1] & 0x3f) << 6 |
			    (s[2] & 0x3f); break;
		default: cp = (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3f) << 12 |
			    (uint32_t)(s[2] & 0x3f) << 6 | (s[3] & 0x3f); break;
		}
		s += l;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			u[o++] = (unsigned char)(0xd8 | (cp >> 18));
			u[o++] = (unsigned char)(cp >> 10);
			u[o++] = (unsigned char)(0xdc | ((cp >> 8) & 0x03));
			u[o++] = (unsigned char)cp;
		} else {
			u[o++] = (unsigned char)(cp >> 8);
			u[o++] = (unsigned char)cp;
		}
	}
	*out = u;
	*outlen = o;
	return KYSO_OK;
}

/* The broken-down time of when at the offset, as if it were UTC. */
static int
local_tm(time_t when, int utc_offset, struct tm *tm)
{
	time_t t = when + (time_t)utc_offset * 60;

	return gmtime_r(&t, tm) != NULL ? 0 : -1;
}

void
pdf_date(time_t when, int utc_offset, char *out, size_t outlen)
{
	struct tm tm;
	int off = utc_offset < 0 ? -utc_offset : utc_offset;

	if (local_tm(when, utc_offset, &tm) != 0) {
		snprintf(out, outlen, "D:19700101000000Z");
		return;
	}
	if (utc_offset == 0)
		snprintf(out, outlen, "D:%04d%02d%02d%02d%02d%02dZ", tm.tm_year + 1900,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, outlen, "D:%04d%02d%02d%02d%02d%02d%c%02d'%02d'",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
		    tm.tm_sec, utc_offset < 0 ? '-' : '+', off / 60, off % 60);
}

int
pdf_time_text(time_t when, int utc_offset, const char *fmt, char *out, size_t outlen)
{
	char f[256], zone[32];
	struct tm tm;
	size_t o = 0, zl;
	int off = utc_offset < 0 ? -utc_offset : utc_offset;

	snprintf(zone, sizeof(zone), "%c%02d:%02d", utc_offset < 0 ? '-' : '+', (off / 60) % 100,
	    off % 60);
	zl = strlen(zone);
	/* strftime would print the machine's zone for %z: put the chosen one in instead */
	for (const char *p = fmt; *p != '\0'; p++) {
		if (p[0] == '%' && p[1] == 'z') {
			if (o + zl >= sizeof(f))
				return KYSO_ERR_INVALID_ARG;
			memcpy(f + o, zone, zl);
			o += zl;
			p++;
			continue;
		}
		if (o + 2 >= sizeof(f))
			return KYSO_ERR_INVALID_ARG;
		f[o++] = *p;
		if (p[0] == '%' && p[1] != '\0')
			f[o++] = *++p;
	}
	f[o] = '\0';
	if (local_tm(when, utc_offset, &tm) != 0 || outlen == 0)
		return KYSO_ERR_INVALID_ARG;
	if (strftime(out, outlen, f, &tm) == 0) {
		out[0] = '\0';
		return KYSO_ERR_INVALID_ARG;
	}
	return KYSO_OK;
}

/* The value of a template field letter, or NULL if the letter is not one. */
static const char *
template_field(const struct pdf_fields *f, char c)
{
	const char *v;

	switch (c) {
	case 'n': v = f->name; break;
	case 'o': v = f->org; break;
	case 'u': v = f->unit; break;
	case 't': v = f->time; break;
	case 'r': v = f->reason; break;
	case 'l': v = f->location; break;
	case 'c': v = f->contact; break;
	default: return NULL;
	}
	return v != NULL ? v : "";
}

char *
pdf_template_expand(const char *tmpl, const struct pdf_fields *f)
{
	struct kbuf b;
	const char *line = tmpl, *end, *v;
	size_t start;
	int fields, filled;

	kbuf_init(&b, 64 * 1024);
	while (*line != '\0') {
		end = strchr(line, '\n');
		if (end == NULL)
			end = line + strlen(line);
		start = b.len;
		fields = filled = 0;
		if (start > 0 && kbuf_append(&b, "\n", 1) != KYSO_OK)
			goto fail;
		for (const char *p = line; p < end; p++) {
			if (p[0] == '%' && p + 1 < end && p[1] == '%') {
				if (kbuf_append(&b, "%", 1) != KYSO_OK)
					goto fail;
				p++;
			} else if (p[0] == '%' && p + 1 < end &&
			    (v = template_field(f, p[1])) != NULL) {
				fields++;
				filled += v[0] != '\0';
				if (kbuf_append(&b, v, strlen(v)) != KYSO_OK)
					goto fail;
				p++;
			} else if (kbuf_append(&b, p, 1) != KYSO_OK) {
				goto fail;
			}
		}
		if (fields > 0 && filled == 0 && b.len > start) {
			/* a line about nothing: take it back */
			memset(b.data + start, 0, b.len - start);
			b.len = start;
		}
		line = *end == '\n' ? end + 1 : end;
	}
	if (kbuf_append(&b, "", 1) != KYSO_OK)
		goto fail;
	/* a template that began with empty lines left a leading newline */
	{
		char *s = (char *)b.data, *r;

		while (*s == '\n')
			s++;
		r = strdup(s);
		kbuf_free(&b);
		return r;
	}
fail:
	kbuf_free(&b);
	return NULL;
}

long
pdf_hex_gap(const unsigned char *data, size_t len)
{
	long digits = 0;

	if (len < 2 || data[0] != '<' || data[len - 1] != '>')
		return -1;
	for (size_t i = 1; i + 1 < len; i++) {
		if (hex_digit((char)data[i]) < 0)
			return -1;
		digits++;
	}
	return digits;
}

int
pdf_hex_decode(const unsigned char *data, size_t len, unsigned char **out, size_t *outlen)
{
	long digits = pdf_hex_gap(data, len);
	unsigned char *b;

	*out = NULL;
	*outlen = 0;
	if (digits < 0)
		return KYSO_ERR_INVALID_ARG;
	if ((b = calloc((size_t)digits / 2 + 2, 1)) == NULL)
		return KYSO_ERR_NOMEM;
	for (long i = 0; i < digits; i++) {
		int v = hex_digit((char)data[1 + i]);

		b[i / 2] |= (unsigned char)(i % 2 == 0 ? v << 4 : v);
	}
	*out = b;
	*outlen = ((size_t)digits + 1) / 2;
	return KYSO_OK;
}

const EVP_MD *
pdf_digest_md(const char *name)
{
	if (name == NULL)
		return NULL;
	if (strcmp(name, "sha256") == 0)
		return EVP_sha256();
	if (strcmp(name, "sha384") == 0)
		return EVP_sha384();
	if (strcmp(name, "sha512") == 0)
		return EVP_sha512();
	return NULL;
}

const char *
pdf_digest_name(const EVP_MD *md)
{
	switch (md != NULL ? EVP_MD_get_type(md) : NID_undef) {
	case NID_sha256: return "sha256";
	case NID_sha384: return "sha384";
	case NID_sha512: return "sha512";
	case NID_sha1: return "sha1";
	default: return NULL;
	}
}
