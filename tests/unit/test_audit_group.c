/*
 * test_audit_group.c — agent/audit.c's group commit: records of threads writing at once
 * share fsyncs, yet no audit_write(sync) returns before its own line is durable; a failed
 * sync takes back every record not yet durable (their calls fail, nothing half stays);
 * a process killed with SIGKILL in the middle of a burst leaves only whole lines; a
 * round about to start gathers the record of a job still in flight (audit_watch_inflight)
 * and never waits when every job in flight has its record waiting already.
 *
 * Linked with -Wl,--wrap=fdatasync (tests/tests.mk): __wrap_fdatasync notes how many
 * bytes of the file were written when a sync began and, once it returns, counts that
 * prefix as durable; it also makes each sync take 2 ms (a disk, not tmpfs) and can fail
 * on demand.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
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

#include "audit.h"
#include "kyso_err.h"

int __real_fdatasync(int fd);
int __wrap_fdatasync(int fd);

static char top[] = "/tmp/kyso-audit-group.XXXXXX";

#include "tmpdir_fixture.h"
static pthread_mutex_t fsync_mu = PTHREAD_MUTEX_INITIALIZER;
static off_t durable;         /* bytes of the file known durable */
static int fsync_fail;        /* the next sync of the file fails with EIO */
static long fsync_delay_us = 2000;

/* The log syncs its file with fdatasync (its directory with fsync, not wrapped). */
int
__wrap_fdatasync(int fd)
{
	struct stat st;
	struct timespec d = { 0, fsync_delay_us * 1000L };
	int fail, rc;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return __real_fdatasync(fd);
	pthread_mutex_lock(&fsync_mu);
	fail = fsync_fail;
	fsync_fail = 0;
	pthread_mutex_unlock(&fsync_mu);
	nanosleep(&d, NULL);
	if (fail) {
		errno = EIO;
		return -1;
	}
	if ((rc = __real_fdatasync(fd)) == 0) {
		pthread_mutex_lock(&fsync_mu);
		if (st.st_size > durable)
			durable = st.st_size;
		pthread_mutex_unlock(&fsync_mu);
	}
	return rc;
}

static void
at(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", top, name);
}

static void
fill_record(struct audit_record *r, const char *description)
{
	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &r->when);
	r->uid = 1000;
	r->pid = 4242;
	r->exe = "/usr/bin/evince";
	r->method = "io.kyso.Agent.Sign";
	r->token_label = "alpha";
	r->algorithm = "ecdsa-sha256";
	r->description = description;
	r->result = "granted";
}

/* The file's first n bytes (malloc'd, NUL-terminated). */
static char *
read_prefix(const char *path, off_t n)
{
	char *b = calloc(1, (size_t)n + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_non_null(b);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, b, (size_t)n, 0), n);
	close(fd);
	return b;
}

/* Every line of path is a whole JSON object; returns how many; *with counts those
 * whose description contains needle. */
static size_t
whole_lines(const char *path, const char *needle, size_t *with)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	assert_non_null(f);
	*with = 0;
	while ((len = getline(&line, &cap, f)) > 0) {
		json_error_t e;
		json_t *o;

		assert_int_equal(line[len - 1], '\n');
		o = json_loadb(line, (size_t)len, 0, &e);
		assert_non_null(o);
		if (needle != NULL && strstr(json_string_value(json_object_get(o,
		    "description")), needle) != NULL)
			(*with)++;
		json_decref(o);
		n++;
	}
	free(line);
	fclose(f);
	return n;
}

enum { THREADS = 8, PER_THREAD = 30 };

struct writer {
	struct audit_log *l;
	const char *path;
	int id, failures, early;
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	char desc[64], err[512];
	struct audit_record r;

	for (int i = 0; i < PER_THREAD; i++) {
		off_t d;
		char *prefix;

		snprintf(desc, sizeof(desc), "<t%d n%d>", w->id, i);
		fill_record(&r, desc);
		if (audit_write(w->l, &r, 1, err, sizeof(err)) != KYSO_OK) {
			w->failures++;
			continue;
		}
		/* returned: its line must lie in the part of the file an fsync covered */
		pthread_mutex_lock(&fsync_mu);
		d = durable;
		pthread_mutex_unlock(&fsync_mu);
		prefix = read_prefix(w->path, d);
		if (strstr(prefix, desc) == NULL)
			w->early++;
		free(prefix);
	}
	return NULL;
}

static void
test_shared_syncs_in_order(void **state)
{
	char path[256], err[512];
	struct writer w[THREADS];
	pthread_t t[THREADS];
	struct audit_log *l;
	unsigned long syncs;
	size_t with;

	(void)state;
	at(path, sizeof(path), "group.log");
	durable = 0;
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	for (int k = 0; k < THREADS; k++) {
		w[k] = (struct writer){ .l = l, .path = path, .id = k };
		assert_int_equal(pthread_create(&t[k], NULL, writer_run, &w[k]), 0);
	}
	for (int k = 0; k < THREADS; k++) {
		pthread_join(t[k], NULL);
		assert_int_equal(w[k].failures, 0);
		assert_int_equal(w[k].early, 0);  /* no return before its record's fsync */
	}
	syncs = audit_syncs(l);
	/* 240 records; with 8 writers in flight a round covers several of them */
	print_message("%d records, %lu fsync rounds\n", THREADS * PER_THREAD, syncs);
	assert_true(syncs >= 1 && syncs <= THREADS * PER_THREAD / 2);
	audit_close(l);
	assert_int_equal(whole_lines(path, NULL, &with), THREADS * PER_THREAD);
}

static void
test_unsynced_records_cost_no_fsync(void **state)
{
	char path[256], err[512];
	struct audit_record r;
	struct audit_log *l;

	(void)state;
	at(path, sizeof(path), "nosync.log");
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	fill_record(&r, "refused");
	r.result = "io.kyso.Agent.PinRequired";
	for (int i = 0; i < 10; i++)
		assert_int_equal(audit_write(l, &r, 0, err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_syncs(l), 0);
	fill_record(&r, "granted");
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_syncs(l), 1);  /* the eleven lines in one fsync */
	audit_close(l);
}

/* A batch's records: one write, one fsync, every line whole (SignDigests). */
static void
test_many_one_sync(void **state)
{
	enum { N = 1000 };
	static struct audit_record r[N];
	static char desc[N][24];
	char path[256], err[512];
	struct audit_log *l;
	size_t with;

	(void)state;
	at(path, sizeof(path), "many.log");
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	for (int i = 0; i < N; i++) {
		snprintf(desc[i], sizeof(desc[i]), "<digest %d>", i);
		fill_record(&r[i], desc[i]);
		r[i].batch = "0123456789abcdef";
	}
	durable = 0;
	assert_int_equal(audit_write_many(l, r, N, 1, err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_syncs(l), 1);
	assert_int_equal(whole_lines(path, "<digest", &with), N);
	assert_int_equal(with, N);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(durable, st.st_size);  /* all of it covered by that fsync */
	}
	audit_close(l);
}

/* A failed fsync: the record is taken back and its call fails; the next ones work. */
static void
test_failed_sync_takes_records_back(void **state)
{
	char path[256], err[512];
	struct audit_record r;
	struct audit_log *l;
	size_t with;

	(void)state;
	at(path, sizeof(path), "fail.log");
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	fill_record(&r, "<before>");
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	fill_record(&r, "<lost>");
	fsync_fail = 1;
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_ERR_AUDIT);
	assert_non_null(strstr(err, "Input/output error"));
	fill_record(&r, "<after>");
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	audit_close(l);
	assert_int_equal(whole_lines(path, "<lost>", &with), 2);
	assert_int_equal(with, 0);
}

/* SIGKILL in the middle of a burst of four writers: only whole lines stay. */
static void
test_killed_mid_burst_whole_lines(void **state)
{
	char path[256], err[512];
	struct stat st;
	pid_t pid;
	int status;
	size_t n, with;

	(void)state;
	at(path, sizeof(path), "killed.log");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct writer w[4];
		pthread_t t[4];
		struct audit_log *l;

		fsync_delay_us = 100;
		durable = 0;  /* this file's, not the earlier tests' */
		if (audit_open(path, &l, err, sizeof(err)) != KYSO_OK)
			_exit(1);
		for (;;) {  /* until killed */
			for (int k = 0; k < 4; k++) {
				w[k] = (struct writer){ .l = l, .path = path, .id = k };
				pthread_create(&t[k], NULL, writer_run, &w[k]);
			}
			for (int k = 0; k < 4; k++)
				pthread_join(t[k], NULL);
		}
	}
	/* wait for the sign that the burst is under way: the file has grown */
	for (;;) {
		struct timespec d = { 0, 1000000 };

		if (stat(path, &st) == 0 && st.st_size > 16384)
			break;
		assert_int_equal(waitpid(pid, &status, WNOHANG), 0);
		nanosleep(&d, NULL);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	n = whole_lines(path, NULL, &with);
	assert_true(n > 0);
}

/* Marked records (SignDocuments' batches): written unsynced, made durable together by
 * audit_sync_to, their state told by audit_mark_state without waiting. */
static void
test_marked_records_synced_together(void **state)
{
	char path[256], err[512], desc[32];
	struct audit_mark m[5];
	struct audit_record r;
	struct audit_log *l;
	unsigned long before;
	char *prefix;
	off_t d;

	(void)state;
	at(path, sizeof(path), "marked.log");
	durable = 0;
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	before = audit_syncs(l);
	for (int i = 0; i < 5; i++) {
		snprintf(desc, sizeof(desc), "<doc %d>", i);
		fill_record(&r, desc);
		assert_int_equal(audit_write_marked(l, &r, &m[i], err, sizeof(err)), KYSO_OK);
		assert_int_equal(audit_mark_state(l, &m[i]), AUDIT_PENDING);
	}
	assert_int_equal(audit_syncs(l), before);   /* written, none synced yet */
	/* the last one's sync covers the four before it: one round */
	assert_int_equal(audit_sync_to(l, &m[4], err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_syncs(l), before + 1);
	for (int i = 0; i < 5; i++)
		assert_int_equal(audit_mark_state(l, &m[i]), AUDIT_DURABLE);
	/* and they lie in the part of the file the sync covered */
	pthread_mutex_lock(&fsync_mu);
	d = durable;
	pthread_mutex_unlock(&fsync_mu);
	prefix = read_prefix(path, d);
	assert_non_null(strstr(prefix, "<doc 0>"));
	assert_non_null(strstr(prefix, "<doc 4>"));
	free(prefix);
	/* an earlier mark is durable already: no further round */
	assert_int_equal(audit_sync_to(l, &m[1], err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_syncs(l), before + 1);
	audit_close(l);
}

/* A failed sync takes marked records back: they are cut, their sync says AuditFailed
 * naming the error, and the records written after it are not affected. */
static void
test_marked_records_cut_by_failed_sync(void **state)
{
	char path[256], err[512];
	struct audit_mark m[3], later;
	struct audit_record r;
	struct audit_log *l;
	size_t with;

	(void)state;
	at(path, sizeof(path), "marked-cut.log");
	durable = 0;
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	fill_record(&r, "<kept>");
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	for (int i = 0; i < 3; i++) {
		fill_record(&r, "<cut>");
		assert_int_equal(audit_write_marked(l, &r, &m[i], err, sizeof(err)), KYSO_OK);
	}
	pthread_mutex_lock(&fsync_mu);
	fsync_fail = 1;
	pthread_mutex_unlock(&fsync_mu);
	err[0] = '\0';
	assert_int_equal(audit_sync_to(l, &m[2], err, sizeof(err)), KYSO_ERR_AUDIT);
	assert_non_null(strstr(err, "Input/output error"));
	for (int i = 0; i < 3; i++)
		assert_int_equal(audit_mark_state(l, &m[i]), AUDIT_CUT);
	assert_int_equal(audit_sync_to(l, &m[0], err, sizeof(err)), KYSO_ERR_AUDIT);
	/* the file holds the synced record only, whole */
	assert_int_equal(whole_lines(path, "<cut>", &with), 1);
	assert_int_equal(with, 0);
	/* a record written after the failure is marked anew and syncs */
	fill_record(&r, "<after>");
	assert_int_equal(audit_write_marked(l, &r, &later, err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_sync_to(l, &later, err, sizeof(err)), KYSO_OK);
	assert_int_equal(audit_mark_state(l, &later), AUDIT_DURABLE);
	assert_int_equal(whole_lines(path, "<after>", &with), 2);
	assert_int_equal(with, 1);
	audit_close(l);
}

/* One writer's audit_write(sync) of a granted record, timed. */
struct timed_write {
	struct audit_log *l;
	const char *description;
	int rc;
	long ms;  /* how long it took */
};

static void *
timed_write_run(void *arg)
{
	struct timed_write *tw = arg;
	struct audit_record r;
	struct timespec t0, t1;
	char err[512];

	fill_record(&r, tw->description);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tw->rc = audit_write(tw->l, &r, 1, err, sizeof(err));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	tw->ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	return NULL;
}

/* A window no gathering may ever wait out in these tests: 60 s. */
#define LONG_GATHER_US 60000000L

/* A fresh log NAME (its path in path) whose rounds gather while inflight is above the
 * records waiting, for at most window µs; durable reset. */
static struct audit_log *
watched_log(const char *name, char *path, size_t len, const atomic_int *inflight,
    long window)
{
	struct audit_log *l;
	char err[512];

	at(path, len, name);
	durable = 0;
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	audit_watch_inflight(l, inflight, window);
	return l;
}

/*
 * Two jobs in flight, two writers: whichever writes first finds a job in flight with no
 * record yet and gathers; the other's record ends the gathering (or, written first,
 * leaves nothing to gather for): one fsync for both, and neither waits out the window.
 */
static void
test_gathers_the_record_in_flight(void **state)
{
	struct timed_write a = { .description = "<first>" }, b = { .description = "<second>" };
	atomic_int inflight = 2;
	struct audit_log *l;
	char path[256];
	pthread_t ta, tb;
	size_t with;

	(void)state;
	l = watched_log("gather.log", path, sizeof(path), &inflight, LONG_GATHER_US);
	a.l = b.l = l;
	assert_int_equal(pthread_create(&ta, NULL, timed_write_run, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, timed_write_run, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	assert_int_equal(a.rc, KYSO_OK);
	assert_int_equal(b.rc, KYSO_OK);
	assert_true(a.ms < LONG_GATHER_US / 2000 && b.ms < LONG_GATHER_US / 2000);
	assert_int_equal(audit_syncs(l), 1);
	audit_close(l);
	assert_int_equal(whole_lines(path, "<", &with), 2);
	assert_int_equal(with, 2);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(durable, st.st_size);  /* both lines under that one fsync */
	}
}

/* One job in flight, its record waiting: nothing to gather, the round starts at once. */
static void
test_no_gathering_for_one_client(void **state)
{
	struct timed_write a = { .description = "<alone>" };
	atomic_int inflight = 1;
	char path[256];

	(void)state;
	a.l = watched_log("alone.log", path, sizeof(path), &inflight, LONG_GATHER_US);
	timed_write_run(&a);
	assert_int_equal(a.rc, KYSO_OK);
	assert_true(a.ms < LONG_GATHER_US / 2000);
	assert_int_equal(audit_syncs(a.l), 1);
	audit_close(a.l);
}

/*
 * Jobs in flight that never write a record (a scan, a login): the gathering ends with
 * its window and the record is synced, durable before audit_write returns.
 */
static void
test_gathering_ends_with_its_window(void **state)
{
	struct timed_write a = { .description = "<waited>" };
	atomic_int inflight = 5;
	char path[256], *prefix;
	struct stat st;

	(void)state;
	a.l = watched_log("window.log", path, sizeof(path), &inflight, AUDIT_GATHER_US);
	timed_write_run(&a);
	assert_int_equal(a.rc, KYSO_OK);
	assert_int_equal(audit_syncs(a.l), 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(durable, st.st_size);
	prefix = read_prefix(path, durable);
	assert_non_null(strstr(prefix, "<waited>"));
	free(prefix);
	audit_close(a.l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shared_syncs_in_order),
		cmocka_unit_test(test_unsynced_records_cost_no_fsync),
		cmocka_unit_test(test_many_one_sync),
		cmocka_unit_test(test_failed_sync_takes_records_back),
		cmocka_unit_test(test_killed_mid_burst_whole_lines),
		cmocka_unit_test(test_marked_records_synced_together),
		cmocka_unit_test(test_marked_records_cut_by_failed_sync),
		cmocka_unit_test(test_gathers_the_record_in_flight),
		cmocka_unit_test(test_no_gathering_for_one_client),
		cmocka_unit_test(test_gathering_ends_with_its_window),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
