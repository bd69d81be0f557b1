/* log.c — leveled logging; one write per line so threads do not interleave. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "log.h"

static const char *log_prog = "kyso";
static enum log_level log_threshold = LOG_LVL_INFO;
static int log_syslog;
static int log_journal;  /* stderr is the journal's stream: "<3>" prefixes, no pid */
static int log_journal_name;  /* ... but the name and pid too (a helper's lines) */

/*
 * Returns 1 if standard error is the stream systemd connected to the journal for this
 * service: $JOURNAL_STREAM ("DEVICE:INODE") names the very file of fd 2 (see
 * sd_journal_stream_fd(3) and systemd.exec(5)). A child that inherited the variable but
 * not the descriptor does not match.
 */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (env == NULL || sscanf(env, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static const char *const level_names[] = { "error", "warning", "info", "debug" };

void
log_init(const char *progname, enum log_level level, int use_syslog)
{
	log_prog = progname;
	log_threshold = level;
	log_syslog = use_syslog;
	log_journal = !use_syslog && log_stderr_is_journal();
	if (use_syslog)
		openlog(progname, LOG_PID, LOG_DAEMON);
}

void
log_journal_named(void)
{
	log_journal_name = 1;
}

int
log_level_parse(const char *s)
{
	for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	if (strcmp(s, "warn") == 0)
		return LOG_LVL_WARNING;
	return -1;
}

void
log_settings(enum log_level *level, int *use_syslog)
{
	*level = log_threshold;
	*use_syslog = log_syslog;
}

int
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

static void
log_vemit(enum log_level level, const char *fmt, va_list ap)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char msg[2048];

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* a line cut by the buffer ends on a whole character (the journal keeps UTF-8) */
	(void)utf8_repair(msg);
	/* text from clients (a method name, a description) must not forge log lines */
	for (char *p = msg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	if (log_syslog)
		syslog(prio[level], "%s", msg);
	else if (log_journal && log_journal_name)  /* in the parent's stream */
		fprintf(stderr, "<%d>%s[%ld]: %s\n", prio[level], log_prog, (long)getpid(), msg);
	else if (log_journal)  /* the journal adds the name and pid; it reads the priority */
		fprintf(stderr, "<%d>%s\n", prio[level], msg);
	else
		fprintf(stderr, "%s[%ld]: %s: %s\n", log_prog, (long)getpid(), level_names[level],
		    msg);
}

#define LOG_FN(name, level)                         \
	void name(const char *fmt, ...)             \
	{                                           \
		va_list ap;                         \
		va_start(ap, fmt);                  \
		log_vemit(level, fmt, ap);          \
		va_end(ap);                         \
	}

LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_warn, LOG_LVL_WARNING)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)

int
log_limit_allow(struct log_limit *l, unsigned *dropped)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->logged == 0 || now.tv_sec - l->window_start >= LOG_LIMIT_WINDOW_S) {
		l->window_start = now.tv_sec;
		l->logged = 0;
	}
	if (l->logged >= LOG_LIMIT_BURST) {
		l->dropped++;
		return 0;
	}
	l->logged++;
	*dropped = l->dropped;
	l->dropped = 0;
	return 1;
}
