/*
 * p11.h — kyso's narrow window onto PKCS#11.
 *
 * Everything kyso does with a token goes through these calls; only the files in pkcs11/
 * include Cryptoki headers. No Cryptoki type crosses this interface, so the layer can later
 * move into a helper process. A struct p11_session belongs to one thread at a time.
 *
 * Every call returns a kyso_err code. Calls that reach the token also fill a struct
 * p11_fail with the Cryptoki return value and its name (for io.kyso.Agent.TokenError).
 */
#ifndef KYSO_P11_H
#define KYSO_P11_H

#include <stddef.h>

struct kyso_secret;
struct p11_module;
struct p11_session;

/* What a failed call on the token returned. */
struct p11_fail {
	unsigned long ckr;     /* CKR_* value, 0 if the failure was not the token's */
	const char *ckr_name;  /* "CKR_DEVICE_ERROR", or "" */
	const char *call;      /* "C_Sign", ... or "" */
};

/* The mechanisms kyso signs with (our own numbering, not CKM_*). */
enum p11_mech {
	P11_MECH_RSA_PKCS,
	P11_MECH_SHA256_RSA_PKCS,
	P11_MECH_SHA384_RSA_PKCS,
	P11_MECH_SHA512_RSA_PKCS,
	P11_MECH_RSA_PKCS_PSS,
	P11_MECH_SHA256_RSA_PKCS_PSS,
	P11_MECH_SHA384_RSA_PKCS_PSS,
	P11_MECH_SHA512_RSA_PKCS_PSS,
	P11_MECH_ECDSA,
	P11_MECH_ECDSA_SHA256,
	P11_MECH_ECDSA_SHA384,
	P11_MECH_ECDSA_SHA512,
	P11_MECH_EDDSA,
	P11_MECH_COUNT
};

/* Bit for mechanism m in struct p11_token_desc.mechs. */
#define P11_MECH_BIT(m) (1u << (m))

/* Token flags kyso reports (from CK_TOKEN_INFO.flags). */
enum p11_token_flag {
	P11_TOKEN_LOGIN_REQUIRED = 1u << 0,
	P11_TOKEN_PROTECTED_AUTH_PATH = 1u << 1,
	P11_TOKEN_USER_PIN_COUNT_LOW = 1u << 2,
	P11_TOKEN_USER_PIN_FINAL_TRY = 1u << 3,
	P11_TOKEN_USER_PIN_LOCKED = 1u << 4,
	P11_TOKEN_USER_PIN_TO_BE_CHANGED = 1u << 5,
	P11_TOKEN_USER_PIN_INITIALIZED = 1u << 6,
	P11_TOKEN_INITIALIZED = 1u << 7,
	P11_TOKEN_WRITE_PROTECTED = 1u << 8,
};

/* A token in a slot, as the module describes it. Strings are trimmed UTF-8. */
struct p11_token_desc {
	unsigned long slot;
	char label[33];
	char manufacturer[33];
	char model[17];
	char serial[17];
	char slot_description[65];
	unsigned flags;  /* enum p11_token_flag bits */
	unsigned mechs;  /* P11_MECH_BIT() of each mechanism that can sign */
};

/* A certificate on a token and what the token holds for its key. */
struct p11_cert_desc {
	unsigned char *der;
	size_t der_len;
	unsigned char *id;  /* CKA_ID, shared with the key objects */
	size_t id_len;
	char *label;        /* CKA_LABEL, never NULL */
	char *key_label;    /* CKA_LABEL of the public key (else private key), or NULL */
	int has_private_key; /* a CKO_PRIVATE_KEY with this CKA_ID is visible */
	int has_public_key;  /* a CKO_PUBLIC_KEY with this CKA_ID is visible */
	int key_can_sign;    /* the private key's CKA_SIGN is true */
	int key_always_auth; /* the private key's CKA_ALWAYS_AUTHENTICATE is true */
};

/* ---- modules ---- */

/*
 * Loads the module at path and initialises it (OS locking). Returns KYSO_OK with *out,
 * or KYSO_ERR_MODULE with a sentence in err.
 */
int p11_module_load(const char *path, struct p11_module **out, char *err, size_t errlen);

/*
 * Loads and initialises the modules registered with p11-kit, skipping trust-policy
 * modules (they hold CA anchors, not keys) and modules that fail to initialise (logged).
 * Returns KYSO_OK with a malloc'd array *out of *n modules (possibly none).
 */
int p11_modules_load_registered(struct p11_module ***out, size_t *n);

/* Returns the module's file name (as loaded); never NULL. */
const char *p11_module_path(const struct p11_module *m);

/*
 * Lists the slots that hold a token. Returns KYSO_OK with a malloc'd array *out of *n
 * descriptions, or an error with fail filled.
 */
int p11_module_tokens(struct p11_module *m, struct p11_token_desc **out, size_t *n,
    struct p11_fail *fail);

/* Finalises (unless p11_module_finalize did) and unloads m; NULL is allowed. */
void p11_module_free(struct p11_module *m);

/*
 * Waits (blocking) for a slot event: a token inserted or removed. Returns KYSO_OK with the
 * slot, KYSO_ERR_UNSUPPORTED when the module has no slot events, or KYSO_ERR_TOKEN + fail
 * (CKR_CRYPTOKI_NOT_INITIALIZED after p11_module_finalize from another thread).
 */
int p11_module_wait_event(struct p11_module *m, unsigned long *slot, struct p11_fail *fail);

/*
 * C_Finalize: ends every session and wakes a thread blocked in p11_module_wait_event.
 * Nothing else may be inside the module. Idempotent.
 */
void p11_module_finalize(struct p11_module *m);

/*
 * Initialises m again after p11_module_finalize (a module that broke); does nothing if it
 * is initialised. Nothing else may be inside the module. Returns KYSO_OK, or
 * KYSO_ERR_MODULE + fail.
 */
int p11_module_init(struct p11_module *m, struct p11_fail *fail);

/* Counts the module's slots, with or without a token. Returns KYSO_OK or KYSO_ERR_TOKEN. */
int p11_module_slot_count(struct p11_module *m, size_t *n);

/* Returns 1 if slot holds a token, 0 if not, -1 if the module cannot tell. */
int p11_slot_present(struct p11_module *m, unsigned long slot);

/* Describes the token in slot (no session needed). Returns KYSO_OK or an error + fail. */
int p11_slot_describe(struct p11_module *m, unsigned long slot, struct p11_token_desc *d,
    struct p11_fail *fail);

/* Returns 1 if the slot's device is removable (a reader, a USB token), else 0. */
int p11_slot_removable(struct p11_module *m, unsigned long slot);

/* ---- sessions ---- */

/* Opens a read-only session on slot. Returns KYSO_OK with *out, or an error + fail. */
int p11_session_open(struct p11_module *m, unsigned long slot, struct p11_session **out,
    struct p11_fail *fail);

/* Closes the session; NULL is allowed. */
void p11_session_close(struct p11_session *s);

/* Re-reads the token's description. Returns KYSO_OK or an error + fail. */
int p11_session_describe(struct p11_session *s, struct p11_token_desc *out,
    struct p11_fail *fail);

/*
 * Returns 1 if an operation the module failed in could not be ended, so that the session
 * must be replaced; else 0.
 */
int p11_session_stuck(const struct p11_session *s);

/* Returns 1 if the session is logged in as the user, 0 if not (or unknown). */
int p11_session_logged_in(struct p11_session *s);

/*
 * Logs the user in with pin (NULL for a protected authentication path). Never retries.
 * The caller checks p11_session_logged_in first: a token that is already logged in does
 * not check the PIN. Returns KYSO_OK, KYSO_ERR_PIN_INCORRECT,
 * KYSO_ERR_PIN_LOCKED, KYSO_ERR_TOKEN_NOT_PRESENT or KYSO_ERR_TOKEN + fail.
 */
int p11_session_login(struct p11_session *s, const struct kyso_secret *pin,
    struct p11_fail *fail);

/* Logs out (not logged in is fine). Returns KYSO_OK or an error + fail. */
int p11_session_logout(struct p11_session *s, struct p11_fail *fail);

/*
 * Lists the X.509 certificates on the token with what is known of their keys.
 * Returns KYSO_OK with a malloc'd array (free with p11_certs_free), or an error + fail.
 */
int p11_session_certs(struct p11_session *s, struct p11_cert_desc **out, size_t *n,
    struct p11_fail *fail);

/* Frees an array returned by p11_session_certs; NULL is allowed. */
void p11_certs_free(struct p11_cert_desc *c, size_t n);

/* A signing operation. */
struct p11_sign_req {
	const unsigned char *key_id;  /* CKA_ID of the private key */
	size_t key_id_len;
	enum p11_mech mech;
	unsigned pss_hash_bits;       /* 256/384/512 for the PSS mechanisms, else 0 */
	const unsigned char *in;      /* the data or digest the mechanism takes */
	size_t in_len;
	/* the PIN for a key with CKA_ALWAYS_AUTHENTICATE (a context-specific login before
	 * each signature); NULL if the caller has none */
	const struct kyso_secret *context_pin;
	int context_pin_pad;  /* no PIN: the reader's PIN pad does the context login */
};

/*
 * Signs with the private key named by req->key_id. A key with CKA_ALWAYS_AUTHENTICATE
 * gets a context-specific login with req->context_pin after C_SignInit (never retried).
 * Returns KYSO_OK with *sig (malloc'd) and *siglen; KYSO_ERR_PIN_REQUIRED if the token
 * wants a login first, or the key wants its PIN and there is none; KYSO_ERR_PIN_INCORRECT
 * or KYSO_ERR_PIN_LOCKED from the context-specific login;
 * KYSO_ERR_KEY_NOT_FOUND; KYSO_ERR_UNSUPPORTED_ALG if the token refuses the mechanism;
 * KYSO_ERR_TOKEN_NOT_PRESENT; or KYSO_ERR_TOKEN + fail.
 */
int p11_session_sign(struct p11_session *s, const struct p11_sign_req *req,
    unsigned char **sig, size_t *siglen, struct p11_fail *fail);

/* ---- RFC 7512 URIs (parsed and formatted by p11-kit) ---- */

/*
 * Returns a new "pkcs11:" URI naming the private key with CKA_ID id and the given label on
 * the token t, or NULL when out of memory.
 */
char *p11_uri_for_key(const struct p11_token_desc *t, const unsigned char *id, size_t id_len,
    const char *label);

/* A parsed key URI; empty strings and id_len 0 mean "any". */
struct p11_uri_key {
	char token[33], manufacturer[33], model[17], serial[17];
	unsigned char id[256];
	size_t id_len;
	char object[256];
	int type_private_ok;  /* no type, or type=private */
};

/* Parses uri. Returns KYSO_OK, or KYSO_ERR_INVALID_ARG if it is not a usable key URI. */
int p11_uri_parse_key(const char *uri, struct p11_uri_key *out);

/* Returns 1 if the token matches the URI's token attributes, else 0. */
int p11_uri_match_token(const struct p11_uri_key *u, const struct p11_token_desc *t);

/*
 * Returns 1 if the failure means the session is unusable (closed, invalid, or stuck with
 * an operation the module left active), else 0.
 */
int p11_fail_session_lost(const struct p11_fail *fail);

/*
 * Returns 1 if the failure may mean the whole module is unusable (CKR_DEVICE_ERROR,
 * CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR...), so that a rescan should check it.
 */
int p11_fail_module_broken(const struct p11_fail *fail);

/* Returns 1 if the failure may mean the token was pulled out. */
int p11_fail_maybe_removed(const struct p11_fail *fail);

/* Returns the name of a CKR_* value ("CKR_PIN_INCORRECT"), or "CKR_VENDOR_DEFINED". */
const char *p11_ckr_name(unsigned long ckr);

#endif
