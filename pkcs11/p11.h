/*
 * p11.h — kyso's narrow window onto PKCS#11.
 *
 * Everything kyso does with a token goes through these calls; only the files in pkcs11/
 * include Cryptoki headers. No Cryptoki type crosses this interface, and it has two
 * implementations: pkcs11/ runs the module in the calling process (kyso-admin, the
 * helper, tests), and p11rpc/rpc_client.c, which kysod links, runs each module in a
 * kyso-p11-helper process of its own and forwards the calls to it. A struct p11_session
 * belongs to one thread at a time.
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
	/* no answer came from the module: why ("the module crashed (SIGSEGV)": its helper
	 * process ended, or was ended for not answering in time), a static sentence; NULL
	 * when the module answered */
	const char *cause;
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
	/* CK_TOKEN_INFO.ulMaxSessionCount: 0 no limit (CK_EFFECTIVELY_INFINITE), else the
	 * limit; P11_SESSIONS_UNKNOWN when the token does not say */
	unsigned max_sessions;
	int removable;   /* the slot's CKF_REMOVABLE_DEVICE: a reader or a USB token */
};
#define P11_SESSIONS_UNKNOWN 0xffffffffu

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

/*
 * Lists the modules registered with p11-kit without initialising them (trust-policy
 * modules left out). Returns KYSO_OK with a malloc'd array *paths of *n malloc'd paths
 * (free each and the array), or KYSO_ERR_NOMEM.
 */
int p11_modules_registered(char ***paths, size_t *n);

/* How kysod runs modules in helper processes (the in-process implementation ignores it). */
struct p11_helper_options {
	long call_ms;    /* how long a module may take to answer a call before its helper
	                  * process is ended (0: the default, 60 s) */
	long pinpad_ms;  /* the same for a login typed on the reader's PIN pad (0: 300 s) */
	int no_filter;   /* no seccomp filter in the helpers (kysod --no-module-filter) */
};

/* Sets the options for the modules loaded from now on (and their calls). */
void p11_set_helper_options(const struct p11_helper_options *o);

/*
 * Calls fn(arg), from another thread, when m's helper process ends without being asked
 * to (it crashed, or was ended for not answering): the caller may want to look at the
 * module at once. The in-process implementation never calls it. fn NULL: no call.
 */
void p11_module_on_exit(struct p11_module *m, void (*fn)(void *arg), void *arg);

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
 * Returns 1 if the private key with CKA_ID id is visible and has CKA_ALWAYS_AUTHENTICATE
 * (it wants a context-specific login before every signature), 0 if not or not found.
 */
int p11_session_key_always_auth(struct p11_session *s, const unsigned char *id,
    size_t id_len);

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

/* A p11_session_sign on its way: sent, its answer not yet read. */
struct p11_sign_call;

/*
 * p11_session_sign in two halves, so that the caller works while the token signs (the
 * agent syncs a Sign's audit record meanwhile). Only for a request without a context
 * PIN or PIN pad (KYSO_ERR_INVALID_ARG otherwise): a key that wants its PIN at every
 * signature answers KYSO_ERR_PIN_REQUIRED, as p11_session_sign does without a PIN.
 * _send starts the signature (req and its buffers are not kept) and returns KYSO_OK with
 * *out, which p11_session_sign_recv must then be given exactly once, before s is used for
 * anything else; or an error as p11_session_sign (+ fail) with *out NULL. A module in
 * this process signs in _send (the answer waits in *out); a module's helper signs
 * meanwhile. _recv returns as p11_session_sign: KYSO_OK with *sig (malloc'd) and
 * *siglen, or the error (+ fail) with *sig NULL.
 */
int p11_session_sign_send(struct p11_session *s, const struct p11_sign_req *req,
    struct p11_sign_call **out, struct p11_fail *fail);
int p11_session_sign_recv(struct p11_sign_call *call, unsigned char **sig, size_t *siglen,
    struct p11_fail *fail);

/* The most inputs p11_session_sign_many takes at once. */
#define P11_SIGN_MANY_MAX 1000

/*
 * Signs n inputs of in_len bytes each (one after another in ins) with req's key and
 * mechanism (req->in, context_pin and context_pin_pad are not used: for a key that wants
 * its PIN at every signature use p11_session_sign), as n p11_session_sign calls would,
 * but in one call to a module's helper. All or nothing: returns KYSO_OK with sigs[i]
 * (malloc'd) and siglens[i] for each, or the first error as p11_session_sign (+ fail)
 * with every sigs[i] NULL. KYSO_ERR_INVALID_ARG for n over P11_SIGN_MANY_MAX.
 */
int p11_session_sign_many(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail);

/* A p11_session_sign_many on its way: sent, its answer not yet read. */
struct p11_sign_many_call;

/*
 * p11_session_sign_many in two halves, so that the caller works while the token signs
 * (SignDigests: the agent converts and records one chunk while the next is at the
 * token, on the same session). _send starts signing the n inputs (ins is not kept) and
 * returns KYSO_OK with *out, which p11_session_sign_many_recv must then be given exactly
 * once, before s is used for anything else; or an error as p11_session_sign_many (+ fail)
 * with *out NULL. A module in this process signs in _send (the answer waits in *out); a
 * module's helper signs meanwhile.
 */
int p11_session_sign_many_send(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, struct p11_sign_many_call **out,
    struct p11_fail *fail);

/*
 * Waits for the answer of call (freed here; its n from _send) and returns as
 * p11_session_sign_many: KYSO_OK with sigs[i] (malloc'd) and siglens[i] for each, or the
 * first error (+ fail) with every sigs[i] NULL.
 */
int p11_session_sign_many_recv(struct p11_sign_many_call *call, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail);

/* ---- administration: kyso-admin (p11_admin.c, p11_admin_objects.c) ---- */

/* A CK_TOKEN_INFO memory or PIN-length field the token does not give. */
#define P11_UNKNOWN ((unsigned long)-1)

/* A slot, with or without a token. */
struct p11_slot_desc {
	unsigned long slot;
	char description[65];
	char manufacturer[33];
	int token_present;
	int removable;
	struct p11_token_desc token;  /* when token_present */
	/* from CK_TOKEN_INFO when token_present, else P11_UNKNOWN; bytes */
	unsigned long free_public, total_public, free_private, total_private;
	unsigned long min_pin, max_pin;  /* PIN length bounds, P11_UNKNOWN if not given */
};

/*
 * Lists every slot of m (C_GetSlotList(FALSE)), with its token's state where one is
 * present. Returns KYSO_OK with a malloc'd array *out of *n, or an error + fail.
 */
int p11_module_slots(struct p11_module *m, struct p11_slot_desc **out, size_t *n,
    struct p11_fail *fail);

/* Describes one slot as p11_module_slots does. KYSO_OK or an error + fail. */
int p11_slot_info(struct p11_module *m, unsigned long slot, struct p11_slot_desc *d,
    struct p11_fail *fail);

/*
 * C_InitToken: initialises (erases) the token in slot with label (at most 32 bytes).
 * so_pin becomes the SO PIN of a blank token; on an initialised one it must be the
 * current SO PIN. No session may be open on the token. Returns KYSO_OK,
 * KYSO_ERR_PIN_INCORRECT, KYSO_ERR_PIN_LOCKED, KYSO_ERR_INVALID_ARG (label too long) or an
 * error + fail.
 */
int p11_token_init(struct p11_module *m, unsigned long slot, const struct kyso_secret *so_pin,
    const char *label, struct p11_fail *fail);

/* Opens a read-write session on slot (needed to change PINs and objects). */
int p11_session_open_rw(struct p11_module *m, unsigned long slot, struct p11_session **out,
    struct p11_fail *fail);

/* Logs the security officer in (C_Login CKU_SO). Errors as p11_session_login. */
int p11_session_login_so(struct p11_session *s, const struct kyso_secret *so_pin,
    struct p11_fail *fail);

/*
 * C_InitPIN: sets the user PIN; the session must be logged in as the SO. This is also how
 * a locked user PIN is unblocked. Returns KYSO_OK, KYSO_ERR_PIN_INCORRECT (the token
 * refuses the new PIN's length or characters) or an error + fail.
 */
int p11_session_init_pin(struct p11_session *s, const struct kyso_secret *new_pin,
    struct p11_fail *fail);

/*
 * C_SetPIN: changes the PIN of the user the session is logged in as (the user's when not
 * logged in or logged in as the user; the SO's when logged in as the SO). Returns
 * KYSO_OK, KYSO_ERR_PIN_INCORRECT (old PIN wrong, or new PIN refused: fail tells which),
 * KYSO_ERR_PIN_LOCKED or an error + fail.
 */
int p11_session_set_pin(struct p11_session *s, const struct kyso_secret *old_pin,
    const struct kyso_secret *new_pin, struct p11_fail *fail);

/* The key types kyso-admin generates. */
enum p11_key_type {
	P11_KEY_RSA_2048,
	P11_KEY_RSA_3072,
	P11_KEY_RSA_4096,
	P11_KEY_EC_P256,
	P11_KEY_EC_P384,
	P11_KEY_ED25519,
	P11_KEY_TYPE_COUNT
};

/* Returns "rsa:2048", "ec:p256", "ed25519"...; "?" for an unknown value. */
const char *p11_key_type_name(int type);

/* Parses a name p11_key_type_name returns. KYSO_OK or KYSO_ERR_INVALID_ARG. */
int p11_key_type_parse(const char *name, enum p11_key_type *out);

/*
 * Which key types the token in slot can generate (C_GetMechanismList, then
 * C_GetMechanismInfo: CKF_GENERATE_KEY_PAIR and the key size range). Returns KYSO_OK with
 * *types, a mask of (1u << enum p11_key_type), or an error + fail.
 */
int p11_slot_keygen_types(struct p11_module *m, unsigned long slot, unsigned *types,
    struct p11_fail *fail);

/*
 * Generates a key pair on the token (the session logged in as the user): a private key
 * with CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_SIGN true and CKA_EXTRACTABLE,
 * CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE false, and a public key with CKA_VERIFY true
 * (CKA_ENCRYPT, CKA_WRAP false), both with CKA_ID id and CKA_LABEL label. Returns KYSO_OK,
 * KYSO_ERR_UNSUPPORTED_ALG (the token refuses the mechanism or curve),
 * KYSO_ERR_PIN_REQUIRED (not logged in) or an error + fail.
 */
int p11_session_keygen(struct p11_session *s, enum p11_key_type type, const unsigned char *id,
    size_t id_len, const char *label, struct p11_fail *fail);

/* Object classes (our numbering). */
enum p11_obj_class {
	P11_OBJ_OTHER,
	P11_OBJ_DATA,
	P11_OBJ_CERTIFICATE,
	P11_OBJ_PUBLIC_KEY,
	P11_OBJ_PRIVATE_KEY,
	P11_OBJ_SECRET_KEY,
};
#define P11_OBJ_BIT(c) (1u << (c))

/* Returns "certificate", "public-key", "private-key"...; never NULL. */
const char *p11_obj_class_name(int cls);

/* Attribute flags of an object (enum p11_obj_flag bits); unreadable ones are clear. */
enum p11_obj_flag {
	P11_OBJ_TOKEN = 1u << 0,
	P11_OBJ_PRIVATE = 1u << 1,            /* CKA_PRIVATE: needs the login to be seen */
	P11_OBJ_SENSITIVE = 1u << 2,
	P11_OBJ_EXTRACTABLE = 1u << 3,
	P11_OBJ_ALWAYS_SENSITIVE = 1u << 4,
	P11_OBJ_NEVER_EXTRACTABLE = 1u << 5,
	P11_OBJ_SIGN = 1u << 6,
	P11_OBJ_VERIFY = 1u << 7,
	P11_OBJ_DECRYPT = 1u << 8,
	P11_OBJ_ENCRYPT = 1u << 9,
	P11_OBJ_UNWRAP = 1u << 10,
	P11_OBJ_WRAP = 1u << 11,
	P11_OBJ_DERIVE = 1u << 12,
	P11_OBJ_LOCAL = 1u << 13,             /* CKA_LOCAL: generated on the token */
	P11_OBJ_TRUSTED = 1u << 14,
	P11_OBJ_ALWAYS_AUTH = 1u << 15,
};

/* One object on a token. */
struct p11_object_desc {
	enum p11_obj_class cls;
	unsigned char *id;      /* CKA_ID (may be empty, never NULL) */
	size_t id_len;
	char *label;            /* CKA_LABEL, never NULL */
	char key_type[24];      /* keys: "rsa:2048", "ec:p256", "ed25519", "rsa", "ec"... or "" */
	unsigned key_bits;      /* keys: modulus or curve size in bits, 0 if unknown */
	unsigned flags;         /* enum p11_obj_flag bits */
	unsigned long category; /* certificates: CKA_CERTIFICATE_CATEGORY, else 0 */
	unsigned char *der;     /* X.509 certificates: CKA_VALUE, else NULL */
	size_t der_len;
};

/*
 * Lists the objects the session can see (private ones only when logged in). Returns
 * KYSO_OK with a malloc'd array (free with p11_objects_free), or an error + fail.
 */
int p11_session_objects(struct p11_session *s, struct p11_object_desc **out, size_t *n,
    struct p11_fail *fail);

/* Frees an array returned by p11_session_objects; NULL is allowed. */
void p11_objects_free(struct p11_object_desc *o, size_t n);

/* A public key as the token gives it, for OpenSSL to build a SubjectPublicKeyInfo. */
struct p11_pubkey {
	int kind;                 /* 'r' RSA, 'e' EC, 'd' Ed25519 (EC Edwards) */
	unsigned char *modulus;   /* RSA: big-endian */
	size_t modulus_len;
	unsigned char *exponent;  /* RSA: big-endian */
	size_t exponent_len;
	unsigned char *params;    /* EC/Edwards: CKA_EC_PARAMS (DER OID or printable name) */
	size_t params_len;
	unsigned char *point;     /* EC/Edwards: CKA_EC_POINT (usually a DER OCTET STRING) */
	size_t point_len;
};

/*
 * Reads the public key with CKA_ID id: the CKO_PUBLIC_KEY object, else the public
 * attributes of the CKO_PRIVATE_KEY. Returns KYSO_OK with *out filled (free with
 * p11_pubkey_clear), KYSO_ERR_KEY_NOT_FOUND, KYSO_ERR_UNSUPPORTED_ALG (not RSA, EC or
 * Ed25519) or an error + fail.
 */
int p11_session_pubkey(struct p11_session *s, const unsigned char *id, size_t id_len,
    struct p11_pubkey *out, struct p11_fail *fail);

/* Frees what p11_session_pubkey put in k and zeroes it. */
void p11_pubkey_clear(struct p11_pubkey *k);

/*
 * Destroys the objects with CKA_ID id whose class is in classes (P11_OBJ_BIT mask).
 * Returns KYSO_OK with *deleted (0 if none matched), or an error + fail (objects
 * destroyed before the failure stay destroyed; *deleted counts them).
 */
int p11_session_delete(struct p11_session *s, const unsigned char *id, size_t id_len,
    unsigned classes, size_t *deleted, struct p11_fail *fail);

/* A certificate to store (p11_session_store_cert). The DER parts come from OpenSSL. */
struct p11_cert_store {
	const unsigned char *der;     /* the whole certificate (CKA_VALUE) */
	size_t der_len;
	const unsigned char *subject; /* DER Name (CKA_SUBJECT) */
	size_t subject_len;
	const unsigned char *issuer;  /* DER Name (CKA_ISSUER) */
	size_t issuer_len;
	const unsigned char *serial;  /* DER INTEGER (CKA_SERIAL_NUMBER) */
	size_t serial_len;
	const unsigned char *id;      /* CKA_ID (the key's, for an own certificate) */
	size_t id_len;
	const char *label;            /* CKA_LABEL */
	int ca;  /* 1: CA certificate (category 2); 0: own certificate (category 1). CKA_TRUSTED
	          * is never set: only the SO may */
};

/*
 * Stores an X.509 certificate object (CKO_CERTIFICATE, CKC_X_509, CKA_TOKEN true,
 * CKA_PRIVATE false) with the attributes of c; the session is logged in as the user.
 * Returns KYSO_OK or an error + fail.
 */
int p11_session_store_cert(struct p11_session *s, const struct p11_cert_store *c,
    struct p11_fail *fail);

/* Signing for kyso-admin (a CSR): p11_session_sign with P11_MECH_RSA_PKCS, _ECDSA or _EDDSA. */

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
 * CKR_CRYPTOKI_NOT_INITIALIZED, CKR_GENERAL_ERROR..., or no answer at all: a cause), so
 * that a rescan should check it.
 */
int p11_fail_module_broken(const struct p11_fail *fail);

/*
 * Returns 1 if a failed C_SetPIN or C_InitPIN refused the new PIN (CKR_PIN_INVALID,
 * CKR_PIN_LEN_RANGE: its length or characters), rather than the old PIN being wrong.
 */
int p11_fail_new_pin_refused(const struct p11_fail *fail);

/* Returns 1 if the failure may mean the token was pulled out. */
int p11_fail_maybe_removed(const struct p11_fail *fail);

/* Clears fail (no failure); NULL is allowed. */
void p11_fail_clear(struct p11_fail *fail);

/* Returns the name of a CKR_* value ("CKR_PIN_INCORRECT"), or "CKR_VENDOR_DEFINED". */
const char *p11_ckr_name(unsigned long ckr);

#endif
