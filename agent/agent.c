/* agent.c — the agent's life cycle and its event loop. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "agent.h"
#include "audit.h"
#include "batch.h"
#include "conn.h"
#include "dispatch.h"
#include "job.h"
#include "kyso_err.h"
#include "listen.h"
#include "log.h"
#include "logind.h"
#include "logins.h"
#include "monotime.h"
#include "p11.h"
#include "record.h"
#include "sockpath.h"
#include "tokens.h"
#include "usb.h"
#include "web.h"
#include "whois_async.h"

/* How long the initial token scans may delay serving before the agent serves anyway. */
#define READY_TIMEOUT_MS 15000
/* After accept failed (out of descriptors), listening resumes when a connection closes,
 * or after this long (a descriptor freed elsewhere: a dialog ended, a module closed one). */
#define ACCEPT_RETRY_MS 1000

static int
agent_watch(struct agent *a, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(a->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ? KYSO_OK : KYSO_ERR_IO;
}

/*
 * Loads the modules the policy lists (instead of p11-kit's registered ones: a module the
 * administrator left out is never even opened). One that fails is skipped with a warning.
 */
static int
agent_modules_listed(struct agent *a, const struct agent_options *o)
{
	char err[512];

	if ((a->modules = calloc(o->nmodule_list + 1, sizeof(*a->modules))) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < o->nmodule_list; i++) {
		if (p11_module_load(o->module_list[i], &a->modules[a->nmodules], err,
		    sizeof(err)) != KYSO_OK) {
			log_warn("PKCS#11 module %s (allowed by the policy) not loaded: %s",
			    o->module_list[i], err);
			continue;
		}
		a->nmodules++;
		log_info("loaded PKCS#11 module %s (the policy's list)", o->module_list[i]);
	}
	return KYSO_OK;
}

static int
agent_modules(struct agent *a, const struct agent_options *o, char *err, size_t errlen)
{
	char real[4096];

	if (o->nmodules == 0 && o->module_list != NULL)
		return agent_modules_listed(a, o);
	if (o->nmodules == 0)
		return p11_modules_load_registered(&a->modules, &a->nmodules);
	if ((a->modules = calloc(o->nmodules, sizeof(*a->modules))) == NULL)
		return KYSO_ERR_NOMEM;
	for (size_t i = 0; i < o->nmodules; i++) {
		const char *path = o->modules[i];
		int r;

		if (o->module_allowed != NULL) {
			if (!o->module_allowed(path, real, sizeof(real), o->module_allowed_arg)) {
				snprintf(err, errlen, "PKCS#11 module %s is not allowed by the policy "
				    "(modules = ... in %s)", path, o->policy.origin != NULL ?
				    o->policy.origin : "kysod.conf");
				return KYSO_ERR_POLICY;
			}
			path = real;  /* the file that was checked, not a name to resolve again */
		}
		r = p11_module_load(path, &a->modules[i], err, errlen);
		if (r != KYSO_OK)
			return r;
		a->nmodules++;
		log_info("loaded PKCS#11 module %s", path);
	}
	return KYSO_OK;
}

/* USB activity (usb.c's thread): a token or reader may have come or gone. */
static void
agent_usb_activity(void *arg)
{
	struct agent *a = arg;

	for (size_t i = 0; i < a->nmodules; i++)
		modwatch_burst(&a->watch[i]);
}

/* Starts a watcher per module: its first scan finds the tokens (tokens.c). */
static int
agent_watchers(struct agent *a)
{
	int poll_allowed;

	if (a->nmodules == 0)
		return KYSO_OK;
	if ((a->watch = calloc(a->nmodules, sizeof(*a->watch))) == NULL)
		return KYSO_ERR_NOMEM;
	poll_allowed = !usb_hotplug_possible();
	if (poll_allowed)
		log_info("no USB hotplug here: modules without slot events are polled every %d ms",
		    MODWATCH_POLL_MS);
	for (size_t i = 0; i < a->nmodules; i++) {
		int r = modwatch_start(&a->watch[i], a->modules[i], &a->done, poll_allowed);

		if (r != KYSO_OK)
			return r;
		a->pending_scans++;
	}
	if (!poll_allowed)
		a->usb = usb_watch_start(agent_usb_activity, a);
	return KYSO_OK;
}

static int
agent_socket(struct agent *a, const struct agent_options *o, char *err, size_t errlen)
{
	char path[256];
	int n, fd;

	n = listen_inherited(a->listen_fds, sizeof(a->listen_fds) / sizeof(a->listen_fds[0]),
	    err, errlen);
	if (n < 0)
		return n;
	if (n > 0) {
		a->nlisten = (size_t)n;
		log_info("using %d socket(s) passed by systemd", n);
		return KYSO_OK;
	}
	if (o->socket_path != NULL)
		snprintf(path, sizeof(path), "%s", o->socket_path);
	else if (sockpath_default(path, sizeof(path)) != KYSO_OK) {
		snprintf(err, errlen, "the default socket path is too long; use --socket");
		return KYSO_ERR_INVALID_ARG;
	}
	if ((fd = listen_create(path, err, errlen)) < 0)
		return fd;
	a->listen_fds[0] = fd;
	a->nlisten = 1;
	if ((a->socket_path = strdup(path)) == NULL)
		return KYSO_ERR_NOMEM;
	log_info("listening on %s", path);
	return KYSO_OK;
}

/* The policy, the audit log, and the session lock and sleep signals of logind. */
static int
agent_accounting(struct agent *a, const struct agent_options *o, char *err, size_t errlen)
{
	char why[256];
	int r;

	a->policy = o->policy;
	if ((r = web_init(a)) != KYSO_OK)
		return r;
	if (o->policy.audit_path != NULL) {
		if ((r = audit_open(o->policy.audit_path, &a->audit, err, errlen)) != KYSO_OK)
			return r;
		audit_watch_inflight(a->audit, &a->done.inflight, AUDIT_GATHER_US);
		log_info("recording every signing request in %s", o->policy.audit_path);
	}
	if (o->logind) {
		if (logind_watch_start(&a->logind, why, sizeof(why)) != KYSO_OK) {
			log_info("logins are not forgotten on session lock or sleep: %s", why);
			a->logind = NULL;
		} else if (agent_watch(a, logind_watch_fd(a->logind), &a->logind) != KYSO_OK) {
			log_warn("cannot watch logind: %s", strerror(errno));
			logind_watch_stop(a->logind);
			a->logind = NULL;
		}
	}
	return KYSO_OK;
}

/* Session locked or the machine going to sleep: every login is forgotten. */
static void
agent_logind(struct agent *a)
{
	int seen = logind_watch_process(a->logind);

	if (seen & LOGIND_LOCK)
		logins_forget_all(a, "the session was locked");
	if (seen & LOGIND_SLEEP)
		logins_forget_all(a, "the machine prepares to sleep");
	if (!logind_watch_alive(a->logind)) {
		log_warn("the connection to logind was lost: logins are no longer forgotten on "
		    "session lock or sleep");
		(void)epoll_ctl(a->epfd, EPOLL_CTL_DEL, logind_watch_fd(a->logind), NULL);
		logind_watch_stop(a->logind);
		a->logind = NULL;
	}
}

int
agent_init(struct agent *a, const struct agent_options *o, char *err, size_t errlen)
{
	const char *env;
	sigset_t mask;
	int r;

	memset(a, 0, sizeof(*a));
	a->epfd = a->sigfd = a->done.efd = a->whois_fd = -1;
	a->ready_fd = o->ready_fd;
	snprintf(err, errlen, "%s", "");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (pthread_sigmask(SIG_BLOCK, &mask, NULL) != 0 ||
	    (a->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (a->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    completions_init(&a->done) != KYSO_OK) {
		snprintf(err, errlen, "cannot set up the event loop: %s", strerror(errno));
		return KYSO_ERR_IO;
	}
	signal(SIGPIPE, SIG_IGN);
	/* bind first: clients that connect during module loading wait in the backlog */
	if ((r = agent_socket(a, o, err, errlen)) != KYSO_OK ||
	    (r = agent_modules(a, o, err, errlen)) != KYSO_OK ||
	    (r = agent_watchers(a)) != KYSO_OK ||
	    (r = agent_watch(a, a->sigfd, &a->sigfd)) != KYSO_OK ||
	    (r = agent_watch(a, a->done.efd, &a->done)) != KYSO_OK) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s", kyso_strerror(r));
		return r;
	}
	if ((env = getenv("KYSO_WHOIS_SOCKET")) != NULL && env[0] != '\0' &&
	    ((r = whois_async_start(&a->whois, &a->whois_fd)) != KYSO_OK ||
	    (r = agent_watch(a, a->whois_fd, &a->whois)) != KYSO_OK)) {
		snprintf(err, errlen, "cannot start asking kysod-whois: %s", kyso_strerror(r));
		return r;
	}
	if (a->nmodules == 0)
		log_warn("no PKCS#11 module is loaded: no token will be seen");
	if ((r = agent_accounting(a, o, err, errlen)) != KYSO_OK)
		return r;
	return KYSO_OK;
}

/* Counts the process's open descriptors (-1 if /proc cannot tell). */
static long
agent_fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	long n = -1;  /* the directory's own descriptor */

	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n - 2;  /* "." and ".." */
}

/*
 * How many clients the descriptor limit leaves room for, once the modules and their
 * tokens are open: the rest less AGENT_FD_RESERVE (a token plugged in later, a dialog's
 * pipes, the audit log reopened). Clients past it wait in the backlog.
 */
static void
agent_conn_cap(struct agent *a)
{
	struct rlimit rl;
	long open = agent_fds_open(), room;

	a->conn_cap = AGENT_MAX_CONNS;
	if (open < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur > (rlim_t)(open + AGENT_FD_RESERVE + AGENT_MAX_CONNS))
		return;
	room = (long)rl.rlim_cur - open - AGENT_FD_RESERVE;
	a->conn_cap = room > 1 ? (size_t)room : 1;
	log_warn("only %lu file descriptors (%ld open): at most %zu clients at once; others wait",
	    (unsigned long)rl.rlim_cur, open, a->conn_cap);
}

/* Starts accepting clients (once the initial scans are done or took too long). */
static void
agent_serve(struct agent *a)
{
	if (a->serving)
		return;
	a->serving = 1;
	agent_conn_cap(a);
	for (size_t i = 0; i < a->nlisten; i++)
		if (agent_watch(a, a->listen_fds[i], &a->listen_fds[i]) != KYSO_OK)
			log_error("cannot watch the listening socket: %s", strerror(errno));
	size_t n = 0;

	for (struct token *t = a->inv.tokens; t != NULL; t = t->next)
		n += t->visible;
	log_info("ready: %zu token(s)", n);
	/* Type=notify: systemd knows the socket serves (nothing without NOTIFY_SOCKET) */
	(void)sd_notifyf(0, "READY=1\nSTATUS=serving, %zu token(s) at start", n);
	if (a->ready_fd >= 0) {
		(void)!write(a->ready_fd, "1", 1);
		close(a->ready_fd);
		a->ready_fd = -1;
	}
}

/*
 * accept failed with a listening socket still readable (EMFILE: out of descriptors): in
 * a level-triggered loop that would spin at full speed, logging each time. The listening
 * sockets leave the epoll set (clients wait in the backlog) until a descriptor is freed
 * or ACCEPT_RETRY_MS pass; said once until an accept works again.
 */
static void
agent_accept_pause(struct agent *a, int err)
{
	if (a->accept_failing) {
		/* said already */
	} else if (err == 0) {
		log_warn("%zu clients connected, as many as the file descriptor limit allows: "
		    "not accepting connections until one is closed; clients wait", a->nconns);
	} else {
		log_warn("%s (%s): not accepting connections until one is freed; clients wait",
		    err == EMFILE || err == ENFILE ? "out of file descriptors" :
		    "cannot accept connections", strerror(err));
	}
	a->accept_failing = 1;
	a->accept_paused = 1;
	a->accept_resume_ms = err == 0 ? LONG_MAX : agent_now_ms() + ACCEPT_RETRY_MS;
	for (size_t i = 0; i < a->nlisten; i++)
		(void)epoll_ctl(a->epfd, EPOLL_CTL_DEL, a->listen_fds[i], NULL);
}

void
agent_fd_freed(struct agent *a)
{
	if (a->accept_paused)
		a->accept_resume_ms = 0;
}

/*
 * A listening socket is readable. While accepting was failing, the clients that waited
 * are taken in one go: the episode ends (said once) when none waits any more.
 */
static void
agent_listener(struct agent *a, int fd)
{
	int r;

	do {
		if (a->nconns >= a->conn_cap) {
			agent_accept_pause(a, 0);
			return;
		}
		if ((r = conn_accept(a, fd)) < 0) {
			agent_accept_pause(a, errno);
			return;
		}
	} while (r > 0 && a->accept_failing);
	if (r == 0 && a->accept_failing) {
		a->accept_failing = 0;
		log_info("accepting connections again: no client waits any more");
	}
}

/* Listens again once it is time. Returns the epoll timeout until then (ms, -1: none). */
static int
agent_accept_resume(struct agent *a)
{
	long now = agent_now_ms();

	if (!a->accept_paused)
		return -1;
	if (a->accept_resume_ms > now)  /* LONG_MAX: until a connection closes */
		return a->accept_resume_ms == LONG_MAX ? -1 : (int)(a->accept_resume_ms - now);
	a->accept_paused = 0;
	for (size_t i = 0; i < a->nlisten; i++)
		if (agent_watch(a, a->listen_fds[i], &a->listen_fds[i]) != KYSO_OK)
			log_error("cannot watch the listening socket: %s", strerror(errno));
	/* take the waiting clients now: when none waits, no event would come to say so */
	for (size_t i = 0; i < a->nlisten && !a->accept_paused; i++)
		agent_listener(a, a->listen_fds[i]);
	return a->accept_paused ? agent_accept_resume(a) : -1;
}

static void
agent_completions(struct agent *a)
{
	struct job *j = completions_take(&a->done), *next;

	for (; j != NULL; j = next) {
		next = j->next;
		if (job_initial(j) && a->pending_scans > 0)
			a->pending_scans--;
		dispatch_complete(a, j);
		job_free(j);
	}
	inventory_reap(&a->inv);
	if (a->pending_scans == 0)
		agent_serve(a);
}

static void
agent_signal(struct agent *a)
{
	struct signalfd_siginfo si;

	while (read(a->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			log_info("SIGHUP: looking for tokens in every module");
			tokens_rescan_all(a, 0);
			continue;
		}
		log_info("%s received: shutting down", strsignal((int)si.ssi_signo));
		(void)sd_notify(0, "STOPPING=1");
		a->stop = 1;
	}
}

/*
 * epoll_wait; right after activity (active), a wait that would block first polls for
 * LOOP_IDLE_SPIN_US: a client's next call usually comes sooner than a sleeping loop
 * would wake up. An idle agent blocks at once.
 */
struct poll_state {
	struct agent *a;
	struct epoll_event *ev;
	int max;
	int n;
};

/* spin_until condition: an event on a socket (stored in st->n), or finished jobs. */
static int
agent_poll_once(void *arg)
{
	struct poll_state *st = arg;

	st->n = epoll_wait(st->a->epfd, st->ev, st->max, 0);
	return st->n != 0 || completions_ready(&st->a->done);
}

static int
agent_wait(struct agent *a, struct epoll_event *ev, int max, int timeout, int active)
{
	struct poll_state st = { a, ev, max, 0 };
	int n;

	if (active && timeout != 0 && spin_until(agent_poll_once, &st, LOOP_IDLE_SPIN_US))
		return st.n;
	if (timeout != 0 && !completions_sleep(&a->done))
		return 0;  /* jobs finished meanwhile: the caller takes them */
	n = epoll_wait(a->epfd, ev, max, timeout);
	completions_awake(&a->done);
	return n;
}

long
agent_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec;
}

long
agent_now_ms(void)
{
	return (long)mono_now_ms();
}

/* The shorter of two epoll timeouts (-1: none). */
static int
agent_min_timeout(int t1, int t2)
{
	if (t1 < 0)
		return t2;
	if (t2 < 0)
		return t1;
	return t1 < t2 ? t1 : t2;
}

int
agent_run(struct agent *a)
{
	struct epoll_event ev[64];
	int timeout = -1, active = 0;
	/* until then the first scans are waited for; agent_wait also returns 0 when jobs
	 * finished meanwhile, which is not the end of the wait */
	long ready_by = agent_now_ms() + READY_TIMEOUT_MS;

	if (a->pending_scans == 0)
		agent_serve(a);
	while (!a->stop) {
		long left = ready_by - agent_now_ms();
		int n = 0, polled = 0;

		/*
		 * A job in flight on a fast token ends sooner than a sleeping loop wakes up:
		 * poll for it, and for the sockets meanwhile, so that other clients' calls
		 * (which may share the token's sessions, or its fsync) are read at once, not
		 * after the job in flight.
		 */
		if (a->serving && timeout != 0 && atomic_load(&a->done.inflight) > 0 &&
		    atomic_load(&a->done.job_us) < LOOP_SPIN_MAX_US) {
			struct poll_state st = { a, ev, 64, 0 };

			if (spin_until(agent_poll_once, &st, atomic_load(&a->done.job_us) + 50) &&
			    st.n != 0) {
				n = st.n;
				polled = 1;
			}
		}
		if (completions_ready(&a->done)) {
			/* finished jobs are taken here: the eventfd is written only when the
			 * loop sleeps (completions_sleep) */
			agent_completions(a);
			timeout = 0;  /* still look at the sockets, without sleeping */
		}
		if (!polled)
			n = agent_wait(a, ev, 64, a->serving ? timeout : left > 0 ? (int)left : 0,
			    active);
		active = n > 0;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("epoll_wait: %s", strerror(errno));
			return KYSO_ERR_IO;
		}
		if (n == 0 && !a->serving && agent_now_ms() >= ready_by) {
			log_warn("%d token(s) still scanning after %d s; serving anyway",
			    a->pending_scans, READY_TIMEOUT_MS / 1000);
			agent_serve(a);
		}
		for (int i = 0; i < n; i++) {
			void *tag = ev[i].data.ptr;

			if (tag == &a->sigfd)
				agent_signal(a);
			else if (tag == &a->logind)
				agent_logind(a);
			else if (tag == &a->whois)
				conn_whois_answers(a);
			else if (tag == &a->done) {
				completions_clear_wakeup(&a->done);
				agent_completions(a);
			}
			else if (tag >= (void *)&a->listen_fds[0] &&
			    tag < (void *)&a->listen_fds[a->nlisten]) {
				agent_listener(a, *(int *)tag);
			} else
				conn_event(a, tag, ev[i].events);
		}
		timeout = conn_housekeeping(a);  /* waiting calls, unfinished messages */
		timeout = agent_min_timeout(timeout, logins_expire(a));
		conn_reap(a);  /* never inside a batch: later events may name a dropped conn */
		if (a->serving)
			timeout = agent_min_timeout(timeout, agent_accept_resume(a));
		if (a->whois != NULL)  /* connections accepted just now may wait for a name */
			timeout = agent_min_timeout(timeout, conn_naming_timeout(a));
	}
	return KYSO_OK;
}

/*
 * At shutdown: the Sign requests that were still waiting for their token never ran; they
 * are recorded as refused (nobody is left to answer).
 */
static void
agent_record_unserved(struct agent *a)
{
	struct job *j, *next;

	if (a->done.efd < 0)
		return;
	for (j = completions_take(&a->done); j != NULL; j = next) {
		next = j->next;
		if (job_signs(j) && !job_sign_part(j)->recorded) {
			j->result = KYSO_ERR_CANCELLED;
			snprintf(j->why, sizeof(j->why), "kysod stopped before the token signed");
			record_sign_job(j, &j->token->desc);
		}
		job_free(j);
	}
}

void
agent_free(struct agent *a)
{
	int left_behind = 0;

	usb_watch_stop(a->usb);
	a->usb = NULL;
	logind_watch_stop(a->logind);
	a->logind = NULL;
	whois_async_stop(a->whois);  /* its descriptor goes with it */
	a->whois = NULL;
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		worker_retire(t->worker);
		t->worker = NULL;
	}
	/* a web page's question still on screen ends; its thread still posts to a->done */
	if (!web_free(a))
		left_behind = 1;
	for (size_t i = 0; i < a->nmodules; i++) {
		/* a thread still inside a module forbids unloading it; the process ends anyway */
		if (a->watch == NULL || modwatch_stop(&a->watch[i]))
			p11_module_free(a->modules[i]);
		else
			left_behind = 1;
	}
	agent_record_unserved(a);
	batch_stop_all(a);  /* before the audit log closes: their unsent documents */
	/* a thread left behind still points to its watcher and the completion queue: they
	 * stay allocated until the process ends */
	if (!left_behind) {
		if (a->audit != NULL)
			log_info("audit log: %llu record(s) written, %lu fsync(s)",
			    audit_records(a->audit), audit_syncs(a->audit));
		audit_close(a->audit);  /* a worker left behind may still write a record */
		free(a->watch);
		if (a->done.efd >= 0)
			completions_free(&a->done);
	}
	free(a->modules);
	conn_drop_all(a);
	inventory_free(&a->inv);
	for (size_t i = 0; i < a->nlisten; i++)
		close(a->listen_fds[i]);
	if (a->socket_path != NULL) {
		(void)unlink(a->socket_path);
		free(a->socket_path);
	}
	if (a->ready_fd >= 0)
		close(a->ready_fd);
	if (a->sigfd >= 0)
		close(a->sigfd);
	if (a->epfd >= 0)
		close(a->epfd);
	memset(a, 0, sizeof(*a));
}
