/* admin.h — shared by the files of kyso-admin, the administrators' provisioning tool. */
#ifndef KYSO_ADMIN_H
#define KYSO_ADMIN_H

#include <stddef.h>

#include <openssl/evp.h>

#include "i18n.h"
#include "p11.h"

struct kyso_secret;

/* Exit codes, documented in kyso-admin(1); 0-8 as kyso(1) numbers them. */
enum admin_exit {
	AX_OK = 0,
	AX_ERROR = 1,      /* any other failure */
	AX_USAGE = 2,      /* bad command line, or a PIN that breaks the PIN policy */
	AX_PIN = 4,        /* a PIN is incorrect (or the token refused a new one) */
	AX_PIN_LOCKED = 5, /* the PIN is locked */
	AX_NOT_FOUND = 6,  /* no such token, slot or object */
	AX_REFUSED = 7,    /* the token cannot make that key type */
	AX_TOKEN = 8,      /* the token or module failed, or was removed */
	AX_DECLINED = 9,   /* refused to protect the token: not empty without --force, or
	                    * the confirmation was not given */
};

#define ADMIN_MAX_MODULES 16
#define ADMIN_MAX_SANS 32
#define ADMIN_MAX_SETS 32

struct admin {
	const char *cmd;                         /* the command's name */
	const char *module_paths[ADMIN_MAX_MODULES];
	size_t nmodule_paths;
	struct p11_module **mods;
	size_t nmods;
	const char *token;       /* --token LABEL|SERIAL */
	long slot;               /* --slot N, or -1 */
	const char *label;       /* --label */
	const char *type;        /* --type */
	const char *id_hex;      /* --id */
	const char *pubkey_out;  /* --pubkey-out */
	const char *pin_file, *so_pin_file, *new_pin_file;
	unsigned min_pin;        /* --min-pin-length, default 4 */
	int json, force, yes;
	const char *key_hex;     /* csr --key ID */
	const char *subject;     /* csr --subject */
	const char *sans[ADMIN_MAX_SANS]; /* csr --san (repeatable) */
	size_t nsans;
	const char *out;         /* csr --out, provision --out */
	const char *file;        /* import-cert --file */
	const char *chain;       /* import-cert --chain */
	const char *profile;     /* provision --profile */
	const char *sets[ADMIN_MAX_SETS]; /* provision --set NAME=VALUE (repeatable) */
	size_t nsets;
};

/* The token (or slot) a command acts on. */
struct admin_target {
	struct p11_module *m;
	struct p11_slot_desc d;
};

/* ---- admin_token.c ---- */

/* Loads --module paths, or the p11-kit registered modules. Returns an exit code. */
int admin_load_modules(struct admin *a);
void admin_unload_modules(struct admin *a);

/*
 * Finds the slot named by --slot, or the token named by --token (label or serial) across
 * the modules; with neither, the only token present. Prints why on failure and returns
 * an exit code.
 */
int admin_find_target(struct admin *a, struct admin_target *t, int allow_slot);

/* Prints "kyso-admin CMD: WHAT: SENTENCE (CKR_X in C_Y)" and returns the exit code. */
int admin_fail(const struct admin *a, const char *what, int err, const struct p11_fail *f);

/* Returns the token's name for messages: "'LABEL' (serial S)". Static buffer. */
const char *admin_token_name(const struct p11_token_desc *d);

/*
 * Opens a read-write session on t and logs the user in when the token wants it (the PIN
 * from --pin-file or a prompt). Prints why on failure and returns an exit code.
 */
int admin_user_session(struct admin *a, struct admin_target *t, struct p11_session **s);

/* The two halves of admin_user_session: open the read-write session (no login)... */
int admin_open_session(struct admin *a, struct admin_target *t, struct p11_session **s);
/* ...and log the user in on it when the token wants it and it is not yet (PIN from
 * --pin-file or a prompt). Both print why on failure and return an exit code. */
int admin_login(struct admin *a, struct admin_target *t, struct p11_session *s);

int cmd_tokens(struct admin *a);

/* ---- admin_pin.c ---- */

/*
 * Reads a PIN into a new secret: from file ("-" for standard input: its first line) or
 * else a prompt on the terminal with echo off. A new PIN (is_new) is asked twice at the
 * prompt and must be at least a->min_pin long and within the token's bounds (d, may be
 * NULL). what names it ("user PIN", "SO PIN"); opt names the option that gives it
 * ("--pin-file"). Prints why on failure and returns an exit code.
 */
int admin_read_pin(const struct admin *a, const char *file, const char *opt,
    const char *what, int is_new, const struct p11_slot_desc *d, struct kyso_secret **out);

/*
 * Asks on the terminal (echo on) and returns 1 if the answer is exactly expected, 0 if
 * not, -1 if there is no terminal.
 */
int admin_confirm(const char *question, const char *expected);

/* ---- admin_cmd_pin.c ---- */
int cmd_init(struct admin *a);

/*
 * Initialises the token of t (slot or token) with label and the SO PIN so (the current
 * one, or the new one of a blank token), sets the user PIN user, and re-reads t->d.
 * guard: first refuse a token in use as init does (--force and its label typed). Prints
 * why on failure and returns an exit code.
 */
int admin_init_token(struct admin *a, struct admin_target *t, const char *label,
    const struct kyso_secret *so, const struct kyso_secret *user, int guard);
int cmd_change_pin(struct admin *a);
int cmd_unblock_pin(struct admin *a);
int cmd_set_so_pin(struct admin *a);

/* ---- admin_cmd_keys.c ---- */
int cmd_keygen(struct admin *a);
int cmd_list(struct admin *a);
int cmd_delete(struct admin *a);

/* ---- admin_cmd_cert.c ---- */
int cmd_csr(struct admin *a);
int cmd_import_cert(struct admin *a);

/*
 * Builds the PKCS#10 request for the key with CKA_ID id on the open session s (logging
 * the user in, with the PIN secret pin if not NULL, else as admin_login, only when the
 * token signs) and writes it as PEM to path (NULL: standard output). Prints why on
 * failure and returns an exit code.
 */
int admin_csr_write(struct admin *a, struct admin_target *t, struct p11_session *s,
    const unsigned char *id, size_t id_len, const char *subject, const char *const *sans,
    size_t nsans, const struct kyso_secret *pin, const char *path);

/* ---- admin_provision.c ---- */
int cmd_provision(struct admin *a);

/* ---- admin_inventory.c ---- */
int cmd_inventory(struct admin *a);

/* ---- admin_pubkey.c ---- */

/*
 * Builds an OpenSSL public key from what the token gave (RSA, EC P-256/P-384/P-521,
 * Ed25519). Returns KYSO_OK with *out, KYSO_ERR_UNSUPPORTED_ALG for another curve, or
 * KYSO_ERR_CRYPTO.
 */
int admin_pubkey_evp(const struct p11_pubkey *k, EVP_PKEY **out);

#endif
