/*
 * rpc.h — the wire between kysod and kyso-p11-helper, the process that runs one vendor
 * PKCS#11 module (see docs/architecture.md, "Modules in helper processes").
 *
 * kysod speaks p11.h to its workers and watchers; the rpc client (rpc_client.c) turns each
 * call into a request on a channel — one end of a Unix stream socketpair — and the
 * helper (rpc_server.c) answers it by running the same call of the in-process pkcs11/
 * layer. A channel carries one call at a time, request then response, so a helper serves
 * as many calls at once as it has channels (a thread each): a slow token, a PIN pad or a
 * blocking C_WaitForSlotEvent hold only their own channel.
 *
 * A message (a frame) is
 *     u32 length of what follows (host order: both ends are on the same host)
 *     u16 call id (enum rpc_call_id), u16 flags (RPC_RESPONSE on a response)
 *     the fields of the call's request or response signature, in order
 * and every call has one row in the table (rpc_msg.c): its name, request signature and
 * response signature. Writing a field checks that the signature expects it; reading
 * checks the signature, the bytes left and the field's own cap, and a message must end
 * exactly where its signature does. Field types:
 *     i  int32 (a kyso_err result, or a flag)     y  u8 (0 or 1)
 *     u  u32                                      U  u64 (a slot id)
 *     b  u32 length + bytes, at most RPC_BYTES_MAX (what is signed, a signature)
 *     k  u32 length + bytes, at most RPC_KEYID_MAX (a CKA_ID)
 *     s  u32 length + UTF-8 bytes without NUL, at most RPC_STRING_MAX
 *     P  a secret (a PIN): u32 length + bytes, at most 4096, read into locked memory
 *     F  a struct p11_fail: u64 CKR value, u8 index of the call's name (rpc_fail_calls)
 *     T  a struct p11_token_desc       D  u32 count (at most RPC_TOKENS_MAX) of T
 *     C  u32 count (at most RPC_CERTS_MAX) of certificates (der, id, label, key label,
 *        key flags)
 * A frame is at most RPC_FRAME_MAX bytes; a request that carries a secret at most
 * RPC_SECRET_FRAME_MAX, so that it is received whole into locked memory (rpc_chan.c).
 */
#ifndef KYSO_RPC_H
#define KYSO_RPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "p11.h"

struct kyso_secret;

#define RPC_FRAME_MAX (16u * 1024 * 1024)
#define RPC_SECRET_FRAME_MAX 4096  /* the most secret.c holds */
#define RPC_HEADER 8            /* u32 length, u16 id, u16 flags */
#define RPC_BYTES_MAX (2u * 1024 * 1024)
#define RPC_KEYID_MAX 256
#define RPC_STRING_MAX 4096
#define RPC_TOKENS_MAX 1024
#define RPC_CERTS_MAX 1024
#define RPC_CERT_DER_MAX (64u * 1024)
#define RPC_RESPONSE 0x8000u

enum rpc_call_id {
	RPC_HELLO = 1,      /* the helper loaded and initialised its module (or says why not) */
	RPC_CHANNEL,        /* a new channel: its socket travels with the request (SCM_RIGHTS) */
	RPC_TOKENS,         /* p11_module_tokens */
	RPC_WAIT_EVENT,     /* p11_module_wait_event */
	RPC_FINALIZE,       /* p11_module_finalize; the helper ends once the answer is sent */
	RPC_SLOT_COUNT,     /* p11_module_slot_count */
	RPC_SLOT_PRESENT,   /* p11_slot_present */
	RPC_SLOT_DESCRIBE,  /* p11_slot_describe */
	RPC_SLOT_REMOVABLE, /* p11_slot_removable */
	RPC_OPEN,           /* p11_session_open */
	RPC_CLOSE,          /* p11_session_close */
	RPC_DESCRIBE,       /* p11_session_describe */
	RPC_LOGGED_IN,      /* p11_session_logged_in */
	RPC_LOGIN,          /* p11_session_login with a PIN */
	RPC_LOGIN_PAD,      /* p11_session_login on the reader's PIN pad */
	RPC_LOGOUT,         /* p11_session_logout */
	RPC_CERTS,          /* p11_session_certs */
	RPC_ALWAYS_AUTH,    /* p11_session_key_always_auth */
	RPC_CONTEXT_PIN,    /* the PIN of the next RPC_SIGN's context login (kept in the helper
	                     * in locked memory, wiped after that signature) */
	RPC_SIGN,           /* p11_session_sign */
	RPC_SIGN_MANY,      /* p11_session_sign_many: the inputs concatenated, the signatures'
	                     * lengths (u32 each) and the signatures concatenated */
	RPC_CALL_COUNT
};

/* How long the agent waits for a call's answer (rpc_client.c). */
enum rpc_deadline {
	RPC_DEADLINE_CALL,    /* the module timeout (kysod --module-timeout) */
	RPC_DEADLINE_PINPAD,  /* a person typing on the reader's keypad */
	RPC_DEADLINE_NONE,    /* C_WaitForSlotEvent: waits as long as no token comes or goes */
};

struct rpc_call {
	const char *name;      /* "C_Sign": what a log line or a TokenError names */
	const char *request;   /* the request's signature */
	const char *response;  /* the response's signature */
	int secret;            /* the request carries a secret (P) */
	enum rpc_deadline deadline;
};

/* Returns the row of id, or NULL for an id outside the table. */
const struct rpc_call *rpc_call_find(unsigned id);

/* A message being written or read, with the part of its signature still to come. */
struct rpc_msg {
	struct kbuf *out;            /* writing: the frame so far */
	const unsigned char *in;     /* reading: the fields (after the header) */
	size_t len, off;
	const char *sig;             /* the signature's rest */
	unsigned id;
	int err;                     /* the first error (sticky): KYSO_ERR_PROTOCOL... */
	char why[96];                /* what was wrong, for the log (never the bytes) */
};

/*
 * Starts writing message id (a request, or with response set its response) into out,
 * which is emptied first. Returns KYSO_OK or KYSO_ERR_INVALID_ARG (no such call).
 */
int rpc_write_begin(struct rpc_msg *m, struct kbuf *out, unsigned id, int response);

/*
 * Each writes one field; the signature must expect it there (else the message is
 * marked wrong: a bug). Errors stay in m->err and make rpc_write_end fail.
 */
void rpc_put_i32(struct rpc_msg *m, int32_t v);
void rpc_put_u8(struct rpc_msg *m, unsigned v);
void rpc_put_u32(struct rpc_msg *m, uint32_t v);
void rpc_put_u64(struct rpc_msg *m, uint64_t v);
void rpc_put_bytes(struct rpc_msg *m, const void *p, size_t len);  /* b or k */
void rpc_put_string(struct rpc_msg *m, const char *s);
void rpc_put_secret(struct rpc_msg *m, const struct kyso_secret *s);
void rpc_put_fail(struct rpc_msg *m, const struct p11_fail *f);
void rpc_put_token(struct rpc_msg *m, const struct p11_token_desc *t);
void rpc_put_tokens(struct rpc_msg *m, const struct p11_token_desc *t, size_t n);
void rpc_put_certs(struct rpc_msg *m, const struct p11_cert_desc *c, size_t n);

/*
 * Ends the message: the whole signature was written; fills the header's length.
 * Returns KYSO_OK, or m->err (KYSO_ERR_TOO_LARGE past RPC_FRAME_MAX, KYSO_ERR_INTERNAL).
 */
int rpc_write_end(struct rpc_msg *m);

/*
 * Writes the whole response to call id with result err and every other field empty
 * (zero, "", no element): the answer to a request that could not be served. Returns
 * KYSO_OK or an error as rpc_write_end.
 */
int rpc_write_failure(struct rpc_msg *m, struct kbuf *out, unsigned id, int err);

/*
 * Starts reading the frame f (len bytes, header included). want_response: it must be a
 * response. Returns KYSO_OK with m->id, or KYSO_ERR_PROTOCOL (m->why says what).
 */
int rpc_read_begin(struct rpc_msg *m, const unsigned char *f, size_t len, int want_response);

/*
 * Each reads one field, checked against the signature, the bytes left and its cap; on
 * any error the outputs are zero/NULL and m->err is set (later reads do nothing).
 * Memory they return (bytes, strings, descriptions, certificates) is malloc'd and the
 * caller's, also when a later read fails.
 */
int32_t rpc_get_i32(struct rpc_msg *m);
unsigned rpc_get_u8(struct rpc_msg *m);
uint32_t rpc_get_u32(struct rpc_msg *m);
uint64_t rpc_get_u64(struct rpc_msg *m);
unsigned char *rpc_get_bytes(struct rpc_msg *m, size_t *len);  /* b or k; never NULL if ok */
char *rpc_get_string(struct rpc_msg *m);
struct kyso_secret *rpc_get_secret(struct rpc_msg *m);
void rpc_get_fail(struct rpc_msg *m, struct p11_fail *f);
void rpc_get_token(struct rpc_msg *m, struct p11_token_desc *t);
struct p11_token_desc *rpc_get_tokens(struct rpc_msg *m, size_t *n);
struct p11_cert_desc *rpc_get_certs(struct rpc_msg *m, size_t *n);

/*
 * Ends reading: the signature and the bytes must both be used up. Returns KYSO_OK or
 * KYSO_ERR_PROTOCOL (m->why).
 */
int rpc_read_end(struct rpc_msg *m);

/* The frame's total length from its first 4 bytes (header included). */
size_t rpc_frame_len(const unsigned char *head);

/* The call names p11_fail.call may hold on the agent's side (static strings). */
extern const char *const rpc_fail_calls[];

#endif
