/*
 * kp11_probe.h — what kp11_probe.c (the commands) and kp11_probe_util.c (output, files,
 * mechanism and attribute names, the "threads" command) share; CKR names are the test
 * tools' one table (ckr_names.h).
 */
#ifndef KYSO_KP11_PROBE_H
#define KYSO_KP11_PROBE_H

#include <stdio.h>

#include <p11-kit/pkcs11.h>

#include "ckr_names.h"

extern CK_FUNCTION_LIST *fl;          /* the module's functions (2.40 or 3.0 list) */
extern FILE *out;                     /* where each command's line goes */
extern CK_SESSION_HANDLE sessions[256];
extern __thread int cur;              /* the thread's current session (index), or -1 */
extern __thread CK_OBJECT_HANDLE obj; /* and its current object */
extern CK_MECHANISM last_mech;        /* the last signinit's mechanism */

/* Prints one line to out (whole, under a lock: threads print too). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* CLOCK_MONOTONIC in ms. */
long now_ms(void);
/* The current session's handle, or CK_INVALID_HANDLE. */
CK_SESSION_HANDLE session(void);
/* The file at path (malloc'd, *len its size), or NULL. */
unsigned char *read_file(const char *path, size_t *len);
/* Writes p to path (silently: the test checks the file). */
void write_file(const char *path, const unsigned char *p, size_t len);
/* The mechanism named s ("ecdsa-sha256"...): 0, or -1 if unknown. */
int mech_parse(const char *s, CK_MECHANISM_TYPE *m);
/* The hash mechanism named s (sha1, sha256, sha384, sha512) and its MGF1 in *mgf. */
CK_MECHANISM_TYPE hash_mech(const char *s, CK_RSA_PKCS_MGF_TYPE *mgf);
/* The attribute named s ("value", "id"...): 0, or -1 if unknown. */
int attr_parse(const char *s, CK_ATTRIBUTE_TYPE *t);
/* "threads N K IN": N threads, a session each, K signatures of IN each. */
void cmd_threads(int n, int k, const char *path);

#endif
