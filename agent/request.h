/*
 * request.h — who asks for what: the context of a Sign or Login request that a worker
 * shows in its dialogs (pinentry) and writes to the audit log.
 *
 * The loop fills it from the connection's peer credentials (SO_PEERCRED and
 * /proc/PID/exe, never from anything the client claims), the inventory, the policy and
 * the request; the job owns it and the worker only reads it.
 */
#ifndef KYSO_REQUEST_H
#define KYSO_REQUEST_H

#include <stddef.h>
#include <sys/types.h>

#include "origin.h"

struct agent;
struct audit_log;
struct conn;

struct request_info {
	/* the caller */
	uid_t uid;
	pid_t pid;
	char exe[256];
	const char *method;         /* "io.kyso.Agent.Sign", "...SignDocuments", "...Login" */
	/* a web page's call (web.h): its origin ("" for none), and the browser, the program
	 * that started the caller (the browser host), from /proc */
	char origin[ORIGIN_MAX + 1];
	pid_t browser_pid;
	char browser[256];
	char *description;          /* the client's own words about what is signed, or NULL */
	/* what it is about */
	char cert_id[65];           /* "" for a Login */
	char *subject;              /* the certificate's subject, or NULL */
	const char *algorithm;      /* static name, or NULL */
	unsigned char digest[64];   /* the hash that is signed (for the audit log) */
	size_t digest_len;
	const char *digest_alg;     /* "sha256"... or NULL */
	/* SignDocuments: the document this request signs, in a batch of doc_count */
	char *document;             /* its name as the program gives it, or NULL */
	size_t doc_index, doc_count;
	char *doc_list;             /* the batch's documents as the consent dialog lists them */
	char batch_id[17];          /* shared by the audit records of the batch, or "" */
	const char *profile;        /* "cades" or "pades" (static), or NULL */
	/* the dialogs: pinentry == NULL means never show one */
	char *pinentry;
	char *tty, *ttytype;        /* for pinentry-curses/-tty, or NULL */
	long pinentry_timeout;      /* seconds, 0: wait for ever */
	int confirm;                /* ask for a confirmation before each signature */
	int no_client_pin;          /* the policy forbids PINs from clients */
	int last_pin_wrong;         /* the previous PIN tried on this token was wrong */
	/* where the request is recorded; NULL: no audit log (Login, tests) */
	struct audit_log *audit;
};

/*
 * Returns a new request_info for a call of method from connection c, with the agent's
 * dialog policy and audit log, or NULL on ENOMEM. description may be NULL.
 */
struct request_info *request_info_new(const struct agent *a, const struct conn *c,
    const char *method, const char *description);

/* Frees ri and what it owns; NULL is allowed. */
void request_info_free(struct request_info *ri);

#endif
