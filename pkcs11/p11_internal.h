/* p11_internal.h — shared by the files of pkcs11/ only; holds the Cryptoki types. */
#ifndef KYSO_P11_INTERNAL_H
#define KYSO_P11_INTERNAL_H

#include <p11-kit/pkcs11.h>

#include "p11.h"

/* The CKM_* value of each of kyso's mechanisms (p11_sign.c). */
extern const CK_MECHANISM_TYPE p11_mech_ckm[P11_MECH_COUNT];

struct p11_module {
	CK_FUNCTION_LIST *fn;
	char *path;
	int initialized;  /* C_Initialize succeeded and C_Finalize was not called since */
};

/* C_Initialize for a multi-threaded caller (the module uses the OS's own locks). */
CK_RV p11_module_initialize(CK_FUNCTION_LIST *fn);

#define P11_KEY_CACHE 8

struct p11_key_cache_entry {
	unsigned char id[64];
	size_t id_len;  /* 0 = unused */
	CK_OBJECT_HANDLE handle;
	int always_auth;  /* CKA_ALWAYS_AUTHENTICATE */
};

struct p11_session {
	struct p11_module *m;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE h;
	struct p11_key_cache_entry keys[P11_KEY_CACHE];
	unsigned next_key;  /* round-robin replacement */
	int stuck;          /* an operation could not be ended: replace the session */
};

/*
 * Records a failed call in fail and returns the kyso_err it maps to
 * (PIN, presence and mechanism failures get their own codes; the rest KYSO_ERR_TOKEN).
 */
int p11_fail_set(struct p11_fail *fail, const char *call, CK_RV rv);


/*
 * Copies a blank-padded Cryptoki string field into a trimmed NUL-terminated one; bytes
 * that are not valid UTF-8 become '?'.
 */
void p11_trim_copy(char *dst, const CK_UTF8CHAR *src, size_t srclen);

/*
 * Lists the module's slot ids (with_token: only slots holding a token). Returns KYSO_OK
 * with a malloc'd array *out of *n ids (NULL and 0 when there are none), or an error +
 * fail.
 */
int p11_slot_ids(struct p11_module *m, int with_token, CK_SLOT_ID **out, CK_ULONG *n,
    struct p11_fail *fail);

/* Fills d from the slot's token and slot info and mechanism list. KYSO_OK or error+fail. */
int p11_describe_slot(struct p11_module *m, CK_SLOT_ID slot, struct p11_token_desc *d,
    struct p11_fail *fail);

/*
 * Finds the private key with CKA_ID id, using the session's handle cache. Returns KYSO_OK
 * with *h, KYSO_ERR_KEY_NOT_FOUND, or an error + fail.
 */
int p11_key_find(struct p11_session *s, const unsigned char *id, size_t id_len,
    CK_OBJECT_HANDLE *h, int *always_auth, struct p11_fail *fail);

/*
 * Collects the handles of the objects matching tmpl (at most 4096). Returns KYSO_OK with a
 * malloc'd array, or an error + fail.
 */
int p11_objects_find(struct p11_session *s, CK_ATTRIBUTE *tmpl, CK_ULONG ntmpl,
    CK_OBJECT_HANDLE **out, size_t *n, struct p11_fail *fail);

/*
 * Reads one variable-length attribute (at most 1 MiB) into a new buffer, NUL-terminated.
 * Returns KYSO_OK, KYSO_ERR_TOKEN (absent, sensitive or unreadable) or KYSO_ERR_NOMEM.
 */
int p11_attr_read(struct p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type,
    unsigned char **out, size_t *len);

/* Returns 1 if the CK_BBOOL attribute reads as true, else 0 (false or unreadable). */
int p11_attr_bool(struct p11_session *s, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type);

/*
 * Names the curve of CKA_EC_PARAMS as kyso-admin does ("ec:p256", "ec:p384", "ec:p521",
 * "ed25519") and sets *bits; NULL (and *bits 0) for a curve it does not know
 * (p11_admin.c).
 */
const char *p11_curve_name(const unsigned char *params, size_t len, unsigned *bits);

/*
 * Returns 1 if the module (its function list fn, loaded from path; either may be NULL)
 * is kyso-pkcs11.so, the module that forwards to kysod, under any file name; else 0
 * (p11_loopguard.c).
 */
int p11_loopguard_is_kyso(CK_FUNCTION_LIST *fn, const char *path);

/* Returns 1 if the slot is one kyso-pkcs11.so offers (through any module), else 0; the
 * first such slot is logged (an error). */
int p11_loopguard_slot(struct p11_module *m, CK_SLOT_ID slot);

/* Forgets every cached key handle of s. */
void p11_keys_forget(struct p11_session *s);

#endif
