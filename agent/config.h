/*
 * config.h — kysod's configuration files: the administrator's policy file and the user's
 * file, both INI read with libinih (docs/kysod.conf.5 is the user's documentation).
 *
 * Files: the admin file, /etc/kyso/kysod.conf (KYSO_ADMIN_CONFIG instead, for tests, but
 * only when running as root); then the user file, $XDG_CONFIG_HOME/kyso/kysod.conf, else
 * ~/.config/kyso/kysod.conf, or the file kysod --config names. A missing file sets nothing.
 *
 * Syntax: "key = value" lines, before any section or under [kysod] (no other section);
 * comment lines start with # or ;, and " ;" starts a comment at the end of a line. Only
 * `modules` and `web_origins` may continue on indented lines. Everything else is an
 * error naming the file and the line: an unreadable file, a syntax error, an unknown
 * section or key, a key set twice in one file, a bad value. A typo must never silently
 * loosen a policy.
 *
 * Precedence: a key the admin file sets is policy. The user file may tighten it, never
 * loosen it: a looser user value is clamped to the admin's (or ignored, for pinentry,
 * audit_log, and the modules and web_origins entries that the admin does not allow) and
 * a warning says so, naming both files. Keys the admin file does not set are the user's
 * to choose. log_level is not policy: the user file overrides the admin file (and
 * kysod's -l both).
 */
#ifndef KYSO_CONFIG_H
#define KYSO_CONFIG_H

#include <stddef.h>

#define CONFIG_ADMIN_PATH "/etc/kyso/kysod.conf"
#define CONFIG_USER_SUBPATH "kyso/kysod.conf"   /* below $XDG_CONFIG_HOME or ~/.config */
#define CONFIG_ADMIN_ENV "KYSO_ADMIN_CONFIG"

#define CONFIG_UNLIMITED (-1L)              /* a duration without limit */
#define CONFIG_SIGNING_TIME_SKEW_DEFAULT 300L /* seconds: signing_time_skew = 5m */
#define CONFIG_MAX_DURATION (30L * 86400)   /* the longest finite duration: 30 days */
#define CONFIG_PINENTRY_NONE "none"         /* pinentry value: never show a dialog */
#define CONFIG_SESSIONS_MAX 16              /* sessions_per_token's largest value */

/* config_load flags */
#define CONFIG_USER_REQUIRED 1u   /* the user file was named (--config): missing is an error */

struct kysod_config {
	/* Logins. login_cache is 0 also when either TTL is 0 (no caching at all). With
	 * login_cache 0 a login lasts one request: the agent logs out after each Sign
	 * (docs/kysod.conf.5 and the IDL: Login is then refused with PolicyDenied). */
	int login_cache;              /* default 1 */
	long login_idle_ttl;          /* seconds, or CONFIG_UNLIMITED; default 600 */
	long login_max_ttl;           /* seconds, or CONFIG_UNLIMITED; default 7200 */
	int client_pin;               /* clients may send PINs; default 1 */
	/* SignDocuments: how far from now a CAdES signing_time a client chooses may be:
	 * seconds (0: within a second of now), or CONFIG_UNLIMITED; default 300 */
	long signing_time_skew;
	int confirm;                  /* a dialog before every signature; default 0 */

	/* The PIN dialog: a program name (looked up in PATH) or an absolute path, or
	 * CONFIG_PINENTRY_NONE. Never NULL after config_defaults. pinentry_fixed: the admin
	 * file set it; kysod --pinentry must not override it then. */
	char *pinentry;               /* default "pinentry" */
	int pinentry_fixed;
	long pinentry_timeout;        /* seconds (> 0), or CONFIG_UNLIMITED; default 60 */

	/* The modules kysod may use, as real paths (realpath(3); entries that did not exist
	 * at load time are kept as written). modules_set 0: any module; modules_set 1 with
	 * nmodules 0: none. Ask config_module_allowed(). */
	char **modules;
	size_t nmodules;
	int modules_set;

	int log_level;                /* enum log_level; default LOG_LVL_INFO */
	int log_level_set;            /* a file set it (the command line still wins) */

	/* Sessions (and worker threads) per token: CONFIG_UNLIMITED for "auto" (the default:
	 * from the token's slot flags and ulMaxSessionCount, worker_lanes_auto), else
	 * 1..CONFIG_SESSIONS_MAX. */
	long sessions_per_token;

	char *audit_log;              /* absolute path; NULL: the default (audit.h) */
	int audit_log_fixed;          /* the admin file set it */

	/* Web pages (through the browser host) that may ask: normalised origins and
	 * "*." patterns (origin.h); none by default. web_origins_ask: an origin not listed
	 * is put to the officer (web_origins_unknown = ask) instead of refused (deny, the
	 * default). */
	char **web_origins;
	size_t nweb_origins;
	int web_origins_set;
	int web_origins_ask;

	/* Sentences for the log (settings clamped or ignored, module paths that do not
	 * exist, KYSO_ADMIN_CONFIG ignored), in the order found. config_load never prints. */
	char **warnings;
	size_t nwarnings;
};

/* Fills *c with the defaults (no file read). Returns KYSO_OK, or KYSO_ERR_NOMEM. */
int config_defaults(struct kysod_config *c);

/*
 * Returns the admin file's path: $KYSO_ADMIN_CONFIG when it is set, not empty, and the
 * process runs as root (getuid() == 0); else CONFIG_ADMIN_PATH. Never NULL; valid until
 * the environment changes. (A user who is not root could otherwise escape the policy.)
 */
const char *config_admin_path(void);

/*
 * Writes the default user file's path, $XDG_CONFIG_HOME/kyso/kysod.conf (when set and
 * absolute), else $HOME/.config/kyso/kysod.conf (HOME from the environment when absolute,
 * else the password database). Returns KYSO_OK, or KYSO_ERR_INVALID_ARG (no home
 * directory, or len too small).
 */
int config_user_path(char *buf, size_t len);

/*
 * Frees *c, then loads the defaults, the admin file and the user file into it.
 * admin_path NULL: config_admin_path() (with a warning if KYSO_ADMIN_CONFIG is set but
 * ignored). user_path NULL: config_user_path() (with a warning, and no user file, if
 * there is no home directory). A missing file sets nothing, unless it is the user file
 * and flags has CONFIG_USER_REQUIRED.
 * Returns KYSO_OK (warnings may have been added); KYSO_ERR_INVALID_ARG for a bad file
 * (a syntax error, unknown section or key, a key set twice, a bad value, a file too
 * large); KYSO_ERR_IO for a file that cannot be read (or is not a regular file);
 * KYSO_ERR_NOMEM. On failure err holds one sentence naming the file (and the line and
 * key when there is one), and *c holds the defaults without warnings. Either way the
 * caller frees *c with config_free().
 */
int config_load(struct kysod_config *c, const char *admin_path, const char *user_path,
    unsigned flags, char *err, size_t errlen);

/*
 * Returns 1 if the module at path may be used: no modules list, or realpath(path) (path
 * as given if it does not resolve) equals an entry of the list; else 0.
 */
int config_module_allowed(const struct kysod_config *c, const char *path);

/*
 * kysod --pinentry PROGRAM: the user's choice from the command line replaces the files'
 * pinentry unless the administrator fixed it. Returns 1 if applied, 0 if the fixed value
 * stays, KYSO_ERR_NOMEM.
 */
int config_override_pinentry(struct kysod_config *c, const char *prog);

/* Frees what *c owns and zeroes it; c may be NULL. */
void config_free(struct kysod_config *c);

/*
 * Writes a one-line summary for the log, e.g. "login cache 10m idle / 2h max, client PINs
 * allowed, no confirmation, pinentry 'pinentry' (60s)", truncated to len.
 */
void config_describe(const struct kysod_config *c, char *buf, size_t len);

/*
 * Parses a duration: digits, optionally followed by s, m, h or d (plain digits are
 * seconds), or "unlimited" (any case) giving CONFIG_UNLIMITED. Returns KYSO_OK,
 * KYSO_ERR_TOO_LARGE (more than CONFIG_MAX_DURATION) or KYSO_ERR_INVALID_ARG.
 */
int config_parse_duration(const char *s, long *out);

/* Writes secs the way a user writes it: "60s", "90s", "10m", "2h", "1d", "unlimited"
 * (seconds below two minutes, else the largest unit that divides it). */
void config_format_duration(long secs, char *buf, size_t len);

#endif
