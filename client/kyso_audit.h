/* kyso_audit.h — kyso audit's reading of the audit log, shared by its listing and summary. */
#ifndef KYSO_AUDIT_H
#define KYSO_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Which records: the options of kyso audit. */
struct audit_query {
	const char *path;
	int64_t since, until;       /* ms; INT64_MIN/MAX: not given */
	char cert[65];              /* lower-case id prefix, or "" */
	const char *result;         /* "granted", "refused", a full error name, or NULL */
	size_t last;                /* the listing: only the last N that match; 0: all */
	int last_default;           /* last is the terminal's default, not --last */
	int json;
};

/*
 * Calls fn for each record of the log that matches q, oldest first (lines that are not
 * records are skipped with a warning). *records counts every valid record. Returns 0, 1
 * when there is no log yet (said on stderr), or -1 when it cannot be read (said).
 */
int audit_each(const struct audit_query *q, void (*fn)(const json_t *o, int64_t ms,
    void *arg), void *arg, size_t *records);

/* A string field of a record, "" when absent. */
const char *audit_field(const json_t *o, const char *key);

/* The CN of an RFC 2253 subject into out, or "" when it has none. */
void common_name(const char *dn, char *out, size_t len);

/*
 * Prints s in at most width columns (0: no limit), cut with an ellipsis, then spaces up to
 * width if pad; control characters and bad bytes as '?'.
 */
void put_cell(const char *s, int width, int pad);

/* The terminal speaks UTF-8 (set by cmd_audit). */
extern int utf8_locale;

/* The periods of kyso audit --summary. */
enum audit_period { PERIOD_DAY, PERIOD_WEEK, PERIOD_MONTH };

/*
 * kyso audit --summary: the documents signed and refused per period (in local time, or
 * UTC) and certificate, as a table or JSON (q->json). Returns an exit code.
 */
int audit_summary(const struct audit_query *q, enum audit_period by, int utc);

#endif
