/*
 * rpc_spawn.c — kysod's side of a kyso-p11-helper process (see rpc_helper.h): starting
 * it, its channels, its end and why.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "monotime.h"
#include "rpc.h"
#include "rpc_client.h"
#include "rpc_helper.h"

#ifndef KYSO_HELPER_DIR
#define KYSO_HELPER_DIR "/usr/local/libexec/kyso"
#endif
#define HELPER_NAME "kyso-p11-helper"
#define CHANS_MAX 64

/*
 * The environment a helper gets: what modules are known to read (configuration files,
 * their reader's or server's address, the locale, the user's directories), the
 * sanitizers' options, glibc's tunables (helper_tunables when kysod has none), and the
 * names listed in $KYSO_HELPER_ENV (comma-separated) for a vendor module that needs
 * more. Nothing else of kysod's (its socket, the session's bus, GPG_TTY...).
 */
static const char *const env_keep[] = {
	"HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
	"TZ", "TMPDIR", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
	"XDG_DATA_HOME", "OPENSC_CONF", "OPENSC_DRIVER", "SOFTHSM2_CONF",
	"PCSCLITE_CSOCK_NAME", "P11_KIT_SERVER_ADDRESS", "P11_KIT_DEBUG", "P11_KIT_STRICT",
	"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS",
	"JOURNAL_STREAM",  /* its standard error is kysod's: priorities for the journal */
	"GLIBC_TUNABLES",  /* the administrator's, in place of helper_tunables below */
	NULL,
};

/* Returns 1 if NAME=VALUE entry e is one a helper gets. */
static int
env_wanted(const char *e)
{
	const char *extra = getenv("KYSO_HELPER_ENV"), *eq = strchr(e, '=');
	size_t n = eq != NULL ? (size_t)(eq - e) : strlen(e);

	for (size_t i = 0; env_keep[i] != NULL; i++)
		if (strlen(env_keep[i]) == n && strncmp(env_keep[i], e, n) == 0)
			return 1;
	for (const char *p = extra; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, ",");

		if (len == n && strncmp(p, e, n) == 0)
			return 1;
		p += len;
		p += *p == ',';
	}
	return 0;
}

/*
 * glibc's malloc for a helper, unless kysod's own environment has GLIBC_TUNABLES (then
 * that one): 200 free blocks of each small size kept per thread instead of 7. A module
 * that signs in software (SoftHSM) does it with OpenSSL, which allocates and frees dozens
 * of numbers of a few sizes per signature; they overflow glibc's default per-thread cache
 * into the shared, locked arena. See docs/performance.md for what it saves.
 */
static char helper_tunables[] = "GLIBC_TUNABLES=glibc.malloc.tcache_count=200";

/* The environment a helper gets (pointers into environ), or NULL on ENOMEM. */
static char **
env_build(void)
{
	extern char **environ;
	size_t n = 0;
	char **envp;
	int tunables = 0;

	for (char **e = environ; *e != NULL; e++)
		n++;
	if ((envp = calloc(n + 2, sizeof(*envp))) == NULL)
		return NULL;
	n = 0;
	for (char **e = environ; *e != NULL; e++)
		if (env_wanted(*e)) {
			envp[n++] = *e;
			tunables |= strncmp(*e, "GLIBC_TUNABLES=", 15) == 0;
		}
	if (!tunables)
		envp[n] = helper_tunables;
	return envp;
}

/* The helper's program: beside kysod's own (a build tree), else where make install puts it. */
static int
helper_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		self[n] = '\0';
		snprintf(buf, len, "%s/%s", dirname(self), HELPER_NAME);
		if (access(buf, X_OK) == 0)
			return 0;
	}
	snprintf(buf, len, "%s/%s", KYSO_HELPER_DIR, HELPER_NAME);
	return access(buf, X_OK);
}

/*
 * In the child, between fork and exec (async-signal-safe calls only): the channel on
 * descriptor 3, nothing else open but standard error, signals as they are by default.
 */
static void
child_exec(const char *prog, char *const argv[], char *const envp[], int chan, pid_t parent)
{
	sigset_t none;
	int null;

	(void)prctl(PR_SET_PDEATHSIG, SIGKILL);  /* kysod gone: the helper goes too */
	if (getppid() != parent)
		_exit(127);
	if (chan == 3 ? fcntl(3, F_SETFD, 0) != 0 : chan >= 0 && dup2(chan, 3) < 0)
		_exit(127);
	/* no channel (--registered): standard output is the pipe kysod reads */
	if ((null = open("/dev/null", O_RDWR)) < 0 || dup2(null, 0) < 0 ||
	    (chan >= 0 && dup2(null, 1) < 0))
		_exit(127);
	if (close_range(chan >= 0 ? 4 : 3, ~0U, 0) != 0)
		for (int fd = chan >= 0 ? 4 : 3; fd < 65536; fd++)
			close(fd);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);  /* kysod blocks some for its signalfd */
	signal(SIGPIPE, SIG_DFL);
	execve(prog, argv, envp);
	_exit(127);
}

/* Waits for the process to end; records why; tells the owner when it was not asked to. */
static void *
reaper_main(void *arg)
{
	struct rpc_helper *h = arg;
	void (*fn)(void *) = NULL;
	void *fn_arg = NULL;
	int status = 0;

	while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR)
		;
	pthread_mutex_lock(&h->mu);
	h->ended = 1;
	h->status = status;
	h->cause = rpc_cause(status, h->late, h->broken);
	if (!h->asked) {
		fn = h->on_exit;
		fn_arg = h->on_exit_arg;
		log_warn("PKCS#11 module %s: %s (pid %ld)", h->path, h->cause, (long)h->pid);
	} else {
		log_debug("the helper process of %s (pid %ld) ended", h->path, (long)h->pid);
	}
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	if (fn != NULL)
		fn(fn_arg);
	return NULL;
}

static struct rpc_chan *
chan_new(int fd)
{
	struct rpc_chan *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->fd = fd;
	kbuf_init(&c->out, RPC_FRAME_MAX);
	c->rx.small = c->small;
	c->rx.small_cap = sizeof(c->small);
	kbuf_init(&c->rx.big, RPC_FRAME_MAX);
	return c;
}

void
rpc_chan_free(struct rpc_chan *c)
{
	if (c == NULL)
		return;
	if (c->fd >= 0)
		close(c->fd);
	kbuf_free(&c->out);
	kbuf_free(&c->rx.big);
	explicit_bzero(c->small, sizeof(c->small));
	free(c);
}

int
rpc_helper_spawn(const char *path, struct rpc_helper **out, char *err, size_t errlen)
{
	char prog[PATH_MAX], level[16];
	const char *argv[8];
	char **envp = NULL;
	struct rpc_helper *h = NULL;
	enum log_level lvl;
	size_t argc = 0;
	int sv[2] = { -1, -1 }, use_syslog;
	pid_t parent = getpid();

	*out = NULL;
	if (helper_path(prog, sizeof(prog)) != 0) {
		snprintf(err, errlen, "cannot run PKCS#11 module %s: %s is missing (beside kysod, "
		    "or in %s)", path, HELPER_NAME, KYSO_HELPER_DIR);
		return KYSO_ERR_MODULE;
	}
	if ((envp = env_build()) == NULL || (h = calloc(1, sizeof(*h))) == NULL)
		goto nomem;
	log_settings(&lvl, &use_syslog);
	argv[argc++] = prog;
	snprintf(level, sizeof(level), "%s", lvl == LOG_LVL_ERROR ? "error" : lvl ==
	    LOG_LVL_WARNING ? "warning" : lvl == LOG_LVL_DEBUG ? "debug" : "info");
	argv[argc++] = "--log-level";
	argv[argc++] = level;
	if (use_syslog)
		argv[argc++] = "--syslog";
	if (rpc_no_filter)
		argv[argc++] = "--no-filter";
	argv[argc++] = "--";
	argv[argc++] = path;
	argv[argc] = NULL;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    (h->ctl = chan_new(sv[0])) == NULL) {
		snprintf(err, errlen, "cannot run PKCS#11 module %s: socketpair: %s", path,
		    strerror(errno));
		goto fail;
	}
	sv[0] = -1;
	if ((h->path = strdup(path)) == NULL)
		goto nomem;
	pthread_mutex_init(&h->mu, NULL);
	pthread_mutex_init(&h->ctl_mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->refs = 1;
	if ((h->pid = fork()) < 0) {
		snprintf(err, errlen, "cannot run PKCS#11 module %s: fork: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (h->pid == 0)
		child_exec(prog, (char *const *)argv, envp, sv[1], parent);
	close(sv[1]);
	sv[1] = -1;
	free(envp);
	envp = NULL;
	if (pthread_create(&h->reaper, NULL, reaper_main, h) != 0) {
		kill(h->pid, SIGKILL);
		while (waitpid(h->pid, NULL, 0) < 0 && errno == EINTR)
			;
		snprintf(err, errlen, "cannot run PKCS#11 module %s: no thread", path);
		h->pid = 0;
		goto fail;
	}
	log_debug("%s runs in %s (pid %ld)", path, HELPER_NAME, (long)h->pid);
	*out = h;
	return KYSO_OK;
nomem:
	snprintf(err, errlen, "cannot run PKCS#11 module %s: out of memory", path);
fail:
	if (sv[0] >= 0)
		close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
	if (h != NULL) {
		rpc_chan_free(h->ctl);
		free(h->path);
	}
	free(h);
	free(envp);
	return KYSO_ERR_MODULE;
}

void
rpc_helper_ref(struct rpc_helper *h)
{
	pthread_mutex_lock(&h->mu);
	h->refs++;
	pthread_mutex_unlock(&h->mu);
}

/* Waits until the process ended or ms passed (under mu). Returns 1 if it ended. */
static int
wait_ended_locked(struct rpc_helper *h, long ms)
{
	struct timespec until = clock_after_ms(CLOCK_REALTIME, ms);

	while (!h->ended)
		if (pthread_cond_timedwait(&h->cv, &h->mu, &until) == ETIMEDOUT)
			break;
	return h->ended;
}

void
rpc_helper_unref(struct rpc_helper *h)
{
	struct rpc_chan *c, *next;
	int last;

	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	last = --h->refs == 0;
	if (last) {
		h->asked = 1;
		/* the control channel's end makes the helper finalise and leave */
		if (h->ctl != NULL && h->ctl->fd >= 0) {
			close(h->ctl->fd);
			h->ctl->fd = -1;
		}
		if (!wait_ended_locked(h, RPC_EXIT_GRACE_MS)) {
			log_warn("%s (pid %ld) did not end; killed", HELPER_NAME, (long)h->pid);
			kill(h->pid, SIGKILL);
		}
	}
	pthread_mutex_unlock(&h->mu);
	if (!last)
		return;
	pthread_join(h->reaper, NULL);
	for (c = h->idle; c != NULL; c = next) {
		next = c->next;
		rpc_chan_free(c);
	}
	rpc_chan_free(h->ctl);
	pthread_mutex_destroy(&h->mu);
	pthread_mutex_destroy(&h->ctl_mu);
	pthread_cond_destroy(&h->cv);
	free(h->path);
	free(h);
}

void
rpc_helper_stop(struct rpc_helper *h)
{
	pthread_mutex_lock(&h->mu);
	h->asked = 1;
	pthread_mutex_unlock(&h->mu);
}

void
rpc_helper_on_exit(struct rpc_helper *h, void (*fn)(void *), void *arg)
{
	pthread_mutex_lock(&h->mu);
	h->on_exit = fn;
	h->on_exit_arg = arg;
	pthread_mutex_unlock(&h->mu);
}

void
rpc_helper_kill(struct rpc_helper *h, int late)
{
	pthread_mutex_lock(&h->mu);
	if (!h->ended) {
		if (late)
			h->late = 1;
		else
			h->broken = 1;
		kill(h->pid, SIGKILL);
	}
	pthread_mutex_unlock(&h->mu);
}

const char *
rpc_helper_lost(struct rpc_helper *h)
{
	const char *cause;

	pthread_mutex_lock(&h->mu);
	if (!wait_ended_locked(h, RPC_EXIT_GRACE_MS)) {
		/* it closed a channel yet runs on: it is not behaving */
		h->broken = 1;
		kill(h->pid, SIGKILL);
		(void)wait_ended_locked(h, RPC_EXIT_GRACE_MS);
	}
	cause = h->ended ? h->cause : rpc_cause(0, 0, 1);
	pthread_mutex_unlock(&h->mu);
	return cause;
}

/* A new channel: one end for us, the other passed to the helper (RPC_CHANNEL). */
static struct rpc_chan *
chan_open(struct rpc_helper *h, const char **cause)
{
	struct rpc_chan *c = NULL;
	struct rpc_msg w, r;
	int sv[2], e;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		*cause = "no socket for a channel to the module's helper process";
		return NULL;
	}
	if ((c = chan_new(sv[0])) == NULL) {
		close(sv[0]);
		close(sv[1]);
		*cause = "out of memory";
		return NULL;
	}
	pthread_mutex_lock(&h->ctl_mu);
	rpc_write_begin(&w, &h->ctl->out, RPC_CHANNEL, 0);
	e = rpc_write_end(&w);
	if (e == KYSO_OK)
		e = rpc_exchange(h, h->ctl, &h->ctl->out, RPC_CHANNEL,
		    rpc_deadline_ms(RPC_CHANNEL), sv[1], &r, cause);
	close(sv[1]);
	if (e == KYSO_OK && ((e = rpc_get_i32(&r)) != KYSO_OK || rpc_read_end(&r) != KYSO_OK)) {
		*cause = "the module's helper process could not open a channel";
		e = KYSO_ERR_TOKEN;
	}
	rpc_rx_wipe(&h->ctl->rx);
	pthread_mutex_unlock(&h->ctl_mu);
	if (e != KYSO_OK) {
		rpc_chan_free(c);
		return NULL;
	}
	return c;
}

struct rpc_chan *
rpc_helper_get(struct rpc_helper *h, const char **cause)
{
	struct rpc_chan *c = NULL;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		if (h->ended || h->late || h->broken) {
			*cause = h->ended ? h->cause : rpc_cause(0, h->late, h->broken);
			pthread_mutex_unlock(&h->mu);
			return NULL;
		}
		if (h->idle != NULL) {
			c = h->idle;
			h->idle = c->next;
			c->next = NULL;
			h->refs++;
			pthread_mutex_unlock(&h->mu);
			return c;
		}
		if (h->nchans < CHANS_MAX)
			break;
		/* as many calls in progress as channels allowed: wait for one */
		pthread_cond_wait(&h->cv, &h->mu);
	}
	h->refs++;
	h->nchans++;  /* counted now: another thread must not open one past the cap */
	pthread_mutex_unlock(&h->mu);
	if ((c = chan_open(h, cause)) == NULL) {
		pthread_mutex_lock(&h->mu);
		h->nchans--;
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		rpc_helper_unref(h);
	}
	return c;
}

void
rpc_helper_put(struct rpc_helper *h, struct rpc_chan *c, int broken)
{
	pthread_mutex_lock(&h->mu);
	if (broken || h->ended || h->late || h->broken) {
		h->nchans--;
		rpc_chan_free(c);
	} else {
		c->next = h->idle;
		h->idle = c;
	}
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	rpc_helper_unref(h);
}

int
rpc_list_registered(char ***paths, size_t *n)
{
	char prog[PATH_MAX], *buf = NULL, **out = NULL, **envp;
	const char *argv[4];
	size_t len = 0, cap = 0, count = 0, argc = 0;
	int p[2], status = 0, r = KYSO_OK;
	pid_t pid, parent = getpid();
	ssize_t got;

	*paths = NULL;
	*n = 0;
	if (helper_path(prog, sizeof(prog)) != 0) {
		log_warn("cannot list the modules registered with p11-kit: %s is missing",
		    HELPER_NAME);
		return KYSO_OK;
	}
	argv[argc++] = prog;
	argv[argc++] = "--registered";
	if (rpc_no_filter)
		argv[argc++] = "--no-filter";
	argv[argc] = NULL;
	if ((envp = env_build()) == NULL)
		return KYSO_ERR_NOMEM;
	if (pipe2(p, O_CLOEXEC) != 0) {
		free(envp);
		return KYSO_ERR_IO;
	}
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		free(envp);
		return KYSO_ERR_IO;
	}
	if (pid == 0) {
		if (dup2(p[1], 1) < 0)
			_exit(127);
		child_exec(prog, (char *const *)argv, envp, -1, parent);
	}
	close(p[1]);
	free(envp);
	for (;;) {
		if (len == cap) {
			char *grown = cap < (1u << 20) ? realloc(buf, cap = cap ? cap * 2 : 4096) :
			    NULL;

			if (grown == NULL)
				break;
			buf = grown;
		}
		if ((got = read(p[0], buf + len, cap - len)) <= 0)
			break;
		len += (size_t)got;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		log_warn("cannot list the modules registered with p11-kit: %s", rpc_cause(status,
		    0, 0));
	for (size_t i = 0; i < len; i++)
		count += buf[i] == '\0';
	if ((out = calloc(count + 1, sizeof(*out))) == NULL)
		r = KYSO_ERR_NOMEM;
	count = 0;
	for (size_t i = 0, start = 0; r == KYSO_OK && i < len; i++) {
		if (buf[i] != '\0')
			continue;
		if (i > start && (out[count] = strdup(buf + start)) != NULL)
			count++;
		start = i + 1;
	}
	free(buf);
	if (r != KYSO_OK)
		return r;
	*paths = out;
	*n = count;
	return KYSO_OK;
}
