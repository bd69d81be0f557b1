/*
 * log.h — leveled logging to stderr or syslog (the journal picks either up). When
 * standard error is a journal stream (a systemd service: $JOURNAL_STREAM matches fd 2),
 * each line starts with its syslog priority, "<3>" for an error ... "<7>" for debug, so
 * that `journalctl -p err` shows the errors.
 */
#ifndef KYSO_LOG_H
#define KYSO_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING = 1,
	LOG_LVL_INFO = 2,
	LOG_LVL_DEBUG = 3,
};

/*
 * Sets the program name, threshold and destination: syslog when use_syslog != 0, else
 * standard error (with priority prefixes when it is the journal's stream).
 */
void log_init(const char *progname, enum log_level level, int use_syslog);

/*
 * For a helper process whose standard error is its parent's journal stream (the journal
 * credits its lines to the parent's unit and name): each line, still with its priority,
 * names the program and its pid. No effect outside the journal.
 */
void log_journal_named(void);

/* Returns the level named by s ("error", "warning", "info", "debug"), or -1 if unknown. */
int log_level_parse(const char *s);

/* The threshold and destination log_init set (for a helper process to log alike). */
void log_settings(enum log_level *level, int *use_syslog);

/* Returns non-zero when messages of this level are currently emitted. */
int log_enabled(enum log_level level);

/*
 * A limit on lines of one cause that others can provoke at will (a refused connection:
 * 20,000 connects must not make 20,000 lines). One per cause, used by one thread.
 */
struct log_limit {
	long window_start;  /* CLOCK_MONOTONIC seconds when the current window began */
	unsigned logged;    /* lines logged in it */
	unsigned dropped;   /* lines not logged since the last one that was */
};

#define LOG_LIMIT_BURST 5      /* lines per window */
#define LOG_LIMIT_WINDOW_S 60

/*
 * Returns 1 if a line of l's cause may be logged now (at most LOG_LIMIT_BURST per
 * LOG_LIMIT_WINDOW_S seconds), with *dropped set to how many were held back before it
 * (to say so in it), and 0 if it must not be logged (it is counted).
 */
int log_limit_allow(struct log_limit *l, unsigned *dropped);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
