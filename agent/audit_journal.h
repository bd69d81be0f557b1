/*
 * audit_journal.h — the copy of every audit record in the systemd journal, for audit.c.
 */
#ifndef KYSO_AUDIT_JOURNAL_H
#define KYSO_AUDIT_JOURNAL_H

#include <pthread.h>
#include <stddef.h>

#include "audit.h"

/* What the log knows of journald (zeroed, its mutex initialised by the log). */
struct audit_journal {
	pthread_mutex_t mu;
	long checked;               /* CLOCK_MONOTONIC s of the last look for journald */
	int absent;                 /* no journald socket at that look */
	unsigned failures;          /* records journald did not take */
	char error[160];            /* the first reason */
};

/*
 * Returns 1 when journald's socket is there, as seen at most 10 seconds ago: where no
 * journald runs, the records are not formatted for it at every signature.
 */
int audit_journal_present(struct audit_journal *jr);

/*
 * Sends record r (its time when, its digest in hex or "", its result and message) to the
 * journal. A failure is counted and said once in kysod's log, naming the file (path) the
 * records still go to; never an error for the caller.
 */
void audit_journal_send(struct audit_journal *jr, const char *path,
    const struct audit_record *r, const char *when, const char *digest, const char *result,
    const char *message);

/* Returns how many records the journal did not take; the first reason into buf. */
unsigned audit_journal_failures(struct audit_journal *jr, char *buf, size_t len);

#endif
