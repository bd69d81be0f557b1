/*
 * batch.h — a SignDocuments call on the loop's side: its documents, the few jobs in
 * flight, the progress replies, the final reply, and stopping early (docs/architecture.md,
 * "The flow of a SignDocuments request").
 *
 * Each document is its own JOB_DOCUMENT on the token's worker. At most BATCH_WINDOW of
 * them are queued at a time, so that the worker never waits for the loop between two
 * documents, and a Sign or Login of another program on the same token waits for a few
 * documents at most, never for the whole batch. The first document's job shows the
 * batch's one confirmation (confirm = yes) and its one PIN dialog (when a login is
 * needed); the others find the token logged in and ask nothing — but a key that wants
 * the PIN for every signature still asks for each. A document that fails stops the
 * batch: the documents queued behind it are not attempted (doc_job.h), and none more is
 * queued. The client closing its connection stops it too (batch_conn_gone, between two
 * documents; a dialog open for it is closed).
 *
 * One sync for the batch's records: a signed document's record is written unsynced by
 * the worker (document_ops_record) and its CMS is held here until that record is durable
 * (audit_mark_state) — the worker syncs when the batch's last document is recorded, when
 * it stopped, and BATCH_SYNC_MS after its last sync on a long batch; the documents
 * covered by a sync then go out together (progress replies, or the final reply). A sync
 * that fails takes their records back: those documents fail with AuditFailed. When a
 * batch ends with records still unsynced (it stopped between the worker's syncs: the
 * client hung up, Lock, the token pulled out), the loop does not sync them itself: a
 * thread of the batch's own does (batch.sync_thread), and the final reply waits for it,
 * while the loop serves the others. A document that never ran (Lock or the token's
 * leaving ended it in the queue) is recorded by the loop unsynced, as a refused request
 * is: nothing was signed.
 */
#ifndef KYSO_BATCH_H
#define KYSO_BATCH_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

#include "alg.h"
#include "audit.h"
#include "cms_build.h"

struct agent;
struct batch_share;
struct conn;
struct job;
struct kyso_secret;
struct request_info;
struct token;

#define BATCH_DOCS_MAX 1000      /* documents in one call */
#define BATCH_WINDOW 4           /* documents queued on the worker at a time */
#define BATCH_NAME_MAX 512       /* bytes of a document's name */

enum doc_state { DOC_WAITING, DOC_QUEUED, DOC_DONE };

/* One document: what to sign, then what came of it. */
struct batch_doc {
	char *name;
	unsigned char digest[64];
	unsigned hash_bits;           /* 256, 384, 512 */
	char *content_type;           /* dotted OID, or NULL (id-data) */
	int has_time;                 /* signing_time given (CAdES) */
	time_t when;
	const struct alg *alg;        /* the signature algorithm for this document */
	struct alg_plan plan;         /* the token's mechanism for it */
	/* the outcome */
	enum doc_state state;
	int attempted;                /* its job ran (not skipped after the batch stopped) */
	const char *error;            /* varlink error name, NULL when signed */
	char *message;                /* the error's sentence */
	char *cms;                    /* base64 of the CMS ContentInfo, when signed */
	int held;                     /* signed, its record not yet durable: the CMS waits */
	struct audit_mark mark;       /* that record */
};

struct doc_batch {
	struct doc_batch *prev, *next;  /* the agent's running batches */
	struct conn *conn;              /* stays allocated while the batch runs (busy) */
	struct token *token;            /* lives while a job points to it */
	struct request_info *ri;        /* the caller, certificate, description and batch id:
	                                 * what every document's request starts from */
	int more;                       /* stream a reply per document */
	enum cms_profile profile;
	unsigned char *key_id;
	size_t key_id_len;
	int always_auth;                /* the key wants the PIN for every signature */
	struct kyso_secret *pin;        /* the client's, or NULL */
	struct batch_share *share;      /* with the jobs: the signer, the stop reason */
	struct batch_doc *docs;
	size_t n;
	size_t next_doc;                /* the next document to queue */
	size_t inflight;                /* documents queued and not back */
	size_t nsigned;
	size_t nheld;                   /* documents held (batch_doc.held) */
	unsigned long syncs0;           /* the audit log's fsyncs when the batch started */
	long long t0_ms;                /* and when (document_ops_now_ms) */
	int syncing;                    /* sync_thread makes the held records durable */
	pthread_t sync_thread;          /* joined when its job is back (or at shutdown) */
	struct job *running[BATCH_WINDOW];
};

/* Returns a new batch of n documents (zeroed), or NULL on ENOMEM. */
struct doc_batch *batch_new(size_t n);

/* Frees b and what it holds (not its jobs: they hold their own references). */
void batch_free(struct doc_batch *b);

/*
 * Starts b, made ready by method_sign_documents for connection c (which stays busy until
 * the final reply): queues the first documents on the token. Returns KYSO_OK (b belongs
 * to the agent from here on), or KYSO_ERR_NOMEM when not even the first could be queued
 * (b is still the caller's, who answers).
 */
int batch_start(struct agent *a, struct conn *c, struct doc_batch *b);

/* Finishes a JOB_DOCUMENT that came back from its worker (dispatch_complete). */
void complete_document(struct agent *a, struct job *j);

/* The client of b went away: b stops between two documents; an open dialog closes. */
void batch_conn_gone(struct doc_batch *b);

/*
 * Lock, a session lock or sleep ends the requests on token t (worker_end_requests): the
 * batches signing on t stop (locked) at once, so that no document is queued after the
 * logout that follows — not even for a document whose predecessor's completion was
 * already on its way back when the Lock came.
 */
void batch_token_locked(struct agent *a, const struct token *t);

/*
 * At shutdown, once the workers are retired and their jobs recorded: the documents never
 * queued are recorded as not signed, and every batch is freed (no reply is sent).
 */
void batch_stop_all(struct agent *a);

#endif
