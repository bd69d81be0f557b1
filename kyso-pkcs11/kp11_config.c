/*
 * kp11_config.c — the module's settings and its debug log.
 *
 * Settings come from the environment, else from the user's file, else from the machine's
 * (INI, read with libinih; a key of the user's file wins over the machine's;
 * docs/kyso-pkcs11.7, FILES):
 *   pin = agent | program        KYSO_PKCS11_PIN
 *   debug_log = FILE | syslog    KYSO_PKCS11_DEBUG
 * The module runs inside other programs: it never writes to their stdout or stderr. The
 * debug log, when asked for, is the only place it says anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <ini.h>

#include "fdnum.h"
#include "kp11.h"

static int log_fd = -1;
static int log_syslog;
static int log_on;  /* this cycle logs (to log_fd, or to syslog) */

/* what a file said, noted while reading and logged once the log is open */
struct reading {
	struct kp_config *cfg;
	const char *path;
	char note[256];
	int pin_set, log_set;
};

static int
pin_mode_parse(const char *v, enum kp_pin_mode *out)
{
	if (strcmp(v, "agent") == 0)
		*out = KP_PIN_AGENT;
	else if (strcmp(v, "program") == 0)
		*out = KP_PIN_PROGRAM;
	else
		return -1;
	return 0;
}

static int
file_entry(void *arg, const char *section, const char *name, const char *value)
{
	struct reading *r = arg;

	if (section[0] != '\0')
		return 1;  /* other sections are for other programs */
	if (strcmp(name, "pin") == 0 && !r->pin_set) {
		if (pin_mode_parse(value, &r->cfg->pin_mode) != 0)
			snprintf(r->note, sizeof(r->note), "%s: pin = '%.40s' is neither 'agent' "
			    "nor 'program'; 'agent' is used", r->path, value);
	} else if (strcmp(name, "debug_log") == 0 && !r->log_set) {
		snprintf(r->cfg->debug_log, sizeof(r->cfg->debug_log), "%s", value);
	} else if (strcmp(name, "pin") != 0 && strcmp(name, "debug_log") != 0) {
		snprintf(r->note, sizeof(r->note), "%s: unknown setting '%.40s' ignored", r->path,
		    name);
	}
	return 1;
}

void
kp_config_read(struct kp_config *cfg)
{
	const char *pin = getenv("KYSO_PKCS11_PIN"), *dbg = getenv("KYSO_PKCS11_DEBUG");
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct reading r = { .cfg = cfg };
	char user[512] = "";
	const char *from = "the default";
	int bad_env = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->pin_mode = KP_PIN_AGENT;
	if (pin != NULL && *pin != '\0') {
		r.pin_set = 1;
		bad_env = pin_mode_parse(pin, &cfg->pin_mode) != 0;
	}
	if (dbg != NULL && *dbg != '\0') {
		r.log_set = 1;
		snprintf(cfg->debug_log, sizeof(cfg->debug_log), "%s", dbg);
	}
	if (xdg != NULL && xdg[0] == '/')
		snprintf(user, sizeof(user), "%s/kyso/kyso-pkcs11.conf", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(user, sizeof(user), "%s/.config/kyso/kyso-pkcs11.conf", home);
	/* the machine's file, then the user's: a key the user sets wins */
	for (int i = 0; i < 2; i++) {
		r.path = i == 0 ? "/etc/kyso/kyso-pkcs11.conf" : user;
		if (r.path[0] == '\0' || access(r.path, R_OK) != 0)
			continue;
		if (ini_parse(r.path, file_entry, &r) != 0)
			snprintf(r.note, sizeof(r.note), "%s cannot be read whole; what was read "
			    "is used", r.path);
		from = r.path;
	}
	kp_log_open(cfg);
	if (bad_env)
		kp_log("KYSO_PKCS11_PIN='%.40s' is neither 'agent' nor 'program'; 'agent' is used",
		    pin);
	if (r.note[0] != '\0')
		kp_log("%s", r.note);
	kp_log("settings: pin = %s (%s)", cfg->pin_mode == KP_PIN_AGENT ? "agent" : "program",
	    r.pin_set ? "KYSO_PKCS11_PIN" : from);
}

/*
 * The debug log stays open while the module is loaded: a thread of the program may log
 * while another finalises, and a descriptor closed under it could be reused by the
 * program for a file of its own. A cycle that names another file switches to it; the
 * old descriptor is kept (at most a few, one per file ever named).
 */
void
kp_log_open(const struct kp_config *cfg)
{
	static char open_path[sizeof(cfg->debug_log)];
	int fd;

	log_syslog = strcmp(cfg->debug_log, "syslog") == 0;  /* no openlog: the program's
	                                                      * own syslog name stays */
	if (cfg->debug_log[0] == '\0' || log_syslog) {
		log_on = log_syslog;
		return;
	}
	log_on = 1;
	if (log_fd >= 0 && strcmp(open_path, cfg->debug_log) == 0)
		return;
	fd = fd_off_stdio(open(cfg->debug_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOFOLLOW | O_NOCTTY, 0600));
	if (fd < 0)
		return;
	snprintf(open_path, sizeof(open_path), "%s", cfg->debug_log);
	__atomic_store_n(&log_fd, fd, __ATOMIC_RELEASE);
}

void
kp_log_close(void)
{
	log_on = 0;  /* logging stops; the descriptor stays (above) */
}

/* Closes the log when the module is unloaded. */
__attribute__((destructor)) static void
log_unload(void)
{
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
}

void
kp_log(const char *fmt, ...)
{
	char msg[1024], line[1200];
	struct timespec ts;
	struct tm tm;
	va_list ap;
	int n, saved = errno, fd = __atomic_load_n(&log_fd, __ATOMIC_ACQUIRE);

	if (!log_on || (fd < 0 && !log_syslog))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_syslog) {
		syslog(LOG_DEBUG | LOG_USER, "kyso-pkcs11: %s", msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ "
		    "kyso-pkcs11[%ld]: %s\n", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, (long)getpid(), msg);
		if (n > 0)
			(void)!write(fd, line, (size_t)n < sizeof(line) ? (size_t)n :
			    sizeof(line) - 1);
	}
	errno = saved;
}
