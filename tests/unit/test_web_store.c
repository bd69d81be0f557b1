/* test_web_store.c — agent/web_store.h: the pages the officer allowed always, on disk. */
#include <errno.h>
#include <fcntl.h>
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

#include "kyso_err.h"
#include "log.h"
#include "web_store.h"

static char dir[] = "/tmp/kyso-webstore-XXXXXX";
static char path[256];

static void
put(const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
test_missing_then_added(void **state)
{
	struct web_store *s = web_store_new(path);
	const char *const *o;
	const time_t *since;
	char err[300];
	struct stat st;
	size_t removed;

	(void)state;
	unlink(path);
	assert_non_null(s);
	assert_string_equal(web_store_path(s), path);
	assert_false(web_store_has(s, "https://a.vn"));
	assert_int_equal(web_store_add(s, "https://a.vn", err, sizeof(err)), KYSO_OK);
	assert_int_equal(web_store_add(s, "https://b.vn:8443", err, sizeof(err)), KYSO_OK);
	assert_int_equal(web_store_add(s, "https://a.vn", err, sizeof(err)), KYSO_OK);
	assert_true(web_store_has(s, "https://a.vn"));
	assert_true(web_store_has(s, "https://b.vn:8443"));
	assert_false(web_store_has(s, "https://b.vn"));
	assert_int_equal(web_store_list(s, &o, &since), 2);
	assert_string_equal(o[0], "https://a.vn");
	assert_true(since[0] > 1700000000);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* another reader sees the same file */
	web_store_free(s);
	s = web_store_new(path);
	assert_true(web_store_has(s, "https://b.vn:8443"));
	assert_int_equal(web_store_forget(s, "https://a.vn", &removed, err, sizeof(err)),
	    KYSO_OK);
	assert_int_equal(removed, 1);
	assert_false(web_store_has(s, "https://a.vn"));
	assert_int_equal(web_store_forget(s, "https://zzz.vn", &removed, err, sizeof(err)),
	    KYSO_OK);
	assert_int_equal(removed, 0);
	assert_int_equal(web_store_forget(s, NULL, &removed, err, sizeof(err)), KYSO_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(web_store_list(s, &o, &since), 0);
	web_store_free(s);
}

static void
test_edited_by_hand(void **state)
{
	struct web_store *s = web_store_new(path);
	const char *const *o;
	const time_t *since;

	(void)state;
	put("# comment\nhttps://a.vn 2026-12-06T10:00:00Z\nnot an origin\n"
	    "HTTPS://B.VN\nhttps://c.vn\nhttp://evil.vn\nhttps://d.vn garbage\n", 0600);
	/* only origins written as kysod writes them count */
	assert_int_equal(web_store_list(s, &o, &since), 3);
	assert_string_equal(o[0], "https://a.vn");
	assert_int_equal(since[0], 1796551200);
	assert_string_equal(o[1], "https://c.vn");
	assert_string_equal(o[2], "https://d.vn");
	assert_int_equal(since[2], 0);
	/* an edit counts at the next look */
	put("https://e.vn\n", 0600);
	assert_false(web_store_has(s, "https://a.vn"));
	assert_true(web_store_has(s, "https://e.vn"));
	web_store_free(s);
}

static void
test_not_trusted(void **state)
{
	struct web_store *s = web_store_new(path);
	char target[300], big[WEB_STORE_MAX_BYTES + 100];

	(void)state;
	put("https://a.vn\n", 0620);
	assert_false(web_store_has(s, "https://a.vn"));   /* group may write */
	assert_int_equal(chmod(path, 0600), 0);
	assert_true(web_store_has(s, "https://a.vn"));   /* a chmod counts at once */
	assert_int_equal(chmod(path, 0602), 0);
	assert_false(web_store_has(s, "https://a.vn"));   /* others may write */
	/* a symbolic link is not followed */
	snprintf(target, sizeof(target), "%s/target", dir);
	rename(path, target);
	assert_int_equal(chmod(target, 0600), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_false(web_store_has(s, "https://a.vn"));
	unlink(path);
	unlink(target);
	/* a directory, a file too large, a NUL byte */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_false(web_store_has(s, "https://a.vn"));
	rmdir(path);
	memset(big, '#', sizeof(big) - 1);
	big[0] = 'h';
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "https://a.vn\n", 13);
	put(big, 0600);
	assert_false(web_store_has(s, "https://a.vn"));
	put("https://a.vn\n", 0600);
	assert_true(web_store_has(s, "https://a.vn"));
	web_store_free(s);
}

static void
test_limits(void **state)
{
	struct web_store *s = web_store_new(path);
	char o[64], err[300];
	size_t removed;
	int r;

	(void)state;
	unlink(path);
	for (int i = 0; i < WEB_STORE_MAX_ENTRIES; i++) {
		snprintf(o, sizeof(o), "https://p%d.vn", i);
		assert_int_equal(web_store_add(s, o, err, sizeof(err)), KYSO_OK);
	}
	r = web_store_add(s, "https://one-more.vn", err, sizeof(err));
	assert_int_equal(r, KYSO_ERR_TOO_LARGE);
	assert_non_null(strstr(err, "forget some first"));
	assert_int_equal(web_store_forget(s, NULL, &removed, err, sizeof(err)), KYSO_OK);
	assert_int_equal(removed, WEB_STORE_MAX_ENTRIES);
	web_store_free(s);
	/* a directory that cannot be written: the file stays as it was */
	s = web_store_new("/proc/kyso-no-such/web-origins");
	r = web_store_add(s, "https://a.vn", err, sizeof(err));
	assert_int_equal(r, KYSO_ERR_IO);
	assert_non_null(strstr(err, "cannot write /proc/kyso-no-such/web-origins"));
	assert_false(web_store_has(s, "https://a.vn"));
	web_store_free(s);
}

static int
setup(void **state)
{
	(void)state;
	log_init("test", LOG_LVL_ERROR, 0);
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/kyso/web-origins", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_missing_then_added),
		cmocka_unit_test(test_edited_by_hand),
		cmocka_unit_test(test_not_trusted),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
