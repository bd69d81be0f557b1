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
#include <time.h>

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
	char signing_time[24];      /* the CAdES signing_time the program chose, RFC 3339
	                             * UTC ("2026-11-30T03:00:00Z"; for the audit log), or "" */
	char *doc_list;             /* the first names of the batch's documents, cleaned and
	                             * cut, one a line (dialog_document_names) */
	/* documents whose signing_time is more than a minute from the call's time: how
	 * many, and the earliest and latest of those times */
	size_t doc_time_count;
	time_t doc_time_min, doc_time_max;
	char batch_id[17];          /* shared by the audit records of the batch, or "" */
	const char *profile;        /* "cades" or "pades" (static), or NULL */
	/* the dialogs: pinentry == NULL means never show one */
	char *pinentry;
	char *tty, *ttytype;        /* for pinentry-curses/-tty, or NULL */
	long pinentry_timeout;      /* seconds, 0: wait for ever */
	int confirm;                /* ask for a confirmation before each signature */
	int no_client_pin;          /* the policy forbids PINs from clients */
	int last_pin_wrong;         /* the previous PIN tried on this token was wrong */
	/* the policy's login cache, that the PIN dialog tells about: a login is kept
	 * (login_cached) until unused for login_idle_s, and login_max_s at most (0: no
	 * limit) */
	int login_cached;
	long login_idle_s, login_max_s;
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
