/*
 * kyso.h — libkyso, the C client of the kyso agent.
 *
 * Connect once, then list tokens and certificates and sign; every call is a blocking
 * round trip over the agent's Unix socket (protocol: docs/protocol.md). A connection of its
 * own can follow token events instead (kyso_subscribe, kyso_next_event). A kyso_client is
 * not thread-safe: use one per thread. Every function that can fail returns KYSO_OK (0) or
 * a negative kyso_err (kyso_err.h); after a failure, kyso_error_message() tells what went
 * wrong in a sentence and kyso_error_name() the agent's varlink error name.
 *
 * Link with `pkg-config --cflags --libs kyso`.
 *
 * ABI: libkyso.so.1. Every object is opaque (below), so the library can grow without
 * breaking programs built against an older kyso.h; symbols carry the version node KYSO_1,
 * functions added by a later release come in a node of their own, and the soname changes
 * only when a function is removed or changes meaning (docs/architecture.md, "ABI").
 */
#ifndef KYSO_H
#define KYSO_H

#include <stddef.h>

#include "kyso_err.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The ABI grows without breaking programs built against it: every object is opaque,
 * allocated by libkyso and read through accessors, so later versions can add fields
 * (and accessors, and setters) without changing the size or layout a program knows.
 * Accessors never fail: given NULL they return "" (strings), 0 (numbers and flags) or
 * NULL (lists). Strings returned by an accessor live as long as the object.
 */
typedef struct kyso_client kyso_client;
typedef struct kyso_token kyso_token;
typedef struct kyso_cert kyso_cert;
typedef struct kyso_event kyso_event;
typedef struct kyso_sign_request kyso_sign_request;

/* A token present in a slot (see ListTokens in docs/protocol.md). */

/* Returns the token's id, as the agent names it (hex); never NULL. */
const char *kyso_token_id(const kyso_token *t);
/* Returns the token's label; never NULL. */
const char *kyso_token_label(const kyso_token *t);
/* Returns the token's manufacturer; never NULL. */
const char *kyso_token_manufacturer(const kyso_token *t);
/* Returns the token's model; never NULL. */
const char *kyso_token_model(const kyso_token *t);
/* Returns the token's serial number; never NULL. */
const char *kyso_token_serial(const kyso_token *t);
/* Returns the path of the PKCS#11 module the token is seen through; never NULL. */
const char *kyso_token_module(const kyso_token *t);

/* The token's state, as bits of kyso_token_flags(). New bits may come in later versions. */
#define KYSO_TOKEN_LOGGED_IN              0x0001u /* logged in: signing needs no PIN */
#define KYSO_TOKEN_LOGIN_REQUIRED         0x0002u /* its keys need the user PIN */
#define KYSO_TOKEN_PROTECTED_AUTH_PATH    0x0004u /* the PIN is typed on a PIN pad */
#define KYSO_TOKEN_USER_PIN_COUNT_LOW     0x0008u /* a wrong PIN was entered: few tries left */
#define KYSO_TOKEN_USER_PIN_FINAL_TRY     0x0010u /* one more wrong PIN locks it */
#define KYSO_TOKEN_USER_PIN_LOCKED        0x0020u /* locked: an administrator must unblock */
#define KYSO_TOKEN_USER_PIN_TO_BE_CHANGED 0x0040u /* the PIN must be changed before use */

/* Returns the KYSO_TOKEN_* bits that hold for the token (0 for NULL). */
unsigned kyso_token_flags(const kyso_token *t);

/*
 * Returns the token as the agent sent it, JSON text of one Token object, for the fields
 * these accessors do not cover (a newer agent may send more); never NULL ("{}").
 */
const char *kyso_token_json(const kyso_token *t);

/* A certificate on a token (see ListCertificates in docs/protocol.md). */

/* Returns the certificate's id (hex: what kyso sign --cert takes); never NULL. */
const char *kyso_cert_id(const kyso_cert *c);
/* Returns the id of the token the certificate is on; never NULL. */
const char *kyso_cert_token(const kyso_cert *c);
/* Returns the pkcs11: URI of the certificate's private key; never NULL. */
const char *kyso_cert_key_uri(const kyso_cert *c);
/* Returns the certificate object's label on the token; never NULL. */
const char *kyso_cert_label(const kyso_cert *c);
/* Returns the subject as an RFC 2253 string; never NULL. */
const char *kyso_cert_subject(const kyso_cert *c);
/* Returns the issuer as an RFC 2253 string; never NULL. */
const char *kyso_cert_issuer(const kyso_cert *c);
/* Returns the serial number in hex; never NULL. */
const char *kyso_cert_serial(const kyso_cert *c);
/* Returns the start of validity, RFC 3339 UTC; never NULL. */
const char *kyso_cert_not_before(const kyso_cert *c);
/* Returns the end of validity, RFC 3339 UTC; never NULL. */
const char *kyso_cert_not_after(const kyso_cert *c);
/* Returns the key type: "rsa", "ec", "ed25519"; never NULL. */
const char *kyso_cert_key_type(const kyso_cert *c);
/* Returns the key size in bits (0 if unknown). */
int kyso_cert_key_bits(const kyso_cert *c);
/* Returns the curve: "P-256", "P-384", "P-521", "Ed25519"; "" for RSA; never NULL. */
const char *kyso_cert_curve(const kyso_cert *c);
/* Returns the key usages ("digitalSignature", ...), NULL-terminated; NULL for NULL. */
const char *const *kyso_cert_key_usage(const kyso_cert *c);
/*
 * Returns the algorithms the key and its token allow ("ecdsa-sha256", ...),
 * NULL-terminated; NULL for NULL.
 */
const char *const *kyso_cert_algorithms(const kyso_cert *c);

/* The certificate's properties, as bits of kyso_cert_flags(). */
#define KYSO_CERT_CAN_SIGN             0x0001u /* a private key on the token can sign */
#define KYSO_CERT_ALWAYS_AUTHENTICATE  0x0002u /* the key needs the PIN with every signature */

/* Returns the KYSO_CERT_* bits that hold for the certificate (0 for NULL). */
unsigned kyso_cert_flags(const kyso_cert *c);

/*
 * Returns the certificate's DER bytes and sets *len (len may be NULL); NULL with *len 0
 * when the agent sent none.
 */
const unsigned char *kyso_cert_der(const kyso_cert *c, size_t *len);

/* Returns the certificate as the agent sent it, JSON text; never NULL ("{}"). */
const char *kyso_cert_json(const kyso_cert *c);

/*
 * Connects to the agent at socket_path, or when NULL at the default path ($KYSO_SOCKET,
 * else $XDG_RUNTIME_DIR/kyso/agent.sock, else /tmp/kyso-UID/agent.sock). Returns KYSO_OK
 * with *out (free it with kyso_disconnect), KYSO_ERR_CONNECT or KYSO_ERR_PERMISSION
 * (*out is still set so that kyso_error_message() can explain; free it with
 * kyso_disconnect) or KYSO_ERR_NOMEM (*out NULL).
 */
int kyso_connect(const char *socket_path, kyso_client **out);

/* Closes the connection and frees c; NULL is allowed. */
void kyso_disconnect(kyso_client *c);

/* Returns the socket path c uses; never NULL. */
const char *kyso_socket_path(const kyso_client *c);

/* Returns a sentence about the last failure on c ("" if none); valid until the next call. */
const char *kyso_error_message(const kyso_client *c);

/* Returns the varlink error name of the last failure ("" if it was not the agent's). */
const char *kyso_error_name(const kyso_client *c);

/* Returns the parameters of the agent's last error as JSON text ("{}" if none). */
const char *kyso_error_parameters(const kyso_client *c);

/*
 * Calls method with parameters given as JSON object text (NULL for none). Returns
 * KYSO_OK with *reply set to the reply parameters as JSON text (free with kyso_free), or
 * an error: the agent's error mapped to a kyso_err (KYSO_ERR_UNKNOWN_REMOTE if unknown).
 */
int kyso_call(kyso_client *c, const char *method, const char *params_json, char **reply);

/*
 * Lists the tokens the agent found. Returns KYSO_OK with *tokens, a NULL-terminated array
 * of *n tokens (n may be NULL; free the array with kyso_tokens_free), or an error (the
 * agent's, or KYSO_ERR_NOMEM, KYSO_ERR_PROTOCOL) with *tokens NULL and *n 0.
 */
int kyso_list_tokens(kyso_client *c, kyso_token ***tokens, size_t *n);

/* Frees an array of tokens from kyso_list_tokens or kyso_subscribe; NULL is allowed. */
void kyso_tokens_free(kyso_token **tokens);

/*
 * Lists the certificates of token (id, serial or label; NULL for all). Returns KYSO_OK
 * with *certs, a NULL-terminated array of *n certificates (n may be NULL; free it with
 * kyso_certs_free), or an error such as KYSO_ERR_NO_SUCH_TOKEN with *certs NULL.
 */
int kyso_list_certificates(kyso_client *c, const char *token, kyso_cert ***certs,
    size_t *n);

/* Frees an array of certificates from kyso_list_certificates; NULL is allowed. */
void kyso_certs_free(kyso_cert **certs);

/*
 * What to sign and how: made with kyso_sign_request_new, filled with the setters (each
 * copies what it is given), used for any number of kyso_sign calls, freed with
 * kyso_sign_request_free. Send either a digest or the data, not both (the agent refuses
 * a request with both, or with neither).
 */

/*
 * Makes a request to sign with the key of certificate (a certificate id, a unique prefix
 * of 8+ hex digits, or a pkcs11: key URI) by algorithm ("ecdsa-sha256", "rsa-pss-sha256",
 * "ed25519", ...: see Sign in docs/protocol.md). Returns KYSO_OK with *out,
 * KYSO_ERR_INVALID_ARG (certificate or algorithm NULL or empty; *out NULL) or
 * KYSO_ERR_NOMEM.
 */
int kyso_sign_request_new(const char *certificate, const char *algorithm,
    kyso_sign_request **out);

/*
 * Sets the hash to sign (its length must match the algorithm's hash). Returns KYSO_OK,
 * KYSO_ERR_INVALID_ARG (r or digest NULL, or len 0) or KYSO_ERR_NOMEM.
 */
int kyso_sign_request_set_digest(kyso_sign_request *r, const unsigned char *digest,
    size_t len);

/*
 * Sets the document itself, hashed by the agent (ed25519 signs the whole document; it
 * must fit the 1 MiB call after base64). len may be 0. Returns KYSO_OK,
 * KYSO_ERR_INVALID_ARG (r NULL, or data NULL with len > 0) or KYSO_ERR_NOMEM.
 */
int kyso_sign_request_set_data(kyso_sign_request *r, const unsigned char *data, size_t len);

/*
 * Sets the user PIN, for a token that is not logged in or a key that needs the PIN with
 * every signature; NULL forgets it. Better: send none, and let the agent ask the officer
 * in its own dialog. The copy is kept in locked memory and wiped when replaced or freed.
 * Returns KYSO_OK, KYSO_ERR_INVALID_ARG (r NULL, or a PIN over 256 bytes) or
 * KYSO_ERR_NOMEM.
 */
int kyso_sign_request_set_pin(kyso_sign_request *r, const char *pin);

/*
 * Sets what is signed, in the program's words: the agent shows it in its dialogs as the
 * program's description and records it in the audit log (up to 1024 bytes). NULL forgets
 * it. Returns KYSO_OK, KYSO_ERR_INVALID_ARG (r NULL) or KYSO_ERR_NOMEM.
 */
int kyso_sign_request_set_description(kyso_sign_request *r, const char *description);

/*
 * Sets the ECDSA signature encoding: "der" (the default) or "raw" (r||s). NULL forgets
 * it. Returns KYSO_OK, KYSO_ERR_INVALID_ARG (r NULL) or KYSO_ERR_NOMEM.
 */
int kyso_sign_request_set_signature_format(kyso_sign_request *r, const char *format);

/* Wipes and frees r (its PIN included); NULL is allowed. */
void kyso_sign_request_free(kyso_sign_request *r);

/*
 * Signs n digests (1 to 1000, each digest_len bytes, one after another in digests) with
 * req's certificate, algorithm, PIN, description and signature format (req's digest and
 * data are not used) in one call, io.kyso.Agent.SignDigests: one round trip, one consent,
 * one synced write of the audit records. All or nothing. Returns KYSO_OK with *sigs and
 * *siglens, n of each (free with kyso_signatures_free), or an error as kyso_sign.
 */
int kyso_sign_digests(kyso_client *c, const kyso_sign_request *req,
    const unsigned char *digests, size_t digest_len, size_t n, unsigned char ***sigs,
    size_t **siglens);

/* Frees what kyso_sign_digests gave (n signatures); NULLs are allowed. */
void kyso_signatures_free(unsigned char **sigs, size_t *siglens, size_t n);

/*
 * Signs. Returns KYSO_OK with *sig (free with kyso_free) and *siglen, or an error such as
 * KYSO_ERR_PIN_REQUIRED, KYSO_ERR_PIN_INCORRECT, KYSO_ERR_PIN_LOCKED,
 * KYSO_ERR_NO_SUCH_CERT, KYSO_ERR_UNSUPPORTED_ALG, KYSO_ERR_INVALID_DIGEST,
 * KYSO_ERR_CANCELLED, KYSO_ERR_POLICY, KYSO_ERR_AUDIT, KYSO_ERR_TOKEN_NOT_PRESENT or
 * KYSO_ERR_TOKEN, with *sig NULL; KYSO_ERR_INVALID_ARG if req is NULL.
 */
int kyso_sign(kyso_client *c, const kyso_sign_request *req, unsigned char **sig,
    size_t *siglen);

/*
 * Documents, signed as a batch under one consent (SignDocuments in docs/protocol.md).
 * For each document the agent returns a detached CMS SignedData (DER) over its content:
 * the program hashes each document itself and adds the digest to a batch; one call signs
 * them all, with one confirmation and one PIN dialog at most (a key that wants the PIN
 * for every signature still asks for each), and the agent records each document in its
 * audit log. A kyso_batch is opaque; make one per set of documents, sign it, read each
 * document's CMS, free it. Example (error checks left out):
 *
 *	kyso_batch *b;
 *	kyso_batch_new("62a1effe", &b);
 *	kyso_batch_add(b, "memo.pdf", "sha256", digest, 32, NULL, NULL);
 *	if (kyso_sign_batch(c, b, NULL, NULL) == KYSO_OK)
 *		kyso_batch_result(b, 0, &cms, &cms_len);    (cms belongs to b)
 *	kyso_batch_free(b);
 */
typedef struct kyso_batch kyso_batch;

/*
 * Makes an empty batch for the certificate (as for kyso_sign: an id, a unique prefix of
 * 8+ hex digits, or a key URI). Returns KYSO_OK with *out (free with kyso_batch_free),
 * KYSO_ERR_INVALID_ARG (certificate NULL or empty) or KYSO_ERR_NOMEM.
 */
int kyso_batch_new(const char *certificate, kyso_batch **out);

/*
 * "cades" (the default: CAdES-B-B, with a signing-time) or "pades" (the CMS for a PAdES
 * baseline signature, no signing-time: the PDF's /M has the time); NULL: the default.
 * Returns KYSO_OK, KYSO_ERR_INVALID_ARG (another name) or KYSO_ERR_NOMEM.
 */
int kyso_batch_set_profile(kyso_batch *b, const char *profile);

/*
 * The signature algorithm: NULL (default: PKCS#1 v1.5, ECDSA or Ed25519 by the key, with
 * each document's hash), a family ("rsa-pss", "rsa-pkcs1v15", "ecdsa", "ed25519") or a
 * full name ("rsa-pss-sha256"; then every document must have that hash). The agent
 * checks it. Returns KYSO_OK, KYSO_ERR_INVALID_ARG (empty, over 64 bytes) or
 * KYSO_ERR_NOMEM.
 */
int kyso_batch_set_algorithm(kyso_batch *b, const char *algorithm);

/*
 * What the batch is, in the program's words (shown in the dialog, written to the audit
 * log); NULL for none. Returns KYSO_OK, KYSO_ERR_INVALID_ARG (empty, over 1024 bytes) or
 * KYSO_ERR_NOMEM.
 */
int kyso_batch_set_description(kyso_batch *b, const char *description);

/*
 * The token's user PIN, if the program has it (else the agent asks the officer); copied
 * into locked memory that is wiped when replaced, cleared (NULL) or freed. Returns
 * KYSO_OK, KYSO_ERR_INVALID_ARG (empty, over 256 bytes) or KYSO_ERR_NOMEM.
 */
int kyso_batch_set_pin(kyso_batch *b, const char *pin);

/*
 * Adds a document: name (shown to the officer, recorded; unique within the batch),
 * digest_algorithm ("sha256", "sha384", "sha512"; NULL: by digest_len), its content's
 * digest, signing_time (RFC 3339 with seconds and a zone, e.g. "2026-12-06T10:00:00Z";
 * NULL: when the token signs; not used by "pades"), content_type (a dotted OID; NULL:
 * id-data). Returns KYSO_OK, KYSO_ERR_INVALID_ARG (no name or digest, a digest length that
 * is not the algorithm's, 1000 documents already) or KYSO_ERR_NOMEM. The agent checks the
 * rest (kyso_sign_batch then fails with KYSO_ERR_INVALID_PARAMETER naming the document:
 * "documents[3].signing_time").
 */
int kyso_batch_add(kyso_batch *b, const char *name, const char *digest_algorithm,
    const unsigned char *digest, size_t digest_len, const char *signing_time,
    const char *content_type);

/*
 * Called by kyso_sign_batch after each document the agent tried: index of total, err
 * KYSO_OK (signed) or the document's error. Returning non-zero stops the batch.
 */
typedef int (*kyso_batch_progress)(void *arg, size_t index, size_t total, int err);

/*
 * Signs every document of b in one call (each document's earlier outcome is forgotten).
 * fn (may be NULL) is called after each document; if it returns non-zero, the
 * connection is closed, the agent stops between two documents, and c cannot be used any
 * more (connect again). Returns KYSO_OK when every document was signed; otherwise the
 * error of the first one that was not, with kyso_error_message(c) saying how many were
 * signed and why the batch stopped: KYSO_ERR_CANCELLED (the officer cancelled or refused
 * a dialog, or fn stopped the batch), KYSO_ERR_PIN_INCORRECT, KYSO_ERR_TOKEN_NOT_PRESENT,
 * ... A call the agent refused before any token (KYSO_ERR_INVALID_PARAMETER,
 * KYSO_ERR_NO_SUCH_CERT, KYSO_ERR_UNSUPPORTED_ALG, KYSO_ERR_PIN_REQUIRED,
 * KYSO_ERR_POLICY, ...) gives every document that error. Either way
 * kyso_batch_result tells each document's outcome.
 */
int kyso_sign_batch(kyso_client *c, kyso_batch *b, kyso_batch_progress fn, void *arg);

/* Returns the number of documents in b. */
size_t kyso_batch_count(const kyso_batch *b);

/*
 * Returns KYSO_OK with document i's CMS ContentInfo (DER, detached; owned by b, valid
 * until b is signed again or freed) in *cms and *cms_len, or that document's error
 * (KYSO_ERR_INVALID_ARG also for an i out of range or a batch not signed yet). cms and
 * cms_len may be NULL.
 */
int kyso_batch_result(const kyso_batch *b, size_t i, const unsigned char **cms,
    size_t *cms_len);

/* Returns the sentence about document i's error ("" when it was signed or i is too big). */
const char *kyso_batch_message(const kyso_batch *b, size_t i);

/*
 * Returns why the last kyso_sign_batch stopped early ("cancelled", "disconnected",
 * "token-removed", ...: docs/protocol.md), or "" when it did not.
 */
const char *kyso_batch_stopped(const kyso_batch *b);

/* Returns the batch id the agent's audit log records with each document, or "". */
const char *kyso_batch_id(const kyso_batch *b);

/* Frees b, wiping its PIN; NULL is allowed. */
void kyso_batch_free(kyso_batch *b);

/*
 * Logs in to token (id, serial or label) with pin (NULL for a PIN-pad reader). Returns
 * KYSO_OK or a PIN error. *already_logged_in (if not NULL) is set to 1 when the token was
 * logged in before: the PIN was then not checked.
 */
int kyso_login(kyso_client *c, const char *token, const char *pin, int *already_logged_in);

/* Logs out of every token (the agent keeps no PIN). Returns KYSO_OK or an error. */
int kyso_lock(kyso_client *c);

/*
 * Asks the agent who it is. Returns KYSO_OK with *product and *version (free with
 * kyso_free; either pointer may be NULL if not wanted).
 */
int kyso_get_info(kyso_client *c, char **product, char **version);

/*
 * Token events. A program that wants to know when tokens come and go, log in or out, or
 * change their PIN state subscribes on a connection of its own: from then on that
 * connection carries only events (other calls on it fail with KYSO_ERR_INVALID_ARG), until
 * kyso_disconnect. The agent sends events as they happen; a subscriber that leaves more
 * than 64 KiB of them unread is dropped (KYSO_ERR_TOO_SLOW), so read them promptly.
 */

/*
 * One event (see Subscribe in docs/protocol.md), returned by kyso_next_event and freed
 * with kyso_event_free.
 */

/*
 * Returns the event's name: "token-added", "token-removed", "token-changed"; "subscribed"
 * for the first event when kyso_subscribe was not asked for the tokens; a name a newer
 * agent sends is passed on as it is. Never NULL.
 */
const char *kyso_event_name(const kyso_event *ev);

/*
 * Returns the token the event is about, as it is now (for token-removed: as it was
 * last), owned by the event; NULL when the event carries no token.
 */
const kyso_token *kyso_event_token(const kyso_event *ev);

/*
 * Returns the event's parameters as the agent sent them, JSON text ({"event": ...,
 * "token": {...}}); never NULL.
 */
const char *kyso_event_json(const kyso_event *ev);

/* Frees an event; NULL is allowed. */
void kyso_event_free(kyso_event *ev);

/*
 * Subscribes c to token events. Returns KYSO_OK with the tokens present now in *tokens, a
 * NULL-terminated array of *n tokens (n may be NULL; free it with kyso_tokens_free);
 * every change after them comes from kyso_next_event. With tokens NULL, the list is not
 * parsed: it comes as the first event instead (event "subscribed", json {"event":
 * "subscribed", "tokens": [...]}). Fails with KYSO_ERR_INVALID_ARG if c is subscribed
 * already, KYSO_ERR_METHOD_NOT_FOUND from an agent without events, or a connection error.
 */
int kyso_subscribe(kyso_client *c, kyso_token ***tokens, size_t *n);

/*
 * Waits up to timeout_ms milliseconds (-1: as long as it takes; 0: only what has arrived)
 * for the next event. Several events that arrive together are kept and returned one per
 * call. Returns KYSO_OK with *ev (free with kyso_event_free), or with *ev NULL:
 * KYSO_ERR_TIMEOUT (nothing came; the subscription goes on), KYSO_ERR_TOO_SLOW (events
 * were left unread and the agent ended the subscription; kyso_error_parameters() has
 * "unread"), KYSO_ERR_DISCONNECTED (the agent stopped, or the subscription ended
 * earlier), KYSO_ERR_PROTOCOL (a malformed event, skipped; the next call goes on),
 * KYSO_ERR_INVALID_ARG (c is not subscribed), KYSO_ERR_IO or KYSO_ERR_NOMEM. After
 * KYSO_ERR_TOO_SLOW or KYSO_ERR_DISCONNECTED, subscribe again on a new connection.
 * A signal does not end the wait; to wait for signals or other input too, see kyso_fd.
 */
int kyso_next_event(kyso_client *c, int timeout_ms, kyso_event **ev);

/*
 * Returns the socket c uses (-1 when not connected), for a main loop that waits on it
 * with poll or select. Do not read or write it. Events can already be waiting in c: when
 * the socket is readable, call kyso_next_event with timeout 0 until it returns
 * KYSO_ERR_TIMEOUT, and only then wait on the socket again.
 */
int kyso_fd(const kyso_client *c);

/* Frees memory returned by libkyso (signatures, JSON text, strings); NULL is allowed. */
void kyso_free(void *p);

/* Returns the libkyso version string, e.g. "0.2.0"; never NULL. */
const char *kyso_version(void);

#ifdef __cplusplus
}
#endif
#endif
