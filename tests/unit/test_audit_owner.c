/*
 * test_audit_owner.c — agent/audit.h and owner.h: the audit log is refused where someone
 * else could swap or empty it. A directory writable by others (0777, a sticky 1777 too)
 * or by its group, a directory above it writable by others without the sticky bit, a file
 * writable by others, and (as root) a file or directory of another uid: audit_open fails
 * with a sentence naming the place. A file swapped in after the log was opened (the
 * attack: another uid renamed audit.log away and put its own there) is refused at the
 * next record, and nothing is written to it. In a user namespace that maps only the user
 * (kysod.service's PrivateUsers=), where root's directories show as the overflow uid,
 * those above the log's own are taken for root's; the log's own directory is not.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "audit.h"
#include "kyso_err.h"
#include "owner.h"

static char top[] = "/tmp/kyso-audit-owner.XXXXXX";

#include "tmpdir_fixture.h"
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

static void
test_root_alias(void **state)
{
	(void)state;
	/* the initial namespace, and one that maps root (unshare -r): root is root */
	assert_int_equal(owner_root_alias("         0          0 4294967295\n", 65534), -1);
	assert_int_equal(owner_root_alias("         0       1000          1\n", 65534), -1);
	assert_int_equal(owner_root_alias("1000 1000 1\n0 2000 1\n", 65534), -1);
	/* one that maps only the user (systemd's PrivateUsers= for a user service) */
	assert_int_equal(owner_root_alias("      1000       1000          1\n", 65534), 65534);
	assert_int_equal(owner_root_alias("1000 1000 1\n5000 5000 10\n", 65000), 65000);
	/* nothing mapped yet, unreadable, no overflow uid: no alias */
	assert_int_equal(owner_root_alias("", 65534), -1);
	assert_int_equal(owner_root_alias("garbage\n", 65534), -1);
	assert_int_equal(owner_root_alias(NULL, 65534), -1);
	assert_int_equal(owner_root_alias("1000 1000 1\n", -1), -1);
}

#define NS_UID 4242

/* Writes s to path; 0 or -1. */
static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return r;
}

/* audit_open on path in the child; 0 when the outcome is want (and err holds word). */
static int
ns_open(const char *path, int want, const char *word)
{
	struct audit_log *l = NULL;
	char err[512];
	int r = audit_open(path, &l, err, sizeof(err));

	fprintf(stderr, "# in the namespace: %s: %s\n", path, r == KYSO_OK ? "accepted" : err);
	if (l != NULL)
		audit_close(l);
	return r == want && (word == NULL || strstr(err, word) != NULL) ? 0 : 1;
}

/*
 * As systemd runs kysod.service: uid NS_UID in a user namespace of its own that maps only
 * itself. The directories above its log (top, /tmp, /: root's) show as the overflow uid
 * and are accepted; one writable by others without the sticky bit is still refused, and so
 * is a log's own directory that shows as the overflow uid.
 */
static void
test_user_namespace(void **state)
{
	char base[300], home[320], open_d[320], mine[340], rootleaf[320], p1[360], p2[360],
	    p3[360], map[64];
	int status;
	pid_t pid;

	(void)state;
	if (getuid() != 0)
		skip();  /* only root can become another uid for the test */
	snprintf(base, sizeof(base), "%s/ns", top);
	snprintf(home, sizeof(home), "%s/home", base);
	snprintf(open_d, sizeof(open_d), "%s/open", base);
	snprintf(mine, sizeof(mine), "%s/mine", open_d);
	snprintf(rootleaf, sizeof(rootleaf), "%s/rootleaf", base);
	assert_int_equal(chmod(top, 0755), 0);
	assert_int_equal(mkdir(base, 0755), 0);
	assert_int_equal(mkdir(home, 0700), 0);
	assert_int_equal(chown(home, NS_UID, NS_UID), 0);
	assert_int_equal(mkdir(open_d, 0777), 0);
	assert_int_equal(chmod(open_d, 0777), 0);
	assert_int_equal(mkdir(mine, 0700), 0);
	assert_int_equal(chown(mine, NS_UID, NS_UID), 0);
	assert_int_equal(mkdir(rootleaf, 0755), 0);
	snprintf(p1, sizeof(p1), "%s/.local/state/kyso/audit.log", home);
	snprintf(p2, sizeof(p2), "%s/audit.log", mine);
	snprintf(p3, sizeof(p3), "%s/audit.log", rootleaf);
	{  /* the user's file in a directory of root's: root could swap it */
		int fd = open(p3, O_WRONLY | O_CREAT | O_EXCL, 0600);

		assert_true(fd >= 0);
		assert_int_equal(fchown(fd, NS_UID, NS_UID), 0);
		close(fd);
	}
	if ((pid = fork()) == 0) {
		int bad = 0;

		if (setgroups(0, NULL) != 0 || setgid(NS_UID) != 0 || setuid(NS_UID) != 0)
			_exit(100);
		/* setuid made /proc/self root's: dumpable again, to write its own maps */
		(void)prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
		if (unshare(CLONE_NEWUSER) != 0)
			_exit(77);  /* no unprivileged user namespaces here */
		snprintf(map, sizeof(map), "%d %d 1\n", NS_UID, NS_UID);
		if (write_file("/proc/self/setgroups", "deny") != 0 ||
		    write_file("/proc/self/uid_map", map) != 0 ||
		    write_file("/proc/self/gid_map", map) != 0)
			_exit(101);
		bad += ns_open(p1, KYSO_OK, NULL);
		bad += ns_open(p2, KYSO_ERR_AUDIT, "writable by others");
		bad += ns_open(p3, KYSO_ERR_AUDIT, "a user this sandbox does not map");
		_exit(bad);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(top, 0700), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
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
		cmocka_unit_test(test_root_alias),
		cmocka_unit_test(test_user_namespace),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
