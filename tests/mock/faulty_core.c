/*
 * faulty_core.c — the module's state (initialised, broken), what every wrapped call does
 * before and after SoftHSM's function (faulty_begin, faulty_end), rules and delays, and
 * the three functions that are the module's own: C_Initialize, C_Finalize,
 * C_WaitForSlotEvent. Semantics: the comment at the top of faulty_p11.c.
 */
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "faulty.h"

/* under faulty_mu */
static int initialised;
static unsigned long epoch;  /* grows at each C_Initialize and C_Finalize */
static CK_RV broken;         /* CKR_OK, or what every call answers */
static int watching;         /* the control file's directory is watched (inotify) */
static unsigned long file_gen;  /* grows at each change in that directory */

/*
 * A thread that sleeps until the control file's directory changes, then wakes the callers
 * blocked in C_WaitForSlotEvent: they wait without a timer, so an idle application that
 * waits in the module is not woken by the module (bench/hotplug.sh counts wake-ups).
 */
static void *
watch_main(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			break;
		while (read(fd, buf, sizeof(buf)) > 0)
			;
		pthread_mutex_lock(&faulty_mu);
		file_gen++;
		pthread_cond_broadcast(&faulty_cv);
		pthread_mutex_unlock(&faulty_mu);
	}
	pthread_mutex_lock(&faulty_mu);
	watching = 0;  /* the callers fall back to looking every FAULTY_WAIT_TICK_MS */
	pthread_mutex_unlock(&faulty_mu);
	return NULL;
}

/* Starts the watch thread once (for the process's life), under faulty_mu. */
static void
watch_start_locked(void)
{
	static int tried;
	const char *path = getenv("KYSO_FAULTY_CONTROL");
	pthread_attr_t attr;
	pthread_t t;
	char *copy;
	int fd;

	if (tried || path == NULL || (copy = strdup(path)) == NULL)
		return;
	tried = 1;
	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd >= 0 && inotify_add_watch(fd, dirname(copy), IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_MOVED_FROM | IN_CREATE | IN_DELETE) >= 0) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, &attr, watch_main, (void *)(intptr_t)fd) == 0)
			watching = 1;
		pthread_attr_destroy(&attr);
	}
	if (!watching && fd >= 0)
		close(fd);
	free(copy);
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void
make_broken(CK_RV rv)
{
	pthread_mutex_lock(&faulty_mu);
	if (broken == CKR_OK)
		broken = rv;
	pthread_cond_broadcast(&faulty_cv);
	pthread_mutex_unlock(&faulty_mu);
}

/*
 * What ends a call early, under faulty_mu: C_Finalize, a break, its session's or slot's
 * token going away. CKR_OK if none.
 */
static CK_RV
interrupted_locked(const struct faulty_call *c)
{
	if (strcmp(c->fn, "C_Initialize") == 0)
		return CKR_OK;  /* before the module is initialised: nothing can interrupt */
	if (!initialised || epoch != c->epoch)
		return CKR_CRYPTOKI_NOT_INITIALIZED;
	if (broken != CKR_OK)
		return broken;
	if (c->sess >= 0 && faulty_sess_at(c->sess)->dead)
		return CKR_DEVICE_REMOVED;
	if (c->vslot > 0 && c->kind != FAULTY_SESSION &&
	    faulty_vslot_gen_locked(c->vslot) != c->vgen)
		return CKR_DEVICE_REMOVED;
	return CKR_OK;
}

/*
 * Sleeps ms, looking at the control file every FAULTY_TICK_MS: the wait ends early when
 * line (a delay rule's, a pinpad line) leaves the file (CKR_OK) or when the call is
 * interrupted (its code).
 */
CK_RV
faulty_wait(const struct faulty_call *c, const char *line, long ms)
{
	long until = now_ms() + ms, left;

	while ((left = until - now_ms()) > 0) {
		struct faulty_ctl *ctl;
		CK_RV rv;
		int gone;

		sleep_ms(left < FAULTY_TICK_MS ? left : FAULTY_TICK_MS);
		if ((ctl = faulty_ctl_read()) == NULL)
			continue;
		gone = !faulty_ctl_has_line(ctl, line);
		pthread_mutex_lock(&faulty_mu);
		faulty_sync_locked(ctl);
		rv = interrupted_locked(c);
		pthread_mutex_unlock(&faulty_mu);
		free(ctl);
		if (rv != CKR_OK)
			return rv;
		if (gone)
			break;
	}
	return CKR_OK;
}

/* The module misbehaving as closed vendor code can (the actions crash...exit). */
static void __attribute__((noinline))
faulty_leak(long bytes)
{
	char *p = bytes > 0 && bytes <= (1L << 30) ? malloc((size_t)bytes) : NULL;

	if (p != NULL)
		memset(p, 0x5a, (size_t)bytes);  /* touched: it counts in the process's memory */
	__asm__ volatile("" : : "r"(p) : "memory");  /* and never freed */
}

static void
faulty_misbehave(const struct faulty_rule *r)
{
	if (strcmp(r->action, "crash") == 0) {
		raise(SIGSEGV);  /* as a NULL dereference would */
	} else if (strcmp(r->action, "abort") == 0) {
		abort();
	} else if (strcmp(r->action, "hang") == 0) {
		for (;;)
			pause();  /* nothing ends it: the caller must give up on the process */
	} else if (strcmp(r->action, "exit") == 0) {
		_exit((int)strtol(r->arg, NULL, 10));
	} else if (strcmp(r->action, "leak") == 0) {
		faulty_leak(strtol(r->arg, NULL, 10));
	}
}

/* Applies the rules for c in file order. waiting: only fail and break (inside a wait). */
static CK_RV
rules(const struct faulty_ctl *ctl, const struct faulty_call *c, int waiting)
{
	for (int i = 0; i < ctl->nrules; i++) {
		const struct faulty_rule *r = &ctl->rules[i];
		CK_RV rv = CKR_OK;

		if (!faulty_rule_matches(r, c->fn, c->label))
			continue;
		if (strcmp(r->action, "fail") == 0) {
			rv = faulty_rule_code(r);
		} else if (strcmp(r->action, "break") == 0) {
			rv = faulty_rule_code(r);
			make_broken(rv);
		} else if (waiting) {
			continue;
		} else if (strcmp(r->action, "delay") == 0) {
			rv = faulty_wait(c, r->line, strtol(r->arg, NULL, 10));
		} else if (strcmp(r->action, "fail-once") == 0) {
			if (faulty_once_fire(r->line))
				rv = faulty_rule_code(r);
		} else if (strcmp(r->action, "logout-once") == 0) {
			/* another application's C_Logout, as a shared card would see it: the
			 * token's every session is logged out, then the call goes on */
			if (c->kind == FAULTY_SESSION && faulty_once_fire(r->line))
				(void)faulty_real->C_Logout(c->h);
		} else {
			faulty_misbehave(r);
		}
		if (rv != CKR_OK)
			return rv;
	}
	return CKR_OK;
}

static void
leave(struct faulty_call *c)
{
	if (c->sess >= 0) {
		pthread_mutex_lock(&faulty_mu);
		c->dead |= faulty_sess_leave_locked(c->sess);
		pthread_mutex_unlock(&faulty_mu);
		c->sess = -1;
	}
}

/*
 * The start of a wrapped call: the control file is read (slot changes take effect), the
 * call traced and given its token's pinpad line (if any), then refused if the module is
 * not initialised or broken, the session dead, the slot unknown or empty; then the rules.
 * CKR_OK: go on to SoftHSM, then faulty_end.
 */
CK_RV
faulty_begin(struct faulty_call *c)
{
	struct faulty_ctl *ctl = faulty_ctl_read();
	const struct faulty_pinpad *pp;
	int init, declared = 0;
	CK_RV rv = CKR_OK, brk;

	c->sess = -1;
	c->dead = 0;
	c->vslot = 0;
	c->vgen = 0;
	c->present = 0;
	c->real_slot = c->slot;
	c->label[0] = '\0';
	memset(&c->pinpad, 0, sizeof(c->pinpad));
	if (ctl == NULL) {
		faulty_trace(c->fn, "");
		return CKR_HOST_MEMORY;
	}
	pthread_mutex_lock(&faulty_mu);
	faulty_sync_locked(ctl);
	init = initialised;
	brk = broken;
	c->epoch = epoch;
	c->virt = faulty_virtual_locked();
	if (c->kind == FAULTY_SESSION) {
		int i = faulty_sess_find_locked(c->h);

		if (i >= 0) {
			struct faulty_session *s = faulty_sess_at(i);

			memcpy(c->label, s->label, 33);
			c->vslot = s->vslot;
			c->dead = s->dead;
			if (init && brk == CKR_OK && !s->dead) {
				s->busy++;  /* faulty_end (or a refusal below) leaves */
				c->sess = i;
			}
		}
	} else if (c->kind != FAULTY_GLOBAL && c->virt) {
		faulty_vslot_locked(c->slot > FAULTY_SLOTS ? 0 : (int)c->slot, &declared, c->label,
		    &c->vgen);
		c->vslot = declared ? (int)c->slot : 0;
	}
	pthread_mutex_unlock(&faulty_mu);
	if (c->kind != FAULTY_GLOBAL && c->kind != FAULTY_SESSION && !c->virt && init)
		faulty_real_label(c->slot, c->label);
	faulty_trace(c->fn, c->label);
	pp = faulty_ctl_pinpad(ctl, c->label);
	if (pp != NULL)
		c->pinpad = *pp;

	if (!init)
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
	else if (brk != CKR_OK)
		rv = brk;
	else if (c->kind == FAULTY_SESSION && c->dead)
		rv = CKR_SESSION_HANDLE_INVALID;
	else if ((c->kind == FAULTY_SLOT || c->kind == FAULTY_TOKEN) && c->virt) {
		if (!declared)
			rv = CKR_SLOT_ID_INVALID;
		else
			c->present = faulty_token_slot(c->label, &c->real_slot) == CKR_OK;
		if (rv == CKR_OK && c->kind == FAULTY_TOKEN && !c->present)
			rv = CKR_TOKEN_NOT_PRESENT;
	} else if (c->kind == FAULTY_SLOT || c->kind == FAULTY_TOKEN) {
		c->present = 1;
	}
	if (rv == CKR_OK)
		rv = rules(ctl, c, 0);
	free(ctl);
	if (rv != CKR_OK)
		leave(c);
	return rv;
}

/* The end of a call that went to SoftHSM: a session that died meanwhile was removed. */
CK_RV
faulty_end(struct faulty_call *c, CK_RV rv)
{
	leave(c);
	return c->dead ? CKR_DEVICE_REMOVED : rv;
}

CK_RV
faulty_C_Initialize(CK_VOID_PTR args)
{
	struct faulty_call c = { .fn = "C_Initialize", .kind = FAULTY_GLOBAL, .sess = -1 };
	struct faulty_ctl *ctl;
	CK_RV rv;

	faulty_trace(c.fn, "");
	if ((ctl = faulty_ctl_read()) == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&faulty_mu);
	rv = initialised ? CKR_CRYPTOKI_ALREADY_INITIALIZED :
	    broken != CKR_OK && ctl->has_break ? ctl->break_rv : CKR_OK;
	c.epoch = epoch;
	pthread_mutex_unlock(&faulty_mu);
	if (rv == CKR_OK)
		rv = rules(ctl, &c, 0);
	if (rv == CKR_OK)
		rv = faulty_real->C_Initialize(args);
	if (rv == CKR_OK) {
		pthread_mutex_lock(&faulty_mu);
		initialised = 1;
		broken = CKR_OK;
		epoch++;
		faulty_sync_locked(ctl);
		faulty_events_baseline_locked();
		pthread_mutex_unlock(&faulty_mu);
	}
	free(ctl);
	return rv;
}

CK_RV
faulty_C_Finalize(CK_VOID_PTR reserved)
{
	struct faulty_call c = { .fn = "C_Finalize", .kind = FAULTY_GLOBAL, .sess = -1 };
	struct faulty_ctl *ctl;
	CK_RV rv;

	faulty_trace(c.fn, "");
	if ((ctl = faulty_ctl_read()) == NULL)
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&faulty_mu);
	rv = initialised ? CKR_OK : CKR_CRYPTOKI_NOT_INITIALIZED;
	c.epoch = epoch;
	pthread_mutex_unlock(&faulty_mu);
	if (rv == CKR_OK)
		rv = rules(ctl, &c, 0);
	free(ctl);
	if (rv != CKR_OK)
		return rv;
	pthread_mutex_lock(&faulty_mu);
	initialised = 0;
	epoch++;
	faulty_sess_drop_all_locked();
	pthread_cond_broadcast(&faulty_cv);  /* C_WaitForSlotEvent returns */
	pthread_mutex_unlock(&faulty_mu);
	return faulty_real->C_Finalize(reserved);
}

CK_RV
faulty_C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
	struct faulty_call c = { .fn = "C_WaitForSlotEvent", .kind = FAULTY_GLOBAL };
	CK_RV rv = faulty_begin(&c);

	if (rv != CKR_OK)
		return rv;
	if (slot == NULL || reserved != NULL)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&faulty_mu);
	if (!(flags & CKF_DONT_BLOCK))
		watch_start_locked();
	pthread_mutex_unlock(&faulty_mu);
	for (;;) {
		struct faulty_ctl *ctl;
		struct timespec until;
		unsigned long gen;
		int n;

		pthread_mutex_lock(&faulty_mu);
		gen = file_gen;  /* a change from here on is not missed */
		pthread_mutex_unlock(&faulty_mu);
		ctl = faulty_ctl_read();
		if (ctl == NULL)
			return CKR_HOST_MEMORY;
		rv = ctl->events_off ? CKR_FUNCTION_NOT_SUPPORTED : rules(ctl, &c, 1);
		pthread_mutex_lock(&faulty_mu);
		faulty_sync_locked(ctl);
		free(ctl);
		if (rv == CKR_OK)
			rv = interrupted_locked(&c);
		if (rv == CKR_OK && (n = faulty_events_take_locked()) > 0) {
			*slot = (CK_SLOT_ID)n;
		} else if (rv == CKR_OK && (flags & CKF_DONT_BLOCK)) {
			rv = CKR_NO_EVENT;
		} else if (rv == CKR_OK && watching) {
			/* woken by a file change, another call seeing a change, a break or
			 * C_Finalize (all broadcast faulty_cv) */
			while (watching && gen == file_gen && interrupted_locked(&c) == CKR_OK &&
			    !faulty_events_pending_locked())
				pthread_cond_wait(&faulty_cv, &faulty_mu);
			if ((rv = interrupted_locked(&c)) == CKR_OK &&
			    (n = faulty_events_take_locked()) > 0) {
				*slot = (CK_SLOT_ID)n;
			} else if (rv == CKR_OK) {
				pthread_mutex_unlock(&faulty_mu);
				continue;
			}
		} else if (rv == CKR_OK) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += FAULTY_WAIT_TICK_MS * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&faulty_cv, &faulty_mu, &until);
			if ((rv = interrupted_locked(&c)) == CKR_OK &&
			    (n = faulty_events_take_locked()) > 0) {
				*slot = (CK_SLOT_ID)n;
			} else if (rv == CKR_OK) {
				pthread_mutex_unlock(&faulty_mu);
				continue;
			}
		}
		pthread_mutex_unlock(&faulty_mu);
		return rv;
	}
}
