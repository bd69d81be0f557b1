/* kysod.c — the kyso agent's main(): flags, hardening, daemonising, then the loop. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "audit.h"
#include "config.h"
#include "i18n.h"
#include "jsonmem.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "web_store.h"

#ifndef KYSO_VERSION
#define KYSO_VERSION "0.0.0"
#endif

static void
usage(FILE *f)
{
	fputs(_("Usage: kysod [OPTION]...\n"
	    "The kyso agent: signs with the keys on PKCS#11 tokens for local applications.\n"
	    "\n"
	    "  -f, --foreground       stay in the foreground and log to standard error\n"
	    "  -s, --socket PATH      listen on PATH (default: $KYSO_SOCKET, else\n"
	    "                         $XDG_RUNTIME_DIR/kyso/agent.sock, else\n"
	    "                         /tmp/kyso-UID/agent.sock)\n"
	    "  -m, --module PATH      load this PKCS#11 module (repeatable); without it, the\n"
	    "                         modules registered with p11-kit are loaded\n"
	    "  -l, --log-level LEVEL  error, warning, info (default) or debug\n"
	    "  -p, --pinentry PROGRAM the PIN and confirmation dialog (default: the config\n"
	    "                         key pinentry, else 'pinentry'; 'none': no dialogs)\n"
	    "      --module-timeout DURATION\n"
	    "                         how long a PKCS#11 module may take to answer (default\n"
	    "                         60s; a PIN-pad login five times that) before its\n"
	    "                         helper process is ended and started again\n"
	    "      --no-module-filter run modules without the seccomp filter (for a module\n"
	    "                         that needs the network or to run programs)\n"
	    "  -c, --config FILE      the user's settings (default:\n"
	    "                         $XDG_CONFIG_HOME/kyso/kysod.conf); /etc/kyso/kysod.conf\n"
	    "                         is the administrator's policy, which it cannot loosen\n"
	    "  -h, --help             show this help and exit\n"
	    "  -V, --version          show the version and exit\n"
	    "\n"
	    "Without --foreground kysod detaches once it is ready to serve and logs to\n"
	    "syslog. With systemd socket activation (LISTEN_FDS) the passed socket is used.\n"
	    "SIGTERM or SIGINT stop it cleanly and remove the socket. See kysod(1) and\n"
	    "kysod.conf(5).\n"), f);
}

/* No core dumps, no ptrace by other processes of the user, private files. */
static void
harden(void)
{
	struct rlimit no_core = { 0, 0 };

	umask(077);
	if (setrlimit(RLIMIT_CORE, &no_core) != 0)
		log_warn("cannot disable core dumps: %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		log_warn("cannot make the process non-dumpable: %s", strerror(errno));
}

/*
 * Forks; the parent waits until the child is serving and exits with its status: the
 * child writes "1" on the readiness pipe once it serves, or "E" and the reason it could
 * not start (daemon_failed), which the parent prints on the terminal it was started
 * from: a machine without syslog or journal still says why. Returns the write end of
 * the pipe in the child.
 */
static int
daemonize(void)
{
	char msg[600];
	size_t len = 0;
	ssize_t n;
	int p[2], devnull;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) != 0 || (pid = fork()) < 0) {
		(void)kyso_i18n_enter();
		fprintf(stderr, _("kysod: cannot start in the background: %s\n"), strerror(errno));
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		while (len < sizeof(msg) - 1 &&
		    ((n = read(p[0], msg + len, sizeof(msg) - 1 - len)) > 0 ||
		    (n < 0 && errno == EINTR)))
			len += n > 0 ? (size_t)n : 0;
		msg[len] = '\0';
		if (len > 0 && msg[0] == '1')
			exit(0);
		(void)kyso_i18n_enter();   /* this process only says why, and exits */
		if (len > 1 && msg[0] == 'E')
			fprintf(stderr, "kysod: %s\n", msg + 1);
		else
			fprintf(stderr, _("kysod: the agent stopped before it was ready, without "
			    "saying why; run kysod --foreground to see its messages\n"));
		exit(1);
	}
	close(p[0]);
	setsid();
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		if (devnull > 2)
			close(devnull);
	}
	return p[1];
}

/*
 * Tells the parent that daemonize left waiting why the agent cannot start (see
 * daemonize); nothing when kysod runs in the foreground (fd -1).
 */
static void
daemon_failed(int fd, const char *why)
{
	char msg[600];
	int n;

	if (fd < 0)
		return;
	n = snprintf(msg, sizeof(msg), "E%s", why);
	(void)!write(fd, msg, n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

/* The terminal for pinentry-curses/-tty: GPG_TTY, else kysod's own standard input. */
static const char *
pinentry_tty(void)
{
	static char tty[256];
	const char *env = getenv("GPG_TTY");

	if (env != NULL && env[0] != '\0')
		return env;
	if (!isatty(0) || ttyname_r(0, tty, sizeof(tty)) != 0)
		return NULL;
	return tty;
}

#ifndef KYSO_P11_MODULE_DIR
#define KYSO_P11_MODULE_DIR ""
#endif

/*
 * The policy's module allow-list for a --module: a bare name is p11-kit's, in its module
 * directory. Gives the real path to load (the file that was checked).
 */
static int
module_allowed(const char *path, char *real, size_t reallen, void *arg)
{
	char full[4096], *r;

	if (strchr(path, '/') == NULL && KYSO_P11_MODULE_DIR[0] != '\0') {
		snprintf(full, sizeof(full), "%s/%s", KYSO_P11_MODULE_DIR, path);
		path = full;
	}
	if (!config_module_allowed(arg, path) || (r = realpath(path, NULL)) == NULL)
		return 0;
	snprintf(real, reallen, "%s", r);
	free(r);
	return 1;
}

/*
 * The pinentry program the administrator fixed, as an absolute path: a bare name is looked
 * up in the system's directories, not in the user's PATH (which would let the user pick
 * the program after all). Returns prog unchanged when it is a path or cannot be found.
 */
static const char *
pinentry_resolve(const char *prog, char *buf, size_t len)
{
	static const char *const dirs[] = { "/usr/local/bin", "/usr/bin", "/bin" };

	if (strchr(prog, '/') != NULL || strcmp(prog, CONFIG_PINENTRY_NONE) == 0)
		return prog;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], prog);
		if (access(buf, X_OK) == 0)
			return buf;
	}
	log_warn("pinentry = %s (administrator's policy) is not in /usr/local/bin, /usr/bin or "
	    "/bin", prog);
	return prog;
}

/*
 * Expands %u (user name), %U (uid) and %h (home directory) in the administrator's
 * audit_log, so that one setting gives every user a file of their own. Returns KYSO_OK
 * or KYSO_ERR_INVALID_ARG.
 */
static int
audit_path_expand(const char *tmpl, char *out, size_t len)
{
	struct passwd *pw = getpwuid(getuid());
	size_t n = 0;

	for (const char *p = tmpl; *p != '\0' && n + 1 < len; p++) {
		const char *add = NULL;
		char uid[24];

		if (p[0] == '%' && (p[1] == 'u' || p[1] == 'U' || p[1] == 'h')) {
			if (p[1] == 'U') {
				snprintf(uid, sizeof(uid), "%lu", (unsigned long)getuid());
				add = uid;
			} else if (pw == NULL) {
				return KYSO_ERR_INVALID_ARG;
			} else {
				add = p[1] == 'u' ? pw->pw_name : pw->pw_dir;
			}
			p++;
			n += (size_t)snprintf(out + n, len - n, "%s", add);
			continue;
		}
		out[n++] = *p;
	}
	if (n + 1 >= len)
		return KYSO_ERR_INVALID_ARG;
	out[n] = '\0';
	return KYSO_OK;
}

/*
 * Turns the configuration into the agent's policy (the strings stay in cfg, which
 * outlives the agent). Returns KYSO_OK or an error with a sentence in err.
 */
static int
policy_from_config(const struct kysod_config *cfg, const char *user_path,
    struct agent_options *o, char *origin, size_t originlen, char *audit, size_t auditlen)
{
	struct agent_policy *p = &o->policy;
	static char resolved[4096], web_store[4096];
	const char *prog = cfg->pinentry;

	if (cfg->pinentry_fixed)
		prog = pinentry_resolve(prog, resolved, sizeof(resolved));
	else if (cfg->confirm || !cfg->client_pin)
		log_warn("the policy wants %s but does not fix the PIN dialog (pinentry): the "
		    "user's settings choose it", cfg->confirm ? "confirmations" :
		    "PINs from dialogs only");
	p->pinentry = prog != NULL && strcmp(prog, CONFIG_PINENTRY_NONE) != 0 ? prog : NULL;
	p->tty = pinentry_tty();
	p->ttytype = getenv("TERM");
	p->pinentry_timeout = cfg->pinentry_timeout == CONFIG_UNLIMITED ? 0 :
	    cfg->pinentry_timeout;
	p->confirm = cfg->confirm;
	p->no_client_pin = !cfg->client_pin;
	p->no_login_cache = !cfg->login_cache || cfg->login_idle_ttl == 0 ||
	    cfg->login_max_ttl == 0;
	p->login_idle_ttl = cfg->login_idle_ttl == CONFIG_UNLIMITED ? 0 : cfg->login_idle_ttl;
	p->sessions_per_token = cfg->sessions_per_token == CONFIG_UNLIMITED ? 0 :
	    (int)cfg->sessions_per_token;
	p->login_max_ttl = cfg->login_max_ttl == CONFIG_UNLIMITED ? 0 : cfg->login_max_ttl;
	p->signing_time_skew = cfg->signing_time_skew == CONFIG_UNLIMITED ? -1 :
	    cfg->signing_time_skew;
	if (cfg->audit_log != NULL) {
		if (audit_path_expand(cfg->audit_log, audit, auditlen) != KYSO_OK)
			return KYSO_ERR_INVALID_ARG;
	} else if (audit_path_default(audit, auditlen) != KYSO_OK) {
		return KYSO_ERR_INVALID_ARG;
	}
	p->audit_path = audit;
	p->web_origins = (const char *const *)cfg->web_origins;
	p->nweb_origins = cfg->nweb_origins;
	p->web_ask = cfg->web_origins_ask;
	if (web_store_path_default(web_store, sizeof(web_store)) == KYSO_OK)
		p->web_store_path = web_store;
	else if (p->web_ask)
		log_warn("no state directory (set XDG_STATE_HOME or HOME): web pages the officer "
		    "allows are allowed on that connection only");
	snprintf(origin, originlen, "%s or %s", config_admin_path(), user_path);
	p->origin = origin;
	o->logind = 1;
	if (cfg->modules_set) {
		o->module_list = (const char *const *)cfg->modules;
		o->nmodule_list = cfg->nmodules;
		o->module_allowed = module_allowed;
		o->module_allowed_arg = (void *)cfg;
	}
	return KYSO_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "foreground", no_argument, NULL, 'f' },
		{ "socket", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "pinentry", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "module-timeout", required_argument, NULL, 'T' },
		{ "no-module-filter", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct agent_options o = { .ready_fd = -1 };
	struct p11_helper_options helpers = { 0, 0, 0 };
	long secs;
	struct kysod_config cfg;
	struct agent a;
	char err[512], user_path[4096], origin[4200], audit[4096], desc[512];
	const char *pinentry_opt = NULL, *config_opt = NULL;
	int foreground = 0, level = -1, ch, r = 0;
	locale_t old;

	/* the dialogs and the terminal's messages in the session's language (LC_MESSAGES,
	 * LANGUAGE); what kysod logs and sends to clients stays English */
	kyso_i18n_init(KYSO_I18N_SESSION);
	old = kyso_i18n_enter();
	while ((ch = getopt_long(argc, argv, "fs:m:l:p:c:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			foreground = 1;
			break;
		case 's':
			o.socket_path = optarg;
			break;
		case 'm':
			if (o.nmodules == AGENT_MAX_MODULES) {
				fprintf(stderr, _("kysod: at most %d --module options\n"),
				    AGENT_MAX_MODULES);
				return 2;
			}
			o.modules[o.nmodules++] = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, _("kysod: unknown log level '%s' (use error, warning, "
				    "info or debug)\n"), optarg);
				return 2;
			}
			break;
		case 'p':
			pinentry_opt = optarg;
			break;
		case 'c':
			config_opt = optarg;
			break;
		case 'T':
			if (config_parse_duration(optarg, &secs) != KYSO_OK || secs <= 0 ||
			    secs == CONFIG_UNLIMITED || secs > 3600) {
				fprintf(stderr, _("kysod: --module-timeout %s: give a duration from "
				    "1s to 1h (30s, 2m)\n"), optarg);
				return 2;
			}
			helpers.call_ms = secs * 1000;
			helpers.pinpad_ms = secs * 5000;
			break;
		case 'F':
			helpers.no_filter = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("kysod %s\n", KYSO_VERSION);
			return 0;
		default:
			fprintf(stderr, _("Try 'kysod --help' for more information.\n"));
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, _("kysod: unexpected argument '%s'\nTry 'kysod --help' for more "
		    "information.\n"), argv[optind]);
		return 2;
	}
	kyso_i18n_leave(old);
	jsonmem_install();
	/* to standard error until the configuration is read: its errors reach the person
	 * starting kysod; then to syslog when kysod detaches */
	log_init("kysod", (enum log_level)(level >= 0 ? level : LOG_LVL_INFO), 0);
	harden();
	if (config_defaults(&cfg) != KYSO_OK) {
		log_error("out of memory");
		return 1;
	}
	if (config_opt != NULL)
		snprintf(user_path, sizeof(user_path), "%s", config_opt);
	else if (config_user_path(user_path, sizeof(user_path)) != KYSO_OK)
		user_path[0] = '\0';
	/* NULL: the default admin file (config.c warns if KYSO_ADMIN_CONFIG is ignored) */
	if (config_load(&cfg, NULL, user_path[0] != '\0' ? user_path : NULL,
	    config_opt != NULL ? CONFIG_USER_REQUIRED : 0, err, sizeof(err)) != KYSO_OK) {
		log_error("%s", err);
		config_free(&cfg);
		return 1;
	}
	if (level < 0 && cfg.log_level_set)
		level = cfg.log_level;
	log_init("kysod", (enum log_level)(level >= 0 ? level : LOG_LVL_INFO), !foreground);
	for (size_t i = 0; i < cfg.nwarnings; i++)
		log_warn("%s", cfg.warnings[i]);
	/* --pinentry is the user's choice: the summary below shows the program in force */
	if (pinentry_opt != NULL && (r = config_override_pinentry(&cfg, pinentry_opt)) == 0)
		log_warn("--pinentry %s ignored: the administrator's policy sets pinentry = %s",
		    pinentry_opt, cfg.pinentry);
	if (r < 0) {
		log_error("out of memory");
		config_free(&cfg);
		return 1;
	}
	if (policy_from_config(&cfg, user_path[0] != '\0' ? user_path :
	    "the user's kysod.conf", &o, origin, sizeof(origin), audit, sizeof(audit)) !=
	    KYSO_OK) {
		log_error("cannot find where to keep the audit log: set XDG_STATE_HOME or HOME, "
		    "or audit_log in kysod.conf (%%u, %%U and %%h need the user in the password "
		    "database)");
		config_free(&cfg);
		return 1;
	}
	config_describe(&cfg, desc, sizeof(desc));
	log_info("policy: %s", desc);
	if (o.policy.pinentry != NULL)
		log_info("PIN and confirmation dialogs: %s", o.policy.pinentry);
	else if (!o.policy.no_client_pin)
		log_info("no PIN dialogs (pinentry = none): PINs come from clients only");
	else
		log_warn("no PIN dialogs (pinentry = none) and no PINs from clients "
		    "(client_pin = no): only tokens with a PIN pad or without a login can sign");
	p11_set_helper_options(&helpers);
	if (helpers.no_filter)
		log_warn("--no-module-filter: PKCS#11 modules run without the seccomp filter");
	if (!foreground)
		o.ready_fd = daemonize();
	if ((r = agent_init(&a, &o, err, sizeof(err))) != KYSO_OK) {
		log_error("%s", err);
		daemon_failed(o.ready_fd, err);
		agent_free(&a);
		config_free(&cfg);
		return 1;
	}
	r = agent_run(&a);
	agent_free(&a);
	config_free(&cfg);
	log_info("stopped");
	return r == KYSO_OK ? 0 : 1;
}
