/*
 * test_logind.c — agent/logind.h on a private D-Bus bus: a dbus-daemon of our own
 * (KYSO_LOGIND_BUS), logind's signals emitted with dbus-send (libdbus, an implementation
 * independent of sd-bus), and the descriptor polled as the agent's loop would. Skipped
 * with a message where dbus-daemon or dbus-send is missing (Debian's dbus package).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "kyso_err.h"
#include "logind.h"

#define WAIT_MS 10000
#define MANAGER "/org/freedesktop/login1"

/* A private bus: its daemon, its directory and its address. */
struct bus {
	pid_t pid;
	char dir[64];
	char addr[512];
};

static struct bus shared = { .pid = -1 };
static char session_path[256];  /* a session of ours, as logind names it */

static int
tool_present(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Starts dbus-daemon on a socket in a fresh directory; returns 0 with b filled, or -1. */
static int
bus_start(struct bus *b)
{
	char conf[128], fdarg[32], logpath[128], line[256];
	FILE *f;
	int p[2];
	size_t n = 0;
	int64_t end;

	snprintf(b->dir, sizeof(b->dir), "/tmp/kyso-logind-XXXXXX");
	if (mkdtemp(b->dir) == NULL)
		return -1;
	snprintf(conf, sizeof(conf), "%s/bus.conf", b->dir);
	if ((f = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(f, "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
	    " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
	    "<busconfig>\n  <type>session</type>\n  <listen>unix:path=%s/bus</listen>\n"
	    "  <auth>EXTERNAL</auth>\n  <policy context=\"default\">\n"
	    "    <allow send_destination=\"*\" eavesdrop=\"true\"/>\n    <allow eavesdrop=\"true\"/>\n"
	    "    <allow own=\"*\"/>\n  </policy>\n</busconfig>\n", b->dir);
	fclose(f);
	if (pipe(p) != 0)
		return -1;
	snprintf(logpath, sizeof(logpath), "%s/daemon.log", b->dir);
	if ((b->pid = fork()) == 0) {
		int log = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		close(p[0]);
		if (log >= 0)
			dup2(log, 2);  /* its complaints (fd limits as root) go to the log */
		snprintf(fdarg, sizeof(fdarg), "--print-address=%d", p[1]);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", fdarg,
		    "--config-file", conf, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	if (b->pid < 0) {
		close(p[0]);
		return -1;
	}
	/* the address, one line */
	end = now_ms() + WAIT_MS;
	while (n < sizeof(b->addr) - 1 && (n == 0 || b->addr[n - 1] != '\n')) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		ssize_t r;

		if (now_ms() >= end || poll(&pfd, 1, (int)(end - now_ms())) <= 0)
			break;
		if ((r = read(p[0], b->addr + n, sizeof(b->addr) - 1 - n)) <= 0)
			break;
		n += (size_t)r;
	}
	close(p[0]);
	b->addr[n] = '\0';
	if (n == 0 || b->addr[n - 1] != '\n') {
		fprintf(stderr, "# dbus-daemon gave no address; its log:\n");
		if ((f = fopen(logpath, "r")) != NULL) {
			while (fgets(line, sizeof(line), f) != NULL)
				fprintf(stderr, "#   %s", line);
			fclose(f);
		}
		return -1;
	}
	b->addr[n - 1] = '\0';
	return 0;
}

static void
bus_stop(struct bus *b, int sig)
{
	char path[128];

	if (b->pid > 0) {
		kill(b->pid, sig);
		waitpid(b->pid, NULL, 0);
		b->pid = -1;
	}
	if (b->dir[0] != '\0') {
		snprintf(path, sizeof(path), "%s/bus.conf", b->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/bus", b->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/daemon.log", b->dir);
		unlink(path);
		rmdir(b->dir);
		b->dir[0] = '\0';
	}
}

/* Emits a signal with dbus-send: path, interface.member, and an optional argument. */
static void
emit(const char *path, const char *name, const char *arg)
{
	char busarg[600];
	pid_t pid;
	int st;

	snprintf(busarg, sizeof(busarg), "--bus=%s", shared.addr);
	if ((pid = fork()) == 0) {
		execlp("dbus-send", "dbus-send", busarg, "--type=signal", path, name, arg,
		    (char *)NULL);
		_exit(127);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/*
 * Polls w's descriptor as the loop would and collects what process returns until all of
 * want was seen or WAIT_MS passed; returns everything seen.
 */
static int
wait_for(struct logind_watch *w, int want)
{
	int64_t end = now_ms() + WAIT_MS;
	int seen = logind_watch_process(w);

	while ((seen & want) != want && now_ms() < end) {
		struct pollfd pfd = { .fd = logind_watch_fd(w), .events = POLLIN };

		if (poll(&pfd, 1, (int)(end - now_ms())) < 0 && errno != EINTR)
			break;
		seen |= logind_watch_process(w);
	}
	return seen;
}

/* Returns 1 if fd becomes readable within ms. */
static int
readable_within(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

/* The number of open descriptors (a watcher that failed or stopped leaves none). */
static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_non_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static struct logind_watch *
watch_on(const struct bus *b)
{
	struct logind_watch *w = NULL;
	char why[256];

	setenv("KYSO_LOGIND_BUS", b->addr, 1);
	if (logind_watch_start(&w, why, sizeof(why)) != KYSO_OK)
		fail_msg("logind_watch_start: %s", why);
	assert_non_null(w);
	assert_true(logind_watch_fd(w) >= 0);
	assert_int_equal(logind_watch_alive(w), 1);
	return w;
}

static void
test_lock_rule(void **state)
{
	char *ours[] = { "3", "c1", NULL }, *none[] = { NULL };

	(void)state;
	/* logind cannot tell: any session path counts, nothing else */
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/_31", NULL), 1);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/c7", none), 1);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session", NULL), 0);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/", NULL), 0);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/sessions/_31", NULL), 0);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1", NULL), 0);
	assert_int_equal(logind_lock_counts(NULL, NULL), 0);
	/* our sessions "3" and "c1" (escaped "_33" and "c1") */
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/_33", ours), 1);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/c1", ours), 1);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/_31", ours), 0);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/session/_33x", ours), 0);
	assert_int_equal(logind_lock_counts("/org/freedesktop/login1/seat/_33", ours), 0);
}

static void
test_lock(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	emit(session_path, "org.freedesktop.login1.Session.Lock", NULL);
	assert_int_equal(wait_for(w, LOGIND_LOCK), LOGIND_LOCK);
	/* reported once: nothing more, and an idle descriptor stays quiet */
	assert_int_equal(logind_watch_process(w), 0);
	assert_false(readable_within(logind_watch_fd(w), 200));
	logind_watch_stop(w);
}

static void
test_sleep(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
	assert_int_equal(wait_for(w, LOGIND_SLEEP), LOGIND_SLEEP);
	assert_int_equal(logind_watch_process(w), 0);
	logind_watch_stop(w);
}

static void
test_lock_and_sleep(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	emit(session_path, "org.freedesktop.login1.Session.Lock", NULL);
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
	assert_int_equal(wait_for(w, LOGIND_LOCK | LOGIND_SLEEP), LOGIND_LOCK | LOGIND_SLEEP);
	logind_watch_stop(w);
}

/*
 * Signals that must not count, each followed by one that does (a Lock, or a sleep when
 * the signal is a Lock look-alike): what arrives before it was handled, and seen nothing.
 */
static void
test_resume_does_not_count(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:false");
	emit(session_path, "org.freedesktop.login1.Session.Lock", NULL);
	assert_int_equal(wait_for(w, LOGIND_LOCK), LOGIND_LOCK);
	logind_watch_stop(w);
}

static void
test_unlock_does_not_count(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	emit(session_path, "org.freedesktop.login1.Session.Unlock", NULL);
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
	assert_int_equal(wait_for(w, LOGIND_SLEEP), LOGIND_SLEEP);
	logind_watch_stop(w);
}

static void
test_lock_lookalikes_do_not_count(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	/* Lock of another interface, Lock on the Manager (no session), another member */
	emit(session_path, "org.example.Screen.Lock", NULL);
	emit(MANAGER, "org.freedesktop.login1.Session.Lock", NULL);
	emit(session_path, "org.freedesktop.login1.Session.PauseDevice", "uint32:1");
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
	assert_int_equal(wait_for(w, LOGIND_SLEEP), LOGIND_SLEEP);
	logind_watch_stop(w);
}

static void
test_sleep_lookalikes_do_not_count(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	/* a string argument, shutdown, another path, another interface, another signal */
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "string:true");
	emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForShutdown", "boolean:true");
	emit("/org/example", "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:true");
	emit(MANAGER, "org.example.Manager.PrepareForSleep", "boolean:true");
	emit(MANAGER, "org.freedesktop.login1.Manager.SessionNew", "string:7");
	emit(session_path, "org.freedesktop.login1.Session.Lock", NULL);
	assert_int_equal(wait_for(w, LOGIND_LOCK), LOGIND_LOCK);
	logind_watch_stop(w);
}

static void
test_many_at_once(void **state)
{
	struct logind_watch *w;

	(void)state;
	w = watch_on(&shared);
	/* more than one process call handles (resumes: the bus routes them to us, they do
	 * not count): the rest keeps the descriptor readable */
	for (int i = 0; i < LOGIND_PROCESS_MAX + 10; i++)
		emit(MANAGER, "org.freedesktop.login1.Manager.PrepareForSleep", "boolean:false");
	emit(session_path, "org.freedesktop.login1.Session.Lock", NULL);
	assert_int_equal(logind_watch_process(w), 0);  /* the first LOGIND_PROCESS_MAX */
	assert_true(readable_within(logind_watch_fd(w), WAIT_MS));
	assert_int_equal(wait_for(w, LOGIND_LOCK), LOGIND_LOCK);
	logind_watch_stop(w);
}

static void
test_no_bus(void **state)
{
	struct logind_watch *w = (struct logind_watch *)&w;  /* must become NULL */
	char why[256];
	int fds = count_fds();

	(void)state;
	setenv("KYSO_LOGIND_BUS", "unix:path=/nonexistent/kyso/bus", 1);
	assert_int_equal(logind_watch_start(&w, why, sizeof(why)), KYSO_ERR_IO);
	assert_null(w);
	assert_non_null(strstr(why, "KYSO_LOGIND_BUS"));
	assert_non_null(strstr(why, "No such file"));
	print_message("# %s\n", why);

	setenv("KYSO_LOGIND_BUS", "not an address", 1);
	assert_int_not_equal(logind_watch_start(&w, why, sizeof(why)), KYSO_OK);
	assert_null(w);
	assert_true(strlen(why) > 10);

	/* a short buffer is cut, not overrun */
	setenv("KYSO_LOGIND_BUS", "unix:path=/nonexistent/kyso/bus", 1);
	assert_int_equal(logind_watch_start(&w, why, 8), KYSO_ERR_IO);
	assert_int_equal(strlen(why), 7);
	assert_int_equal(logind_watch_start(NULL, why, sizeof(why)), KYSO_ERR_INVALID_ARG);
	assert_int_equal(count_fds(), fds);
}

static void
test_null(void **state)
{
	(void)state;
	assert_int_equal(logind_watch_fd(NULL), -1);
	assert_int_equal(logind_watch_process(NULL), 0);
	assert_int_equal(logind_watch_alive(NULL), 0);
	logind_watch_stop(NULL);
}

static void
test_bus_dies(void **state)
{
	struct bus b = { .pid = -1 };
	struct logind_watch *w;
	int fd, fds, seen = 0;
	int64_t end;

	(void)state;
	assert_int_equal(bus_start(&b), 0);
	fds = count_fds();
	w = watch_on(&b);
	fd = logind_watch_fd(w);
	assert_int_equal(logind_watch_process(w), 0);
	bus_stop(&b, SIGKILL);

	/* the loop wakes up, learns that the watcher is dead (nothing seen)... */
	end = now_ms() + WAIT_MS;
	while (logind_watch_alive(w) && now_ms() < end) {
		assert_true(readable_within(fd, (int)(end - now_ms())));
		seen |= logind_watch_process(w);
	}
	assert_int_equal(logind_watch_alive(w), 0);
	assert_int_equal(seen, 0);
	/* ...and is never woken again: no busy loop; the descriptor is still ours to remove */
	assert_false(readable_within(fd, 300));
	assert_int_equal(logind_watch_fd(w), fd);
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(logind_watch_process(w), 0);
	logind_watch_stop(w);
	assert_int_equal(count_fds(), fds);
}

static int
bus_setup(void **state)
{
	char **sessions = NULL;
	char *p = NULL;

	(void)state;
	/* a Lock on a session of ours: where logind knows our sessions, the first of them */
	snprintf(session_path, sizeof(session_path), "/org/freedesktop/login1/session/_31");
	if (sd_uid_get_sessions(getuid(), 0, &sessions) > 0 &&
	    sd_bus_path_encode("/org/freedesktop/login1/session", sessions[0], &p) >= 0)
		snprintf(session_path, sizeof(session_path), "%s", p);
	free(p);
	for (char **s = sessions; s != NULL && *s != NULL; s++)
		free(*s);
	free(sessions);
	if (bus_start(&shared) != 0) {
		bus_stop(&shared, SIGTERM);
		return -1;  /* dbus-daemon is there but would not start: a failure */
	}
	return 0;
}

static int
bus_teardown(void **state)
{
	(void)state;
	bus_stop(&shared, SIGTERM);
	unsetenv("KYSO_LOGIND_BUS");
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_rule),
		cmocka_unit_test(test_null),
		cmocka_unit_test(test_no_bus),
	};
	const struct CMUnitTest bus_tests[] = {
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_sleep),
		cmocka_unit_test(test_lock_and_sleep),
		cmocka_unit_test(test_resume_does_not_count),
		cmocka_unit_test(test_unlock_does_not_count),
		cmocka_unit_test(test_lock_lookalikes_do_not_count),
		cmocka_unit_test(test_sleep_lookalikes_do_not_count),
		cmocka_unit_test(test_many_at_once),
		cmocka_unit_test(test_bus_dies),
	};
	size_t n = sizeof(bus_tests) / sizeof(bus_tests[0]);
	int r;

	signal(SIGPIPE, SIG_IGN);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	if (tool_present("dbus-daemon") && tool_present("dbus-send"))
		return r | cmocka_run_group_tests(bus_tests, bus_setup, bus_teardown);
	/* cmocka 1.1 reports skip() as "not ok": skips are written as tests/run.sh reads them */
	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++)
		printf("ok %zu - %s # SKIP dbus-daemon or dbus-send is missing (Debian package "
		    "dbus)\n", i + 1, bus_tests[i].name);
	return r;
}
