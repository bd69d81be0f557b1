/*
 * test_audit_owner.c — agent/audit.h and owner.h: the audit log is refused where someone
 * else could swap or empty it. A directory writable by others (0777, a sticky 1777 too)
 * or by its group, a directory above it writable by others without the sticky bit, a file
 * writable by others, and (as root) a file or directory of another uid: audit_open fails
 * with a sentence naming the place. A file swapped in after the log was opened (the
 * attack: another uid renamed audit.log away and put its own there) is refused at the
 * next record, and nothing is written to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "kyso_err.h"
#include "owner.h"

static char top[] = "/tmp/kyso-audit-owner.XXXXXX";
#define OTHER_UID 65534

static void
fill_record(struct audit_record *r)
{
	memset(r, 0, sizeof(*r));
	clock_gettime(CLOCK_REALTIME, &r->when);
	r->uid = getuid();
	r->pid = getpid();
	r->method = "io.kyso.Agent.Sign";
	r->description = "owner test";
	r->result = "granted";
}

/* top/dir (made with mode), and top/dir/audit.log in path */
static void
place(const char *dir, mode_t mode, char *d, char *path, size_t len)
{
	snprintf(d, len, "%s/%s", top, dir);
	snprintf(path, len, "%s/audit.log", d);
	assert_int_equal(mkdir(d, 0700), 0);
	assert_int_equal(chmod(d, mode), 0);  /* whatever the umask */
}

/* audit_open refuses path with KYSO_ERR_AUDIT and a sentence holding each of the words */
static void
refused(const char *path, const char *w1, const char *w2)
{
	struct audit_log *l = NULL;
	char err[512];

	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_ERR_AUDIT);
	assert_null(l);
	fprintf(stderr, "# %s\n", err);
	if (strstr(err, w1) == NULL || (w2 != NULL && strstr(err, w2) == NULL))
		fail_msg("'%s' lacks '%s' or '%s'", err, w1, w2 != NULL ? w2 : "");
}

static void
test_directories_others_can_write(void **state)
{
	char d[256], path[300], sub[280];

	(void)state;
	place("open", 0777, d, path, sizeof(d));
	refused(path, d, "writable by others");
	place("sticky", 01777, d, path, sizeof(d));
	refused(path, d, "writable by others");  /* others could plant the file while absent */
	place("group", 0770, d, path, sizeof(d));
	refused(path, d, "writable by its group");
	/* a directory above it: writable by others without the sticky bit is refused ... */
	place("above", 0777, d, path, sizeof(d));
	snprintf(sub, sizeof(sub), "%s/kyso", d);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(path, sizeof(path), "%s/audit.log", sub);
	refused(path, d, "below");
	/* ... with it (as /tmp, where this test runs), nobody can rename what is below */
	assert_int_equal(chmod(d, 01777), 0);
	{
		struct audit_log *l = NULL;
		char err[512];

		assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
		audit_close(l);
	}
}

static void
test_file_others_can_write(void **state)
{
	char d[256], path[300];
	int fd;

	(void)state;
	place("wfile", 0700, d, path, sizeof(d));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	refused(path, path, "writable by others");
	assert_int_equal(chmod(path, 0620), 0);
	refused(path, path, "writable by its group");
	assert_int_equal(chmod(path, 0600), 0);
	{
		struct audit_log *l = NULL;
		char err[512];

		assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
		audit_close(l);
	}
}

static void
test_other_uid(void **state)
{
	char d[256], path[300];
	int fd;

	(void)state;
	if (getuid() != 0)
		skip();  /* only root can give a file away */
	place("theirs", 0700, d, path, sizeof(d));
	assert_int_equal(chown(d, OTHER_UID, OTHER_UID), 0);
	refused(path, d, "belongs to uid 65534");
	place("planted", 0700, d, path, sizeof(d));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchown(fd, OTHER_UID, OTHER_UID), 0);
	close(fd);
	refused(path, path, "belongs to uid 65534");
}

/* The attack: the log is opened and used; its file is swapped for another's; later
 * records are refused (AuditFailed) and the planted file gets nothing. */
static void
test_swapped_file(void **state)
{
	char d[256], path[300], moved[320], err[512];
	struct audit_log *l = NULL;
	struct audit_record r;
	struct stat st;
	int fd;

	(void)state;
	place("swap", 0700, d, path, sizeof(d));
	assert_int_equal(audit_open(path, &l, err, sizeof(err)), KYSO_OK);
	fill_record(&r);
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	/* moved away, and a file others can write to put in its place */
	snprintf(moved, sizeof(moved), "%s.moved", path);
	assert_int_equal(rename(path, moved), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	if (getuid() == 0)
		assert_int_equal(fchown(fd, OTHER_UID, OTHER_UID), 0);
	close(fd);
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_ERR_AUDIT);
	fprintf(stderr, "# %s\n", err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, getuid() == 0 ? "belongs to uid 65534" :
	    "writable by others"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);  /* nothing went to the planted file */
	/* the file of the user again (rotation): records go on */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(audit_write(l, &r, 1, err, sizeof(err)), KYSO_OK);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	audit_close(l);
}

static void
test_owner_check_dir_root(void **state)
{
	char err[256];

	(void)state;
	/* "/" itself and a path with symbolic links and dots */
	assert_int_equal(owner_check_dir("/", err, sizeof(err)), KYSO_OK);
	assert_int_equal(owner_check_dir("/usr/../usr/./bin", err, sizeof(err)), KYSO_OK);
	assert_int_equal(owner_check_dir("/nonexistent/kyso", err, sizeof(err)), KYSO_ERR_IO);
	assert_non_null(strstr(err, "/nonexistent/kyso"));
}

static int
rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(top) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return nftw(top, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directories_others_can_write),
		cmocka_unit_test(test_file_others_can_write),
		cmocka_unit_test(test_other_uid),
		cmocka_unit_test(test_swapped_file),
		cmocka_unit_test(test_owner_check_dir_root),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
