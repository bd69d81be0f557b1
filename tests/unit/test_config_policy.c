/* test_config_policy.c — agent/config.h: the user file tightens, never loosens, the
 * administrator's; modules by real path; KYSO_ADMIN_CONFIG only for root. */
#include "config_fixture.h"

static const char tight_admin[] =
	"login_cache = yes\nlogin_idle_ttl = unlimited\nlogin_max_ttl = 8h\nclient_pin = yes\n"
	"confirm = no\npinentry_timeout = 2m\nlog_level = info\n";

static void
test_user_tightens(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, tight_admin, "login_cache = no\nlogin_idle_ttl = 2h\nlogin_max_ttl = 1h\n"
	    "client_pin = no\nconfirm = yes\npinentry_timeout = 30s\n", 0);
	assert_int_equal(c.login_cache, 0);
	assert_int_equal(c.login_idle_ttl, 7200);   /* a number under 'unlimited' */
	assert_int_equal(c.login_max_ttl, 3600);
	assert_int_equal(c.client_pin, 0);
	assert_int_equal(c.confirm, 1);
	assert_int_equal(c.pinentry_timeout, 30);
	config_free(&c);
	/* the same values as the admin's are no loosening */
	load_ok(&c, tight_admin, "login_cache = on\nlogin_idle_ttl = unlimited\n"
	    "login_max_ttl = 480m\nclient_pin = 1\nconfirm = off\npinentry_timeout = 120\n", 0);
	assert_int_equal(c.login_cache, 1);
	assert_int_equal(c.login_idle_ttl, CONFIG_UNLIMITED);
	assert_int_equal(c.login_max_ttl, 8 * 3600);
	assert_int_equal(c.pinentry_timeout, 120);
	config_free(&c);
}

/* signing_time_skew: a duration, 5 minutes by default; the user file only tightens it. */
static void
test_signing_time_skew(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "login_cache = yes\n", "log_level = info\n", 0);
	assert_int_equal(c.signing_time_skew, 300);
	config_free(&c);
	load_ok(&c, "signing_time_skew = 1h\n", "signing_time_skew = 0\n", 0);
	assert_int_equal(c.signing_time_skew, 0);
	config_free(&c);
	load_ok(&c, "signing_time_skew = unlimited\n", "signing_time_skew = 2d\n", 0);
	assert_int_equal(c.signing_time_skew, 2 * 86400);
	config_free(&c);
	load_ok(&c, "signing_time_skew = 2m\n", "signing_time_skew = unlimited\n", 1);
	assert_int_equal(c.signing_time_skew, 120);
	assert_string_equal(c.warnings[0], fmt("%s line 1: signing_time_skew = unlimited "
	    "ignored: it would loosen signing_time_skew = 2m set by %s line 1", user_file,
	    admin_file));
	config_free(&c);
	load_ok(&c, "signing_time_skew = 10m\n", "signing_time_skew = 11m\n", 1);
	assert_int_equal(c.signing_time_skew, 600);
	config_free(&c);
}

static void
test_user_cannot_loosen(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "login_cache = no\nlogin_idle_ttl = 15m\nlogin_max_ttl = 1h\n"
	    "client_pin = no\nconfirm = yes\npinentry = /usr/bin/pinentry-qt\n"
	    "pinentry_timeout = 30s\naudit_log = /var/log/kyso/audit.log\n",
	    "login_cache = yes\nlogin_idle_ttl = unlimited\nlogin_max_ttl = 2h\n"
	    "client_pin = yes\nconfirm = no\npinentry = /usr/bin/pinentry-gtk\n"
	    "pinentry_timeout = 1m\naudit_log = /tmp/mine.log\n", 8);
	assert_int_equal(c.login_cache, 0);
	assert_int_equal(c.login_idle_ttl, 900);
	assert_int_equal(c.login_max_ttl, 3600);
	assert_int_equal(c.client_pin, 0);
	assert_int_equal(c.confirm, 1);
	assert_string_equal(c.pinentry, "/usr/bin/pinentry-qt");
	assert_int_equal(c.pinentry_fixed, 1);
	assert_int_equal(c.pinentry_timeout, 30);
	assert_string_equal(c.audit_log, "/var/log/kyso/audit.log");
	assert_int_equal(c.audit_log_fixed, 1);
	/* each warning names both files and lines, in the order of the keys */
	assert_string_equal(c.warnings[0], fmt("%s line 1: login_cache = yes ignored: it would "
	    "loosen login_cache = no set by %s line 1", user_file, admin_file));
	assert_string_equal(c.warnings[1], fmt("%s line 2: login_idle_ttl = unlimited ignored: "
	    "it would loosen login_idle_ttl = 15m set by %s line 2", user_file, admin_file));
	assert_string_equal(c.warnings[2], fmt("%s line 3: login_max_ttl = 2h ignored: it would "
	    "loosen login_max_ttl = 1h set by %s line 3", user_file, admin_file));
	assert_string_equal(c.warnings[3], fmt("%s line 4: client_pin = yes ignored: it would "
	    "loosen client_pin = no set by %s line 4", user_file, admin_file));
	assert_string_equal(c.warnings[4], fmt("%s line 5: confirm = no ignored: it would "
	    "loosen confirm = yes set by %s line 5", user_file, admin_file));
	assert_string_equal(c.warnings[5], fmt("%s line 6: pinentry = /usr/bin/pinentry-gtk "
	    "ignored: %s line 6 fixes it to /usr/bin/pinentry-qt", user_file, admin_file));
	assert_string_equal(c.warnings[6], fmt("%s line 7: pinentry_timeout = 60s ignored: it "
	    "would loosen pinentry_timeout = 30s set by %s line 7", user_file, admin_file));
	assert_string_equal(c.warnings[7], fmt("%s line 8: audit_log = /tmp/mine.log ignored: "
	    "%s line 8 fixes it to /var/log/kyso/audit.log", user_file, admin_file));
	config_free(&c);
	/* 'none' is fixed like any program; 0 is the shortest TTL */
	load_ok(&c, "pinentry = none\nlogin_max_ttl = 0\n", "pinentry = pinentry\n"
	    "login_max_ttl = 1m\n", 2);
	assert_string_equal(c.pinentry, CONFIG_PINENTRY_NONE);
	assert_int_equal(c.login_max_ttl, 0);
	assert_int_equal(c.login_cache, 0);
	config_free(&c);
}

static void
test_keys_admin_leaves_alone(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	/* what the admin file does not set, the user may set, looser than the default too */
	load_ok(&c, "confirm = yes\n", "login_idle_ttl = unlimited\nlogin_max_ttl = 1d\n"
	    "pinentry = none\npinentry_timeout = unlimited\naudit_log = /tmp/a.log\n", 0);
	assert_int_equal(c.confirm, 1);
	assert_int_equal(c.login_idle_ttl, CONFIG_UNLIMITED);
	assert_int_equal(c.login_max_ttl, 86400);
	assert_string_equal(c.pinentry, CONFIG_PINENTRY_NONE);
	assert_int_equal(c.pinentry_fixed, 0);
	assert_int_equal(c.pinentry_timeout, CONFIG_UNLIMITED);
	assert_string_equal(c.audit_log, "/tmp/a.log");
	assert_int_equal(c.audit_log_fixed, 0);
	config_free(&c);
}

static void
test_ttl_zero_means_no_cache(void **state)
{
	struct kysod_config c = { 0 };
	char buf[256];

	(void)state;
	load_ok(&c, "login_idle_ttl = 0\n", NULL, 0);
	assert_int_equal(c.login_cache, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_string_equal(buf, "no login cache, client PINs allowed, no confirmation, "
	    "pinentry 'pinentry' (60s)");
	config_free(&c);
	load_ok(&c, NULL, "login_max_ttl = 0s\n", 0);
	assert_int_equal(c.login_cache, 0);
	config_free(&c);
}

static void
test_modules(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, NULL, NULL, 0);
	assert_int_equal(config_module_allowed(&c, "/any/module.so"), 1);
	config_free(&c);
	/* a path that does not exist is kept as written, with a warning */
	load_ok(&c, fmt("modules = %s %s %s\n", mod_a, missing, link_a), NULL, 1);
	assert_non_null(strstr(c.warnings[0], fmt("%s line 1: modules: '%s' cannot be resolved "
	    "(", admin_file, missing)));
	assert_int_equal(c.nmodules, 2);
	assert_string_equal(c.modules[0], mod_a);
	assert_string_equal(c.modules[1], missing);
	assert_int_equal(config_module_allowed(&c, mod_a), 1);
	assert_int_equal(config_module_allowed(&c, link_a), 1);     /* by real path */
	assert_int_equal(config_module_allowed(&c, fmt("%s/./mod_a.so", top)), 1);
	assert_int_equal(config_module_allowed(&c, mod_b), 0);
	assert_int_equal(config_module_allowed(&c, "/nonexistent.so"), 0);
	config_free(&c);
	/* continuation lines */
	load_ok(&c, fmt("[kysod]\nmodules = %s\n    %s\n\t%s\nconfirm = no\n", mod_a, mod_b,
	    mod_c), NULL, 0);
	assert_int_equal(c.nmodules, 3);
	assert_string_equal(c.modules[2], mod_c);
	config_free(&c);
	/* the user only: it applies */
	load_ok(&c, NULL, fmt("modules = %s\n", link_a), 0);
	assert_int_equal(c.modules_set, 1);
	assert_int_equal(config_module_allowed(&c, mod_a), 1);
	assert_int_equal(config_module_allowed(&c, mod_b), 0);
	config_free(&c);
}

static void
test_modules_user_restricts(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	/* the user keeps A (through a link) and loses C, which the admin does not allow */
	load_ok(&c, fmt("modules = %s %s\n", mod_a, mod_b), fmt("# mine\nmodules = %s %s\n",
	    link_a, mod_c), 1);
	assert_string_equal(c.warnings[0], fmt("%s line 2: modules: '%s' dropped: %s line 1 "
	    "does not allow it", user_file, mod_c, admin_file));
	assert_int_equal(c.nmodules, 1);
	assert_string_equal(c.modules[0], mod_a);
	assert_int_equal(config_module_allowed(&c, mod_a), 1);
	assert_int_equal(config_module_allowed(&c, link_a), 1);
	assert_int_equal(config_module_allowed(&c, mod_b), 0);   /* the user narrowed it */
	assert_int_equal(config_module_allowed(&c, mod_c), 0);
	config_free(&c);
	/* nothing left: no module at all, not the admin's list */
	load_ok(&c, fmt("modules = %s\n", mod_a), fmt("modules = %s\n", mod_c), 2);
	assert_non_null(strstr(c.warnings[1], "no module will be used"));
	assert_int_equal(c.modules_set, 1);
	assert_int_equal(c.nmodules, 0);
	assert_int_equal(config_module_allowed(&c, mod_a), 0);
	assert_int_equal(config_module_allowed(&c, mod_c), 0);
	config_free(&c);
	/* the warning names the module as the user wrote it */
	load_ok(&c, fmt("modules = %s\n", mod_b), fmt("modules = %s %s\n", mod_b, link_a), 1);
	assert_string_equal(c.warnings[0], fmt("%s line 1: modules: '%s' dropped: %s line 1 "
	    "does not allow it", user_file, link_a, admin_file));
	assert_int_equal(c.nmodules, 1);
	assert_string_equal(c.modules[0], mod_b);
	config_free(&c);
}

static void
test_log_level(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "log_level = debug\n", "log_level = error\n", 0);
	assert_int_equal(c.log_level, LOG_LVL_ERROR);
	assert_int_equal(c.log_level_set, 1);
	config_free(&c);
	load_ok(&c, "log_level = error\n", "log_level = debug\n", 0);   /* not a policy */
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	config_free(&c);
	load_ok(&c, "log_level = debug\n", NULL, 0);
	assert_int_equal(c.log_level, LOG_LVL_DEBUG);
	assert_int_equal(c.log_level_set, 1);
	config_free(&c);
}

static int
child_env_ignored(void)
{
	struct kysod_config c = { 0 };
	char err[512];
	int rc;

	if (strcmp(config_admin_path(), CONFIG_ADMIN_PATH) != 0)
		return 1;
	rc = config_load(&c, NULL, "/nonexistent/kysod.conf", 0, err, sizeof(err));
	if (rc != KYSO_OK) {
		fprintf(stderr, "child: %s (is %s broken?)\n", err, CONFIG_ADMIN_PATH);
		return 2;
	}
	if (c.nwarnings != 1 || strcmp(c.warnings[0], fmt("KYSO_ADMIN_CONFIG=%s ignored: only "
	    "root may name another admin file; reading %s", admin_file, CONFIG_ADMIN_PATH)) != 0)
		return 3;
	if (c.confirm != 0)
		return 4;
	config_free(&c);
	return 0;
}

static void
test_admin_env(void **state)
{
	struct kysod_config c = { 0 };
	char err[512];

	(void)state;
	put_file(admin_file, "confirm = yes\n", -1);
	put_file(user_file, NULL, -1);
	setenv(CONFIG_ADMIN_ENV, admin_file, 1);
	if (getuid() == 0) {
		assert_string_equal(config_admin_path(), admin_file);
		assert_int_equal(config_load(&c, NULL, user_file, 0, err, sizeof(err)), KYSO_OK);
		assert_int_equal(c.confirm, 1);
		assert_int_equal(c.nwarnings, 0);
		/* and a user who is not root cannot escape the policy with it */
		assert_int_equal(as_nobody(child_env_ignored), 0);
	} else
		assert_int_equal(child_env_ignored(), 0);
	setenv(CONFIG_ADMIN_ENV, "", 1);
	assert_string_equal(config_admin_path(), CONFIG_ADMIN_PATH);
	unsetenv(CONFIG_ADMIN_ENV);
	assert_string_equal(config_admin_path(), CONFIG_ADMIN_PATH);
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_tightens),
		cmocka_unit_test(test_user_cannot_loosen),
		cmocka_unit_test(test_keys_admin_leaves_alone),
		cmocka_unit_test(test_ttl_zero_means_no_cache),
		cmocka_unit_test(test_modules),
		cmocka_unit_test(test_modules_user_restricts),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_signing_time_skew),
		cmocka_unit_test(test_admin_env),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
