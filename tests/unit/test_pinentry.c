/*
 * test_pinentry.c — agent/pinentry.h against tests/tools/fake-pinentry (a scripted Assuan
 * pinentry; $KYSO_FAKE_PINENTRY overrides where it is looked for, else it is found from
 * the current directory, the repository root under tests/run.sh, or from the test
 * binary's path): PINs returned intact, cancel, pinentry's timeout and our watchdog's,
 * a pinentry that dies, hangs, ignores SIGTERM or is missing, aborts from another thread,
 * confirmations, the texts the officer sees, popups, and after every test no zombie
 * child and no descriptor left open. Debian's pinentry-curses, where installed, must fail
 * cleanly without a terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "kyso_err.h"
#include "pinentry.h"
#include "secret.h"

static char fake[PATH_MAX];
static char dir[64], script[128], logpath[128], shownpath[128];
static int fds_before;

static long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int
count_fds(void)
{
	int fd, n = 0;

	for (fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) >= 0)
			n++;
	return n;
}

/* Writes the fake's script (actions separated by '\n') and empties its log. */
static void
script_set(const char *actions)
{
	char pos[160];
	FILE *f = fopen(script, "w");

	assert_non_null(f);
	fputs(actions, f);
	fclose(f);
	snprintf(pos, sizeof(pos), "%s.pos", script);
	unlink(pos);
	f = fopen(logpath, "w");
	assert_non_null(f);
	fclose(f);
	f = fopen(shownpath, "w");
	assert_non_null(f);
	fclose(f);
}

/* Returns the log's n-th request (0: first; -1: last), or NULL; json_decref it. */
static json_t *
log_entry(int n)
{
	char line[16384];
	json_t *j = NULL;
	FILE *f = fopen(logpath, "r");
	int i = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (n >= 0 && i++ != n)
			continue;
		json_decref(j);
		j = json_loads(line, 0, NULL);
		if (n >= 0)
			break;
	}
	fclose(f);
	return j;
}

static int
log_lines(void)
{
	int c, n = 0;
	FILE *f = fopen(logpath, "r");

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static const char *
jstr(json_t *j, const char *k)
{
	return json_string_value(json_object_get(j, k));
}

static struct pinentry_req
req(long timeout_s)
{
	struct pinentry_req q = { .program = fake, .timeout_s = timeout_s, .prompt = "PIN:" };

	return q;
}

static int
each_setup(void **state)
{
	(void)state;
	fds_before = count_fds();
	return 0;
}

/* After every test: every child reaped, every descriptor closed. */
static int
each_teardown(void **state)
{
	(void)state;
	errno = 0;
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	assert_int_equal(count_fds(), fds_before);
	return 0;
}

static void
test_pin_intact(void **state)
{
	static const char pin[] = "a% b\xc3\xa9\xe2\x82\xac+%25~";
	struct pinentry_req q = req(5);
	struct kyso_secret *s = NULL;
	char why[256], text[512], act[600];
	json_t *e;
	FILE *f;

	(void)state;
	snprintf(act, sizeof(act), "pin %s\n", pin);
	script_set(act);
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	assert_non_null(s);
	assert_int_equal(secret_len(s), strlen(pin));
	assert_string_equal(secret_data(s), pin);
	secret_free(s);
	e = log_entry(-1);
	assert_string_equal(jstr(e, "cmd"), "GETPIN");
	assert_string_equal(jstr(e, "action"), "pin");
	json_decref(e);
	f = fopen(logpath, "r");  /* the PIN never reaches the fake's log */
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	assert_null(strstr(text, "b\xc3\xa9"));
}

static void
test_pin_empty_and_limits(void **state)
{
	struct pinentry_req q = req(5);
	struct kyso_secret *s = NULL;
	char why[256], act[700];

	(void)state;
	memset(act, 0, sizeof(act));
	memcpy(act, "pin\npin ", 8);
	memset(act + 8, '7', PINENTRY_PIN_MAX);
	memcpy(act + 8 + PINENTRY_PIN_MAX, "\npin 8", 6);
	memset(act + 14 + PINENTRY_PIN_MAX, '8', PINENTRY_PIN_MAX);
	script_set(act);
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	assert_int_equal(secret_len(s), 0);
	assert_string_equal(secret_data(s), "");
	secret_free(s);
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	assert_int_equal(secret_len(s), PINENTRY_PIN_MAX);
	secret_free(s);
	s = (struct kyso_secret *)1;
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_null(s);
	assert_non_null(strstr(why, "longer than 256"));
}

static void
test_cancel_and_timeout(void **state)
{
	struct pinentry_req q = req(1);
	struct kyso_secret *s = NULL;
	char why[256];
	json_t *e;

	(void)state;
	script_set("cancel\ntimeout\n");
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_CANCELLED);
	assert_null(s);
	assert_non_null(strstr(why, "cancelled"));
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_TIMEOUT);
	assert_null(s);
	e = log_entry(-1);
	assert_int_equal(json_integer_value(json_object_get(e, "timeout")), 1);
	json_decref(e);
	/* script exhausted: the fake cancels */
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_CANCELLED);
}

/* A pinentry that never answers: our watchdog ends it at timeout + grace. */
static void
test_hang_watchdog(void **state)
{
	struct pinentry_req q = req(1);
	struct kyso_secret *s = NULL;
	char why[256];
	long t0, took;

	(void)state;
	script_set("hang\nhang-hard\n");
	t0 = now_ms();
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_TIMEOUT);
	took = now_ms() - t0;
	assert_true(took >= (1 + PINENTRY_GRACE_S) * 1000L - 100);
	assert_true(took < (1 + PINENTRY_GRACE_S) * 1000L + 1500);
	assert_non_null(strstr(why, fake));
	/* one that ignores SIGTERM gets SIGKILL */
	t0 = now_ms();
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_ERR_TIMEOUT);
	took = now_ms() - t0;
	assert_true(took < (1 + PINENTRY_GRACE_S) * 1000L + PINENTRY_KILL_GRACE_MS + 1500);
}

static void
test_broken_programs(void **state)
{
	struct pinentry_req q = req(1);
	struct kyso_secret *s = NULL;
	char why[256], noexec[128];
	int fd;

	(void)state;
	script_set("die\n");
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_non_null(strstr(why, fake));
	assert_non_null(strstr(why, "exit status 3"));
	q.program = "/nonexistent/pinentry-kyso";
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_string_equal(why, "pinentry program '/nonexistent/pinentry-kyso' not found");
	q.program = "pinentry-kyso-none";  /* looked up in PATH */
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_non_null(strstr(why, "'pinentry-kyso-none' not found"));
	snprintf(noexec, sizeof(noexec), "%s/noexec", dir);
	fd = open(noexec, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	q.program = noexec;
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_non_null(strstr(why, "cannot run"));
	unlink(noexec);
	q.program = "/bin/false";
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_string_equal(why, "pinentry '/bin/false' ended at once (exit status 1)");
	q.program = fake;
	setenv("FAKE_PINENTRY_GREETING", "bad", 1);
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_non_null(strstr(why, "Assuan"));
	setenv("FAKE_PINENTRY_GREETING", "hang", 1);  /* the watchdog covers the greeting */
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_TIMEOUT);
	unsetenv("FAKE_PINENTRY_GREETING");
	assert_null(s);
	q.program = NULL;
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_INVALID_ARG);
	q.program = fake;
	q.tty = "/dev/pts/1\nGETPIN";
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_INVALID_ARG);
}

/* Returns 1 once the fake shows a dialog ($FAKE_PINENTRY_SHOWN has a line). */
static int
dialog_shown(void)
{
	struct stat st;

	return stat(shownpath, &st) == 0 && st.st_size > 0;
}

struct firer {
	struct pinentry_abort *ab;
	long delay_ms;   /* after the dialog is up */
	long fired_at;   /* now_ms() when it fired */
};

/*
 * Fires the abort delay_ms after the dialog is up: never at a fixed time from the start,
 * since the fake's interpreter may take a second to start on a loaded machine.
 */
static void *
fire_later(void *arg)
{
	struct firer *f = arg;

	for (int i = 0; i < 6000 && !dialog_shown(); i++)
		usleep(10000);
	usleep((useconds_t)f->delay_ms * 1000);
	f->fired_at = now_ms();
	pinentry_abort_fire(f->ab);
	return NULL;
}

static void
test_abort(void **state)
{
	struct pinentry_req q = req(0);  /* no timeout: only the abort ends it */
	struct pinentry_abort ab;
	struct firer f = { &ab, 300, 0 };
	struct kyso_secret *s = NULL;
	pthread_t th;
	char why[256];
	long t0, took;

	(void)state;
	script_set("hang-hard\nconfirm\n");
	pinentry_abort_init(&ab);
	assert_int_equal(pinentry_abort_fired(&ab), 0);
	assert_int_equal(pthread_create(&th, NULL, fire_later, &f), 0);
	assert_int_equal(pinentry_getpin(&q, &ab, &s, why, sizeof(why)), KYSO_ERR_CANCELLED);
	t0 = now_ms();
	pthread_join(th, NULL);
	took = t0 - f.fired_at;  /* from the abort to the dialog's end */
	assert_null(s);
	assert_non_null(strstr(why, "aborted"));
	assert_true(took < PINENTRY_KILL_GRACE_MS + 1000);
	/* once fired, later dialogs do not even start */
	assert_int_equal(pinentry_abort_fired(&ab), 1);
	assert_int_equal(pinentry_confirm(&q, &ab, why, sizeof(why)), KYSO_ERR_CANCELLED);
	assert_non_null(strstr(why, "aborted"));
	assert_int_equal(log_lines(), 1);
	pinentry_abort_destroy(&ab);
	/* a plain hang, aborted quickly (SIGTERM suffices) */
	script_set("hang\n");
	pinentry_abort_init(&ab);
	f.delay_ms = 200;
	assert_int_equal(pthread_create(&th, NULL, fire_later, &f), 0);
	assert_int_equal(pinentry_confirm(&q, &ab, why, sizeof(why)), KYSO_ERR_CANCELLED);
	t0 = now_ms();
	pthread_join(th, NULL);
	took = t0 - f.fired_at;
	assert_true(took < 900);
	pinentry_abort_destroy(&ab);
}

static void
test_confirm(void **state)
{
	struct pinentry_req q = req(5);
	char why[256];
	json_t *e;

	(void)state;
	q.ok = "Sign";
	q.cancel = "Refuse";
	script_set("confirm\nrefuse\ncancel\n");
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_OK);
	e = log_entry(0);
	assert_string_equal(jstr(e, "cmd"), "CONFIRM");
	assert_string_equal(jstr(e, "args"), "");
	assert_string_equal(jstr(e, "ok"), "Sign");
	assert_string_equal(jstr(e, "cancel"), "Refuse");
	json_decref(e);
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_ERR_CANCELLED);
	assert_non_null(strstr(why, "refused"));
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_ERR_CANCELLED);
}

/* What the officer sees is what was asked; the child gets a clean process state. */
static void
test_texts(void **state)
{
	static const char desc[] = " Sign \"memo.pdf\" for 100% of the budget?\r\n\nLine 3\t"
	    "with tab, caf\xc3\xa9 and %0A literally";
	struct pinentry_req q = req(7);
	struct kyso_secret *s = NULL;
	sigset_t blk, old;
	char why[256];
	json_t *e, *o;
	int leak;

	(void)state;
	q.title = "kyso \xe2\x80\x94 token PIN";
	q.desc = desc;
	q.error = "Wrong PIN; 1 try left";
	q.ok = "_OK";
	q.cancel = "%Cancel%";
	q.tty = "/dev/pts/9";
	q.ttytype = "xterm-256color";
	script_set("pin 1234\npin 5678\n");
	setenv("FAKE_PINENTRY_MARK", "inherited", 1);
	leak = open("/dev/null", O_RDONLY);  /* no O_CLOEXEC: still not for the child */
	sigemptyset(&blk);
	sigaddset(&blk, SIGTERM);
	sigaddset(&blk, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &blk, &old);  /* as kysod's threads have them */
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	close(leak);
	unsetenv("FAKE_PINENTRY_MARK");
	secret_free(s);
	e = log_entry(-1);
	assert_string_equal(jstr(e, "title"), q.title);
	assert_string_equal(jstr(e, "desc"), desc);
	assert_string_equal(jstr(e, "prompt"), "PIN:");
	assert_string_equal(jstr(e, "error"), q.error);
	assert_string_equal(jstr(e, "ok"), "_OK");
	assert_string_equal(jstr(e, "cancel"), "%Cancel%");
	assert_int_equal(json_integer_value(json_object_get(e, "timeout")), 7);
	o = json_object_get(e, "options");
	assert_int_equal(json_object_size(o), 2);
	assert_string_equal(jstr(o, "ttyname"), "/dev/pts/9");
	assert_string_equal(jstr(o, "ttytype"), "xterm-256color");
	assert_string_equal(jstr(e, "mark"), "inherited");
	assert_int_equal(json_array_size(json_object_get(e, "fds")), 0);
	assert_string_equal(jstr(e, "sigblk"), "0000000000000000");
	json_decref(e);
	/* nothing but the program is required; unset texts are not sent */
	q = (struct pinentry_req){ .program = fake };
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	secret_free(s);
	e = log_entry(-1);
	assert_true(json_is_null(json_object_get(e, "desc")));
	assert_true(json_is_null(json_object_get(e, "timeout")));
	assert_int_equal(json_object_size(json_object_get(e, "options")), 0);
	json_decref(e);
}

static void
test_long_desc(void **state)
{
	struct pinentry_req q = req(5);
	struct kyso_secret *s = NULL;
	char desc[3200], why[256];
	const char *got;
	size_t i, n;
	json_t *e;

	(void)state;
	for (i = 0; i + 3 < sizeof(desc); i += 3) {  /* "é%" and "é\n": 5 bytes escaped */
		desc[i] = (char)0xc3;
		desc[i + 1] = (char)0xa9;
		desc[i + 2] = (i / 3) % 2 ? '%' : '\n';
	}
	desc[i] = '\0';
	q.desc = desc;
	script_set("pin 0000\n");
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_OK);
	secret_free(s);
	e = log_entry(-1);
	got = jstr(e, "desc");
	n = strlen(got);
	assert_true(n > 300 && n < 1000);
	assert_memory_equal(got + n - 3, "\xe2\x80\xa6", 3);
	assert_memory_equal(got, desc, n - 3);  /* a prefix, cut between characters */
	assert_null(strstr(got, "\xef\xbf\xbd"));
	json_decref(e);
}

static void
test_escape(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(pinentry_escape("ab", out, 3), (size_t)-1);
	assert_int_equal(pinentry_escape("a%b\r\n", out, sizeof(out)), 11);
	assert_string_equal(out, "a%25b%0D%0A");
	assert_int_equal(pinentry_escape(" x ", out, sizeof(out)), 5);
	assert_string_equal(out, "%20x ");
	assert_int_equal(pinentry_escape("abcdefghijklmno", out, 16), 15);  /* fits exactly */
	assert_string_equal(out, "abcdefghijklmno");
	pinentry_escape("abcdefghijklmnop", out, 16);
	assert_string_equal(out, "abcdefghijkl\xe2\x80\xa6");
	pinentry_escape("abcdefghijk\xc3\xa9xyz", out, 16);  /* é not split */
	assert_string_equal(out, "abcdefghijk\xe2\x80\xa6");
	pinentry_escape("%%%%%%", out, 16);
	assert_string_equal(out, "%25%25%25%25\xe2\x80\xa6");
}

static void
test_popup(void **state)
{
	struct pinentry_req q = req(1);
	struct pinentry_popup *p = NULL;
	char why[256];
	json_t *e = NULL;
	long t0;
	int i;

	(void)state;
	q.desc = "Type your PIN on the reader's keypad.";
	script_set("hang\nconfirm\n");
	assert_int_equal(pinentry_popup_start(&q, &p, why, sizeof(why)), KYSO_OK);
	assert_non_null(p);
	for (i = 0; i < 200 && e == NULL; i++, usleep(10000))
		e = log_entry(-1);
	assert_non_null(e);
	assert_string_equal(jstr(e, "cmd"), "CONFIRM");
	assert_string_equal(jstr(e, "args"), "--one-button");
	assert_string_equal(jstr(e, "desc"), q.desc);
	assert_true(json_is_null(json_object_get(e, "timeout")));
	json_decref(e);
	usleep(1500 * 1000);  /* outlives q.timeout_s: popups have no timeout */
	t0 = now_ms();
	pinentry_popup_stop(p);
	assert_true(now_ms() - t0 < 900);
	/* the officer pressed OK before it was stopped */
	assert_int_equal(pinentry_popup_start(&q, &p, why, sizeof(why)), KYSO_OK);
	usleep(300 * 1000);
	pinentry_popup_stop(p);
	pinentry_popup_stop(NULL);
	q.program = "/nonexistent/pinentry";
	p = (struct pinentry_popup *)1;
	assert_int_equal(pinentry_popup_start(&q, &p, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_null(p);
	assert_non_null(strstr(why, "not found"));
}

static void *
ask_thread(void *arg)
{
	struct pinentry_req q = req(10);
	struct kyso_secret *s = NULL;
	char why[256];
	int *ok = arg;

	*ok = pinentry_getpin(&q, NULL, &s, why, sizeof(why)) == KYSO_OK && secret_len(s) == 4
	    && strspn(secret_data(s), "1234") == 4;
	secret_free(s);
	return NULL;
}

static void
test_concurrent(void **state)
{
	pthread_t th[6];
	int ok[6], i;

	(void)state;
	script_set("pin 1111\npin 2222\nsleep 0.2\npin 3333\npin 4444\npin 1234\npin 4321\n");
	for (i = 0; i < 6; i++)
		assert_int_equal(pthread_create(&th[i], NULL, ask_thread, &ok[i]), 0);
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		assert_true(ok[i]);
	}
	assert_int_equal(log_lines(), 6);
}

/* Debian's pinentry-curses without a terminal: a clean failure, not a hang. */
static void
test_real_pinentry(void **state)
{
	struct pinentry_req q = req(2);
	struct kyso_secret *s = NULL;
	char why[256];

	(void)state;
	if (access("/usr/bin/pinentry-curses", X_OK) != 0) {
		skip();
		return;
	}
	q.program = "/usr/bin/pinentry-curses";
	assert_int_equal(pinentry_getpin(&q, NULL, &s, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_non_null(strstr(why, "could not show a dialog"));
	q.tty = "/nonexistent/tty";
	assert_int_equal(pinentry_confirm(&q, NULL, why, sizeof(why)), KYSO_ERR_PINENTRY);
	assert_null(s);
}

static int
find_fake(void)
{
	char exe[PATH_MAX - 64], *p;
	const char *env = getenv("KYSO_FAKE_PINENTRY");
	ssize_t n;
	int up;

	if (env != NULL && realpath(env, fake) != NULL)
		return 0;
	if (realpath("tests/tools/fake-pinentry", fake) != NULL)
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);  /* BUILD/tests/unit/test_x */
	if (n <= 0)
		return -1;
	exe[n] = '\0';
	for (up = 0; up < 4 && (p = strrchr(exe, '/')) != NULL; up++) {
		*p = '\0';
		snprintf(fake, sizeof(fake), "%s/tests/tools/fake-pinentry", exe);
		if (access(fake, X_OK) == 0)
			return 0;
	}
	return -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, each_setup, each_teardown)
		T(test_escape),
		T(test_pin_intact),
		T(test_pin_empty_and_limits),
		T(test_cancel_and_timeout),
		T(test_hang_watchdog),
		T(test_broken_programs),
		T(test_abort),
		T(test_confirm),
		T(test_texts),
		T(test_long_desc),
		T(test_popup),
		T(test_concurrent),
		T(test_real_pinentry),
#undef T
	};
	char cmd[128];
	int r;

	if (find_fake() != 0) {
		fprintf(stderr, "cannot find tests/tools/fake-pinentry (set KYSO_FAKE_PINENTRY)\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "/tmp/kyso-pinentry-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(script, sizeof(script), "%s/script", dir);
	snprintf(logpath, sizeof(logpath), "%s/log", dir);
	snprintf(shownpath, sizeof(shownpath), "%s/shown", dir);
	setenv("FAKE_PINENTRY_SCRIPT", script, 1);
	setenv("FAKE_PINENTRY_LOG", logpath, 1);
	setenv("FAKE_PINENTRY_SHOWN", shownpath, 1);
	unsetenv("FAKE_PINENTRY_GREETING");
	r = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		r |= 1;
	return r;
}
