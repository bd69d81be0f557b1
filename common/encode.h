/* encode.h — base64 (RFC 4648, strict), lower-case hex, UTF-8 checks and JSON strings. */
#ifndef KYSO_ENCODE_H
#define KYSO_ENCODE_H

#include <stddef.h>

/* Returns a new NUL-terminated base64 string of len bytes, or NULL when out of memory. */
char *b64_encode(const unsigned char *p, size_t len);

struct kbuf;

/* Appends the base64 of len bytes to b (no NUL). Returns KYSO_OK or kbuf_reserve's error. */
int b64_append(struct kbuf *b, const unsigned char *p, size_t len);

/*
 * Decodes the standard-alphabet, padded base64 string s (no whitespace). Returns KYSO_OK
 * with *out (malloc'd, caller frees) and *outlen, KYSO_ERR_INVALID_ARG if s is not valid
 * base64, or KYSO_ERR_NOMEM.
 */
int b64_decode(const char *s, unsigned char **out, size_t *outlen);

/* Writes 2*len lower-case hex digits and a NUL into out (2*len+1 bytes). */
void hex_encode(const unsigned char *p, size_t len, char *out);

/* Returns a new lower-case hex string for len bytes, or NULL when out of memory. */
char *hex_encode_new(const unsigned char *p, size_t len);

/*
 * Decodes the hex string s (either case, even length, optional ':' separators between
 * bytes). Returns KYSO_OK with *out (malloc'd) and *outlen, KYSO_ERR_INVALID_ARG if s is
 * not hex, or KYSO_ERR_NOMEM.
 */
int hex_decode(const char *s, unsigned char **out, size_t *outlen);

/* Returns the value of hex digit c (either case), or -1. */
int hex_digit(char c);

/*
 * Returns the length (1-4) of the valid UTF-8 sequence at s (RFC 3629: no overlong forms,
 * no surrogates), or 0 if there is none (a NUL is a sequence of length 1).
 */
size_t utf8_seq(const unsigned char *s);

/*
 * Replaces, in place, every byte of s that is not part of valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates) with '?'. Returns the number of bytes replaced.
 */
size_t utf8_sanitize(char *s);

/*
 * Returns the length in bytes of the longest prefix of s that is at most max bytes long
 * and does not end inside a UTF-8 character (a byte that is not UTF-8 counts as one
 * character), as an int for "%.*s": client text cut with "%.64s" could end in half a
 * character, which jansson refuses (the whole message would be lost). s may be NULL (0).
 */
int utf8_prefix(const char *s, size_t max);

/*
 * Makes s valid UTF-8 for JSON in place: an incomplete character at its end (text cut by
 * a full snprintf buffer) is removed, and any other byte that is not part of valid UTF-8
 * becomes '?'. Returns the number of bytes removed or replaced.
 */
size_t utf8_repair(char *s);

struct kbuf;

/*
 * Appends s as a JSON string (RFC 8259), quotes included, escaped exactly as jansson's
 * json_dumps escapes without flags: '"', '\\' and the control characters below 0x20
 * (\b \f \n \r \t, the others as \u00XX, X in capitals); everything else as it is.
 * Each byte of s that is not part of valid UTF-8 becomes U+FFFD. For lines written often
 * (the audit log), where building jansson objects costs more than the rest of the
 * record; what is read goes through jansson. Returns KYSO_OK, or kbuf_append's error.
 */
int json_quote(struct kbuf *b, const char *s);

/*
 * Appends ,"key":"value" to b (a member after others in an object written as text; key
 * is plain ASCII, value quoted by json_quote), or nothing if value is NULL. Returns
 * KYSO_OK, kbuf_append's error, or KYSO_ERR_INVALID_ARG (nothing appended) for a value
 * that is not UTF-8: jansson would refuse it, and a PIN must not be sent changed.
 */
int json_member(struct kbuf *b, const char *key, const char *value);

/*
 * Appends the base64 of len bytes to b as an item of a JSON array written as text:
 * "…", after a comma unless first (base64 needs no escaping). Returns KYSO_OK or
 * kbuf_reserve's error.
 */
int json_b64_item(struct kbuf *b, int first, const unsigned char *p, size_t len);

#endif
