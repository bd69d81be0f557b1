/*
 * kyso_audit_summary.c — kyso audit --summary: how many documents each certificate signed
 * and had refused, per day, ISO week or month, from the audit log. Every record is one
 * document: each document of a SignDocuments batch, and each Sign call (a "granted"
 * record that a later one corrects counts as refused: that one).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "i18n.h"
#include "kyso_audit.h"
#include "kyso_cli.h"
#include "rfc3339.h"

struct bucket {
	char period[16];       /* "2026-12-06", "2026-W49", "2026-12" */
	char cert[65];         /* the certificate id, "" when the request named none */
	char name[128];        /* its CN, or "" */
	char *subject;
	size_t granted, refused;
};

struct summary {
	enum audit_period by;
	int utc;
	struct bucket *b;
	size_t n, cap;
	int nomem;
};

/* The period of a record's time, in local time or UTC. */
static void
period_of(int64_t ms, enum audit_period by, int utc, char *out, size_t len)
{
	static const char *const formats[] = { [PERIOD_DAY] = "%Y-%m-%d",
		[PERIOD_WEEK] = "%G-W%V", [PERIOD_MONTH] = "%Y-%m" };
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;

	if (utc)
		gmtime_r(&t, &tm);
	else
		localtime_r(&t, &tm);
	if (strftime(out, len, formats[by], &tm) == 0)
		snprintf(out, len, "?");
}

/* The bucket of period and cert, or NULL if there is none yet. */
static struct bucket *
bucket_find(struct summary *s, const char *period, const char *cert)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->b[i].period, period) == 0 && strcmp(s->b[i].cert, cert) == 0)
			return &s->b[i];
	return NULL;
}

static struct bucket *
bucket_for(struct summary *s, const char *period, const char *cert)
{
	struct bucket *nb;

	if ((nb = bucket_find(s, period, cert)) != NULL)
		return nb;
	if (s->n == s->cap) {
		size_t cap = s->cap == 0 ? 16 : s->cap * 2;

		if ((nb = realloc(s->b, cap * sizeof(*nb))) == NULL)
			return NULL;
		s->b = nb;
		s->cap = cap;
	}
	nb = &s->b[s->n++];
	memset(nb, 0, sizeof(*nb));
	snprintf(nb->period, sizeof(nb->period), "%s", period);
	snprintf(nb->cert, sizeof(nb->cert), "%s", cert);
	return nb;
}

/* How kysod's record that corrects a "granted" one ends, before that one's time (kysod's
 * RECORD_CORRECTS, agent/record.h; kysod(1), AUDIT LOG). */
#define SUMMARY_CORRECTS "no signature was given out for the request recorded as granted at "

/*
 * A record that corrects a "granted" one: that request's signature was never given out,
 * so the "granted" record leaves the signed count of its period (when it was counted);
 * the correcting record itself counts as refused.
 */
static void
uncount_corrected(struct summary *s, const json_t *o)
{
	const char *m = strstr(audit_field(o, "message"), SUMMARY_CORRECTS);
	struct bucket *b;
	char period[16];
	int64_t ms;

	if (m == NULL || rfc3339_parse(m + strlen(SUMMARY_CORRECTS), 1, &ms) != 0)
		return;
	period_of(ms, s->by, s->utc, period, sizeof(period));
	if ((b = bucket_find(s, period, audit_field(o, "certificate"))) != NULL &&
	    b->granted > 0)
		b->granted--;
}

static void
count(const json_t *o, int64_t ms, void *arg)
{
	struct summary *s = arg;
	const char *subject = audit_field(o, "subject");
	struct bucket *b;
	char period[16];

	if (strcmp(audit_field(o, "result"), "granted") != 0)
		uncount_corrected(s, o);
	period_of(ms, s->by, s->utc, period, sizeof(period));
	if ((b = bucket_for(s, period, audit_field(o, "certificate"))) == NULL) {
		s->nomem = 1;
		return;
	}
	if (strcmp(audit_field(o, "result"), "granted") == 0)
		b->granted++;
	else
		b->refused++;
	if (b->subject == NULL && subject[0] != '\0') {
		b->subject = strdup(subject);
		common_name(subject, b->name, sizeof(b->name));
	}
}

static int
by_period_then_cert(const void *x, const void *y)
{
	const struct bucket *a = x, *b = y;
	int c = strcmp(a->period, b->period);

	if (c != 0)
		return c;
	return (c = strcmp(a->name, b->name)) != 0 ? c : strcmp(a->cert, b->cert);
}

static void
print_table(const struct summary *s)
{
	size_t granted = 0, refused = 0;
	char cert[200];

	/* TRANSLATORS: the headings of 'kyso audit --summary' (upper case in English) */
	put_cell(_("PERIOD"), 10, 1);
	fputs("  ", stdout);
	put_cell(_("CERTIFICATE"), 36, 1);
	fputs("  ", stdout);
	put_cell(_("SIGNED"), 8, 1);
	fputs("  ", stdout);
	put_cell(_("REFUSED"), 8, 0);
	fputc('\n', stdout);
	for (size_t i = 0; i < s->n; i++) {
		const struct bucket *b = &s->b[i];

		if (b->cert[0] == '\0')
			snprintf(cert, sizeof(cert), "%s", _("(no certificate)"));
		else if (b->name[0] != '\0')
			snprintf(cert, sizeof(cert), "%s (%.8s)", b->name, b->cert);
		else
			snprintf(cert, sizeof(cert), "%.16s", b->cert);
		put_cell(b->period, 10, 1);
		fputs("  ", stdout);
		put_cell(cert, 36, 1);
		printf("  %8zu  %8zu\n", b->granted, b->refused);
		granted += b->granted;
		refused += b->refused;
	}
	/* TRANSLATORS: the last line of 'kyso audit --summary' */
	put_cell(_("total"), 10, 1);
	printf("  %-36s  %8zu  %8zu\n", "", granted, refused);
}

static int
print_json(const struct summary *s)
{
	static const char *const names[] = { [PERIOD_DAY] = "day", [PERIOD_WEEK] = "week",
		[PERIOD_MONTH] = "month" };
	json_t *list = json_array(), *out;
	size_t granted = 0, refused = 0;
	char *text;

	for (size_t i = 0; list != NULL && i < s->n; i++) {
		const struct bucket *b = &s->b[i];

		json_array_append_new(list, json_pack("{s:s, s:s?, s:s?, s:I, s:I}", "period",
		    b->period, "certificate", b->cert[0] != '\0' ? b->cert : NULL, "subject",
		    b->subject, "signed", (json_int_t)b->granted, "refused",
		    (json_int_t)b->refused));
		granted += b->granted;
		refused += b->refused;
	}
	out = json_pack("{s:s, s:s, s:o, s:I, s:I}", "by", names[s->by], "time", s->utc ?
	    "utc" : "local", "periods", list, "signed", (json_int_t)granted, "refused",
	    (json_int_t)refused);
	if (out == NULL || (text = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL) {
		json_decref(out);
		return -1;
	}
	printf("%s\n", text);
	free(text);
	json_decref(out);
	return 0;
}

int
audit_summary(const struct audit_query *q, enum audit_period by, int utc)
{
	struct summary s = { .by = by, .utc = utc };
	size_t records;
	int r = audit_each(q, count, &s, &records), rc = EXIT_OK;

	if (r < 0 || s.nomem) {
		if (s.nomem)
			fprintf(stderr, _("kyso audit: out of memory\n"));
		rc = EXIT_ERROR;
		goto out;
	}
	if (s.n > 0)
		qsort(s.b, s.n, sizeof(*s.b), by_period_then_cert);
	if (q->json) {
		if (print_json(&s) != 0)
			rc = EXIT_ERROR;
	} else if (s.n == 0) {
		fputs(r == 1 || records == 0 ? _("The audit log is empty.\n") :
		    _("No record matches.\n"), stdout);
	} else {
		print_table(&s);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, _("kyso audit: cannot write the summary: %s\n"), strerror(errno));
		rc = EXIT_ERROR;
	}
out:
	for (size_t i = 0; i < s.n; i++)
		free(s.b[i].subject);
	free(s.b);
	return rc;
}
