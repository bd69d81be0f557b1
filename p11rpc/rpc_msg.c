/*
 * rpc_msg.c — the table of calls between kysod and kyso-p11-helper, and the writing and
 * reading of their messages, every field checked against the table (see rpc.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "kyso_err.h"
#include "rpc.h"
#include "secret.h"

/* "iF..." responses: the kyso_err result, then what failed on the token */
static const struct rpc_call calls[RPC_CALL_COUNT] = {
	[RPC_HELLO] = { "C_Initialize", "", "is", 0, RPC_DEADLINE_CALL },
	[RPC_CHANNEL] = { "channel", "", "i", 0, RPC_DEADLINE_CALL },
	[RPC_TOKENS] = { "C_GetSlotList", "", "iFD", 0, RPC_DEADLINE_CALL },
	[RPC_WAIT_EVENT] = { "C_WaitForSlotEvent", "", "iFU", 0, RPC_DEADLINE_NONE },
	[RPC_FINALIZE] = { "C_Finalize", "", "i", 0, RPC_DEADLINE_CALL },
	[RPC_SLOT_COUNT] = { "C_GetSlotList", "", "iU", 0, RPC_DEADLINE_CALL },
	[RPC_SLOT_PRESENT] = { "C_GetSlotInfo", "U", "i", 0, RPC_DEADLINE_CALL },
	[RPC_SLOT_DESCRIBE] = { "C_GetTokenInfo", "U", "iFT", 0, RPC_DEADLINE_CALL },
	[RPC_SLOT_REMOVABLE] = { "C_GetSlotInfo", "U", "i", 0, RPC_DEADLINE_CALL },
	[RPC_OPEN] = { "C_OpenSession", "U", "iFu", 0, RPC_DEADLINE_CALL },
	[RPC_CLOSE] = { "C_CloseSession", "u", "i", 0, RPC_DEADLINE_CALL },
	[RPC_DESCRIBE] = { "C_GetTokenInfo", "u", "iFTy", 0, RPC_DEADLINE_CALL },
	[RPC_LOGGED_IN] = { "C_GetSessionInfo", "u", "iy", 0, RPC_DEADLINE_CALL },
	[RPC_LOGIN] = { "C_Login", "uP", "iFy", 1, RPC_DEADLINE_CALL },
	[RPC_LOGIN_PAD] = { "C_Login", "u", "iFy", 0, RPC_DEADLINE_PINPAD },
	[RPC_LOGOUT] = { "C_Logout", "u", "iFy", 0, RPC_DEADLINE_CALL },
	[RPC_CERTS] = { "C_FindObjects", "u", "iFyC", 0, RPC_DEADLINE_CALL },
	[RPC_ALWAYS_AUTH] = { "C_FindObjects", "uk", "i", 0, RPC_DEADLINE_CALL },
	[RPC_CONTEXT_PIN] = { "C_Login", "uP", "i", 1, RPC_DEADLINE_CALL },
	[RPC_SIGN] = { "C_Sign", "ukuuyyb", "iFyb", 0, RPC_DEADLINE_CALL },
	[RPC_SIGN_MANY] = { "C_Sign", "ukuuub", "iFybb", 0, RPC_DEADLINE_CALL },
};

/* p11_fail.call on the agent's side: an index into this list travels, never a string */
const char *const rpc_fail_calls[] = { "", "C_CreateObject", "C_DestroyObject",
	"C_FindObjects", "C_FindObjectsInit", "C_GenerateKeyPair", "C_GetAttributeValue",
	"C_GetMechanismList", "C_GetSlotInfo", "C_GetSlotList", "C_GetTokenInfo", "C_InitPIN",
	"C_InitToken", "C_Initialize", "C_Login", "C_Logout", "C_OpenSession", "C_SetPIN",
	"C_Sign", "C_SignInit", "C_WaitForSlotEvent", "C_GetSessionInfo", "C_CloseSession",
	"C_Finalize", NULL };

const struct rpc_call *
rpc_call_find(unsigned id)
{
	return id > 0 && id < RPC_CALL_COUNT ? &calls[id] : NULL;
}

size_t
rpc_frame_len(const unsigned char *head)
{
	uint32_t n;

	memcpy(&n, head, sizeof(n));
	return (size_t)n + 4;
}

static void __attribute__((format(printf, 3, 4)))
rpc_fault(struct rpc_msg *m, int err, const char *fmt, ...)
{
	va_list ap;

	if (m->err != KYSO_OK)
		return;
	m->err = err;
	va_start(ap, fmt);
	vsnprintf(m->why, sizeof(m->why), fmt, ap);
	va_end(ap);
}

/* ---- writing ---- */

int
rpc_write_begin(struct rpc_msg *m, struct kbuf *out, unsigned id, int response)
{
	const struct rpc_call *c = rpc_call_find(id);
	uint16_t hdr[2] = { (uint16_t)id, (uint16_t)(response ? RPC_RESPONSE : 0) };
	uint32_t zero = 0;

	memset(m, 0, sizeof(*m));
	m->out = out;
	m->id = id;
	kbuf_reset(out);
	if (c == NULL)
		return m->err = KYSO_ERR_INVALID_ARG;
	m->sig = response ? c->response : c->request;
	if (kbuf_append(out, &zero, 4) != KYSO_OK || kbuf_append(out, hdr, 4) != KYSO_OK)
		rpc_fault(m, KYSO_ERR_NOMEM, "out of memory");
	return m->err;
}

/* Checks that the signature expects type next (and moves past it). */
static int
put_check(struct rpc_msg *m, const char *types)
{
	if (m->err != KYSO_OK)
		return 0;
	if (m->sig == NULL || *m->sig == '\0' || strchr(types, *m->sig) == NULL) {
		rpc_fault(m, KYSO_ERR_INTERNAL, "call %u: writing '%c' where the table says '%c'",
		    m->id, types[0], m->sig != NULL && *m->sig != '\0' ? *m->sig : '-');
		return 0;
	}
	m->sig++;
	return 1;
}

static void
put_raw(struct rpc_msg *m, const void *p, size_t n)
{
	int e;

	if (m->err == KYSO_OK && (e = kbuf_append(m->out, p, n)) != KYSO_OK)
		rpc_fault(m, e, "call %u: the message is too large", m->id);
}

static void
put_len(struct rpc_msg *m, size_t n, size_t cap)
{
	uint32_t v = (uint32_t)n;

	if (n > cap)
		rpc_fault(m, KYSO_ERR_TOO_LARGE, "call %u: a field of %zu bytes (at most %zu)",
		    m->id, n, cap);
	put_raw(m, &v, 4);
}

void
rpc_put_i32(struct rpc_msg *m, int32_t v)
{
	if (put_check(m, "i"))
		put_raw(m, &v, 4);
}

void
rpc_put_u8(struct rpc_msg *m, unsigned v)
{
	unsigned char b = v != 0;

	if (put_check(m, "y"))
		put_raw(m, &b, 1);
}

void
rpc_put_u32(struct rpc_msg *m, uint32_t v)
{
	if (put_check(m, "u"))
		put_raw(m, &v, 4);
}

void
rpc_put_u64(struct rpc_msg *m, uint64_t v)
{
	if (put_check(m, "U"))
		put_raw(m, &v, 8);
}

void
rpc_put_bytes(struct rpc_msg *m, const void *p, size_t len)
{
	char t = m->sig != NULL ? *m->sig : '\0';

	if (!put_check(m, "bk"))
		return;
	put_len(m, len, t == 'k' ? RPC_KEYID_MAX : RPC_BYTES_MAX);
	if (len > 0)
		put_raw(m, p, len);
}

/* A string field without the signature check (inside T and C). */
static void
put_str(struct rpc_msg *m, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	put_len(m, n, RPC_STRING_MAX);
	put_raw(m, s, n);
}

void
rpc_put_string(struct rpc_msg *m, const char *s)
{
	if (put_check(m, "s"))
		put_str(m, s);
}

void
rpc_put_secret(struct rpc_msg *m, const struct kyso_secret *s)
{
	if (!put_check(m, "P"))
		return;
	put_len(m, secret_len(s), 4096);
	put_raw(m, secret_data(s), secret_len(s));
}

void
rpc_put_fail(struct rpc_msg *m, const struct p11_fail *f)
{
	uint64_t ckr = f->ckr;
	unsigned char call = 0;

	if (!put_check(m, "F"))
		return;
	for (unsigned char i = 1; rpc_fail_calls[i] != NULL; i++)
		if (f->call != NULL && strcmp(f->call, rpc_fail_calls[i]) == 0)
			call = i;
	put_raw(m, &ckr, 8);
	put_raw(m, &call, 1);
}

static void
put_token(struct rpc_msg *m, const struct p11_token_desc *t)
{
	uint64_t slot = t->slot;
	uint32_t flags = t->flags, mechs = t->mechs, maxs = t->max_sessions;
	unsigned char removable = t->removable != 0;

	put_raw(m, &slot, 8);
	put_str(m, t->label);
	put_str(m, t->manufacturer);
	put_str(m, t->model);
	put_str(m, t->serial);
	put_str(m, t->slot_description);
	put_raw(m, &flags, 4);
	put_raw(m, &mechs, 4);
	put_raw(m, &maxs, 4);
	put_raw(m, &removable, 1);
}

void
rpc_put_token(struct rpc_msg *m, const struct p11_token_desc *t)
{
	if (put_check(m, "T"))
		put_token(m, t);
}

void
rpc_put_tokens(struct rpc_msg *m, const struct p11_token_desc *t, size_t n)
{
	if (!put_check(m, "D"))
		return;
	put_len(m, n, RPC_TOKENS_MAX);
	for (size_t i = 0; i < n && m->err == KYSO_OK; i++)
		put_token(m, &t[i]);
}

void
rpc_put_certs(struct rpc_msg *m, const struct p11_cert_desc *c, size_t n)
{
	if (!put_check(m, "C"))
		return;
	put_len(m, n, RPC_CERTS_MAX);
	for (size_t i = 0; i < n && m->err == KYSO_OK; i++) {
		unsigned char flags = (c[i].has_private_key ? 1 : 0) |
		    (c[i].has_public_key ? 2 : 0) | (c[i].key_can_sign ? 4 : 0) |
		    (c[i].key_always_auth ? 8 : 0) | (c[i].key_label != NULL ? 16 : 0);

		put_len(m, c[i].der_len, RPC_CERT_DER_MAX);
		put_raw(m, c[i].der, c[i].der_len);
		put_len(m, c[i].id_len, RPC_KEYID_MAX);
		put_raw(m, c[i].id, c[i].id_len);
		put_str(m, c[i].label);
		put_str(m, c[i].key_label);
		put_raw(m, &flags, 1);
	}
}

int
rpc_write_end(struct rpc_msg *m)
{
	uint32_t n;

	if (m->err == KYSO_OK && m->sig != NULL && *m->sig != '\0')
		rpc_fault(m, KYSO_ERR_INTERNAL, "call %u: '%s' not written", m->id, m->sig);
	if (m->err != KYSO_OK)
		return m->err;
	if (m->out->len > RPC_FRAME_MAX) {
		rpc_fault(m, KYSO_ERR_TOO_LARGE, "call %u: a message of %zu bytes", m->id,
		    m->out->len);
		return m->err;
	}
	n = (uint32_t)(m->out->len - 4);
	memcpy(m->out->data, &n, 4);
	return KYSO_OK;
}

int
rpc_write_failure(struct rpc_msg *m, struct kbuf *out, unsigned id, int err)
{
	static const struct p11_fail none = { 0, "", "", NULL };
	struct p11_token_desc t;
	int first = 1;

	memset(&t, 0, sizeof(t));
	if (rpc_write_begin(m, out, id, 1) != KYSO_OK)
		return m->err;
	while (m->err == KYSO_OK && *m->sig != '\0') {
		switch (*m->sig) {
		case 'i': rpc_put_i32(m, first ? err : 0); break;
		case 'y': rpc_put_u8(m, 0); break;
		case 'u': rpc_put_u32(m, 0); break;
		case 'U': rpc_put_u64(m, 0); break;
		case 'b': case 'k': rpc_put_bytes(m, NULL, 0); break;
		case 's': rpc_put_string(m, ""); break;
		case 'F': rpc_put_fail(m, &none); break;
		case 'T': rpc_put_token(m, &t); break;
		case 'D': rpc_put_tokens(m, NULL, 0); break;
		case 'C': rpc_put_certs(m, NULL, 0); break;
		default: rpc_fault(m, KYSO_ERR_INTERNAL, "call %u: '%c' in a response", id,
		    *m->sig);
		}
		first = 0;
	}
	return rpc_write_end(m);
}

/* ---- reading ---- */

int
rpc_read_begin(struct rpc_msg *m, const unsigned char *f, size_t len, int want_response)
{
	const struct rpc_call *c;
	uint16_t hdr[2];

	memset(m, 0, sizeof(*m));
	if (len < RPC_HEADER || rpc_frame_len(f) != len) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "a frame of %zu bytes", len);
		return m->err;
	}
	memcpy(hdr, f + 4, 4);
	m->id = hdr[0];
	if ((c = rpc_call_find(hdr[0])) == NULL) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "unknown call %u", (unsigned)hdr[0]);
		return m->err;
	}
	if ((hdr[1] & RPC_RESPONSE) != (want_response ? RPC_RESPONSE : 0) ||
	    (hdr[1] & ~RPC_RESPONSE) != 0) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: flags %#x", m->id, (unsigned)hdr[1]);
		return m->err;
	}
	if (!want_response && c->secret && len > RPC_SECRET_FRAME_MAX) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: a secret in %zu bytes", m->id, len);
		return m->err;
	}
	m->in = f + RPC_HEADER;
	m->len = len - RPC_HEADER;
	m->sig = want_response ? c->response : c->request;
	return KYSO_OK;
}

static int
get_check(struct rpc_msg *m, const char *types)
{
	if (m->err != KYSO_OK)
		return 0;
	if (*m->sig == '\0' || strchr(types, *m->sig) == NULL) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: reading '%c' where the table says '%c'",
		    m->id, types[0], *m->sig != '\0' ? *m->sig : '-');
		return 0;
	}
	m->sig++;
	return 1;
}

/* Takes n bytes from the message. Returns NULL (m->err set) if fewer are left. */
static const unsigned char *
get_raw(struct rpc_msg *m, size_t n)
{
	const unsigned char *p;

	if (m->err != KYSO_OK)
		return NULL;
	if (n > m->len - m->off) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: %zu bytes wanted, %zu left", m->id, n,
		    m->len - m->off);
		return NULL;
	}
	p = m->in + m->off;
	m->off += n;
	return p;
}

/* A u32 length, checked against cap (the bytes left are checked by get_raw). */
static size_t
get_len(struct rpc_msg *m, size_t cap)
{
	const unsigned char *p = get_raw(m, 4);
	uint32_t v;

	if (p == NULL)
		return 0;
	memcpy(&v, p, 4);
	if (v > cap) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: a field of %lu bytes (at most %zu)",
		    m->id, (unsigned long)v, cap);
		return 0;
	}
	return v;
}

int32_t
rpc_get_i32(struct rpc_msg *m)
{
	const unsigned char *p = get_check(m, "i") ? get_raw(m, 4) : NULL;
	int32_t v = 0;

	if (p != NULL)
		memcpy(&v, p, 4);
	return v;
}

unsigned
rpc_get_u8(struct rpc_msg *m)
{
	const unsigned char *p = get_check(m, "y") ? get_raw(m, 1) : NULL;

	if (p != NULL && *p > 1)
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: a flag of %u", m->id, *p);
	return p != NULL && m->err == KYSO_OK ? *p : 0;
}

uint32_t
rpc_get_u32(struct rpc_msg *m)
{
	const unsigned char *p = get_check(m, "u") ? get_raw(m, 4) : NULL;
	uint32_t v = 0;

	if (p != NULL)
		memcpy(&v, p, 4);
	return v;
}

uint64_t
rpc_get_u64(struct rpc_msg *m)
{
	const unsigned char *p = get_check(m, "U") ? get_raw(m, 8) : NULL;
	uint64_t v = 0;

	if (p != NULL)
		memcpy(&v, p, 8);
	return v;
}

/* Bytes of at most cap into a new buffer (one spare NUL byte): NULL on error. */
static unsigned char *
get_blob(struct rpc_msg *m, size_t cap, size_t *len)
{
	size_t n = get_len(m, cap);
	const unsigned char *p = get_raw(m, n);
	unsigned char *out;

	*len = 0;
	if (p == NULL)
		return NULL;
	if ((out = malloc(n + 1)) == NULL) {
		rpc_fault(m, KYSO_ERR_NOMEM, "out of memory");
		return NULL;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	*len = n;
	return out;
}

unsigned char *
rpc_get_bytes(struct rpc_msg *m, size_t *len)
{
	char t = m->sig != NULL ? *m->sig : '\0';

	*len = 0;
	if (!get_check(m, "bk"))
		return NULL;
	return get_blob(m, t == 'k' ? RPC_KEYID_MAX : RPC_BYTES_MAX, len);
}

/* A string: no NUL inside; bytes that are not UTF-8 become '?' (as token strings do). */
static char *
get_str(struct rpc_msg *m)
{
	size_t n;
	char *s = (char *)get_blob(m, RPC_STRING_MAX, &n);

	if (s != NULL && strlen(s) != n) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: a string with a NUL inside", m->id);
		free(s);
		return NULL;
	}
	if (s != NULL)
		utf8_sanitize(s);
	return s;
}

char *
rpc_get_string(struct rpc_msg *m)
{
	return get_check(m, "s") ? get_str(m) : NULL;
}

struct kyso_secret *
rpc_get_secret(struct rpc_msg *m)
{
	struct kyso_secret *s = NULL;
	const unsigned char *p;
	size_t n;

	if (!get_check(m, "P"))
		return NULL;
	n = get_len(m, 4096);
	if ((p = get_raw(m, n)) != NULL && secret_new(p, n, &s) != KYSO_OK)
		rpc_fault(m, KYSO_ERR_NOMEM, "out of memory");
	return s;
}

void
rpc_get_fail(struct rpc_msg *m, struct p11_fail *f)
{
	const unsigned char *p = get_check(m, "F") ? get_raw(m, 9) : NULL;
	size_t ncalls = 0;
	uint64_t ckr = 0;

	memset(f, 0, sizeof(*f));
	f->ckr_name = "";
	f->call = "";
	while (rpc_fail_calls[ncalls] != NULL)
		ncalls++;
	if (p == NULL)
		return;
	memcpy(&ckr, p, 8);
	if (p[8] >= ncalls) {
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: call name %u", m->id, p[8]);
		return;
	}
	f->ckr = (unsigned long)ckr;
	f->ckr_name = ckr != 0 || p[8] != 0 ? p11_ckr_name(f->ckr) : "";
	f->call = rpc_fail_calls[p[8]];
}

/* Copies a string field into a fixed array of size bytes (it must fit). */
static void
get_fixed(struct rpc_msg *m, char *dst, size_t size)
{
	char *s = get_str(m);

	dst[0] = '\0';
	if (s == NULL)
		return;
	if (strlen(s) >= size)
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: a token string of %zu bytes", m->id,
		    strlen(s));
	else
		memcpy(dst, s, strlen(s) + 1);
	free(s);
}

static void
get_token(struct rpc_msg *m, struct p11_token_desc *t)
{
	const unsigned char *p = get_raw(m, 8);
	uint64_t slot = 0;
	uint32_t v;

	memset(t, 0, sizeof(*t));
	if (p != NULL)
		memcpy(&slot, p, 8);
	t->slot = (unsigned long)slot;
	get_fixed(m, t->label, sizeof(t->label));
	get_fixed(m, t->manufacturer, sizeof(t->manufacturer));
	get_fixed(m, t->model, sizeof(t->model));
	get_fixed(m, t->serial, sizeof(t->serial));
	get_fixed(m, t->slot_description, sizeof(t->slot_description));
	if ((p = get_raw(m, 4)) != NULL) {
		memcpy(&v, p, 4);
		t->flags = v;
	}
	if ((p = get_raw(m, 4)) != NULL) {
		memcpy(&v, p, 4);
		t->mechs = v & ((1u << P11_MECH_COUNT) - 1);
	}
	if ((p = get_raw(m, 4)) != NULL) {
		memcpy(&v, p, 4);
		t->max_sessions = v;
	}
	if ((p = get_raw(m, 1)) != NULL)
		t->removable = p[0] != 0;
}

void
rpc_get_token(struct rpc_msg *m, struct p11_token_desc *t)
{
	memset(t, 0, sizeof(*t));
	if (get_check(m, "T"))
		get_token(m, t);
}

struct p11_token_desc *
rpc_get_tokens(struct rpc_msg *m, size_t *n)
{
	struct p11_token_desc *t = NULL;
	size_t count;

	*n = 0;
	if (!get_check(m, "D"))
		return NULL;
	count = get_len(m, RPC_TOKENS_MAX);
	if (m->err != KYSO_OK || (t = calloc(count + 1, sizeof(*t))) == NULL) {
		rpc_fault(m, KYSO_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < count && m->err == KYSO_OK; i++)
		get_token(m, &t[i]);
	*n = m->err == KYSO_OK ? count : 0;
	return t;
}

struct p11_cert_desc *
rpc_get_certs(struct rpc_msg *m, size_t *n)
{
	struct p11_cert_desc *c = NULL;
	size_t count, i;

	*n = 0;
	if (!get_check(m, "C"))
		return NULL;
	count = get_len(m, RPC_CERTS_MAX);
	if (m->err != KYSO_OK || (c = calloc(count + 1, sizeof(*c))) == NULL) {
		rpc_fault(m, KYSO_ERR_NOMEM, "out of memory");
		return NULL;
	}
	for (i = 0; i < count && m->err == KYSO_OK; i++) {
		const unsigned char *flags;

		c[i].der = get_blob(m, RPC_CERT_DER_MAX, &c[i].der_len);
		c[i].id = get_blob(m, RPC_KEYID_MAX, &c[i].id_len);
		c[i].label = get_str(m);
		c[i].key_label = get_str(m);
		if ((flags = get_raw(m, 1)) == NULL)
			break;
		if (!(*flags & 16)) {
			free(c[i].key_label);
			c[i].key_label = NULL;
		}
		c[i].has_private_key = !!(*flags & 1);
		c[i].has_public_key = !!(*flags & 2);
		c[i].key_can_sign = !!(*flags & 4);
		c[i].key_always_auth = !!(*flags & 8);
	}
	if (m->err != KYSO_OK) {
		p11_certs_free(c, count);  /* what was read; the rest is zeroed */
		return NULL;
	}
	*n = count;
	return c;
}

int
rpc_read_end(struct rpc_msg *m)
{
	if (m->err == KYSO_OK && *m->sig != '\0')
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: the message ends before '%s'", m->id,
		    m->sig);
	if (m->err == KYSO_OK && m->off != m->len)
		rpc_fault(m, KYSO_ERR_PROTOCOL, "call %u: %zu bytes after the last field", m->id,
		    m->len - m->off);
	return m->err;
}
