/*
 * pinentry_proc.c — the pinentry process (see pinentry_internal.h): libassuan set up with
 * allocators that wipe what it frees (its line buffers see the PIN), no logging and system
 * hooks of our own (close-on-exec pipes, the child started with posix_spawnp, no SIGPIPE,
 * reaping left to us); the libraries' initialisation; the watchdog thread per dialog that
 * kills a pinentry that outlives its timeout or is aborted; the end of the child (BYE,
 * waiting, reaping, how it ended); and the escaping of texts for Assuan lines
 * (pinentry_escape).
 */
#include <assuan.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "monotime.h"
#include "pinentry.h"
#include "pinentry_internal.h"

extern char **environ;

#define BYE_WAIT_MS 500  /* after BYE, how long a pinentry may take to leave by itself */

/* ---- time ---- */

static struct timespec
ts_after_ms(const struct timespec *t, long ms)
{
	return ts_add_ms(*t, ms);
}

static int
ts_passed(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* ---- libassuan set-up: allocators that wipe, no logging, our system hooks ---- */

static void
wipe_free(void *p)
{
	if (p != NULL) {
		explicit_bzero(p, malloc_usable_size(p));
		free(p);
	}
}

static void *
wipe_realloc(void *p, size_t n)
{
	size_t old;
	void *q;

	if (p == NULL)
		return malloc(n);
	old = malloc_usable_size(p);
	q = malloc(n ? n : 1);
	if (q == NULL)
		return NULL;
	memcpy(q, p, old < n ? old : n);
	wipe_free(p);
	return q;
}

static struct assuan_malloc_hooks wipe_hooks = { malloc, wipe_realloc, wipe_free };

static int
log_none(assuan_context_t ctx, void *hook, unsigned int cat, const char *msg)
{
	(void)ctx, (void)hook, (void)cat, (void)msg;
	return 0;
}

/* Pipes close-on-exec, and never on 0-2 (the child's dup2s must not clash). */
static int
hook_pipe(assuan_context_t ctx, assuan_fd_t fd[2], int inherit_idx)
{
	int p[2], i, n, e;

	(void)ctx, (void)inherit_idx;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	for (i = 0; i < 2; i++) {
		if (p[i] > 2)
			continue;
		n = fcntl(p[i], F_DUPFD_CLOEXEC, 3);
		if (n < 0) {
			e = errno;
			close(p[0]), close(p[1]);
			errno = e;
			return -1;
		}
		close(p[i]);
		p[i] = n;
	}
	fd[0] = p[0], fd[1] = p[1];
	return 0;
}

static ssize_t
hook_read(assuan_context_t ctx, assuan_fd_t fd, void *buf, size_t n)
{
	ssize_t r;

	(void)ctx;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	return r;
}

/* A write to a pinentry that died raises SIGPIPE: blocked here and consumed. */
static ssize_t
hook_write(assuan_context_t ctx, assuan_fd_t fd, const void *buf, size_t n)
{
	static const struct timespec zero;
	sigset_t pipe_set, old, pending;
	int was_pending, e;
	ssize_t r;

	(void)ctx;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	do
		r = write(fd, buf, n);
	while (r < 0 && errno == EINTR);
	e = errno;
	if (r < 0 && e == EPIPE && !was_pending)
		while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return r;
}

static int
hook_spawn(assuan_context_t ctx, pid_t *r_pid, const char *name, const char **argv,
    assuan_fd_t fd_in, assuan_fd_t fd_out, assuan_fd_t *fd_child_list,
    void (*atfork)(void *, int), void *atforkvalue, unsigned int flags)
{
	static const int defaults[] = { SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD,
		SIGUSR1, SIGUSR2, SIGALRM };
	struct pinentry_dialog *d = assuan_get_pointer(ctx);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, def;
	size_t i;
	pid_t pid;
	int rc;

	(void)fd_child_list, (void)atfork, (void)atforkvalue, (void)flags;
	if (name == NULL || d == NULL) {  /* assuan's fork-without-exec: not for us */
		errno = EINVAL;
		return -1;
	}
	sigemptyset(&none);
	sigemptyset(&def);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		sigaddset(&def, defaults[i]);
	if (posix_spawn_file_actions_init(&fa) != 0) {
		errno = ENOMEM;
		return -1;
	}
	if (posix_spawnattr_init(&at) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = ENOMEM;
		return -1;
	}
	/* these fail only for want of memory */
	rc = posix_spawn_file_actions_adddup2(&fa, fd_in, 0) ||
	    posix_spawn_file_actions_adddup2(&fa, fd_out, 1) ||
	    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0) ||
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
	    /* descriptors others opened without O_CLOEXEC (module sockets...) */
	    posix_spawn_file_actions_addclosefrom_np(&fa, 3) ||
#endif
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) ||
	    posix_spawnattr_setsigmask(&at, &none) ||
	    posix_spawnattr_setsigdefault(&at, &def) ? ENOMEM : 0;
	if (rc == 0)
		rc = posix_spawnp(&pid, name, &fa, &at, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		d->spawn_err = rc;
		errno = rc;
		return -1;
	}
	pthread_mutex_lock(&d->mu);
	d->pid = pid;
	if (d->killed != KILL_NONE)  /* aborted while it started */
		pinproc_kill_locked(d, d->killed);
	pthread_mutex_unlock(&d->mu);
	*r_pid = pid;
	return 0;
}

/* We reap our children ourselves (pinproc_reap), once we can no longer signal them. */
static pid_t
hook_waitpid(assuan_context_t ctx, pid_t pid, int nowait, int *status, int options)
{
	(void)ctx, (void)pid, (void)nowait, (void)status, (void)options;
	return 0;
}

static struct assuan_system_hooks sys_hooks = {
	ASSUAN_SYSTEM_HOOKS_VERSION, __assuan_usleep, hook_pipe, __assuan_close, hook_read,
	hook_write, __assuan_recvmsg, __assuan_sendmsg, hook_spawn, hook_waitpid,
	__assuan_socketpair, __assuan_socket, __assuan_connect,
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_ok;

static void
init_libs(void)
{
	init_ok = gpg_error_check_version(NULL) != NULL && assuan_check_version(NULL) != NULL;
}

int
pinproc_init(void)
{
	pthread_once(&init_once, init_libs);
	return init_ok;
}

gpg_error_t
pinproc_ctx_new(struct pinentry_dialog *d)
{
	gpg_error_t err;

	err = assuan_new_ext(&d->ctx, GPG_ERR_SOURCE_DEFAULT, &wipe_hooks, log_none, NULL);
	if (err)
		return err;
	assuan_set_flag(d->ctx, ASSUAN_NO_LOGGING, 1);
	assuan_set_flag(d->ctx, ASSUAN_NO_FIXSIGNALS, 1);
	assuan_set_flag(d->ctx, ASSUAN_NO_WAITPID, 1);
	assuan_ctx_set_system_hooks(d->ctx, &sys_hooks);
	assuan_set_pointer(d->ctx, d);
	return 0;
}

/* ---- killing, the watchdog ---- */

void
pinproc_kill_locked(struct pinentry_dialog *d, int reason)
{
	if (d->killed == KILL_NONE)
		d->killed = reason;
	if (d->pid > 0 && !d->termed) {
		kill(d->pid, SIGTERM);
		d->termed = 1;
		clock_gettime(CLOCK_MONOTONIC, &d->term_at);
	}
	pthread_cond_signal(&d->cv);
}

enum { ACT_NONE, ACT_KILL, ACT_TERM, ACT_TIMEOUT };

/* What the watchdog does next, and when (d->mu held). */
static int
next_act(const struct pinentry_dialog *d, struct timespec *until)
{
	if (d->termed && !d->hard) {
		*until = ts_after_ms(&d->term_at, PINENTRY_KILL_GRACE_MS);
		return ACT_KILL;
	}
	if (!d->termed && d->bye && d->pid > 0) {
		*until = ts_after_ms(&d->bye_at, BYE_WAIT_MS);
		return ACT_TERM;
	}
	if (!d->bye && d->killed == KILL_NONE && d->limit_ms > 0) {
		*until = d->deadline;
		return ACT_TIMEOUT;
	}
	return ACT_NONE;
}

/*
 * One per dialog, until its child is gone: kills it at the deadline, when it outstays
 * BYE, and with SIGKILL when SIGTERM was not enough. The child is reaped only after this
 * thread ended, so its pid cannot be reused while we may signal it.
 */
void *
pinproc_watchdog(void *arg)
{
	struct pinentry_dialog *d = arg;
	struct timespec until;
	int act;

	pthread_mutex_lock(&d->mu);
	while (!d->done) {
		act = next_act(d, &until);
		if (act == ACT_NONE)
			pthread_cond_wait(&d->cv, &d->mu);
		else if (!ts_passed(&until))
			pthread_cond_timedwait(&d->cv, &d->mu, &until);
		else if (act == ACT_KILL) {
			kill(d->pid, SIGKILL);
			d->hard = 1;
		} else {
			pinproc_kill_locked(d, act == ACT_TIMEOUT ? KILL_TIMEOUT : KILL_NONE);
		}
	}
	pthread_mutex_unlock(&d->mu);
	return NULL;
}

/* (Re)starts the timeout: at the start, and again when the question is put. */
void
pinproc_arm(struct pinentry_dialog *d)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&d->mu);
	d->deadline = ts_after_ms(&now, d->limit_ms);
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* ---- the end of the child ---- */

pid_t
pinproc_bye(struct pinentry_dialog *d)
{
	siginfo_t si;
	pid_t pid;

	assuan_release(d->ctx);  /* BYE (no answer awaited), closes the pipes; NULL ok */
	d->ctx = NULL;
	pthread_mutex_lock(&d->mu);
	pid = d->pid;
	d->bye = 1;
	clock_gettime(CLOCK_MONOTONIC, &d->bye_at);
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	if (pid > 0)  /* wait for the exit but leave the zombie: the pid stays ours */
		while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 && errno == EINTR)
			;
	return pid;
}

/* The child is reaped only once the watchdog ended, so its pid is never reused under it. */
int
pinproc_reap(struct pinentry_dialog *d, pid_t pid)
{
	int status = -1;

	pthread_mutex_lock(&d->mu);
	d->done = 1;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	pthread_join(d->wd, NULL);
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	d->pid = 0;
	return status;
}

void
pinproc_describe_status(int status, char *buf, size_t len)
{
	const char *sig;

	if (status != -1 && WIFEXITED(status)) {
		snprintf(buf, len, " (exit status %d)", WEXITSTATUS(status));
	} else if (status != -1 && WIFSIGNALED(status)) {
		sig = sigabbrev_np(WTERMSIG(status));
		snprintf(buf, len, " (killed by SIG%s)", sig ? sig : "?");
	} else {
		buf[0] = '\0';
	}
}

/* ---- escaping ---- */

static int
needs_escape(unsigned char c, int first)
{
	/* a leading space would be eaten by the server's argument parsing */
	return c < 0x20 || c == 0x7f || c == '%' || (first && c == ' ');
}

size_t
pinentry_escape(const char *src, char *dst, size_t room)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *s = (const unsigned char *)src;
	size_t full = 0, out = 0, limit, i, j, u, need;

	if (room < 4)
		return (size_t)-1;
	for (i = 0; s[i]; i++)
		full += needs_escape(s[i], i == 0) ? 3 : 1;
	/* if it all fits take it all, else keep room for the ellipsis (3 bytes) */
	limit = full <= room - 1 ? room - 1 : room - 1 - 3;
	for (i = 0; s[i]; i += u) {
		u = 1;  /* one character: a UTF-8 lead byte and its continuation bytes */
		if (s[i] >= 0xc0)
			while (u < 4 && (s[i + u] & 0xc0) == 0x80)
				u++;
		for (need = 0, j = i; j < i + u; j++)
			need += needs_escape(s[j], j == 0) ? 3 : 1;
		if (out + need > limit)
			break;
		for (j = i; j < i + u; j++) {
			if (needs_escape(s[j], j == 0)) {
				dst[out++] = '%';
				dst[out++] = hex[s[j] >> 4];
				dst[out++] = hex[s[j] & 15];
			} else {
				dst[out++] = (char)s[j];
			}
		}
	}
	if (s[i] != '\0') {
		memcpy(dst + out, "\xe2\x80\xa6", 3);  /* … */
		out += 3;
	}
	dst[out] = '\0';
	return out;
}
