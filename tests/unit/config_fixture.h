/*
 * config_fixture.h — shared by the configuration unit tests (test_config*.c): a
 * temporary directory with admin and user files and fake module files, and helpers
 * that write and load them. Each test file includes it once.
 */
#ifndef KYSO_CONFIG_FIXTURE_H
#define KYSO_CONFIG_FIXTURE_H
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "kyso_err.h"
#include "log.h"

static char tmpl[] = "/tmp/kyso-config-XXXXXX";
static char top[256];   /* tmpl, through realpath(3) */
static char admin_file[PATH_MAX], user_file[PATH_MAX];
static char mod_a[PATH_MAX], mod_b[PATH_MAX], mod_c[PATH_MAX], link_a[PATH_MAX];
static char missing[PATH_MAX];

/* A path below the test directory, in one of a few rotating buffers. */
static inline const char *
at(const char *name)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];

	snprintf(b, PATH_MAX, "%s/%s", top, name);
	return b;
}

/* Writes text to path (len bytes; -1: strlen), or removes path if text is NULL. */
static inline void
put_file(const char *path, const char *text, long len)
{
	FILE *f;

	if (text == NULL) {
		assert_true(unlink(path) == 0 || errno == ENOENT);
		return;
	}
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len < 0 ? strlen(text) : (size_t)len, f),
	    len < 0 ? strlen(text) : (size_t)len);
	assert_int_equal(fclose(f), 0);
}

/* printf into a rotating buffer: config texts that name the test's files. */
static inline const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static inline const char *
fmt(const char *f, ...)
{
	static char bufs[8][4096];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;

	va_start(ap, f);
	vsnprintf(b, 4096, f, ap);
	va_end(ap);
	return b;
}

/* Loads admin and user text (NULL: no such file) from the two test files. */
static inline int
load(struct kysod_config *c, const char *admin, const char *user, char *err, size_t errlen)
{
	put_file(admin_file, admin, -1);
	put_file(user_file, user, -1);
	return config_load(c, admin_file, user_file, 0, err, errlen);
}

static inline void
load_ok(struct kysod_config *c, const char *admin, const char *user, size_t nwarnings)
{
	char err[512];
	int rc = load(c, admin, user, err, sizeof(err));

	if (rc != KYSO_OK)
		fail_msg("config_load: %d: %s", rc, err);
	if (c->nwarnings != nwarnings) {
		for (size_t i = 0; i < c->nwarnings; i++)
			print_message("warning: %s\n", c->warnings[i]);
		fail_msg("%zu warnings, expected %zu", c->nwarnings, nwarnings);
	}
}

static inline void
assert_defaults(const struct kysod_config *c)
{
	assert_int_equal(c->login_cache, 1);
	assert_int_equal(c->login_idle_ttl, 600);
	assert_int_equal(c->login_max_ttl, 7200);
	assert_int_equal(c->client_pin, 1);
	assert_int_equal(c->confirm, 0);
	assert_string_equal(c->pinentry, "pinentry");
	assert_int_equal(c->pinentry_fixed, 0);
	assert_int_equal(c->pinentry_timeout, 60);
	assert_int_equal(c->modules_set, 0);
	assert_int_equal(c->nmodules, 0);
	assert_int_equal(c->log_level, LOG_LVL_INFO);
	assert_int_equal(c->log_level_set, 0);
	assert_null(c->audit_log);
	assert_int_equal(c->audit_log_fixed, 0);
}

/* ---- tests ---- */


static inline int
rm_one(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(p);
}

static inline int
group_setup(void **state)
{
	FILE *f;
	char *real;

	(void)state;

	if (mkdtemp(tmpl) == NULL || (real = realpath(tmpl, NULL)) == NULL)
		return -1;
	snprintf(top, sizeof(top), "%s", real);
	free(real);
	snprintf(admin_file, sizeof(admin_file), "%s/admin.conf", top);
	snprintf(user_file, sizeof(user_file), "%s/user.conf", top);
	snprintf(mod_a, sizeof(mod_a), "%s/mod_a.so", top);
	snprintf(mod_b, sizeof(mod_b), "%s/mod_b.so", top);
	snprintf(mod_c, sizeof(mod_c), "%s/mod_c.so", top);
	snprintf(link_a, sizeof(link_a), "%s/link_a.so", top);
	snprintf(missing, sizeof(missing), "%s/missing.so", top);
	for (int i = 0; i < 3; i++) {
		if ((f = fopen(i == 0 ? mod_a : i == 1 ? mod_b : mod_c, "w")) == NULL)
			return -1;
		fclose(f);
	}
	unsetenv(CONFIG_ADMIN_ENV);
	return symlink("mod_a.so", link_a);
}

static inline int
group_teardown(void **state)
{
	(void)state;
	return nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static inline int
as_nobody(int (*fn)(void))
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(99);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#endif
