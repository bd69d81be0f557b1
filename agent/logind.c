/* logind.c — session lock and sleep from systemd-logind's signals, read with sd-bus (see logind.h). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "kyso_err.h"
#include "logind.h"

#define SESSION_PATH "/org/freedesktop/login1/session"

/* Lock on any session object; the callback decides which sessions count. */
#define LOCK_MATCH "type='signal',interface='org.freedesktop.login1.Session',member='Lock'," \
	"path_namespace='" SESSION_PATH "'"

struct logind_watch {
	sd_bus *bus;
	int epfd;           /* our own epoll set holding the bus fd: what the loop watches */
	uint32_t events;    /* what the bus fd is watched for in it now */
	int seen;           /* LOGIND_* since the last logind_watch_process */
	int alive;
};

int
logind_lock_counts(const char *path, char *const *sessions)
{
	size_t n = strlen(SESSION_PATH);

	if (path == NULL || strncmp(path, SESSION_PATH "/", n + 1) != 0 || path[n + 1] == '\0')
		return 0;
	if (sessions == NULL || sessions[0] == NULL)
		return 1;  /* logind cannot tell whose session: forgetting is always safe */
	for (size_t i = 0; sessions[i] != NULL; i++) {
		char *p = NULL;
		int same;

		if (sd_bus_path_encode(SESSION_PATH, sessions[i], &p) < 0)
			continue;
		same = strcmp(p, path) == 0;
		free(p);
		if (same)
			return 1;
	}
	return 0;
}

static int
on_lock(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind_watch *w = arg;
	char **sessions = NULL;
	int n;

	(void)err;
	/* asked at each Lock (a cheap file read): sessions opened after start count too */
	n = sd_uid_get_sessions(getuid(), 0, &sessions);
	if (logind_lock_counts(sd_bus_message_get_path(m), n > 0 ? sessions : NULL))
		w->seen |= LOGIND_LOCK;
	if (sessions != NULL) {
		for (char **s = sessions; *s != NULL; s++)
			free(*s);
		free(sessions);
	}
	return 0;
}

static int
on_sleep(sd_bus_message *m, void *arg, sd_bus_error *err)
{
	struct logind_watch *w = arg;
	int going = 0;

	(void)err;
	/* true: about to sleep; false: resuming. Another signature: not logind's, ignored */
	if (sd_bus_message_read(m, "b", &going) >= 0 && going)
		w->seen |= LOGIND_SLEEP;
	return 0;
}

/* The bus died or failed: close it (its fd leaves our epoll set, which never wakes again). */
static void
watch_dead(struct logind_watch *w)
{
	w->alive = 0;
	sd_bus_close(w->bus);
}

/* Watches the bus fd for what sd-bus needs now (EPOLLOUT only while it has unsent data). */
static int
watch_events(struct logind_watch *w)
{
	int fd = sd_bus_get_fd(w->bus), ev = sd_bus_get_events(w->bus);
	struct epoll_event e = { .events = 0 };

	if (fd < 0 || ev < 0)
		return fd < 0 ? fd : ev;
	e.events = EPOLLIN | ((ev & POLLOUT) ? EPOLLOUT : 0);
	e.data.fd = fd;
	if (e.events == w->events)
		return 0;
	if (epoll_ctl(w->epfd, w->events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &e) != 0)
		return -errno;
	w->events = e.events;
	return 0;
}

int
logind_watch_process(struct logind_watch *w)
{
	int seen, r = 0;

	if (w == NULL)
		return 0;
	for (int i = 0; w->alive && i < LOGIND_PROCESS_MAX; i++) {
		if ((r = sd_bus_process(w->bus, NULL)) <= 0)
			break;
	}
	/* a hang-up is read as an end of file, then a synthetic Disconnected: not open */
	if (w->alive && (r < 0 || sd_bus_is_open(w->bus) <= 0 || watch_events(w) < 0))
		watch_dead(w);
	seen = w->seen;
	w->seen = 0;
	return seen;
}

static int
fail(struct logind_watch *w, int r, char *why, size_t whylen, const char *what, int err)
{
	snprintf(why, whylen, "%s: %s", what, strerror(err));
	logind_watch_stop(w);
	return r;
}

static int
bus_connect(sd_bus **bus, const char *addr)
{
	int r;

	if (addr == NULL)
		return sd_bus_open_system_with_description(bus, "kysod-logind");
	if ((r = sd_bus_new(bus)) < 0)
		return r;
	if ((r = sd_bus_set_address(*bus, addr)) < 0 || (r = sd_bus_set_bus_client(*bus, 1)) < 0 ||
	    (r = sd_bus_set_description(*bus, "kysod-logind")) < 0 || (r = sd_bus_start(*bus)) < 0) {
		*bus = sd_bus_unref(*bus);
		return r;
	}
	return 0;
}

int
logind_watch_start(struct logind_watch **out, char *why, size_t whylen)
{
	const char *addr = getenv("KYSO_LOGIND_BUS");
	char what[160];
	struct logind_watch *w;
	int r;

	snprintf(why, whylen, "%s", "");
	if (out == NULL)
		return fail(NULL, KYSO_ERR_INVALID_ARG, why, whylen, "logind_watch_start", EINVAL);
	*out = NULL;
	if (addr != NULL && addr[0] == '\0')
		addr = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return fail(NULL, KYSO_ERR_NOMEM, why, whylen, "cannot watch logind", ENOMEM);
	w->epfd = -1;
	if (addr != NULL)
		snprintf(what, sizeof(what), "cannot connect to the bus at %.100s (KYSO_LOGIND_BUS)",
		    addr);
	else
		snprintf(what, sizeof(what), "cannot connect to the system bus");
	if ((r = bus_connect(&w->bus, addr)) < 0)
		return fail(w, KYSO_ERR_IO, why, whylen, what, -r);
	w->alive = 1;
	/* never exit() on a disconnect: the watcher is marked dead and the agent goes on */
	(void)sd_bus_set_exit_on_disconnect(w->bus, 0);
	(void)sd_bus_set_method_call_timeout(w->bus, (uint64_t)LOGIND_START_TIMEOUT_MS * 1000);
	/* synchronous AddMatch calls (their replies also tell that the bus works) */
	if ((r = sd_bus_add_match(w->bus, NULL, LOCK_MATCH, on_lock, w)) < 0 ||
	    (r = sd_bus_match_signal(w->bus, NULL, NULL, "/org/freedesktop/login1",
	    "org.freedesktop.login1.Manager", "PrepareForSleep", on_sleep, w)) < 0)
		return fail(w, KYSO_ERR_IO, why, whylen, "cannot subscribe to logind's signals", -r);
	if ((r = sd_bus_flush(w->bus)) < 0)
		return fail(w, KYSO_ERR_IO, why, whylen, "cannot subscribe to logind's signals", -r);
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return fail(w, KYSO_ERR_IO, why, whylen, "cannot watch logind", errno);
	if ((r = watch_events(w)) < 0)
		return fail(w, KYSO_ERR_IO, why, whylen, "cannot watch logind", -r);
	/* signals read while waiting for the AddMatch replies sit in sd-bus's queue, where
	 * epoll cannot see them: handle them now (kept in seen for the first process call) */
	w->seen = logind_watch_process(w);
	if (!w->alive)
		return fail(w, KYSO_ERR_IO, why, whylen, "the bus connection dropped at once",
		    ECONNRESET);
	*out = w;
	return KYSO_OK;
}

int
logind_watch_fd(const struct logind_watch *w)
{
	return w != NULL ? w->epfd : -1;
}

int
logind_watch_alive(const struct logind_watch *w)
{
	return w != NULL && w->alive;
}

void
logind_watch_stop(struct logind_watch *w)
{
	if (w == NULL)
		return;
	/* nothing of ours waits to be sent (we send nothing after start): no flush, which
	 * could block on a bus that does not read */
	if (w->bus != NULL)
		w->bus = sd_bus_close_unref(w->bus);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}
