/*
 * kp11_logshim.c — common/log.h for the code of kyso the module links (libkyso and
 * common/, e.g. secret.c's warning when memory cannot be locked): inside another
 * program nothing may go to its stderr, so these lines go to the module's debug log
 * (kp11_config.c), when there is one, and nowhere else. common/log.c is not linked.
 */
#include <stdarg.h>
#include <stdio.h>

#include "kp11.h"
#include "log.h"

void
log_init(const char *progname, enum log_level level, int use_syslog)
{
	(void)progname;
	(void)level;
	(void)use_syslog;
}

int
log_level_parse(const char *s)
{
	(void)s;
	return -1;
}

int
log_enabled(enum log_level level)
{
	(void)level;
	return 1;
}

static void
shim_emit(const char *level, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	kp_log("%s: %s", level, msg);
}

void
log_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_emit("error", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_emit("warning", fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_emit("info", fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	shim_emit("debug", fmt, ap);
	va_end(ap);
}
