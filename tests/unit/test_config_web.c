/* test_config_web.c — agent/config.h: web_origins and web_origins_unknown, and how the
 * user file can only tighten them. */
#include "config_fixture.h"

static void
test_web_defaults(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, NULL, NULL, 0);
	assert_int_equal(c.web_origins_set, 0);
	assert_int_equal(c.nweb_origins, 0);
	assert_int_equal(c.web_origins_ask, 0);
	config_free(&c);
}

static void
test_web_origins_parsed(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "web_origins = HTTPS://VanBan.Example.VN:443/ https://*.mof.gov.vn\n"
	    "    https://10.0.0.5:8443 http://localhost:3000\n"
	    "\thttps://vanban.example.vn\n"
	    "web_origins_unknown = Ask\n", NULL, 0);
	assert_int_equal(c.web_origins_set, 1);
	assert_int_equal(c.nweb_origins, 4);   /* the duplicate once */
	assert_string_equal(c.web_origins[0], "https://vanban.example.vn");
	assert_string_equal(c.web_origins[1], "https://*.mof.gov.vn");
	assert_string_equal(c.web_origins[2], "https://10.0.0.5:8443");
	assert_string_equal(c.web_origins[3], "http://localhost:3000");
	assert_int_equal(c.web_origins_ask, 1);
	config_free(&c);
	load_ok(&c, "web_origins = none\nweb_origins_unknown = deny\n", NULL, 0);
	assert_int_equal(c.web_origins_set, 1);
	assert_int_equal(c.nweb_origins, 0);
	assert_int_equal(c.web_origins_ask, 0);
	config_free(&c);
}

static const struct {
	const char *text;
	const char *err;   /* after "FILE line 1: " */
} bad[] = {
	{ "web_origins = http://vanban.example.vn\n", "web_origins: 'http://vanban.example.vn' "
	    "is not an origin (https://host[:port] or https://*.domain[:port]): the scheme must "
	    "be https (http only for a page on this machine: localhost, 127.0.0.1 or [::1])" },
	{ "web_origins = https://*.vn\n", "web_origins: 'https://*.vn' is not an origin "
	    "(https://host[:port] or https://*.domain[:port]): a '*.' rule needs a domain of "
	    "at least two labels" },
	{ "web_origins = https://a.vn/path\n", "web_origins: 'https://a.vn/path' is not an "
	    "origin (https://host[:port] or https://*.domain[:port]): an origin has no path, "
	    "query or fragment (scheme://host[:port] only)" },
	{ "web_origins = *\n", "web_origins: '*' is not an origin (https://host[:port] or "
	    "https://*.domain[:port]): the scheme must be https (an origin is "
	    "scheme://host[:port])" },
	{ "web_origins_unknown = yes\n", "web_origins_unknown: 'yes' is neither deny nor ask" },
	{ "confirm = no\n  https://a.vn\n", "confirm: only modules and web_origins may "
	    "continue on an indented line" },
};

static void
test_web_bad_values(void **state)
{
	struct kysod_config c = { 0 };
	char err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = load(&c, bad[i].text, NULL, err, sizeof(err));
		const char *want = fmt("%s line %d: %s", admin_file,
		    strchr(bad[i].text, '\n')[1] != '\0' ? 2 : 1, bad[i].err);

		assert_int_equal(rc, KYSO_ERR_INVALID_ARG);
		assert_string_equal(err, want);
		assert_int_equal(c.nweb_origins, 0);   /* the defaults after a failure */
		config_free(&c);
	}
}

static void
test_web_user_tightens(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	/* the user may keep what the admin's list covers, and say deny instead of ask */
	load_ok(&c, "web_origins = https://*.mof.gov.vn https://a.vn:8443\n"
	    "web_origins_unknown = ask\n",
	    "web_origins = https://vanban.mof.gov.vn https://*.hn.mof.gov.vn https://a.vn:8443\n"
	    "web_origins_unknown = deny\n", 0);
	assert_int_equal(c.nweb_origins, 3);
	assert_string_equal(c.web_origins[0], "https://vanban.mof.gov.vn");
	assert_string_equal(c.web_origins[1], "https://*.hn.mof.gov.vn");
	assert_string_equal(c.web_origins[2], "https://a.vn:8443");
	assert_int_equal(c.web_origins_ask, 0);
	config_free(&c);
	/* the user's own list where the admin set none, and "none" to refuse every page */
	load_ok(&c, "confirm = no\n", "web_origins = https://mine.vn\n"
	    "web_origins_unknown = ask\n", 0);
	assert_int_equal(c.nweb_origins, 1);
	assert_int_equal(c.web_origins_ask, 1);
	config_free(&c);
	load_ok(&c, "web_origins = https://*.mof.gov.vn\n", "web_origins = none\n", 0);
	assert_int_equal(c.web_origins_set, 1);
	assert_int_equal(c.nweb_origins, 0);
	config_free(&c);
}

static void
test_web_user_cannot_loosen(void **state)
{
	struct kysod_config c = { 0 };

	(void)state;
	load_ok(&c, "web_origins = https://*.mof.gov.vn\nweb_origins_unknown = deny\n",
	    "web_origins = https://*.gov.vn https://evil.vn https://vanban.mof.gov.vn\n"
	    "    https://vanban.mof.gov.vn:8443 http://localhost:3000\n"
	    "web_origins_unknown = ask\n", 5);
	assert_int_equal(c.nweb_origins, 1);
	assert_string_equal(c.web_origins[0], "https://vanban.mof.gov.vn");
	assert_int_equal(c.web_origins_ask, 0);
	assert_string_equal(c.warnings[0], fmt("%s line 1: web_origins: 'https://*.gov.vn' "
	    "dropped: %s line 1 does not allow it", user_file, admin_file));
	assert_string_equal(c.warnings[1], fmt("%s line 1: web_origins: 'https://evil.vn' "
	    "dropped: %s line 1 does not allow it", user_file, admin_file));
	assert_string_equal(c.warnings[4], fmt("%s line 3: web_origins_unknown = ask ignored: "
	    "it would loosen web_origins_unknown = deny set by %s line 2", user_file,
	    admin_file));
	config_free(&c);
	/* an admin list of none keeps none of the user's */
	load_ok(&c, "web_origins = none\n", "web_origins = https://a.vn\n", 1);
	assert_int_equal(c.web_origins_set, 1);
	assert_int_equal(c.nweb_origins, 0);
	config_free(&c);
}

static void
test_web_describe(void **state)
{
	struct kysod_config c = { 0 };
	char buf[512];

	(void)state;
	load_ok(&c, "web_origins = https://*.mof.gov.vn https://a.vn\n"
	    "web_origins_unknown = ask\n", NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "2 web origin(s) allowed, others asked"));
	config_free(&c);
	load_ok(&c, NULL, NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_null(strstr(buf, "web origin"));   /* the default is not worth a word */
	config_free(&c);
	load_ok(&c, "web_origins = none\n", NULL, 0);
	config_describe(&c, buf, sizeof(buf));
	assert_non_null(strstr(buf, "no web origin allowed, others refused"));
	config_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_web_defaults),
		cmocka_unit_test(test_web_origins_parsed),
		cmocka_unit_test(test_web_bad_values),
		cmocka_unit_test(test_web_user_tightens),
		cmocka_unit_test(test_web_user_cannot_loosen),
		cmocka_unit_test(test_web_describe),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
