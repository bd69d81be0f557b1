/*
 * rpc_helper.h — kysod's side of one kyso-p11-helper process (rpc_spawn.c): starting it,
 * its channels, knowing when and why it ended, and ending it.
 *
 * The process is started with fork and exec (it shares no memory with kysod), with its
 * control channel on descriptor 3, standard input and output on /dev/null, standard error
 * kysod's, no other descriptor, the signals unblocked, and an environment of a few
 * variables (rpc_spawn.c's list, and the names in $KYSO_HELPER_ENV). A thread waits for
 * it to end (waitpid), records why, and tells the module's owner when nobody asked it to.
 */
#ifndef KYSO_RPC_HELPER_H
#define KYSO_RPC_HELPER_H

#include <pthread.h>
#include <time.h>
#include <sys/types.h>

#include "buf.h"
#include "rpc_chan.h"

/* One channel: a socket to the helper, and the agent's buffers for it. */
struct rpc_chan {
	int fd;
	struct kbuf out;           /* the request being sent */
	unsigned char small[4096];
	struct rpc_rx rx;          /* the response */
	struct timespec sent;      /* when the request went (CLOCK_MONOTONIC) */
	long answer_us;            /* how long its answers take (moving average), 0: unknown */
	struct rpc_chan *next;     /* in the idle list */
};

struct rpc_helper {
	pid_t pid;
	char *path;                /* the module's, for the log */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_mutex_t ctl_mu;    /* one control exchange at a time */
	struct rpc_chan *ctl;      /* the control channel (descriptor 3 in the helper) */
	struct rpc_chan *idle;     /* channels no call uses */
	unsigned nchans;
	/* under mu */
	int refs;                  /* the module's, and one per call in progress */
	int ended;                 /* waitpid returned */
	int status;                /* its status then */
	int asked;                 /* kysod ended it (finalize, free): expected */
	int late;                  /* ended by kysod: a call did not answer in time */
	int broken;                /* ended by kysod: it broke the protocol */
	const char *cause;         /* once ended: why, a static sentence (p11_fail.cause) */
	void (*on_exit)(void *);   /* told when it ends unasked (from the reaper thread) */
	void *on_exit_arg;
	pthread_t reaper;
};

/*
 * Starts a helper for the module at path. Returns KYSO_OK with *out (one reference), or
 * KYSO_ERR_MODULE with a sentence in err.
 */
int rpc_helper_spawn(const char *path, struct rpc_helper **out, char *err, size_t errlen);

/* Takes a reference (under nothing: any thread). */
void rpc_helper_ref(struct rpc_helper *h);

/*
 * Drops a reference; the last one ends the process (SIGKILL if it still runs after
 * RPC_EXIT_GRACE_MS), waits for it and frees h.
 */
void rpc_helper_unref(struct rpc_helper *h);

/*
 * Returns a channel for one call (an idle one, or a new one handed to the helper over
 * the control channel), or NULL if the helper has ended or no channel can be made (why
 * in *cause). Give it back with rpc_helper_put.
 */
struct rpc_chan *rpc_helper_get(struct rpc_helper *h, const char **cause);

/* Gives c back (kept for the next call, or closed if the helper has ended or broke). */
void rpc_helper_put(struct rpc_helper *h, struct rpc_chan *c, int broken);

/*
 * The helper did not answer in time (late) or broke the protocol: it is ended (SIGKILL),
 * and every call in progress fails. Any thread.
 */
void rpc_helper_kill(struct rpc_helper *h, int late);

/*
 * A channel reached its end: waits (at most RPC_EXIT_GRACE_MS) for the process to end
 * and returns why it did (a static sentence); if it still runs, it is ended.
 */
const char *rpc_helper_lost(struct rpc_helper *h);

/* kysod ends the helper on purpose: closes the control channel; no on_exit call. */
void rpc_helper_stop(struct rpc_helper *h);

/* Sets who is told when the helper ends unasked. */
void rpc_helper_on_exit(struct rpc_helper *h, void (*fn)(void *), void *arg);

/* Frees a channel (closing its socket). */
void rpc_chan_free(struct rpc_chan *c);

#define RPC_EXIT_GRACE_MS 2000

#endif
