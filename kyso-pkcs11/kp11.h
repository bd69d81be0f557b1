/*
 * kp11.h — kyso-pkcs11, the PKCS#11 module kyso offers to other programs: declarations
 * shared by its files (nothing here is exported from the module).
 *
 * The module is a client of kysod. It never opens a token: the slots are the tokens the
 * agent lists (kept up to date from a Subscribe stream), the objects are built from the
 * agent's certificate listing, and every signature is the agent's Sign. One mutex guards
 * all of the module's state; it is never held while waiting for the agent, so threads
 * sign at once on connections of their own (a small pool).
 *
 * Files: kp11_entry.c (exported entry points, function lists), kp11_unsupported.c,
 * kp11_init.c (C_Initialize/C_Finalize, fork, the lock), kp11_config.c (settings and the
 * debug log), kp11_agent.c (calls to kysod, the connection pool), kp11_events.c (the
 * Subscribe stream, C_WaitForSlotEvent), kp11_slots.c (slots and tokens), kp11_objects.c
 * (objects, handles, find, attributes), kp11_attrs.c (attribute values from a
 * certificate; the C_GetAttributeValue buffer rules), kp11_session.c (sessions, login),
 * kp11_sign.c (C_Sign*), kp11_mech.c (mechanisms, DigestInfo, PSS parameters),
 * kp11_ckr.c (the one table from kysod's errors to CK_RV).
 */
#ifndef KYSO_KP11_H
#define KYSO_KP11_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>
#include <p11-kit/pkcs11.h>

#include "buf.h"
#include "kyso.h"
#include "loopguard.h"

#define KP_EXPORT __attribute__((visibility("default")))

/* Limits: a process of a misbehaving program cannot make the module grow without end. */
#define KP_MAX_SLOTS 256
#define KP_MAX_SESSIONS 4096
#define KP_POOL_MAX 4           /* idle connections to kysod kept for the next calls */
/* Calls to kysod at once, a connection each: kysod takes 32 connections of one process
 * (CONN_PER_PID_MAX; the module's subscription is one); more threads wait their turn. */
#define KP_CONN_MAX 16
/* The longest PIN kysod takes (docs/protocol.md, Login): a longer one is
 * CKR_PIN_LEN_RANGE here, not a call. */
#define KP_PIN_MAX 256
/* How long a call waits for kysod's answer: a Sign or a Login may wait for the officer
 * (kysod's dialogs, 60 s each by default) and for another program's requests queued on
 * the token before it; the other calls for the agent alone. Then the connection is
 * dropped and the call fails (CKR_DEVICE_ERROR): a hung agent hangs no program. */
#define KP_WAIT_OFFICER_MS (10 * 60 * 1000)
#define KP_WAIT_AGENT_MS (60 * 1000)
/* C_Finalize wakes the calls waiting for kysod and waits this long for them to leave. */
#define KP_FINALIZE_WAIT_MS 2000
#define KP_INIT_WAIT_MS 5000    /* C_Initialize waits this long for the agent's token list */
#define KP_RETRY_MS 1000        /* a blocking C_WaitForSlotEvent retries the agent this often */
#define KP_SUB_LIVED_MS 1000    /* a stream that lasted less ended "soon": back off */
#define KP_SUB_BACKOFF_MIN_MS 100
#define KP_SUB_BACKOFF_MAX_MS 5000
/* The most an EdDSA signature signs: the document goes to kysod base64-encoded in one
 * call of at most 1 MiB (docs/protocol.md, Limits). */
#define KP_MAX_DATA (760 * 1024)

/* The text in CK_SLOT_INFO.manufacturerID of every slot this module offers: kysod skips
 * slots that carry it, whatever module (a proxy, p11-kit remoting) passes them on. */
#define KP_SLOT_MANUFACTURER KYSO_PKCS11_SLOT_MANUFACTURER

/* ---- settings (kp11_config.c) ---- */

enum kp_pin_mode {
	KP_PIN_AGENT,    /* CKF_PROTECTED_AUTHENTICATION_PATH: kysod's dialog asks (default) */
	KP_PIN_PROGRAM,  /* the program asks and passes the PIN to C_Login */
};

struct kp_config {
	enum kp_pin_mode pin_mode;
	char debug_log[512];  /* "" none, "syslog", or a file */
};

/*
 * Reads the settings: $KYSO_PKCS11_PIN and $KYSO_PKCS11_DEBUG, else the user's
 * $XDG_CONFIG_HOME/kyso/kyso-pkcs11.conf (~/.config/...), else /etc/kyso/kyso-pkcs11.conf
 * (a key set in the user's file wins over the machine's). Never fails:
 * what cannot be read or understood keeps the default (and is said in the debug log).
 */
void kp_config_read(struct kp_config *cfg);

/* Starts logging where the settings say (nothing when they name no log). */
void kp_log_open(const struct kp_config *cfg);
/* Stops logging for this cycle (C_Finalize); the file stays open while loaded. */
void kp_log_close(void);
/* One line in the debug log, if there is one; never to stdout or stderr. */
void kp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- tokens and certificates as kysod lists them ---- */

enum kp_key { KP_KEY_NONE, KP_KEY_RSA, KP_KEY_EC, KP_KEY_ED25519 };

/* kysod's signature algorithms (docs/protocol.md, section 6), as bits */
enum kp_alg {
	KP_ALG_PKCS1_256, KP_ALG_PKCS1_384, KP_ALG_PKCS1_512,
	KP_ALG_PSS_256, KP_ALG_PSS_384, KP_ALG_PSS_512,
	KP_ALG_ECDSA_256, KP_ALG_ECDSA_384, KP_ALG_ECDSA_512,
	KP_ALG_ED25519,
	KP_ALG_COUNT
};
#define KP_ALG_BIT(a) (1u << (a))

/* a token's state flags from the agent */
enum {
	KP_TOK_LOGGED_IN = 1 << 0,       /* kysod's session is logged in */
	KP_TOK_LOGIN_REQUIRED = 1 << 1,
	KP_TOK_PIN_PAD = 1 << 2,         /* the real token has a PIN pad */
	KP_TOK_COUNT_LOW = 1 << 3,
	KP_TOK_FINAL_TRY = 1 << 4,
	KP_TOK_LOCKED = 1 << 5,
	KP_TOK_TO_BE_CHANGED = 1 << 6,
};

struct kp_token {
	char id[17];                 /* kysod's stable token id */
	char label[128], manufacturer[128], model[64], serial[64], slot_description[256];
	unsigned flags;              /* KP_TOK_* */
};

/* One attribute value of an object. */
struct kp_attr {
	CK_ATTRIBUTE_TYPE type;
	unsigned char *value;
	CK_ULONG len;
	int sensitive;               /* exists but is never revealed */
};

struct kp_attrs {
	struct kp_attr *a;
	size_t n, cap;
};

/* A certificate of a token, with the key objects it stands for. */
struct kp_cert {
	char id[65];                 /* kysod's certificate id (SHA-256 of the DER) */
	char *key_uri;               /* kysod's pkcs11: URI of the key */
	enum kp_key key;
	unsigned key_bits;
	int can_sign, always_auth;
	unsigned algs;               /* KP_ALG_BIT()s kysod accepts for this key */
	struct kp_attrs cert, pub, priv;  /* pub and priv empty when !can_sign */
};

/* An object the application sees. */
struct kp_object {
	CK_OBJECT_HANDLE h;
	CK_OBJECT_CLASS cls;         /* CKO_CERTIFICATE, CKO_PUBLIC_KEY, CKO_PRIVATE_KEY */
	struct kp_cert *cert;
};

struct kp_slot {
	CK_SLOT_ID id;
	int has_token;               /* a token is (or was) in this slot; 0: the spare slot */
	int present;
	unsigned gen;                /* counts insertions: a session of an older one is dead */
	struct kp_token tok;
	int app_logged_in;           /* this application's login (all its sessions) */
	/* certificates: loaded when first needed, reloaded after token-changed */
	int certs_loaded, certs_stale;
	unsigned certs_gen;          /* the insertion they were loaded for */
	struct kp_cert *certs;
	size_t ncerts;
	struct kp_object *objects;
	size_t nobjects;
};

/* ---- the module's state (kp11_init.c) ---- */

struct kp_sign_op;
struct kp_find_op;

struct kp_session {
	CK_SESSION_HANDLE h;
	CK_SLOT_ID slot;
	unsigned gen;                /* the slot's insertion when it was opened */
	CK_FLAGS flags;
	int busy;                    /* a thread waits for the agent for this session */
	struct kp_find_op *find;
	struct kp_sign_op *sign;
};

struct kp_handle_rec {           /* object handles stay the same for the cycle */
	CK_SLOT_ID slot;
	char cert_id[65];
	CK_OBJECT_CLASS cls;
	CK_OBJECT_HANDLE h;
};

enum kp_sub_state { KP_SUB_DOWN, KP_SUB_WAITING, KP_SUB_UP };

struct kp_sub {                  /* the Subscribe stream (kp11_events.c) */
	enum kp_sub_state state;
	kyso_client *c;              /* connected and checked by libkyso; read here */
	int fd;
	struct kbuf in;
	int agent_gone_said;         /* "no agent" already logged */
	/* a stream that ends before kysod listed its tokens, or twice in a row soon after
	 * it began (a peer that floods or drops it), is not opened again before retry_ms:
	 * the wait doubles, KP_SUB_BACKOFF_MIN_MS to _MAX_MS */
	long long opened_ms, retry_ms;
	int backoff_ms, quick_ends;
};

struct kp_state {
	pthread_mutex_t mu;
	pthread_cond_t cond;         /* waiters leaving (C_Finalize waits for them) */
	int initialized, initializing, finalizing;
	int forked;                  /* this is a child of the process that initialised */
	unsigned long epoch;         /* changes with every C_Initialize and C_Finalize */
	struct kp_config cfg;

	struct kp_slot *slots;
	size_t nslots;

	struct kp_session **sessions;
	size_t nsessions, capsessions;
	CK_SESSION_HANDLE next_session;

	struct kp_handle_rec *handles;
	size_t nhandles, caphandles;
	CK_OBJECT_HANDLE next_object;

	struct kp_sub sub;
	kyso_client *pool[KP_POOL_MAX];
	size_t npool;
	/* the calls in progress, each on a connection of its own (c NULL while it connects) */
	struct kp_busy {
		kyso_client *c;
		int fd;                  /* c's socket when the call began, -1: none yet */
		int used;
	} busy[KP_CONN_MAX];
	size_t nbusy;
	pthread_cond_t conn_cv;      /* a call ended: a turn is free, or C_Finalize may go on */

	CK_SLOT_ID *pending;         /* slot events not yet reported, oldest first */
	size_t npending;
	int evfd;                    /* readable while events are pending or finalizing */
	int nwaiters;
};

extern struct kp_state kp;

/*
 * Every entry point but the initialisation functions starts with kp_enter: returns
 * CKR_OK with the module's lock held, or CKR_CRYPTOKI_NOT_INITIALIZED (not initialised,
 * or a forked child that has not called C_Initialize) without it. kp_leave unlocks.
 */
CK_RV kp_enter(void);
void kp_leave(void);
/* The same as kp_enter for code that already holds the lock after waiting unlocked:
 * returns CKR_OK if the cycle that was current at epoch still is. */
CK_RV kp_still(unsigned long epoch);

/* Copies src into a blank-padded field of n bytes (Cryptoki strings), cut on a UTF-8
 * character boundary. */
void kp_pad(unsigned char *dst, size_t n, const char *src);

/* ---- calls to the agent (kp11_agent.c); none may be made with the lock held ---- */

/* What went wrong in a call to the agent, for the CKR table and the debug log. */
enum kp_detail {
	KP_DETAIL_NONE,
	KP_DETAIL_CANCELLED, KP_DETAIL_TIMEOUT, KP_DETAIL_REFUSED, KP_DETAIL_NO_DIALOG,
	KP_DETAIL_LOCKED,            /* Cancelled's reasons */
	KP_DETAIL_CLIENT_PIN, KP_DETAIL_LOGIN_CACHE,  /* PolicyDenied's settings */
};

struct kp_fail {
	int err;                     /* kyso_err */
	enum kp_detail detail;
	char message[256];
};

/*
 * Lists the certificates of token_id. Returns KYSO_OK with *certs (the agent's
 * "certificates" array, a new reference), or a kyso_err with *f filled.
 */
int kp_agent_list_certs(const char *token_id, json_t **certs, struct kp_fail *f);

/*
 * Signs through kysod: alg is one of kysod's algorithm names; in is the digest (is_data
 * 0) or the document (is_data 1); raw asks for ECDSA r||s; pin may be NULL. Returns
 * KYSO_OK with *sig (free with free) or a kyso_err with *f filled.
 */
int kp_agent_sign(const char *cert, const char *alg, const unsigned char *in, size_t len,
    int is_data, int raw, const char *pin, unsigned char **sig, size_t *siglen,
    struct kp_fail *f);

/*
 * Logs token_id in through kysod: with pin (pinlen bytes), or without one (kysod's dialog
 * or the token's PIN pad asks). Returns KYSO_OK or a kyso_err with *f filled; *unchecked
 * says whether the token was logged in already (a PIN given was then not checked).
 */
int kp_agent_login(const char *token_id, const char *pin, size_t pinlen, int *unchecked,
    struct kp_fail *f);

/*
 * Connects to kysod (libkyso: socket rules, the peer's uid) and refuses a socket served by
 * this very process (kysod must never talk to itself through this module). Returns
 * KYSO_OK with *out, or a kyso_err with f->message set.
 */
int kp_agent_connect(kyso_client **out, struct kp_fail *f);

/* Closes the pooled connections (lock held); inherited: a forked child's copies. */
void kp_pool_clear(int inherited);
/* C_Finalize (lock held): shuts down the connections of the calls in progress, so that
 * they return, wakes the calls waiting for a turn, and waits up to KP_FINALIZE_WAIT_MS
 * for them all to end. */
void kp_calls_end(void);
/* A forked child's C_Initialize (lock held): the parent's calls in progress are not
 * this process's; their connections' copies are closed. */
void kp_calls_forget(void);

/* ---- the Subscribe stream and slot events (kp11_events.c) ---- */

/* Connects and subscribes, waiting up to wait_ms for the token list (lock NOT held, at
 * C_Initialize, on a private struct). Returns 1 if the agent answered, 0 if not. */
int kp_sub_start(struct kp_sub *s, int wait_ms, json_t **tokens);
/* Reads what the agent sent and applies it (lock held). Reconnects when the agent went
 * away and came back; with no agent, the tokens go. */
void kp_sub_drain(void);
/* Closes the stream (lock held or private); inherited: a forked child's copy. */
void kp_sub_close(struct kp_sub *s, int inherited);

/* Notes a slot event for C_WaitForSlotEvent (lock held). */
void kp_event_post(CK_SLOT_ID slot);
/* Makes the event descriptor readable for good: C_Finalize wakes every waiter. */
void kp_events_wake_all(void);

/* ---- slots and tokens (kp11_slots.c), lock held ---- */

/* Returns the slot with this id, or NULL. */
struct kp_slot *kp_slot_get(CK_SLOT_ID id);
/* Applies the agent's list of tokens (Subscribe's first reply); announce: post events. */
void kp_slots_sync(json_t *tokens, int announce);
/* A token-added or token-changed event. */
void kp_slot_token_event(json_t *token, int added);
/* A token-removed event: the token with this id left. */
void kp_slot_token_removed(const char *id);
/* The agent is gone: every token leaves. */
void kp_slots_all_gone(void);
/* Frees the slots (C_Finalize); the slot ids of tokens are kept for the process. */
void kp_slots_free(void);
/* Parses one Token object of the agent into *t. Returns 0, or -1 if it has no id. */
int kp_token_parse(json_t *o, struct kp_token *t);

/* ---- objects (kp11_objects.c), lock held unless said ---- */

/*
 * Makes sure the slot's certificates are loaded (and reloaded when stale, with
 * refresh_stale). Called with the lock held; it is released while the agent answers, so
 * the slot must be looked up again afterwards. Returns CKR_OK or an error.
 */
CK_RV kp_objects_load(CK_SLOT_ID slot, int refresh_stale);
/* Drops the slot's certificates and objects (token gone). */
void kp_objects_clear(struct kp_slot *s);
/* Returns the object with handle h visible in the session's slot, or NULL. */
struct kp_object *kp_object_get(const struct kp_session *se, CK_OBJECT_HANDLE h);
/* Frees the handle table (C_Finalize). */
void kp_handles_free(void);
/* Frees a find operation. */
void kp_find_free(struct kp_find_op *f);

/* Builds the certificate and its objects' attributes from one Certificate object of the
 * agent (kp11_attrs.c). Returns 0, or -1 if it is unusable (skipped). */
int kp_cert_build(json_t *o, int pin_by_program, struct kp_cert *c);
/* Frees what kp_cert_build made. */
void kp_cert_clear(struct kp_cert *c);
/* Returns the attribute of type t in list, or NULL. */
const struct kp_attr *kp_attr_find(const struct kp_attrs *list, CK_ATTRIBUTE_TYPE t);
/*
 * C_GetAttributeValue's rules for one object's attributes (PKCS#11 2.40, 5.7): fills
 * every template entry it can and returns CKR_OK, or CKR_ATTRIBUTE_SENSITIVE,
 * CKR_ATTRIBUTE_TYPE_INVALID or CKR_BUFFER_TOO_SMALL (the entries concerned get
 * CK_UNAVAILABLE_INFORMATION), having still processed every entry.
 */
CK_RV kp_attrs_get(const struct kp_attrs *list, CK_ATTRIBUTE *tmpl, CK_ULONG n);
/* Returns 1 if every template entry is an attribute of list with that exact value. */
int kp_attrs_match(const struct kp_attrs *list, const CK_ATTRIBUTE *tmpl, CK_ULONG n);

/* ---- sessions (kp11_session.c), lock held ---- */

/*
 * Finds a session. Returns CKR_OK with *out, CKR_SESSION_HANDLE_INVALID, or
 * CKR_DEVICE_REMOVED when its token left (or was replaced) since it was opened.
 */
CK_RV kp_session_get(CK_SESSION_HANDLE h, struct kp_session **out);
/* Closes every session of the slot (its token left), and its login. */
void kp_sessions_drop_slot(CK_SLOT_ID slot);
/* Frees every session (C_Finalize). */
void kp_sessions_free(void);
/* A thread is done waiting for the agent for se: frees it if it was closed meanwhile. */
void kp_session_done(struct kp_session *se);
/* Frees a sign operation, wiping what it holds. */
void kp_sign_free(struct kp_sign_op *op);
/* Keeps the PIN of a context-specific login for the signature (copied, locked, wiped).
 * Returns CKR_OK or CKR_HOST_MEMORY. */
CK_RV kp_sign_context_pin(struct kp_sign_op *op, const char *pin, size_t len);

/* ---- mechanisms (kp11_mech.c): pure functions ---- */

/* What a mechanism is, for signing. */
struct kp_mech {
	CK_MECHANISM_TYPE ckm;
	enum kp_key key;
	int family;                  /* KP_FAM_* */
	unsigned hash_bits;          /* the mechanism hashes the data itself; 0: raw */
};
enum { KP_FAM_PKCS1, KP_FAM_PSS, KP_FAM_ECDSA, KP_FAM_EDDSA };

/* Returns the description of ckm, or NULL if the module does not sign with it. */
const struct kp_mech *kp_mech_find(CK_MECHANISM_TYPE ckm);
/* Returns the algorithm of family with this hash (256/384/512), or -1. */
int kp_mech_alg(int family, unsigned hash_bits);
/* Returns 1 if a key with algorithms algs can use mechanism m at all. */
int kp_mech_usable(const struct kp_mech *m, unsigned algs);
/* Lists the mechanisms usable with algs into out (at most max); returns how many. */
size_t kp_mechs_of(unsigned algs, CK_MECHANISM_TYPE *out, size_t max);

/* Returns kysod's name of algorithm a ("rsa-pss-sha256"). */
const char *kp_alg_name(int a);
/* Returns the algorithm named s, or -1. */
int kp_alg_from_name(const char *s);

/* Results of kp_digestinfo_parse. */
enum { KP_DI_OK = 0, KP_DI_SHA1 = -1, KP_DI_BAD = -2 };
/*
 * Reads a PKCS#1 v1.5 DigestInfo for SHA-256/384/512 in its one DER encoding (the
 * AlgorithmIdentifier with NULL parameters, as RFC 8017 writes it). Returns KP_DI_OK
 * with *bits and *digest (pointing into in), KP_DI_SHA1 for a SHA-1 DigestInfo (refused),
 * or KP_DI_BAD for anything else.
 */
int kp_digestinfo_parse(const unsigned char *in, size_t len, unsigned *bits,
    const unsigned char **digest);

/*
 * Checks a PSS mechanism's parameters against what kysod's rsa-pss-shaN does (the hash,
 * MGF1 with the same hash, a salt as long as the hash). mech_hash is the hash the
 * mechanism itself names (0 for CKM_RSA_PKCS_PSS). Returns CKR_OK with *bits, or
 * CKR_MECHANISM_PARAM_INVALID.
 */
CK_RV kp_pss_check(const CK_MECHANISM *m, unsigned mech_hash, unsigned *bits);

/* Checks CKM_EDDSA's optional parameters: only pure Ed25519 (no pre-hash, no context).
 * Returns CKR_OK or CKR_MECHANISM_PARAM_INVALID. */
CK_RV kp_eddsa_check(const CK_MECHANISM *m);

/* Returns the length of a signature by a key of this type and size (ECDSA: r||s). */
size_t kp_sig_len(enum kp_key key, unsigned key_bits);

/* ---- the error table (kp11_ckr.c) ---- */

enum kp_op { KP_OP_SIGN, KP_OP_LOGIN, KP_OP_LIST };

/* Returns the CK_RV for kysod's error err (kyso_err) with its detail, in operation op. */
CK_RV kp_ckr(int err, enum kp_detail detail, enum kp_op op);
/* Returns the detail an error's parameters carry (JSON text, as libkyso keeps it). */
enum kp_detail kp_detail_parse(const char *params_json);
/* Returns the name of a CK_RV the module returns ("CKR_PIN_INCORRECT"), for logs. */
const char *kp_ckr_name(CK_RV rv);

#endif
