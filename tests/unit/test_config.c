/* test_config.c — agent/config.h: reading kysod's configuration files (keys, syntax,
 * errors, paths). Precedence between the two files: test_config_policy.c. */
#include "config_fixture.h"

static void
test_defaults_without_files(void **state)
{
	struct kysod_config c = { 0 };
	char buf[256];

	(void)state;
	load_ok(&c, NULL, NULL, 0);
	assert_defaults(&c);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "login cache 10m idle / 2h max, client PINs allowed, no "
	    "confirmation, pinentry 'pinentry' (60s)");
	config_free(&c);
	config_free(&c);   /* twice is harmless */
	config_free(NULL);
	assert_int_equal(config_defaults(&c), KYSO_OK);
	assert_defaults(&c);
	config_free(&c);
}

static void
test_durations(void **state)
{
	static const struct { const char *s; int rc; long v; } t[] = {
		{ "300", KYSO_OK, 300 }, { "90s", KYSO_OK, 90 }, { "15m", KYSO_OK, 900 },
		{ "8h", KYSO_OK, 28800 }, { "1d", KYSO_OK, 86400 }, { "0", KYSO_OK, 0 },
		{ "0m", KYSO_OK, 0 }, { "007", KYSO_OK, 7 }, { "30d", KYSO_OK, 2592000 },
		{ "720h", KYSO_OK, 2592000 }, { "2592000", KYSO_OK, 2592000 },
		{ "unlimited", KYSO_OK, CONFIG_UNLIMITED }, { "Unlimited", KYSO_OK, CONFIG_UNLIMITED },
		{ "31d", KYSO_ERR_TOO_LARGE, 0 }, { "2592001", KYSO_ERR_TOO_LARGE, 0 },
		{ "99999999999999999999999", KYSO_ERR_TOO_LARGE, 0 },
		{ "", KYSO_ERR_INVALID_ARG, 0 }, { "5x", KYSO_ERR_INVALID_ARG, 0 },
		{ "-5", KYSO_ERR_INVALID_ARG, 0 }, { "1.5h", KYSO_ERR_INVALID_ARG, 0 },
		{ "5 m", KYSO_ERR_INVALID_ARG, 0 }, { "m", KYSO_ERR_INVALID_ARG, 0 },
		{ "5M", KYSO_ERR_INVALID_ARG, 0 }, { "5ms", KYSO_ERR_INVALID_ARG, 0 },
		{ "+5", KYSO_ERR_INVALID_ARG, 0 }, { "never", KYSO_ERR_INVALID_ARG, 0 },
	};
	static const struct { long v; const char *s; } f[] = {
		{ 600, "10m" }, { 7200, "2h" }, { 90, "90s" }, { 86400, "1d" }, { 5400, "90m" },
		{ 0, "0s" }, { CONFIG_UNLIMITED, "unlimited" }, { 2592000, "30d" }, { 61, "61s" },
		{ 60, "60s" }, { 119, "119s" }, { 120, "2m" }, { 3600, "1h" }, { 3660, "61m" },
	};
	char buf[32];
	long v;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v = -42;
		if (config_parse_duration(t[i].s, &v) != t[i].rc)
			fail_msg("'%s': expected %d", t[i].s, t[i].rc);
		if (t[i].rc == KYSO_OK && v != t[i].v)
			fail_msg("'%s': %ld, expected %ld", t[i].s, v, t[i].v);
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		config_format_duration(f[i].v, buf, sizeof(buf));
		assert_string_equal(buf, f[i].s);
	}
}

/* The text of every key, with values other than the defaults. */
static const char *
every_key(void)
{
	return fmt("login_cache = no\nlogin_idle_ttl = 90s\nlogin_max_ttl = 8h\n"
	    "client_pin = false\nconfirm = 1\npinentry = /usr/bin/pinentry-gnome3\n"
	    "pinentry_timeout = unlimited\nmodules = %s %s\nlog_level = debug\n"
	    "audit_log = /var/log/kyso/audit.log\n", mod_a, link_a);
}

static void
assert_every_key(const struct kysod_config *c, int fixed)
{
	assert_int_equal(c->login_cache, 0);
	assert_int_equal(c->login_idle_ttl, 90);
	assert_int_equal(c->login_max_ttl, 8 * 3600);
	assert_int_equal(c->client_pin, 0);
	assert_int_equal(c->confirm, 1);
	assert_string_equal(c->pinentry, "/usr/bin/pinentry-gnome3");
	assert_int_equal(c->pinentry_fixed, fixed);
	assert_int_equal(c->pinentry_timeout, CONFIG_UNLIMITED);
	assert_int_equal(c->modules_set, 1);
	assert_int_equal(c->nmodules, 1);   /* the link is mod_a again */
	assert_string_equal(c->modules[0], mod_a);
	assert_int_equal(c->log_level, LOG_LVL_DEBUG);
	assert_int_equal(c->log_level_set, 1);
	assert_string_equal(c->audit_log, "/var/log/kyso/audit.log");
	assert_int_equal(c->audit_log_fixed, fixed);
}

static void
test_every_key_admin(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, every_key(), NULL, 0);
	assert_every_key(&c, 1);
	config_free(&c);
	load_ok(&c, fmt("[kysod]\n%s", every_key()), NULL, 0);
	assert_every_key(&c, 1);
	config_free(&c);
}

static void
test_every_key_user(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, NULL, every_key(), 0);
	assert_every_key(&c, 0);
	config_free(&c);
	/* an admin file that sets nothing changes nothing */
	load_ok(&c, "# nothing\n[kysod]\n", every_key(), 0);
	assert_every_key(&c, 0);
	config_free(&c);
}

static void
test_syntax_accepted(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "\xEF\xBB\xBF# the policy\n; another comment\nlogin_cache = Yes\n\n"
	    "[kysod]\nconfirm = on ; an inline comment\n   # indented comment\n[kysod]\r\n"
	    "client_pin: OFF\r\npinentry = NONE\nlog_level = warn\n", NULL, 0);
	assert_int_equal(c.login_cache, 1);
	assert_int_equal(c.confirm, 1);
	assert_int_equal(c.client_pin, 0);
	assert_string_equal(c.pinentry, CONFIG_PINENTRY_NONE);
	assert_int_equal(c.log_level, LOG_LVL_WARNING);
	config_free(&c);
	load_ok(&c, "", "", 0);
	assert_defaults(&c);
	config_free(&c);
	/* the audit log under the user's home: kysod expands %h (and %u, %U) */
	load_ok(&c, "audit_log = %h/kyso/%u.log\n", NULL, 0);
	assert_string_equal(c.audit_log, "%h/kyso/%u.log");
	config_free(&c);
}

static const struct bad {
	const char *text;
	int line;
	const char *msg;
} bad[] = {
	{ "login_cache = maybe\n", 1, "login_cache: 'maybe' is not a boolean (use yes or no, "
	    "true or false, on or off, 1 or 0)" },
	{ "# c\nlogin_idle_ttl = 5x\n", 2, "login_idle_ttl: '5x' is not a duration (use e.g. "
	    "300, 90s, 15m, 8h, 1d or 'unlimited')" },
	{ "login_idle_ttl = 5m # five minutes\n", 1, "login_idle_ttl: '5m # five minutes' is "
	    "not a duration (use e.g. 300, 90s, 15m, 8h, 1d or 'unlimited')" },
	{ "login_max_ttl = 31d\n", 1, "login_max_ttl: '31d' is longer than 30 days (use "
	    "'unlimited' for no limit)" },
	{ "client_pin = 2\n", 1, "client_pin: '2' is not a boolean (use yes or no, true or "
	    "false, on or off, 1 or 0)" },
	{ "[kysod]\nconfirm =\n", 2, "confirm: no value" },
	{ "pinentry = bin/pinentry\n", 1, "pinentry: 'bin/pinentry' is not an absolute path "
	    "nor a program name" },
	{ "pinentry = /usr/bin/pinentry --debug\n", 1, "pinentry: '/usr/bin/pinentry --debug' "
	    "contains a space (name one program, without arguments)" },
	{ "pinentry = \"/usr/bin/pinentry\"\n", 1, "pinentry: write the value without quotes" },
	{ "pinentry = /usr/bin/pin\tentry\n", 1, "pinentry: the value contains a control "
	    "character" },
	{ "pinentry_timeout = 0\n", 1, "pinentry_timeout: '0' is not a timeout (use 'unlimited' "
	    "to wait without limit)" },
	{ "pinentry_timeout = -5\n", 1, "pinentry_timeout: '-5' is not a duration (use e.g. "
	    "300, 90s, 15m, 8h, 1d or 'unlimited')" },
	{ "modules = opensc-pkcs11.so\n", 1, "modules: 'opensc-pkcs11.so' is not an absolute "
	    "path" },
	{ "log_level = loud\n", 1, "log_level: 'loud' is not a log level (use error, warning, "
	    "info or debug)" },
	{ "audit_log = audit.log\n", 1, "audit_log: 'audit.log' is not an absolute path nor one "
	    "under %h/" },
	{ "audit_log = ~/audit.log\n", 1, "audit_log: '~/audit.log' is not an absolute path nor "
	    "one under %h/" },
	{ "modules = %h/p11.so\n", 1, "modules: '%h/p11.so' is not an absolute path" },
	{ "[kysod]\nfoo = 1\n", 2, "unknown key 'foo'" },
	{ "Login_Cache = yes\n", 1, "unknown key 'Login_Cache'" },
	{ "[agent]\n", 1, "unknown section [agent] (keys go before any section or under "
	    "[kysod])" },
	{ "[ kysod ]\nconfirm = yes\n", 1, "unknown section [ kysod ] (keys go before any "
	    "section or under [kysod])" },
	{ "[kysod]\nconfirm = yes\n\n[other]\nconfirm = no\n", 4, "unknown section [other] "
	    "(keys go before any section or under [kysod])" },
	{ "confirm yes\n", 1, "syntax error (expected 'key = value', [kysod] or a comment)" },
	{ "[kysod\n", 1, "syntax error (expected 'key = value', [kysod] or a comment)" },
	{ "confirm yes\nfoo = 1\n", 1, "syntax error (expected 'key = value', [kysod] or a "
	    "comment)" },
	{ "foo = 1\nconfirm yes\n", 1, "unknown key 'foo'" },
	{ "confirm = yes\n[kysod]\nconfirm = no\n", 3, "confirm: set twice (first on line 1)" },
	{ "confirm = yes\n  no\n", 2, "confirm: only modules and web_origins may continue on an "
	    "indented line" },
	{ "login_idle_ttl = 1h\nlogin_max_ttl = 9999999h\n", 2, "login_max_ttl: '9999999h' is "
	    "longer than 30 days (use 'unlimited' for no limit)" },
};

static void
test_bad_files(void **state)
{
	struct kysod_config c = { 0 };
	char err[512];
	const char *path;

	(void)state;
	for (int in_user = 0; in_user < 2; in_user++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			path = in_user ? user_file : admin_file;
			memset(err, 'x', sizeof(err));
			assert_int_equal(load(&c, in_user ? "confirm = yes\n" : bad[i].text,
			    in_user ? bad[i].text : NULL, err, sizeof(err)), KYSO_ERR_INVALID_ARG);
			assert_string_equal(err, fmt("%s line %d: %s", path, bad[i].line, bad[i].msg));
			assert_defaults(&c);   /* nothing of either file */
			assert_int_equal(c.nwarnings, 0);
			config_free(&c);
		}
}

static void
test_bad_bytes_and_sizes(void **state)
{
	struct kysod_config c = { 0 };
	char err[512], *big;
	char line[300];

	(void)state;
	put_file(user_file, NULL, -1);
	put_file(admin_file, "confirm = yes\nlog\0_level = info\n", 31);
	assert_int_equal(config_load(&c, admin_file, user_file, 0, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_string_equal(err, fmt("%s line 2: a NUL byte: this is not a text file",
	    admin_file));
	memset(line, 'a', sizeof(line));
	memcpy(line, "modules = /", 11);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(load(&c, fmt("confirm = no\n%s\n", line), NULL, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_string_equal(err, fmt("%s line 2: the line is longer than 198 characters (a long "
	    "modules list may continue on indented lines)", admin_file));
	big = malloc(70000);
	assert_non_null(big);
	for (size_t i = 0; i < 70000; i += 2)
		memcpy(big + i, "#\n", 2);
	put_file(admin_file, big, 70000);
	free(big);
	assert_int_equal(config_load(&c, admin_file, user_file, 0, err, sizeof(err)),
	    KYSO_ERR_INVALID_ARG);
	assert_string_equal(err, fmt("%s: larger than 64 KiB", admin_file));
	/* a small error buffer is truncated, not overrun */
	memset(err, 'x', sizeof(err));
	assert_int_equal(load(&c, "confirm = perhaps\n", NULL, err, 8), KYSO_ERR_INVALID_ARG);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(err[8], 'x');
	config_free(&c);
}

/* Run as the user nobody in a child: fn's result becomes the exit status. */

static int
child_unreadable(void)
{
	struct kysod_config c = { 0 };
	char err[512];
	int rc = config_load(&c, admin_file, "/nonexistent/kysod.conf", 0, err, sizeof(err));

	if (rc != KYSO_ERR_IO || strcmp(err, fmt("%s: cannot read: %s", admin_file,
	    strerror(EACCES))) != 0) {
		fprintf(stderr, "child: %d: %s\n", rc, err);
		return 1;
	}
	config_free(&c);
	return 0;
}

static void
test_unreadable(void **state)
{
	struct kysod_config c = { 0 };
	char err[512];

	(void)state;
	put_file(user_file, NULL, -1);
	assert_int_equal(config_load(&c, top, user_file, 0, err, sizeof(err)), KYSO_ERR_IO);
	assert_string_equal(err, fmt("%s: cannot read: not a regular file", top));
	put_file(admin_file, "confirm = yes\n", -1);
	assert_int_equal(config_load(&c, fmt("%s/sub", admin_file), user_file, 0, err,
	    sizeof(err)), KYSO_ERR_IO);
	assert_string_equal(err, fmt("%s/sub: cannot read: %s", admin_file, strerror(ENOTDIR)));
	assert_defaults(&c);
	/* the user file named on the command line must exist; a missing admin file is fine */
	assert_int_equal(config_load(&c, missing, missing, CONFIG_USER_REQUIRED, err,
	    sizeof(err)), KYSO_ERR_IO);
	assert_string_equal(err, fmt("%s: cannot read: %s", missing, strerror(ENOENT)));
	assert_int_equal(config_load(&c, missing, user_file, CONFIG_USER_REQUIRED, err,
	    sizeof(err)), KYSO_ERR_IO);
	put_file(user_file, "confirm = yes\n", -1);
	assert_int_equal(config_load(&c, missing, user_file, CONFIG_USER_REQUIRED, err,
	    sizeof(err)), KYSO_OK);
	assert_int_equal(c.confirm, 1);
	/* EACCES: as root only a user without the right can see it */
	chmod(admin_file, 0);
	if (getuid() == 0)
		assert_int_equal(as_nobody(child_unreadable), 0);
	else
		assert_int_equal(child_unreadable(), 0);
	chmod(admin_file, 0600);
	config_free(&c);
}

static void
restore(const char *name, const char *saved)
{
	if (saved != NULL)
		setenv(name, saved, 1);
	else
		unsetenv(name);
}

static void
test_user_path(void **state)
{
	char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw = getpwuid(getuid());
	struct kysod_config c = { 0 };
	char buf[PATH_MAX], err[512];

	(void)state;
	xdg = xdg != NULL ? strdup(xdg) : NULL;
	home = home != NULL ? strdup(home) : NULL;
	setenv("XDG_CONFIG_HOME", "/x/cfg", 1);
	setenv("HOME", "/home/h", 1);
	assert_int_equal(config_user_path(buf, sizeof(buf)), KYSO_OK);
	assert_string_equal(buf, "/x/cfg/kyso/kysod.conf");
	assert_int_equal(config_user_path(buf, 10), KYSO_ERR_INVALID_ARG);
	setenv("XDG_CONFIG_HOME", "relative/cfg", 1);   /* ignored, as XDG says */
	assert_int_equal(config_user_path(buf, sizeof(buf)), KYSO_OK);
	assert_string_equal(buf, "/home/h/.config/kyso/kysod.conf");
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(config_user_path(buf, sizeof(buf)), KYSO_OK);
	assert_string_equal(buf, "/home/h/.config/kyso/kysod.conf");
	unsetenv("HOME");
	assert_non_null(pw);
	assert_int_equal(config_user_path(buf, sizeof(buf)), KYSO_OK);
	assert_string_equal(buf, fmt("%s/.config/kyso/kysod.conf", pw->pw_dir));
	/* config_load finds the user file there */
	assert_int_equal(mkdir(at("xdg"), 0700), 0);
	assert_int_equal(mkdir(at("xdg/kyso"), 0700), 0);
	put_file(at("xdg/kyso/kysod.conf"), "client_pin = no\n", -1);
	setenv("XDG_CONFIG_HOME", at("xdg"), 1);
	assert_int_equal(config_load(&c, missing, NULL, 0, err, sizeof(err)), KYSO_OK);
	assert_int_equal(c.client_pin, 0);
	setenv("XDG_CONFIG_HOME", at("nowhere"), 1);   /* the default file may be missing */
	assert_int_equal(config_load(&c, missing, NULL, 0, err, sizeof(err)), KYSO_OK);
	assert_int_equal(c.client_pin, 1);
	restore("XDG_CONFIG_HOME", xdg);
	restore("HOME", home);
	free(xdg);
	free(home);
	config_free(&c);
}

static void
test_describe(void **state)
{
	struct kysod_config c = { 0 };
	char buf[512];

	(void)state;
	load_ok(&c, fmt("login_cache = no\nclient_pin = no\nconfirm = yes\npinentry = none\n"
	    "modules = %s\naudit_log = /var/log/kyso.log\n", mod_a), NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "no login cache, client PINs refused, confirmation for every "
	    "signature, no pinentry (fixed), 1 module(s) allowed, audit log /var/log/kyso.log "
	    "(fixed)");
	config_free(&c);
	load_ok(&c, "pinentry = /usr/bin/pinentry-qt\npinentry_timeout = 90\n",
	    "login_idle_ttl = unlimited\nlogin_max_ttl = 1d\n", 0);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "login cache unlimited idle / 1d max, client PINs allowed, no "
	    "confirmation, pinentry '/usr/bin/pinentry-qt' (90s, fixed)");
	config_free(&c);
	load_ok(&c, "signing_time_skew = 1h\n", NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "login cache 10m idle / 2h max, client PINs allowed, no "
	    "confirmation, pinentry 'pinentry' (60s), signing times within 1h of now");
	config_free(&c);
	load_ok(&c, "signing_time_skew = unlimited\n", NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "login cache 10m idle / 2h max, client PINs allowed, no "
	    "confirmation, pinentry 'pinentry' (60s), signing times of any date");
	config_free(&c);
	load_ok(&c, "pinentry = /usr/bin/pinentry-qt\npinentry_timeout = 90\n",
	    "login_idle_ttl = unlimited\nlogin_max_ttl = 1d\n", 0);
	memset(buf, 'x', sizeof(buf));
	config_describe(&c, buf, 12);
	assert_string_equal(buf, "login cache");
	assert_int_equal(buf[12], 'x');
	config_describe(&c, buf, 0);
	config_free(&c);
}

/* ---- fixtures ---- */

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_without_files),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_every_key_admin),
		cmocka_unit_test(test_every_key_user),
		cmocka_unit_test(test_syntax_accepted),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_bytes_and_sizes),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_user_path),
		cmocka_unit_test(test_describe),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
