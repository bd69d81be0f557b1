/*
 * audit_journal.c — the audit records' copy in the systemd journal (see audit_journal.h):
 * a MESSAGE a person reads and KYSO_* fields a program filters on, at a priority chosen
 * by the record's outcome; journald looked for at most every JOURNAL_LOOK_S seconds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

#include "audit_journal.h"
#include "encode.h"
#include "kyso_err.h"
#include "log.h"

#define MESSAGE_DESCRIPTION_MAX 200  /* the journal's MESSAGE shows this much of it */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define JOURNAL_LOOK_S 10

/* Appends before, s (control characters as '?', at most max bytes), after; not a NULL s. */
static void
put_safe(FILE *f, const char *before, const char *s, size_t max, const char *after)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0, k;

	if (s == NULL || s[0] == '\0')
		return;
	fputs(before, f);
	for (; p[n] != '\0'; n += k) {
		if (n + (k = utf8_seq(p + n) ? utf8_seq(p + n) : 1) > max) {
			fputs("...", f);
			break;
		}
		if (utf8_seq(p + n) == 0 || p[n] < 0x20 || p[n] == 0x7f)
			fputc('?', f);
		else
			fwrite(p + n, 1, k, f);
	}
	fputs(after, f);
}

/* "kyso: signature granted to /usr/bin/app (pid 123, uid 1000): certificate 7c8e..." */
static char *
journal_message(const struct audit_record *r, const char *result, const char *message)
{
	int granted = strcmp(result, "granted") == 0;
	char *text = NULL, id[17];
	size_t size;
	FILE *f = open_memstream(&text, &size);

	if (f == NULL)
		return NULL;
	fprintf(f, "kyso: signature %s to ", granted ? "granted" : "refused");
	put_safe(f, "", r->exe, 256, " (");
	fprintf(f, "pid %ld, uid %ld%s", (long)r->pid, (long)r->uid,
	    r->exe != NULL && r->exe[0] != '\0' ? ")" : "");
	put_safe(f, " for web page ", r->origin, 300, "");
	fputs(": ", f);
	snprintf(id, sizeof(id), "%.16s", r->cert_id != NULL ? r->cert_id : "");
	put_safe(f, "certificate ", id, sizeof(id), "");  /* as kyso certs shows it */
	if (id[0] == '\0')
		fputs("no certificate", f);
	put_safe(f, " (", r->cert_subject, 256, ")");
	put_safe(f, " on token '", r->token_label, 64, "'");
	put_safe(f, ", ", r->algorithm, 64, "");
	put_safe(f, ": document \"", r->document, MESSAGE_DESCRIPTION_MAX, "\"");
	put_safe(f, r->document != NULL && r->document[0] != '\0' ? " (\"" : ": \"",
	    r->description, MESSAGE_DESCRIPTION_MAX, r->document != NULL &&
	    r->document[0] != '\0' ? "\")" : "\"");
	if (!granted) {
		put_safe(f, ": ", result, 128, "");
		put_safe(f, ": ", message, 512, "");
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The journal's priority of a record: by its outcome (the error it names), one table. */
static int
priority(const char *result)
{
	static const struct {
		int err;
		int prio;
	} prios[] = {
		{ KYSO_ERR_AUDIT, LOG_ERR },
		/* wrong PINs, locked PINs: someone may be guessing */
		{ KYSO_ERR_PIN_INCORRECT, LOG_WARNING },
		{ KYSO_ERR_PIN_LOCKED, LOG_WARNING },
		{ KYSO_ERR_PIN_REQUIRED, LOG_WARNING },
	};
	int err;

	if (strcmp(result, "granted") == 0)
		return LOG_INFO;
	err = kyso_err_from_varlink(result);
	for (size_t i = 0; i < sizeof(prios) / sizeof(prios[0]); i++)
		if (prios[i].err == err)
			return prios[i].prio;
	return LOG_NOTICE;
}


int
audit_journal_present(struct audit_journal *jr)
{
	struct timespec now;
	int absent;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&jr->mu);
	if (jr->checked == 0 || now.tv_sec - jr->checked >= JOURNAL_LOOK_S) {
		jr->checked = now.tv_sec > 0 ? now.tv_sec : 1;
		jr->absent = access(JOURNAL_SOCKET, F_OK) != 0;
	}
	absent = jr->absent;
	pthread_mutex_unlock(&jr->mu);
	return !absent;
}

void
audit_journal_send(struct audit_journal *jr, const char *path, const struct audit_record *r,
    const char *when, const char *digest, const char *result, const char *message)
{
	char num[3][24], *msg = journal_message(r, result, message);
	const char *const fields[][2] = { { "MESSAGE", msg }, { "PRIORITY", num[0] },
		{ "SYSLOG_IDENTIFIER", "kysod" }, { "KYSO_TIME", when }, { "KYSO_UID", num[1] },
		{ "KYSO_PID", num[2] }, { "KYSO_EXE", r->exe }, { "KYSO_ORIGIN", r->origin },
		{ "KYSO_BROWSER", r->browser }, { "KYSO_METHOD", r->method },
		{ "KYSO_TOKEN_SERIAL", r->token_serial }, { "KYSO_TOKEN_LABEL", r->token_label },
		{ "KYSO_CERTIFICATE", r->cert_id }, { "KYSO_SUBJECT", r->cert_subject },
		{ "KYSO_ALGORITHM", r->algorithm }, { "KYSO_DIGEST", digest },
		{ "KYSO_DIGEST_ALG", digest[0] != '\0' ? r->digest_alg : NULL },
		{ "KYSO_DESCRIPTION", r->description }, { "KYSO_DOCUMENT", r->document },
		{ "KYSO_PROFILE", r->profile }, { "KYSO_BATCH", r->batch },
		{ "KYSO_SIGNING_TIME", r->signing_time }, { "KYSO_RESULT", result },
		{ "KYSO_MESSAGE", message } };
	struct iovec iov[sizeof(fields) / sizeof(fields[0])];
	int n = 0, rc = msg != NULL ? 0 : -ENOMEM, first;
	char *s;

	snprintf(num[0], sizeof(num[0]), "%d", priority(result));
	snprintf(num[1], sizeof(num[1]), "%ld", (long)r->uid);
	snprintf(num[2], sizeof(num[2]), "%ld", (long)r->pid);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && rc == 0; i++) {
		if (fields[i][1] == NULL || fields[i][1][0] == '\0')
			continue;  /* absent: left out */
		if (asprintf(&s, "%s=%s", fields[i][0], fields[i][1]) < 0) {
			rc = -ENOMEM;
			break;
		}
		iov[n].iov_base = s;
		iov[n++].iov_len = strlen(s);
	}
	if (rc == 0)
		rc = sd_journal_sendv(iov, n);  /* 0 also when there is no journald at all */
	for (int i = 0; i < n; i++)
		free(iov[i].iov_base);
	free(msg);
	if (rc >= 0)
		return;
	pthread_mutex_lock(&jr->mu);
	first = jr->failures++ == 0;
	if (first)
		snprintf(jr->error, sizeof(jr->error),
		    "cannot send the audit records to the journal: %s", strerror(-rc));
	pthread_mutex_unlock(&jr->mu);
	if (first)
		log_warn("%s; the records are still written to %s", jr->error, path);
}

unsigned
audit_journal_failures(struct audit_journal *jr, char *buf, size_t len)
{
	unsigned n;

	pthread_mutex_lock(&jr->mu);
	n = jr->failures;
	if (buf != NULL && len > 0)
		snprintf(buf, len, "%s", n > 0 ? jr->error : "");
	pthread_mutex_unlock(&jr->mu);
	return n;
}


