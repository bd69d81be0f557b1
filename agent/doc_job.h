/*
 * doc_job.h — one document of a SignDocuments batch as its token's worker signs it (a
 * JOB_DOCUMENT), and what the documents of a batch share with their jobs.
 *
 * The loop (batch.c) hands the documents of a batch to the token's worker a few at a
 * time, each as its own job; they run one after the other in that worker. What they
 * share is a refcounted batch_share: the signer's certificate and chain (read-only), and
 * the reason the batch stopped, set once — by the worker when a document fails (so the
 * documents queued behind it are not attempted), or by the loop when the client goes
 * away. A job never touches the loop's batch (doc_job.batch is only carried back).
 */
#ifndef KYSO_DOC_JOB_H
#define KYSO_DOC_JOB_H

#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include "alg.h"
#include "audit.h"
#include "cms_build.h"

struct audit_log;
struct completions;
struct doc_batch;
struct job;
struct p11_session;
struct p11_token_desc;
struct pinentry_abort;

/* Why a batch stopped before its last document: each has a name on the wire. */
enum batch_stop {
	BATCH_GOING = 0,
	BATCH_STOP_CANCELLED,      /* the officer cancelled a dialog */
	BATCH_STOP_REFUSED,        /* the officer refused the confirmation */
	BATCH_STOP_TIMEOUT,        /* nobody answered a dialog */
	BATCH_STOP_NO_DIALOG,      /* a confirmation is wanted and none could be shown */
	BATCH_STOP_LOCKED,         /* Lock, the session locked, the machine slept */
	BATCH_STOP_DISCONNECTED,   /* the client closed its connection */
	BATCH_STOP_TOKEN_REMOVED,  /* the token was pulled out */
	BATCH_STOP_PIN_INCORRECT,
	BATCH_STOP_PIN_LOCKED,
	BATCH_STOP_PIN_REQUIRED,   /* a PIN was needed and none could be had */
	BATCH_STOP_AUDIT_FAILED,   /* a record could not be written: nothing more is signed */
	BATCH_STOP_TOKEN_ERROR,    /* the token failed */
	BATCH_STOP_FAILED,         /* anything else (out of memory, a bug) */
	BATCH_STOP_AGENT_STOPPING, /* kysod is shutting down */
};

/* Returns the wire name of s ("cancelled", "token-removed", ...); "" for BATCH_GOING. */
const char *batch_stop_name(enum batch_stop s);

/* Returns the reason the failure of signing job j (result != KYSO_OK) stops a batch. */
enum batch_stop batch_stop_from_job(const struct job *j);

struct batch_share {
	atomic_int refs;
	atomic_int stop;             /* enum batch_stop; set once */
	struct cms_signer *signer;   /* read-only once the batch starts */
	/* login_cache = no: each document logs in and out, so that no other request finds
	 * the token logged in between two of them; the PIN the first document's dialog got
	 * is kept here (locked memory, wiped with the share) for the logins of the others.
	 * Touched only by the worker running the batch's jobs, one after the other. */
	struct kyso_secret *pin;
	/* one sync for the batch's records (document_ops_record): each document's record is
	 * written unsynced, and the worker syncs when no document of the batch is left to
	 * come (docs_out back to 0 once the loop queued the last one, all_queued), when the
	 * batch stopped, for a key that wants its PIN at each signature (the next document
	 * waits for a dialog), or BATCH_SYNC_MS after its last sync, so that progress
	 * keeps flowing on a long batch */
	atomic_int docs_out;         /* documents queued and not yet recorded */
	atomic_int all_queued;       /* the loop queues no more (the last one, or stopped) */
	atomic_llong synced_ms;      /* CLOCK_MONOTONIC ms of the last sync (or the start) */
	/* whether the batch's key wants its PIN for every signature, as the token said it
	 * (document_ops_run asks once per batch, not once per document): -1 not asked yet */
	atomic_int key_always_auth;
};

/* The longest a batch's signed documents wait for their records' sync (and so their
 * progress replies), in ms: at most about 1 % of the time in fsyncs (0.3-2 ms each). */
#define BATCH_SYNC_MS 250

/* Returns a share holding signer (taken), with one reference; NULL on ENOMEM. */
struct batch_share *batch_share_new(struct cms_signer *signer);

/* Takes one more reference to s and returns s. */
struct batch_share *batch_share_ref(struct batch_share *s);

/* Drops a reference; the last one frees s. NULL is allowed. */
void batch_share_unref(struct batch_share *s);

/* Sets why the batch stops, unless a reason is already set. Returns the reason now set. */
enum batch_stop batch_share_stop(struct batch_share *s, enum batch_stop why);

/* The reason set, or BATCH_GOING. */
enum batch_stop batch_share_stopped(struct batch_share *s);

/* A JOB_DOCUMENT's own part (job.u.document.doc). */
struct doc_job {
	struct batch_share *share;   /* one reference */
	struct doc_batch *batch;     /* the loop's: carried back, never touched by the worker */
	size_t index;                /* in the batch */
	struct cms_doc cms;          /* cms.digest points to digest, content_type below */
	unsigned char digest[64];
	char *content_type;          /* dotted OID, or NULL (id-data) */
	int has_time;                /* the program gave the signing time */
	time_t when;
	enum plan_input input;       /* what the token's mechanism takes of the attributes */
	int skipped;                 /* the batch had stopped: not attempted */
	int key_always_auth;         /* the token says the key wants a PIN per signature */
	/* its granted record, written unsynced (document_ops_record): the CMS waits in the
	 * loop until the record is durable (audit_mark_state) */
	int held;
	struct audit_mark mark;
	/* when it comes back, the loop looks at the batch's held documents (batch_release):
	 * the worker synced after this one's record, or this one holds nothing */
	int synced;
	/* not a document but the end of a stopped batch (batch.c): a thread of its own syncs
	 * sync_log up to mark, off the loop, and posts the job to sync_done; result: how */
	int sync_only;
	struct audit_log *sync_log;
	struct completions *sync_done;
};

/* Releases what d holds (its reference to the share, the content type); NULL is allowed. */
void doc_job_clear(struct doc_job *d);

/* ---- the worker's side (document_ops.c) ---- */

/*
 * Called before a JOB_DOCUMENT touches the token: returns 1 (j ends unsigned, as
 * KYSO_ERR_CANCELLED with the reason in j->why) if its batch has stopped, else 0.
 */
int document_ops_skip(struct job *j);

/*
 * Signs the document of JOB_DOCUMENT j on session s: builds its CMS signed attributes,
 * signs them as a Sign job would (token_ops_sign: confirmation and login dialogs as
 * j->ri asks), and puts the whole CMS ContentInfo into j->sig. Returns KYSO_OK or the
 * job's error.
 */
int document_ops_run(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j);

/*
 * Called once j is recorded, before its PIN is wiped: a document that failed stops its
 * batch; with login_cache = no, the PIN of a successful login is kept for the next
 * documents (not for a key that wants the PIN for every signature: that asks each time).
 */
void document_ops_done(struct job *j);

/*
 * Records JOB_DOCUMENT j on its worker (instead of record_sign_job): a signed document's
 * record written unsynced (j->u.document.doc.held, .mark), then synced with those written
 * before it when the batch needs it (see batch_share; .synced); a document not signed is
 * recorded unsynced (a refusal: nothing was signed), and the batch's granted records
 * before it stay pending until the worker's next sync or, once the batch ends,
 * batch_sync_start's thread (batch.c). A record that
 * cannot be written or made durable withholds the CMS: KYSO_ERR_AUDIT, as record_sign_job.
 */
void document_ops_record(struct job *j, const struct p11_token_desc *tok);

/* The time now in ms (CLOCK_MONOTONIC), as batch_share.synced_ms holds it. */
long long document_ops_now_ms(void);

#endif
