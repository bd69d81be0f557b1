/* modwatch.c — the scanner and slot-event threads of each module (see modwatch.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "modwatch.h"
#include "monotime.h"
#include "worker.h"

/* The absolute CLOCK_MONOTONIC time ms from now, for the cond var's timed waits. */
static struct timespec
deadline_in(int64_t ms)
{
	return clock_after_ms(CLOCK_MONOTONIC, (long)ms);
}

long
modwatch_retry_delay_ms(int failures)
{
	long ms = MODWATCH_RETRY_MIN_MS;

	for (int i = 1; i < failures && ms < MODWATCH_RETRY_MAX_MS; i++)
		ms *= 2;
	return ms < MODWATCH_RETRY_MAX_MS ? ms : MODWATCH_RETRY_MAX_MS;
}

const char *
modwatch_source_name(enum modwatch_source s)
{
	switch (s) {
	case MODWATCH_SRC_SLOT_EVENTS:
		return "slot-events";
	case MODWATCH_SRC_USB:
		return "usb-hotplug";
	case MODWATCH_SRC_POLL:
		return "poll";
	default:
		return "unknown";
	}
}

static enum modwatch_source
modwatch_source_locked(const struct modwatch *w)
{
	return w->events == 1 ? MODWATCH_SRC_SLOT_EVENTS : w->events < 0 ?
	    MODWATCH_SRC_UNKNOWN : w->poll_allowed ? MODWATCH_SRC_POLL : MODWATCH_SRC_USB;
}

/* Waits in C_WaitForSlotEvent; each event asks the scanner for a scan. */
static void *
waiter_main(void *arg)
{
	struct modwatch *w = arg;

	for (;;) {
		struct p11_fail f;
		unsigned long slot;
		int r = p11_module_wait_event(w->m, &slot, &f);

		pthread_mutex_lock(&w->mu);
		if (r == KYSO_OK && !w->stopping && !w->broken) {
			log_debug("%s: slot event on slot %lu", p11_module_path(w->m), slot);
			w->events = 1;
			w->scan_asked = 1;
			pthread_cond_signal(&w->cv);
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		if (w->stopping || w->broken) {
			/* woken by C_Finalize */
		} else if (r == KYSO_ERR_UNSUPPORTED) {
			log_debug("%s offers no slot events", p11_module_path(w->m));
			w->events = 0;
		} else {
			/* did the module break? The scan tells; if the module works, it has no
			 * usable events until a re-initialisation (scanner_scan): no hot loop */
			log_info("%s: waiting for slot events failed (%s)", p11_module_path(w->m),
			    f.ckr_name);
			w->waiter_failed = 1;
			w->scan_asked = 1;
		}
		/* in the same locked section as the decision: the scanner sees both at once */
		w->waiter_running = 0;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
}

/* Starts the waiter unless the module is known to have no events (under mu). */
static void
waiter_start_locked(struct modwatch *w)
{
	if (w->waiter_running || w->events == 0 || w->stopping || w->broken)
		return;
	if (w->waiter_joinable) {  /* a waiter that ended: it no longer needs mu */
		pthread_join(w->waiter, NULL);
		w->waiter_joinable = 0;
	}
	if (pthread_create(&w->waiter, NULL, waiter_main, w) != 0) {
		log_warn("%s: cannot start a thread for slot events; polling instead",
		    p11_module_path(w->m));
		w->events = 0;
		return;
	}
	w->waiter_running = 1;
	w->waiter_joinable = 1;
	w->events = 1;  /* until the module says otherwise */
}

/* Joins the waiter if it ended or ends within ms (under mu). Returns 1 if joined. */
static int
waiter_join_locked(struct modwatch *w, int64_t ms)
{
	struct timespec until = deadline_in(ms);

	while (w->waiter_running)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
			break;
	if (w->waiter_running)
		return 0;
	if (w->waiter_joinable)
		pthread_join(w->waiter, NULL);
	w->waiter_joinable = 0;
	return 1;
}

/* Posts a scan result (or the failure in w->fail) to the loop. */
static void
scanner_post(struct modwatch *w, int result, struct p11_token_desc *slots, size_t n,
    int initial)
{
	struct job *j = job_new(JOB_MODSCAN);

	if (j == NULL) {
		free(slots);
		log_error("out of memory while reporting the tokens of %s",
		    p11_module_path(w->m));
		return;
	}
	j->u.modscan.mw = w;
	j->result = result;
	j->u.modscan.slots = slots;
	j->u.modscan.nslots = n;
	j->u.modscan.initial = initial;
	pthread_mutex_lock(&w->mu);
	j->fail = w->fail;
	j->u.modscan.failures = w->failures;
	pthread_mutex_unlock(&w->mu);
	completions_post(w->done, j);
}

/*
 * Brings a broken module back: no new worker may enter it from now on; waits for its
 * workers to leave (the loop retires them when it hears of the failure), then C_Finalize
 * (which also wakes the waiter), joins the waiter, and C_Initialize. Returns KYSO_OK or
 * an error (w->fail filled).
 */
static int
scanner_reinit(struct modwatch *w)
{
	struct p11_fail f;
	int r, joined;

	pthread_mutex_lock(&w->mu);
	w->reiniting = 1;
	pthread_mutex_unlock(&w->mu);
	if (!workers_wait_gone(&w->users, MODWATCH_QUIESCE_MS)) {
		log_warn("%s: a token operation is still running; re-initialising later",
		    p11_module_path(w->m));
		r = KYSO_ERR_TOKEN;
		goto out;
	}
	pthread_mutex_lock(&w->mu);
	r = w->stopping ? KYSO_ERR_INTERNAL : KYSO_OK;
	pthread_mutex_unlock(&w->mu);
	if (r != KYSO_OK)
		goto out;  /* shutting down: modwatch_stop finalises */
	p11_module_finalize(w->m);
	pthread_mutex_lock(&w->mu);
	joined = waiter_join_locked(w, 2000);
	pthread_mutex_unlock(&w->mu);
	r = p11_module_init(w->m, &f);
	pthread_mutex_lock(&w->mu);
	if (r == KYSO_OK) {
		w->events = joined ? -1 : 0;  /* ask the fresh module again */
		w->waiter_failed = 0;
	}
	else
		w->fail = f;
	pthread_mutex_unlock(&w->mu);
	if (r == KYSO_OK)
		log_info("%s re-initialised", p11_module_path(w->m));
out:
	pthread_mutex_lock(&w->mu);
	w->reiniting = 0;
	pthread_mutex_unlock(&w->mu);
	return r;
}

/* How long the scanner may sleep (ms, -1: until asked); under mu. */
static int64_t
scanner_timeout_locked(struct modwatch *w, int64_t now)
{
	int64_t t = -1;

	if (w->broken)
		t = w->retry_at > now ? w->retry_at - now : 0;
	else if (w->events == 0 && w->poll_allowed)
		t = MODWATCH_POLL_MS;
	if (w->burst_until > now && (t < 0 || t > MODWATCH_BURST_MS))
		t = MODWATCH_BURST_MS;
	return t;
}

/* Sleeps until a scan is due. Returns 0 when stopping (under mu). */
static int
scanner_wait_locked(struct modwatch *w)
{
	for (;;) {
		int64_t now = mono_now_ms(), t;
		struct timespec until;

		if (w->stopping)
			return 0;
		if (w->scan_asked || (w->broken && w->retry_at <= now))
			return 1;
		if ((t = scanner_timeout_locked(w, now)) < 0) {
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		until = deadline_in(t);
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT && !w->stopping)
			return 1;
	}
}

/* One scan (after re-initialising a broken module). */
static void
scanner_scan(struct modwatch *w, int broken, int initial)
{
	struct p11_token_desc *d = NULL;
	struct p11_fail f;
	size_t n = 0, slots = 0;
	int r = KYSO_OK, scanned = 0;

	f = (struct p11_fail){ 0, "", "", NULL };
	if (broken)
		r = scanner_reinit(w);  /* fills w->fail when it fails */
	if (r == KYSO_OK) {
		r = p11_module_tokens(w->m, &d, &n, &f);
		scanned = 1;
	}
	if (r == KYSO_OK && broken && n == 0 && p11_module_slot_count(w->m, &slots) ==
	    KYSO_OK && slots == 0) {
		/*
		 * Initialised again but without a single slot: a remoting module (p11-kit-client)
		 * whose server is still away says so. Not recovered: keep the old failure and
		 * try again later.
		 */
		r = KYSO_ERR_MODULE;
		scanned = 0;
		log_debug("%s has no slots after re-initialisation; still failing",
		    p11_module_path(w->m));
	}
	pthread_mutex_lock(&w->mu);
	if (r != KYSO_OK) {
		if (!w->broken)
			w->source_ok = modwatch_source_locked(w);
		if (scanned)
			w->fail = f;
		w->broken = 1;
		w->failures++;
		w->retry_at = mono_now_ms() + modwatch_retry_delay_ms(w->failures);
	} else {
		w->broken = 0;
		w->failures = 0;
		w->fail = (struct p11_fail){ 0, "", "", NULL };
		if (w->waiter_failed)
			w->events = 0;  /* waiting failed, yet the module works: watch it otherwise */
		w->waiter_failed = 0;
		waiter_start_locked(w);
	}
	pthread_mutex_unlock(&w->mu);
	scanner_post(w, r, d, n, initial);
}

static void *
scanner_main(void *arg)
{
	struct modwatch *w = arg;

	pthread_mutex_lock(&w->mu);
	w->scan_asked = 1;  /* the start-up scan */
	while (scanner_wait_locked(w)) {
		int broken = w->broken, initial = w->first_scan;

		w->scan_asked = 0;
		w->first_scan = 0;
		pthread_mutex_unlock(&w->mu);
		scanner_scan(w, broken, initial);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* The module's helper process ended unasked (its reaper thread): a scan tells the loop. */
static void
modwatch_exited(void *arg)
{
	modwatch_request_scan(arg);
}

int
modwatch_start(struct modwatch *w, struct p11_module *m, struct completions *done,
    int poll_allowed)
{
	pthread_condattr_t ca;

	memset(w, 0, sizeof(*w));
	w->m = m;
	w->done = done;
	atomic_init(&w->users, 0);
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);  /* immune to clock steps */
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	w->poll_allowed = poll_allowed;
	w->events = -1;
	w->first_scan = 1;
	w->fail = (struct p11_fail){ 0, "", "", NULL };
	/* a helper process that crashes is noticed at once, not at the next call */
	p11_module_on_exit(m, modwatch_exited, w);
	if (pthread_create(&w->scanner, NULL, scanner_main, w) != 0) {
		log_error("cannot start the watcher thread of %s", p11_module_path(m));
		return KYSO_ERR_INTERNAL;
	}
	w->scanner_started = 1;
	return KYSO_OK;
}

int
modwatch_worker_enter(struct modwatch *w)
{
	int ok;

	pthread_mutex_lock(&w->mu);
	ok = !w->reiniting && !w->broken && !w->stopping;
	if (ok)
		atomic_fetch_add(&w->users, 1);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void
modwatch_worker_leave(struct modwatch *w)
{
	atomic_fetch_sub(&w->users, 1);
}

void
modwatch_request_scan(struct modwatch *w)
{
	pthread_mutex_lock(&w->mu);
	w->scan_asked = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
modwatch_burst(struct modwatch *w)
{
	pthread_mutex_lock(&w->mu);
	w->scan_asked = 1;
	w->burst_until = mono_now_ms() + MODWATCH_BURST_LEN_MS;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
modwatch_status(struct modwatch *w, struct modwatch_status *st)
{
	int64_t now = mono_now_ms();

	pthread_mutex_lock(&w->mu);
	/* while broken, how it was watched when it last worked */
	st->source = w->broken ? w->source_ok : modwatch_source_locked(w);
	st->broken = w->broken;
	st->failures = w->failures;
	st->retry_in_ms = w->broken && w->retry_at > now ? w->retry_at - now : 0;
	st->fail = w->fail;
	pthread_mutex_unlock(&w->mu);
}

int
modwatch_stop(struct modwatch *w)
{
	struct timespec until;
	int ok = 1;

	if (!w->scanner_started)
		return 1;  /* never started: nothing inside the module */
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	if (!workers_wait_gone(&w->users, WORKER_STOP_WAIT_S * 1000L)) {
		log_warn("a token of %s has not answered for %d s; leaving it behind",
		    p11_module_path(w->m), WORKER_STOP_WAIT_S);
		ok = 0;
	}
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += WORKER_STOP_WAIT_S;
	if (pthread_timedjoin_np(w->scanner, NULL, &until) != 0) {
		log_warn("%s has not answered a scan for %d s; leaving it behind",
		    p11_module_path(w->m), WORKER_STOP_WAIT_S);
		return 0;
	}
	w->scanner_started = 0;
	p11_module_on_exit(w->m, NULL, NULL);  /* w goes away */
	if (!ok)
		return 0;
	p11_module_finalize(w->m);  /* wakes the waiter */
	pthread_mutex_lock(&w->mu);
	ok = waiter_join_locked(w, 2000);
	pthread_mutex_unlock(&w->mu);
	if (!ok) {
		log_warn("%s did not wake from C_WaitForSlotEvent; leaving it behind",
		    p11_module_path(w->m));
		return 0;
	}
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	return 1;
}
