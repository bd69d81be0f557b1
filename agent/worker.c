/* worker.c — per-token threads, their job queues, and the completion queue. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cpuload.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "pinentry.h"
#include "request.h"
#include "worker.h"

/* One thread of a token's worker and the session it owns (opened on demand). */
struct lane {
	struct worker *w;
	pthread_t thread;
	struct p11_session *session;
	struct job *current;  /* the job it runs (its dialog can be ended), under w->mu */
	struct job *group[TOKEN_OPS_GROUP_MAX];  /* or the Sign jobs it runs together */
	size_t ngroup;
	pthread_cond_t cv;    /* it waits here for a job, on the idle stack, under w->mu */
	struct lane *next_idle;
	int idle;
};

struct worker {
	pthread_mutex_t mu;
	struct lane *idle;  /* the lanes waiting for a job, the last one to stop on top */
	struct job *head, *tail;
	atomic_int queued;  /* jobs in head..tail (a lane may spin on this) */
	atomic_int spinning;  /* a lane polls for the next job (one at a time) */
	int stopping;
	struct p11_module *module;
	unsigned long slot;
	struct p11_token_desc expect;  /* the token it serves: another one in the slot is not */
	struct completions *done;
	atomic_int *users;  /* the module's count of live workers */
	int running;        /* jobs the lanes run now, under mu */
	int exclusive;      /* one of them runs alone (see job_shares_token) */
	int logged_in;      /* the last job finished left the token logged in */
	int alive;          /* lanes not yet ended; the last one frees w */
	long job_us;        /* moving average of this token's jobs (µs), under mu */
	int nlanes;
	struct lane lanes[WORKER_LANES_MAX];
};

int
spin_useful(void)
{
	return cpuload_room();
}

int
spin_until(int (*cond)(void *), void *arg, long us)
{
	struct timespec now, end;

	if (!spin_useful())
		return cond(arg);

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_nsec += us * 1000L;
	while (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		if (cond(arg))
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec))
			return cond(arg);
		cpuload_pause();
	}
}

int
completions_ready(void *arg)
{
	struct completions *c = arg;

	return atomic_load_explicit(&c->ready, memory_order_acquire);
}

int
completions_init(struct completions *c)
{
	c->head = c->tail = NULL;
	atomic_init(&c->inflight, 0);
	atomic_init(&c->ready, 0);
	atomic_init(&c->sleeping, 0);
	atomic_init(&c->job_us, 0);
	if ((c->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return KYSO_ERR_IO;
	pthread_mutex_init(&c->mu, NULL);
	return KYSO_OK;
}

/* Queues a finished job; submitted: it came through worker_submit (counted in flight). */
static void
completions_put(struct completions *c, struct job *j, int submitted)
{
	uint64_t one = 1;

	j->next = NULL;
	pthread_mutex_lock(&c->mu);
	if (c->tail != NULL)
		c->tail->next = j;
	else
		c->head = j;
	c->tail = j;
	atomic_store(&c->ready, 1);  /* sequentially consistent: see completions_sleep */
	if (submitted)
		atomic_fetch_sub(&c->inflight, 1);
	pthread_mutex_unlock(&c->mu);
	/* wake the loop only if it sleeps; a loop that is awake sees ready itself */
	if (atomic_load(&c->sleeping))
		(void)!write(c->efd, &one, sizeof(one));
}

void
completions_post(struct completions *c, struct job *j)
{
	completions_put(c, j, 0);
}

int
completions_sleep(struct completions *c)
{
	/*
	 * With completions_put, a Dekker handshake on two sequentially consistent atomics:
	 * either the worker sees sleeping and writes the eventfd, or this sees ready.
	 */
	atomic_store(&c->sleeping, 1);
	if (atomic_load(&c->ready)) {
		atomic_store(&c->sleeping, 0);
		return 0;
	}
	return 1;
}

void
completions_awake(struct completions *c)
{
	atomic_store(&c->sleeping, 0);
}

void
completions_clear_wakeup(struct completions *c)
{
	uint64_t n;

	(void)!read(c->efd, &n, sizeof(n));
}

struct job *
completions_take(struct completions *c)
{
	struct job *all;

	pthread_mutex_lock(&c->mu);
	all = c->head;
	c->head = c->tail = NULL;
	atomic_store(&c->ready, 0);
	pthread_mutex_unlock(&c->mu);
	return all;
}

void
completions_free(struct completions *c)
{
	struct job *j, *next;

	for (j = c->head; j != NULL; j = next) {
		next = j->next;
		job_free(j);
	}
	c->head = c->tail = NULL;
	if (c->efd >= 0)
		close(c->efd);
	c->efd = -1;
	pthread_mutex_destroy(&c->mu);
}

int
worker_lanes(int policy, const struct p11_token_desc *d)
{
	int n = policy > 0 ? policy : d->removable ? 1 : WORKER_LANES_AUTO;

	if (d->max_sessions != 0 && d->max_sessions != P11_SESSIONS_UNKNOWN &&
	    (unsigned)n > d->max_sessions)
		n = (int)d->max_sessions;
	return n < 1 ? 1 : n > WORKER_LANES_MAX ? WORKER_LANES_MAX : n;
}

static int
worker_has_work(void *arg)
{
	struct worker *w = arg;

	return atomic_load_explicit(&w->queued, memory_order_acquire) > 0;
}

/*
 * Whether j is a plain signature: on a token its last job left logged in, with nothing to
 * ask the officer (no confirmation, no per-signature PIN, no logout after it). Such jobs
 * may run beside each other, a session each, and be signed together (a group); everything
 * else — scans, logins, logouts, a signature that has to log in or show a dialog — runs
 * alone, after the jobs before it and before the jobs after it (w->mu held).
 */
static int
job_plain_sign(const struct worker *w, const struct job *j)
{
	const struct job_sign *sg = job_sign_part(j);

	if (sg == NULL || !w->logged_in)
		return 0;
	if (sg->login_required && !sg->was_logged_in)
		return 0;
	if (sg->always_auth || sg->key_wants_pin || sg->auth.logout_after)
		return 0;
	/* a confirmation dialog: the policy's, or a web page's (always shown) */
	return sg->auth.ri == NULL || (!sg->auth.ri->confirm && sg->auth.ri->origin[0] == '\0');
}

/* Whether j may run beside others: a plain signature on a token with several lanes. */
static int
job_shares_token(const struct worker *w, const struct job *j)
{
	return w->nlanes > 1 && job_plain_sign(w, j);
}

/*
 * How many of the queued signatures a lane takes into its group, its own first one
 * included (w->mu held, that one taken off the queue and counted running): its share,
 * the lanes free to take the others having theirs, so that the token's sessions sign
 * side by side rather than one lane signing everything queued while the others wait.
 */
static size_t
group_share(const struct worker *w)
{
	int queued = atomic_load(&w->queued), others = w->nlanes - w->running;
	size_t most;

	if (others < 0)
		others = 0;
	most = (size_t)((queued + 1 + others) / (others + 1));  /* (queued + 1) / lanes, up */
	return most < TOKEN_OPS_GROUP_MAX ? most : TOKEN_OPS_GROUP_MAX;
}

/* Whether the job at the head may start now (w->mu held). */
static int
head_can_start(const struct worker *w)
{
	if (w->head == NULL || w->exclusive)
		return 0;
	return w->running == 0 || job_shares_token(w, w->head);
}

/*
 * Waits for a job on the idle stack (w->mu held). The lanes wait last in, first out: the
 * lane that stopped last is woken first, so that one client's signatures keep going
 * through the same lane, session and helper thread, which are still running or were
 * just running (a signal on one shared condition woke them in turn, each time a lane and
 * a helper thread that had gone to sleep: about 15 % slower with one client; waking all
 * of them cost each idle lane a wake-up per job).
 */
static void
lane_wait(struct lane *ln)
{
	struct worker *w = ln->w;

	ln->next_idle = w->idle;
	w->idle = ln;
	ln->idle = 1;
	pthread_cond_wait(&ln->cv, &w->mu);
	if (ln->idle) {  /* woken otherwise: off the stack */
		struct lane **p = &w->idle;

		while (*p != ln)
			p = &(*p)->next_idle;
		*p = ln->next_idle;
		ln->idle = 0;
	}
}

/*
 * Takes the lane on top of the idle stack off it (w->mu held) and returns it, or NULL:
 * the caller signals it with lane_signal once it has let go of w->mu. A lane signalled
 * while the mutex is still held wakes only to find it taken and sleeps again on it (two
 * more system calls, often another switch of threads, on every job here).
 */
static struct lane *
worker_pop_idle(struct worker *w)
{
	struct lane *ln = w->idle;

	if (ln == NULL)
		return NULL;
	w->idle = ln->next_idle;
	ln->idle = 0;
	return ln;
}

/*
 * Wakes a lane taken off the idle stack (w->mu not held). It is still there to be woken:
 * it was in pthread_cond_wait when taken off, and w outlives the call — the caller is
 * the loop (worker_submit), the one thread that retires a worker, or one of w's lanes,
 * and the last lane to end frees w. worker_retire does not wake a lane taken off the
 * stack: its taker does, and the lane then sees w->stopping and ends.
 */
static void
lane_signal(struct lane *ln)
{
	if (ln != NULL)
		pthread_cond_signal(&ln->cv);
}

/* Wakes the lane on top of the idle stack, if any (w->mu held): for worker_retire. */
static void
worker_wake_one(struct worker *w)
{
	lane_signal(worker_pop_idle(w));
}

static void
worker_free(struct worker *w)
{
	pthread_mutex_destroy(&w->mu);
	for (int i = 0; i < WORKER_LANES_MAX; i++)
		pthread_cond_destroy(&w->lanes[i].cv);
	free(w);
}

static void *
lane_main(void *arg)
{
	struct lane *ln = arg;
	struct worker *w = ln->w;
	struct timespec t0, t1;
	long us, avg;
	size_t ngroup;
	int busy = 0, last;

	for (;;) {
		struct job *j;
		struct lane *wake;
		int alone;

		/* right after a job the next one often follows: one lane polls briefly */
		if (busy && atomic_exchange(&w->spinning, 1) == 0) {
			(void)spin_until(worker_has_work, w, WORKER_SPIN_US);
			atomic_store(&w->spinning, 0);
		}
		pthread_mutex_lock(&w->mu);
		while (!head_can_start(w) && !w->stopping)
			lane_wait(ln);
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		j = w->head;
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		atomic_fetch_sub(&w->queued, 1);
		alone = !job_shares_token(w, j);
		w->exclusive = alone;
		w->running++;
		ln->current = j;
		ln->ngroup = 0;
		/* Signs of several clients queued together with the same key: one group, one
		 * call to the module and one fsync for all (token_ops_run_group); with other
		 * lanes free, this one takes its share and wakes one for the rest */
		if (w->job_us < WORKER_GROUP_US && job_plain_sign(w, j) && w->head != NULL &&
		    job_plain_sign(w, w->head) && token_ops_groupable(j, w->head)) {
			size_t most = group_share(w);

			ln->group[ln->ngroup++] = j;
			while (ln->ngroup < most && w->head != NULL &&
			    job_plain_sign(w, w->head) && token_ops_groupable(j, w->head)) {
				ln->group[ln->ngroup++] = w->head;
				w->head = w->head->next;
				atomic_fetch_sub(&w->queued, 1);
			}
			if (w->head == NULL)
				w->tail = NULL;
		}
		wake = !alone && head_can_start(w) ? worker_pop_idle(w) : NULL;
		pthread_mutex_unlock(&w->mu);
		lane_signal(wake);  /* the next one may run on another lane */

		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (ln->ngroup > 1)
			token_ops_run_group(w->module, w->slot, &w->expect, &ln->session, ln->group,
			    ln->ngroup);
		else
			token_ops_run(w->module, w->slot, &w->expect, &ln->session, j);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		us = (t1.tv_sec - t0.tv_sec) * 1000000L + (t1.tv_nsec - t0.tv_nsec) / 1000;
		avg = atomic_load(&w->done->job_us);
		atomic_store(&w->done->job_us, avg == 0 ? us : (7 * avg + us) / 8);
		pthread_mutex_lock(&w->mu);
		ln->current = NULL;
		ngroup = ln->ngroup;
		ln->ngroup = 0;
		w->logged_in = j->state.logged_in;
		w->job_us = w->job_us == 0 ? us : (7 * w->job_us + us) / 8;
		/*
		 * Finished before the job that waited for it may start: the loop applies jobs'
		 * results to the token in the order they come back, so a Lock's logout that ran
		 * on another lane must come back after the signatures it waited for (else their
		 * "logged in" would be applied after its "logged out"). From here on the loop may
		 * take and free j.
		 */
		if (ngroup > 1) {
			for (size_t i = 0; i < ngroup; i++)
				completions_put(w->done, ln->group[i], 1);
		} else {
			completions_put(w->done, j, 1);
		}
		w->running--;
		if (alone)
			w->exclusive = 0;
		/* a job that waited for this one: this lane takes it next (and wakes another
		 * if more can start, above) */
		pthread_mutex_unlock(&w->mu);
		busy = 1;
	}
	/* retired: nobody else points to w any more; the last lane frees it */
	p11_session_close(ln->session);
	pthread_mutex_lock(&w->mu);
	last = --w->alive == 0;
	pthread_mutex_unlock(&w->mu);
	if (!last)
		return NULL;
	atomic_fetch_sub(w->users, 1);
	worker_free(w);
	return NULL;
}

int
worker_start(struct p11_module *m, const struct p11_token_desc *expect, int lanes,
    struct completions *done, atomic_int *users, struct worker **out)
{
	pthread_attr_t attr;
	struct worker *w;
	int e = 0, started = 0;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return KYSO_ERR_NOMEM;
	w->module = m;
	w->slot = expect->slot;
	w->expect = *expect;
	w->done = done;
	w->users = users;
	w->nlanes = lanes < 1 ? 1 : lanes > WORKER_LANES_MAX ? WORKER_LANES_MAX : lanes;
	pthread_mutex_init(&w->mu, NULL);
	for (int i = 0; i < WORKER_LANES_MAX; i++)
		pthread_cond_init(&w->lanes[i].cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_mutex_lock(&w->mu);  /* no lane ends before all are counted */
	for (int i = 0; i < w->nlanes; i++) {
		w->lanes[i].w = w;
		if ((e = pthread_create(&w->lanes[i].thread, &attr, lane_main, &w->lanes[i])) != 0)
			break;
		started++;
	}
	w->alive = started;
	if (started > 0 && started < w->nlanes) {
		log_warn("token '%s': %d of %d worker threads started: %s", expect->label,
		    started, w->nlanes, strerror(e));
		w->nlanes = started;
	}
	pthread_mutex_unlock(&w->mu);
	pthread_attr_destroy(&attr);
	if (started == 0) {
		log_error("cannot start a worker thread: %s", strerror(e));
		worker_free(w);
		return KYSO_ERR_INTERNAL;
	}
	*out = w;
	return KYSO_OK;
}

void
worker_submit(struct worker *w, struct job *j)
{
	struct completions *done = w->done;  /* w may be freed once unlocked if stopping */
	struct lane *wake = NULL;

	j->next = NULL;
	atomic_fetch_add(&done->inflight, 1);
	pthread_mutex_lock(&w->mu);
	if (w->stopping) {  /* not reached while the loop keeps to worker_retire's rule */
		pthread_mutex_unlock(&w->mu);
		j->result = KYSO_ERR_TOKEN_NOT_PRESENT;
		completions_put(done, j, 1);
		return;
	}
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	atomic_fetch_add(&w->queued, 1);
	/* None while a lane polls for work: it takes the job (it stops polling before it
	 * takes w->mu, so one that stopped without seeing this job finds it under the lock) */
	if (!atomic_load(&w->spinning))
		wake = worker_pop_idle(w);
	pthread_mutex_unlock(&w->mu);
	lane_signal(wake);
}

/* Ends the dialog of the jobs in progress, if any (w->mu held). */
static void
worker_end_dialog_locked(struct worker *w, int why)
{
	for (int i = 0; i < w->nlanes; i++) {
		struct lane *ln = &w->lanes[i];
		size_t n = ln->ngroup > 0 ? ln->ngroup : 1;

		for (size_t k = 0; k < n; k++) {
			struct job *j = ln->ngroup > 0 ? ln->group[k] : ln->current;

			if (j == NULL)
				continue;
			atomic_store(&j->abort_why, why);
			pinentry_abort_fire(&j->abort);
		}
	}
}

void
worker_end_requests(struct worker *w, int why)
{
	struct job *j, *next, *ended = NULL, **tail = &ended;

	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	worker_end_dialog_locked(w, why);
	for (struct job **pp = &w->head; (j = *pp) != NULL;) {
		if (!job_signs(j) && j->kind != JOB_LOGIN) {
			w->tail = j;
			pp = &j->next;
			continue;
		}
		*pp = j->next;
		j->next = NULL;
		*tail = j;
		tail = &j->next;
		atomic_fetch_sub(&w->queued, 1);
	}
	if (w->head == NULL)
		w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (j = ended; j != NULL; j = next) {
		next = j->next;
		j->result = KYSO_ERR_CANCELLED;
		job_auth_part(j)->cancel = JOB_CANCEL_LOCKED_UNSERVED;  /* no dialog: it never ran */
		completions_put(w->done, j, 1);
	}
}

void
worker_retire(struct worker *w)
{
	struct completions *done;
	struct job *j, *next;

	if (w == NULL)
		return;
	done = w->done;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	worker_end_dialog_locked(w, JOB_ABORT_REMOVED);  /* the token left: its dialog ends */
	j = w->head;
	w->head = w->tail = NULL;
	atomic_store(&w->queued, 0);
	while (w->idle != NULL)  /* every lane: they end */
		worker_wake_one(w);
	pthread_mutex_unlock(&w->mu);
	/* from here on the thread may free w at any moment */
	for (; j != NULL; j = next) {
		next = j->next;
		j->result = KYSO_ERR_TOKEN_NOT_PRESENT;
		completions_put(done, j, 1);
	}
}

int
workers_wait_gone(atomic_int *users, long ms)
{
	struct timespec pause = { 0, 10 * 1000000L };

	for (long waited = 0; atomic_load(users) > 0; waited += 10) {
		if (waited >= ms)
			return 0;
		nanosleep(&pause, NULL);
	}
	return 1;
}
