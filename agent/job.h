/*
 * job.h — work handed from the event loop to a token's worker, and its result.
 *
 * The loop fills the inputs and submits the job; the worker runs it against its token and
 * fills the outputs; the loop takes it back from the completion queue and replies. The
 * worker never touches loop-owned state (connections, inventory): it reads only the job.
 *
 * A job is a header every kind has (its kind, the abort that ends its dialog, who waits,
 * the result and what the worker learnt about the token) and a tagged union (u) with the
 * part of its kind: a scan's, a login's, a logout's, a signature's, a document's (a
 * signature and the document), a module scan's, a web page question's. The parts that
 * log in share struct job_auth (the PIN, the request, why it was cancelled);
 * job_auth_part, job_sign_part and job_doc_part give the part of a job whatever its
 * kind, or NULL.
 */
#ifndef KYSO_JOB_H
#define KYSO_JOB_H

#include <stdatomic.h>
#include <stddef.h>

#include "alg.h"
#include "audit.h"
#include "doc_job.h"
#include "p11.h"
#include "pinentry.h"

struct json_t;
struct kbuf;

struct conn;
struct token;
struct kyso_secret;
struct fanout;
struct modwatch;
struct request_info;
struct doc_job;
struct web_ask;

enum job_kind {
	JOB_SCAN,    /* describe the token and list its certificates */
	JOB_LOGIN,   /* log in with pin (or on the reader's PIN pad) */
	JOB_LOGOUT,  /* log out and forget */
	JOB_SIGN,    /* log in if needed, then sign */
	JOB_MODSCAN, /* not a worker's: a module watcher's list of the module's tokens */
	JOB_DOCUMENT,/* SignDocuments: one document's CMS signed attributes, signed like
	              * JOB_SIGN (doc_job.h); its sig then holds the whole CMS ContentInfo */
	JOB_WEB_ASK, /* not a worker's: may a web page ask? (web.c, a dialog thread) */
};

/* Why a job's dialog was ended from outside (job.abort_why); DISCONNECTED: the client
 * that waits for it closed its connection (conn_drop, and a SignDocuments batch's
 * batch_conn_gone): the job must not sign any more. */
enum job_abort { JOB_ABORT_NONE, JOB_ABORT_REMOVED, JOB_ABORT_LOCKED,
	JOB_ABORT_DISCONNECTED };

/*
 * Why a job ended with KYSO_ERR_CANCELLED (job_auth.cancel): one row each in job.c's table,
 * which gives its sentence and the reason on the wire — a name of the batch stop reasons
 * (doc_job.h's enum batch_stop), the one vocabulary of Cancelled's "reason" and of
 * SignDocuments' "stopped", so that a cancelled document stops its batch for its reason.
 */
enum job_cancel {
	JOB_CANCEL_PIN,          /* "cancelled": the officer cancelled the PIN dialog */
	JOB_CANCEL_REFUSED,      /* "refused": the officer refused to confirm */
	JOB_CANCEL_TIMEOUT,      /* "timeout": nobody answered the dialog */
	JOB_CANCEL_NO_DIALOG,    /* "no-dialog": a confirmation is due and none can be shown */
	JOB_CANCEL_LOCKED,       /* "locked": Lock, session lock or sleep closed its dialog */
	JOB_CANCEL_LOCKED_UNSERVED,/* "locked": ... ended it before it logged in or signed */
	JOB_CANCEL_DISCONNECTED, /* "disconnected": the client of a SignDocuments batch went
	                          * away (its dialog closed, or ended before it signed) */
	JOB_CANCEL_BATCH_STOPPED,/* a JOB_DOCUMENT not attempted: its batch had stopped (the
	                          * batch's reason is in its share) */
	JOB_CANCEL_COUNT
};

/* Returns the reason on the wire ("cancelled", "locked"...) of c; never NULL. */
const char *job_cancel_reason(enum job_cancel c);

/* Returns the sentence of the error message for c; never NULL. */
const char *job_cancel_message(enum job_cancel c);

/* Returns the reason for which a document cancelled for c stops its batch; BATCH_GOING
 * for JOB_CANCEL_BATCH_STOPPED, whose batch had stopped already. */
enum batch_stop job_cancel_stop(enum job_cancel c);

/* What the worker learnt about its token, for the loop to store (every kind that runs on a
 * worker: scan, login, logout, sign, document). */
struct job_state {
	int desc_valid;             /* desc holds a fresh description */
	struct p11_token_desc desc;
	int certs_valid;            /* certs holds a fresh list */
	struct p11_cert_desc *certs;
	size_t ncerts;
	int logged_in;              /* session state after the job */
};

/* A request that may log in and ask the officer: JOB_LOGIN, JOB_SIGN, JOB_DOCUMENT. */
struct job_auth {
	struct kyso_secret *pin;    /* owned; the worker wipes it as soon as it is used */
	int protected_auth_path;    /* log in on the reader: no PIN from us */
	int logout_after;           /* log out when done (no login cache) */
	struct request_info *ri;    /* owned; who asks for what (dialogs, audit), or NULL */
	enum job_cancel cancel;     /* KYSO_ERR_CANCELLED: why */
};

/* JOB_SCAN */
struct job_scan {
	int initial;                /* of the start-up: serving waits for it */
};

/* JOB_LOGIN */
struct job_login {
	struct job_auth auth;
	int already_logged_in;      /* found the token logged in: PIN unused */
};

/* JOB_LOGOUT */
struct job_logout {
	struct fanout *fanout;      /* Lock(): counts the outstanding logouts; NULL if none */
};

/*
 * SignDigests: a JOB_SIGN of several digests. The first one's input is the job's req (its
 * login, dialogs and checks are a Sign's); the others are signed after it on the same
 * session, and every one gets its audit record, all written together and synced once.
 */
struct job_digests {
	size_t n;                   /* the digests, the first one included */
	unsigned char *in;          /* the mechanism's input for each (DigestInfo, digest),
	                             * in_len bytes each, one after another */
	size_t in_len;              /* the same for all (at most 19 + 64) */
	unsigned char (*digest)[64];   /* each digest, for its record */
	size_t digest_len;
	unsigned char **sig;        /* each signature (the first moved here from sig) */
	size_t *siglen;
	/* made by the worker chunk by chunk while the next chunk is at the token
	 * (digests_ops.c), for the first `made` signatures; NULL until then */
	struct kbuf *out;           /* the reply's signatures as JSON text: the array's
	                             * base64 strings, "…","…" (the loop sends it as it is) */
	struct kbuf *lines;         /* their "granted" records, formatted (audit_format) */
	size_t made;
};

/* JOB_SIGN, and the signature of a JOB_DOCUMENT */
struct job_sign {
	struct job_auth auth;
	char cert_id[65];
	int login_required;         /* the token wants a login before private-key use */
	int was_logged_in;          /* the loop's view: the last job left it logged in */
	int did_login;              /* logged in on the way */
	int always_auth;            /* the key is known to want a PIN per signature */
	int key_wants_pin;          /* PIN_REQUIRED although logged in: an always-auth key */
	int recorded;               /* its audit record is written (record.h) */
	/* a Sign's "granted" record written before the token signed (record_sign_ahead):
	 * where it is, for its sync before the signature goes out, and its time, which a
	 * correcting record names if no signature goes out after all */
	int ahead;
	struct audit_mark ahead_mark;
	struct timespec ahead_when;
	struct p11_sign_req req;    /* req.in and req.key_id point into the bufs */
	unsigned char *in_buf;
	unsigned char *key_id_buf;
	const struct alg *alg;
	int ecdsa_der;              /* convert raw r||s to DER */
	unsigned char *sig;         /* the signature (a document's: the whole CMS) */
	size_t siglen;
	struct job_digests *many;   /* SignDigests; NULL for one signature */
};

/* JOB_DOCUMENT: a signature of the document's signed attributes, and the document */
struct job_document {
	struct job_sign sign;
	struct doc_job doc;
};

/* JOB_MODSCAN: the tokens in the module's slots, or result/fail when the module failed */
struct job_modscan {
	struct modwatch *mw;
	struct p11_token_desc *slots;
	size_t nslots;
	int failures;               /* how many times in a row the module failed */
	int initial;                /* of the start-up: serving waits for it */
};

/* JOB_WEB_ASK: may a web page ask? (web.c, a dialog thread; no token) */
struct job_web {
	struct request_info *ri;    /* owned; the page and its browser */
	enum job_cancel cancel;     /* KYSO_ERR_CANCELLED: why */
	struct web_ask *ask;        /* owned; the call to serve again once the officer
	                             * allowed the page */
};

/* A job: the header every kind has, and its kind's part (u, tagged by kind). */
struct job {
	enum job_kind kind;
	struct job *next;
	/* ends the job's dialog from the loop: the token left, or Lock / session lock */
	struct pinentry_abort abort;
	atomic_int abort_why;       /* enum job_abort, set before abort fires */
	/* loop-side context, opaque to the worker */
	struct conn *conn;          /* who waits for the reply; NULL for internal jobs */
	struct token *token;
	/* outputs */
	int result;                 /* kyso_err */
	struct p11_fail fail;
	char why[256];              /* the detail of a dialog or audit failure, or "" */
	int rescan;                 /* the failure may mean the token left or the module
	                             * broke: the loop asks the module for a scan */
	struct job_state state;
	union {
		struct job_scan scan;
		struct job_login login;
		struct job_logout logout;
		struct job_sign sign;
		struct job_document document;
		struct job_modscan modscan;
		struct job_web web;
	} u;
};

/* Returns 1 for the jobs that sign (JOB_SIGN, JOB_DOCUMENT): dialogs, audit records. */
static inline int
job_signs(const struct job *j)
{
	return j->kind == JOB_SIGN || j->kind == JOB_DOCUMENT;
}

/* Returns the signature part of a JOB_SIGN or JOB_DOCUMENT, else NULL (as strchr, the
 * const of j is not kept). */
static inline struct job_sign *
job_sign_part(const struct job *j)
{
	struct job *w = (struct job *)j;

	return j->kind == JOB_SIGN ? &w->u.sign : j->kind == JOB_DOCUMENT ?
	    &w->u.document.sign : NULL;
}

/* Returns the login part of a JOB_LOGIN, JOB_SIGN or JOB_DOCUMENT, else NULL. */
static inline struct job_auth *
job_auth_part(const struct job *j)
{
	struct job *w = (struct job *)j;

	return j->kind == JOB_LOGIN ? &w->u.login.auth : job_signs(j) ?
	    &job_sign_part(j)->auth : NULL;
}

/* Returns the document part of a JOB_DOCUMENT, else NULL. */
static inline struct doc_job *
job_doc_part(const struct job *j)
{
	return j->kind == JOB_DOCUMENT ? &((struct job *)j)->u.document.doc : NULL;
}

/* Returns 1 for the scans of the start-up (JOB_SCAN, JOB_MODSCAN) that serving waits for. */
static inline int
job_initial(const struct job *j)
{
	return (j->kind == JOB_SCAN && j->u.scan.initial) ||
	    (j->kind == JOB_MODSCAN && j->u.modscan.initial);
}

/* Returns a new job_digests for n digests (zeroed arrays), or NULL on ENOMEM. */
struct job_digests *job_digests_new(size_t n);

/* Frees m, wiping its inputs and signatures; NULL is allowed. */
void job_digests_free(struct job_digests *m);

/* Returns a new zeroed job of kind, or NULL on ENOMEM. */
struct job *job_new(enum job_kind kind);

/* Frees the job and everything its kind's part owns (wiping the PIN and the signature). */
void job_free(struct job *j);

#endif
