/*
 * worker.h — a worker per token, so that a slow token or a long operation never stalls
 * the event loop, another token, or another client.
 *
 * A worker has one thread (a lane), or several for a token that allows several sessions
 * (sessions_per_token): each lane owns a session of its own, and the module shares the
 * login among them as PKCS#11 defines. Jobs start in submission order; a signature on a
 * logged-in token with nothing to ask the officer may run beside the other signatures,
 * every other job (scan, login, logout, a signature that logs in or shows a dialog) runs
 * alone, after the jobs before it and before those after it. Finished jobs go to a completion queue shared by all
 * workers, which wakes the loop through an eventfd.
 */
#ifndef KYSO_WORKER_H
#define KYSO_WORKER_H

#include <pthread.h>
#include <stdatomic.h>

#include "job.h"

struct p11_module;
struct worker;

struct completions {
	pthread_mutex_t mu;
	struct job *head, *tail;
	int efd;              /* readable while jobs wait to be taken */
	atomic_int inflight;  /* jobs submitted and not yet finished */
	atomic_int ready;     /* finished jobs wait (the loop may spin on this) */
	atomic_long job_us;   /* moving average of how long jobs take (µs) */
	atomic_int sleeping;  /* the loop is (about to be) blocked in epoll_wait */
};

/*
 * Waking a sleeping thread costs tens of µs on virtual machines, more than a signature on
 * a fast token. So a thread that expects an answer soon polls briefly before it sleeps:
 * the worker for its next job (WORKER_SPIN_US after finishing one), the loop for a job in
 * flight (about as long as recent jobs took, if that is under LOOP_SPIN_MAX_US; a slow
 * token is never polled for). Only while work is in flight: an idle agent sleeps.
 */
#define WORKER_SPIN_US 200
#define LOOP_SPIN_MAX_US 1000
/* After serving, the loop polls its sockets this long for the client's next call. */
#define LOOP_IDLE_SPIN_US 100

/*
 * Polls until cond() or us microseconds pass. Returns cond()'s last value. On a machine
 * with one CPU polling only delays the thread being waited for: cond() is checked once.
 */
int spin_until(int (*cond)(void *), void *arg, long us);

/*
 * Returns 1 when polling can help: more than one CPU online and fewer runnable threads
 * on the machine than CPUs (cpuload.h: under load polling only takes the CPU from the
 * threads that work), else 0.
 */
int spin_useful(void);

/* Returns 1 when finished jobs wait in c (for spin_until). */
int completions_ready(void *c);

/* Sets up the queue and its eventfd. Returns KYSO_OK or KYSO_ERR_IO. */
int completions_init(struct completions *c);

/*
 * The loop calls this right before a blocking epoll_wait. Returns 1 if it may block (a job
 * finishing from now on writes the eventfd), or 0 if finished jobs already wait.
 */
int completions_sleep(struct completions *c);

/* The loop calls this when epoll_wait returned. */
void completions_awake(struct completions *c);

/* Resets the eventfd after it woke the loop. */
void completions_clear_wakeup(struct completions *c);

/*
 * Queues j for the loop from a thread that is not a worker (a module watcher): it was
 * never submitted, so it does not count as in flight.
 */
void completions_post(struct completions *c, struct job *j);

/* Takes every finished job (in order of completion). */
struct job *completions_take(struct completions *c);

/* Closes the eventfd and frees jobs left in the queue. */
void completions_free(struct completions *c);

/*
 * Plain signatures queued together are signed as a group (one call to the module, one
 * fsync) only on a token whose jobs take less than this (µs, moving average): a fast
 * token (an HSM, SoftHSM), where the signatures behind the first wait a few ms at most.
 * A slow one (a smart card: 100 ms and more a signature) signs one job at a time, so that
 * Lock ends the waiting ones at once.
 */
#define WORKER_GROUP_US 5000

/* The most lanes (sessions) a worker has; how many "auto" gives a token that allows it. */
#define WORKER_LANES_MAX 16
#define WORKER_LANES_AUTO 4

/*
 * How many lanes (sessions) a token gets: policy (sessions_per_token; 0 for auto) capped
 * by the token's ulMaxSessionCount. Auto: 1 for a token in a removable slot (USB tokens
 * and smart cards serialise their commands: more sessions only queue in the reader) or
 * one that allows a single session, else WORKER_LANES_AUTO (docs/performance.md measures
 * why). Returns 1..WORKER_LANES_MAX.
 */
int worker_lanes(int policy, const struct p11_token_desc *d);

/*
 * Starts a worker of lanes threads (1..WORKER_LANES_MAX, clamped) for the token described
 * by expect (its slot, and who it is: a different token found in that slot is treated as
 * absent) in module m, delivering finished jobs to done. The caller has counted the worker in *users (modwatch_worker_enter); the
 * thread lowers it when it ends (if the thread cannot start, the caller lowers it).
 * Returns KYSO_OK with *out, KYSO_ERR_NOMEM, or KYSO_ERR_INTERNAL if no thread can start.
 */
int worker_start(struct p11_module *m, const struct p11_token_desc *expect, int lanes,
    struct completions *done, atomic_int *users, struct worker **out);

/* Queues j; the worker owns it until it appears on the completion queue. */
void worker_submit(struct worker *w, struct job *j);

/*
 * Retires the worker without waiting: queued jobs complete at once with
 * KYSO_ERR_TOKEN_NOT_PRESENT, a dialog in progress is ended, the job in progress (if
 * any) completes as it ends, then the thread closes its session and frees itself. w must not be used afterwards. NULL is
 * allowed.
 */
void worker_retire(struct worker *w);

/*
 * Lock, session lock, sleep: ends the dialog (PIN, confirmation) of the job w is running,
 * if it shows one, and ends the Sign and Login jobs queued behind it at once with
 * KYSO_ERR_CANCELLED, reason "locked" (they would sign with the login or ask for a PIN
 * after the lock). why is an enum job_abort. NULL is allowed.
 */
void worker_end_requests(struct worker *w, int why);

/* Waits up to ms milliseconds for *users to reach 0. Returns 1 if it did, else 0. */
int workers_wait_gone(atomic_int *users, long ms);

/* How long shutdown waits for workers still inside a token. */
#define WORKER_STOP_WAIT_S 3

/*
 * Runs job j against the token (in the worker thread; exposed for tests). Dialogs it
 * shows end when j->abort fires (worker_end_requests, worker_retire).
 */
void token_ops_run(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job *j);

/* The most Sign jobs a lane signs in one go (token_ops_run_group). */
#define TOKEN_OPS_GROUP_MAX 32

/* Returns 1 when Sign jobs a and b can be signed in one group (same key and mechanism). */
int token_ops_groupable(const struct job *a, const struct job *b);

/*
 * Runs n (2..TOKEN_OPS_GROUP_MAX) groupable Sign jobs that may share the token, queued
 * together (several clients at once): their inputs signed in one call to the module
 * (p11_session_sign_many), their records written in one write and synced once, each job
 * then finished as token_ops_run would. If the group cannot be signed so (logged out
 * meanwhile, a key that wants its PIN, a token error), each job runs on its own with
 * token_ops_run. Every job ends finished (result set, record written).
 */
void token_ops_run_group(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job **jobs,
    size_t n);

/*
 * The signing part of a JOB_SIGN on session s (in the worker thread): the confirmation
 * dialog if j->ri asks for it, the login if needed (the job's PIN, else a dialog or the
 * PIN pad), the signature of j->req (with the per-signature login of an
 * always-authenticate key) into j->sig, ECDSA turned into DER if j->ecdsa_der. Returns
 * KYSO_OK or the error the job ends with. For document_ops.c, which signs a document's
 * signed attributes the same way.
 */
int token_ops_sign(struct p11_session *s, const struct p11_token_desc *expect,
    struct pinentry_abort *ab, struct job *j);

#endif
