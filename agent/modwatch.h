/*
 * modwatch.h — one watcher per PKCS#11 module: it notices tokens coming and going and
 * brings a broken module back, in threads of its own so that a slow module delays
 * nothing else.
 *
 * The scanner thread lists the module's tokens (C_GetSlotList + C_GetTokenInfo) when
 * asked to, and posts each list to the loop as a JOB_MODSCAN; the loop compares it with
 * what it knows (tokens.c). What asks for a scan, best first:
 *   - slot events: a waiter thread blocked in C_WaitForSlotEvent, where the module
 *     supports it (OpenSC does); C_Finalize wakes it;
 *   - USB hotplug (usb.c), and the loop itself (a job failed as if the token left,
 *     SIGHUP);
 *   - a slow poll (MODWATCH_POLL_MS), only for a module without slot events and only
 *     while the loop says no better source exists.
 * An idle agent with event sources does not wake up at all.
 *
 * A scan that fails (CKR_DEVICE_ERROR from a dead p11-kit server,
 * CKR_CRYPTOKI_NOT_INITIALIZED...) marks the module broken: the loop retires its tokens,
 * and once no worker is inside the module the scanner re-initialises it (C_Finalize +
 * C_Initialize) with exponential backoff from MODWATCH_RETRY_MIN_MS to
 * MODWATCH_RETRY_MAX_MS, never in a hot loop, until it works again.
 */
#ifndef KYSO_MODWATCH_H
#define KYSO_MODWATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "p11.h"

struct completions;

#define MODWATCH_POLL_MS 1000
#define MODWATCH_BURST_MS 500        /* scan interval after USB activity */
#define MODWATCH_BURST_LEN_MS 6000   /* how long that lasts (a card takes seconds) */
#define MODWATCH_RETRY_MIN_MS 1000
#define MODWATCH_RETRY_MAX_MS 60000
#define MODWATCH_QUIESCE_MS 5000     /* wait for workers to leave a broken module */

/* How the watcher learns of tokens coming and going. */
enum modwatch_source {
	MODWATCH_SRC_UNKNOWN,     /* not asked the module yet */
	MODWATCH_SRC_SLOT_EVENTS, /* C_WaitForSlotEvent */
	MODWATCH_SRC_USB,         /* no slot events; rescans on USB hotplug */
	MODWATCH_SRC_POLL,        /* no slot events, no USB hotplug: a slow poll */
};

/* What the loop may read of a watcher (modwatch_status). */
struct modwatch_status {
	enum modwatch_source source;
	int broken;               /* the last scan or re-initialisation failed */
	int failures;             /* how many in a row */
	long retry_in_ms;         /* when broken: until the next attempt */
	struct p11_fail fail;     /* when broken: the failure */
};

struct modwatch {
	struct p11_module *m;
	struct completions *done;
	atomic_int users;         /* live workers on this module */

	pthread_t scanner, waiter;
	int scanner_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* under mu */
	int stopping;
	int scan_asked;
	int64_t burst_until;      /* monotonic ms: scan every MODWATCH_BURST_MS until then */
	int poll_allowed;         /* no better source than polling (set by the loop) */
	int events;               /* -1 unknown, 0 no slot events, 1 slot events */
	int waiter_running;
	int waiter_joinable;      /* started and not joined yet */
	int waiter_failed;        /* C_WaitForSlotEvent failed: a scan decides why */
	int broken;
	int failures;
	int64_t retry_at;         /* monotonic ms of the next re-initialisation */
	int first_scan;           /* the next scan is the start-up one */
	int reiniting;            /* C_Finalize/C_Initialize under way: no worker may enter */
	enum modwatch_source source_ok;  /* how it was watched before it broke */
	struct p11_fail fail;

	/* loop-side bookkeeping (only the loop touches these) */
	int loop_seen;            /* a scan result arrived */
	int loop_failing;         /* the loop reported the module as failing */
};

/*
 * Starts the watcher of module m; its first scan is posted with job->initial set.
 * Returns KYSO_OK, or KYSO_ERR_INTERNAL if the thread cannot start.
 */
int modwatch_start(struct modwatch *w, struct p11_module *m, struct completions *done,
    int poll_allowed);

/*
 * Counts a new worker in the module, unless the module is broken or being re-initialised
 * (then it returns 0 and the worker must not start). The loop calls it before
 * worker_start; modwatch_worker_leave undoes it if the worker cannot start.
 */
int modwatch_worker_enter(struct modwatch *w);
void modwatch_worker_leave(struct modwatch *w);

/* Asks for a scan now (any thread). */
void modwatch_request_scan(struct modwatch *w);

/* Scans every MODWATCH_BURST_MS for MODWATCH_BURST_LEN_MS (USB activity; any thread). */
void modwatch_burst(struct modwatch *w);

/* Copies what the loop may show of the watcher. */
void modwatch_status(struct modwatch *w, struct modwatch_status *st);

/* The backoff before the next attempt after failures failures in a row (1, 2, ...). */
long modwatch_retry_delay_ms(int failures);

/* Returns a short name for a source ("slot-events", "usb-hotplug", "poll", "unknown"). */
const char *modwatch_source_name(enum modwatch_source s);

/*
 * Stops the watcher's threads and finalises the module (which wakes the waiter). Call
 * after the module's workers were retired; waits for them up to WORKER_STOP_WAIT_S.
 * Returns 1 if the module may be unloaded, 0 if a thread is still inside it.
 */
int modwatch_stop(struct modwatch *w);

#endif
