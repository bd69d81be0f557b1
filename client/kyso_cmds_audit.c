/*
 * kyso_cmds_audit.c — kyso audit: the agent's audit log (agent/audit.h writes it), read
 * straight from the file (same user, no agent needed), filtered by time, certificate and
 * result, as a table or as a JSON array.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include <jansson.h>

#include "i18n.h"
#include "kyso_audit.h"
#include "kyso_cli.h"
#include "kyso_err.h"
#include "rfc3339.h"

/* The same rule as audit_path_default (agent/audit.c), which kyso does not link. */
static int
default_path(char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	int n;

	if (state != NULL && state[0] == '/')
		n = snprintf(buf, len, "%s/kyso/audit.log", state);
	else {
		if ((home == NULL || home[0] != '/') && (pw = getpwuid(getuid())) != NULL)
			home = pw->pw_dir;
		if (home == NULL || home[0] != '/')
			return -1;
		n = snprintf(buf, len, "%s/.local/state/kyso/audit.log", home);
	}
	return n >= 0 && (size_t)n < len ? 0 : -1;
}

/* ---- times ---- */

/* An option's time: RFC 3339, a date, or "30m", "2h", "7d" (also s, w) ago. */
static int
parse_when(const char *s, int64_t *ms)
{
	static const struct { char unit; int64_t sec; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 }, { 'w', 604800 } };
	char *end;
	long long n;

	if (isdigit((unsigned char)s[0]) && strlen(s) < 12) {
		errno = 0;
		n = strtoll(s, &end, 10);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && errno == 0; i++)
			if (end[0] == units[i].unit && end[1] == '\0') {
				*ms = ((int64_t)time(NULL) - n * units[i].sec) * 1000;
				return 0;
			}
	}
	return rfc3339_parse(s, 0, ms);
}

/* ---- text on the terminal ---- */

int utf8_locale;

/* One code point of s into *cp: its length (1 for a bad byte, *cp = -1). */
static size_t
utf8_next(const unsigned char *s, long *cp)
{
	size_t n = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 :
	    s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
	long v = n == 1 ? s[0] : n == 2 ? s[0] & 0x1f : n == 3 ? s[0] & 0x0f : s[0] & 0x07;

	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			n = 0;
		else
			v = v << 6 | (s[i] & 0x3f);
		if (n == 0)
			break;
	}
	if (n == 0 || (n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
	    (v >= 0xd800 && v <= 0xdfff)) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return n;
}

/*
 * Prints s in at most width columns (0: no limit), the end cut with an ellipsis, then
 * spaces up to width if pad. Control characters and bad bytes (a client's description
 * may hold anything) are shown as '?', tabs and line ends as spaces.
 */
void
put_cell(const char *s, int width, int pad)
{
	const unsigned char *p;
	int used = 0, total = 0, w, limit, ell = utf8_locale ? 1 : 3;
	long cp;
	size_t k;

	for (p = (const unsigned char *)s; *p != '\0'; p += k) {
		k = utf8_next(p, &cp);
		total += cp < 0xa0 || (w = wcwidth((wchar_t)cp)) < 0 ? 1 : w;
	}
	limit = width > 0 && total > width ? width - ell : total;
	for (p = (const unsigned char *)s; *p != '\0'; p += k) {
		k = utf8_next(p, &cp);
		w = cp < 0xa0 || (w = wcwidth((wchar_t)cp)) < 0 ? 1 : w;
		if (used + w > limit)
			break;
		if (cp == '\t' || cp == '\n' || cp == '\r')
			fputc(' ', stdout);
		else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			fputc('?', stdout);  /* also a bad byte (cp -1) */
		else
			fwrite(p, 1, k, stdout);
		used += w;
	}
	if (limit < total) {
		fputs(utf8_locale ? "\u2026" : "...", stdout);
		used += ell;
	}
	for (; pad && used < width; used++)
		fputc(' ', stdout);
}

const char *
audit_field(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

void
common_name(const char *dn, char *out, size_t len)
{
	const char *cn = dn;
	size_t n;

	out[0] = '\0';
	while ((cn = strstr(cn, "CN=")) != NULL && cn != dn && cn[-1] != ',')
		cn += 3;
	if (cn == NULL)
		return;
	cn += 3;
	for (n = 0; cn[n] != '\0' && !(cn[n] == ',' && (n == 0 || cn[n - 1] != '\\')); n++)
		;
	snprintf(out, len, "%.*s", (int)n, cn);
}

enum { W_TIME = 19, W_RESULT = 20, W_PROGRAM = 20, W_CERT = 24, W_ALG = 19 };

static void
print_header(void)
{
	/* TRANSLATORS: the headings of 'kyso audit' (upper case in English); RESULT shows
	 * the audit log's own words (granted, or an error name such as PinIncorrect) */
	put_cell(_("TIME"), W_TIME, 1);
	fputs("  ", stdout);
	put_cell(_("RESULT"), W_RESULT, 1);
	fputs("  ", stdout);
	put_cell(_("PROGRAM"), W_PROGRAM, 1);
	fputs("  ", stdout);
	put_cell(_("CERTIFICATE"), W_CERT, 1);
	fputs("  ", stdout);
	put_cell(_("ALGORITHM"), W_ALG, 1);
	fputs("  ", stdout);
	put_cell(_("DOCUMENT / DESCRIPTION"), 0, 0);
	fputc('\n', stdout);
}

static void
print_row(const json_t *o, int64_t ms, int desc_width)
{
	char when[32], prog[320], cert[256], what[2048];
	const char *result = audit_field(o, "result"), *exe = audit_field(o, "exe"), *dot;
	time_t t = (time_t)(ms / 1000 - (ms % 1000 < 0));
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	if (strcmp(result, "granted") != 0 && (dot = strrchr(result, '.')) != NULL)
		result = dot + 1;  /* io.kyso.Agent.PinIncorrect: PinIncorrect */
	if (exe[0] != '\0')
		snprintf(prog, sizeof(prog), "%s[%lld]", strrchr(exe, '/') != NULL ?
		    strrchr(exe, '/') + 1 : exe,
		    (long long)json_integer_value(json_object_get(o, "pid")));
	else
		snprintf(prog, sizeof(prog), "pid %lld",
		    (long long)json_integer_value(json_object_get(o, "pid")));
	common_name(audit_field(o, "subject"), cert, sizeof(cert));
	if (cert[0] == '\0')
		snprintf(cert, sizeof(cert), "%.16s", audit_field(o, "certificate"));
	put_cell(when, W_TIME, 1);
	fputs("  ", stdout);
	put_cell(result, W_RESULT, 1);
	fputs("  ", stdout);
	put_cell(prog, W_PROGRAM, 1);
	fputs("  ", stdout);
	put_cell(cert[0] != '\0' ? cert : "-", W_CERT, 1);
	fputs("  ", stdout);
	/* a document's name first, then the program's words; no spaces at the end of a
	 * line without either */
	if (audit_field(o, "document")[0] != '\0' && audit_field(o, "description")[0] != '\0')
		snprintf(what, sizeof(what), "%s (%s)", audit_field(o, "document"),
		    audit_field(o, "description"));
	else
		snprintf(what, sizeof(what), "%s", audit_field(o, "document")[0] != '\0' ?
		    audit_field(o, "document") : audit_field(o, "description"));
	if (audit_field(o, "signing_time")[0] != '\0') {
		size_t n = strlen(what);

		/* TRANSLATORS: after a document's name in kyso audit: the CAdES signing time
		 * the program chose (RFC 3339, UTC) */
		snprintf(what + n, sizeof(what) - n, n > 0 ? _(", dated %s") : _("dated %s"),
		    audit_field(o, "signing_time"));
	}
	put_cell(audit_field(o, "algorithm")[0] != '\0' ? audit_field(o, "algorithm") : "-", W_ALG,
	    what[0] != '\0');
	if (what[0] != '\0') {
		fputs("  ", stdout);
		put_cell(what, desc_width, 0);
	}
	fputc('\n', stdout);
}

/* The columns left for the description on a terminal; 0 (no limit) elsewhere. */
static int
description_width(void)
{
	struct winsize ws;
	int cols = 80, used = W_TIME + W_RESULT + W_PROGRAM + W_CERT + W_ALG + 5 * 2;

	if (!isatty(STDOUT_FILENO))
		return 0;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		cols = ws.ws_col;
	return cols - used >= 16 ? cols - used : 16;
}

/* ---- the command ---- */

/* The default of a table on a terminal without --last, --since or --until. */
#define AUDIT_TERMINAL_LAST 50
/* The most --last keeps in memory. */
#define AUDIT_LAST_MAX 1000000

/* The record's time if o is a record; -1 if not. */
static int
record_time(const json_t *o, int64_t *ms)
{
	const char *t = json_string_value(json_object_get(o, "time"));

	if (!json_is_object(o) || t == NULL || audit_field(o, "result")[0] == '\0')
		return -1;
	return rfc3339_parse(t, 1, ms);
}

static int
matches(const struct audit_query *q, const json_t *o, int64_t ms)
{
	const char *result = audit_field(o, "result");

	if (ms < q->since || ms >= q->until)
		return 0;
	if (q->cert[0] != '\0' && strncasecmp(audit_field(o, "certificate"), q->cert,
	    strlen(q->cert)) != 0)
		return 0;
	if (q->result == NULL)
		return 1;
	if (strcmp(q->result, "refused") == 0)
		return strcmp(result, "granted") != 0;
	return strcmp(q->result, result) == 0;
}

int
audit_each(const struct audit_query *q, void (*fn)(const json_t *o, int64_t ms, void *arg),
    void *arg, size_t *records)
{
	FILE *f = fopen(q->path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	struct stat st;
	int64_t ms;
	ssize_t n;
	int e;

	*records = 0;
	if (f == NULL && errno == ENOENT) {
		fprintf(stderr, _("kyso audit: no audit log at %s yet (nothing has been signed)\n"),
		    q->path);
		return 1;
	}
	if (f != NULL && fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		f = NULL;
		errno = EISDIR;
	}
	if (f == NULL) {
		fprintf(stderr, _("kyso audit: cannot read the audit log %s: %s\n"), q->path,
		    strerror(errno));
		return -1;
	}
	while (errno = 0, (n = getline(&line, &cap, f)) >= 0) {
		json_t *o = json_loads(line, JSON_REJECT_DUPLICATES, NULL);

		lineno++;
		if (record_time(o, &ms) != 0) {
			fprintf(stderr, _("kyso audit: %s line %zu is not a valid record; skipped\n"),
			    q->path, lineno);
		} else {
			(*records)++;
			if (matches(q, o, ms))
				fn(o, ms, arg);
		}
		json_decref(o);
	}
	e = ferror(f) ? errno : 0;
	free(line);
	fclose(f);
	if (e != 0) {
		fprintf(stderr, _("kyso audit: cannot read the audit log %s: %s\n"), q->path,
		    strerror(e));
		return -1;
	}
	return 0;
}

/* The last n matching records, oldest first: a ring of n slots. */
struct ring {
	json_t **o;
	int64_t *ms;
	size_t next, n;
};

struct show_state {
	const struct audit_query *q;
	int desc_width;
	size_t shown, matched;
	struct ring ring;
};

/* Prints one record; the first one opens the table or the JSON array. */
static void
emit(struct show_state *st, const json_t *o, int64_t ms)
{
	if (st->q->json) {
		fputs(st->shown == 0 ? "[\n  " : ",\n  ", stdout);
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	} else {
		if (st->shown == 0)
			print_header();
		print_row(o, ms, st->desc_width);
	}
	st->shown++;
}

static void
show_one(const json_t *o, int64_t ms, void *arg)
{
	struct show_state *st = arg;
	struct ring *r = &st->ring;
	size_t cap = st->q->last;

	st->matched++;
	if (cap == 0) {
		emit(st, o, ms);
		return;
	}
	json_decref(r->o[r->next]);  /* the oldest goes when the ring is full */
	r->o[r->next] = json_incref((json_t *)o);
	r->ms[r->next] = ms;
	r->next = (r->next + 1) % cap;
	if (r->n < cap)
		r->n++;
}

static int
show(const struct audit_query *q)
{
	struct show_state st = { q, description_width(), 0, 0, { NULL, NULL, 0, 0 } };
	size_t records;
	int r;

	if (q->last > 0 && ((st.ring.o = calloc(q->last, sizeof(*st.ring.o))) == NULL ||
	    (st.ring.ms = calloc(q->last, sizeof(*st.ring.ms))) == NULL)) {
		fprintf(stderr, _("kyso audit: out of memory for --last %zu\n"), q->last);
		free(st.ring.o);
		return EXIT_ERROR;
	}
	r = audit_each(q, show_one, &st, &records);
	for (size_t i = 0; i < st.ring.n; i++) {
		size_t k = (st.ring.next + q->last - st.ring.n + i) % q->last;

		if (r >= 0)
			emit(&st, st.ring.o[k], st.ring.ms[k]);
		json_decref(st.ring.o[k]);
	}
	free(st.ring.o);
	free(st.ring.ms);
	if (r < 0)
		return EXIT_ERROR;
	if (q->json)
		fputs(st.shown == 0 ? "[]\n" : "\n]\n", stdout);
	else if (r == 0 && st.shown == 0)
		fputs(records == 0 ? _("The audit log is empty.\n") : _("No record matches.\n"),
		    stdout);
	else if (q->last_default && st.matched > st.shown)
		/* TRANSLATORS: how many records the table shows, of how many that match */
		printf(P_("(the last %1$zu of %2$zu record; --last N or --since for others, "
		    "--last 0 for all)\n", "(the last %1$zu of %2$zu records; --last N or --since "
		    "for others, --last 0 for all)\n", st.matched), st.shown, st.matched);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, _("kyso audit: cannot write the records: %s\n"), strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

/* --result: granted, refused, or an error name (PinIncorrect, io.kyso.Agent.PinLocked). */
static const char *
result_option(const char *s, char *buf, size_t len)
{
	static const char *const prefixes[] = { "", "io.kyso.Agent.", "org.varlink.service." };

	if (strcasecmp(s, "granted") == 0)
		return "granted";
	if (strcasecmp(s, "refused") == 0)
		return "refused";
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		snprintf(buf, len, "%s%s", prefixes[i], s);
		if (kyso_err_from_varlink(buf) != KYSO_ERR_UNKNOWN_REMOTE)
			return buf;
	}
	return NULL;
}

int
cmd_audit(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso audit [--last N] [--since T] "
	    "[--until T] [--cert ID] [--result R] [--file PATH] [--json]\n"
	    "       kyso audit --summary [--by day|week|month] [--utc] [--since T] [--until T]\n"
	    "                  [--cert ID] [--file PATH] [--json]\n"
	    "Show the agent's audit log: every signing request, granted or refused, oldest\n"
	    "first, with the local time, the result, the program that asked, the certificate,\n"
	    "the algorithm, the document's name and the program's description. Reads the file\n"
	    "itself: no agent is needed. With --summary, count the documents signed and\n"
	    "refused per period and certificate instead (each document of a batch, and each\n"
	    "'kyso sign' or Sign call, counts as one). On a terminal, without --last, --since\n"
	    "or --until, the table shows the last 50 requests.\n\n"
	    "  -n, --last N       only the last N requests that match (0: all)\n"
	    "      --since T      only requests at or after T\n"
	    "      --until T      only requests before T\n"
	    "                     T: 2026-12-06T10:00:00Z (or +07:00, or no zone: local\n"
	    "                     time), 2026-12-06 (local midnight), or 30m, 2h, 7d ago\n"
	    "  -c, --cert ID      only this certificate: its id, or its first 8+ hex digits\n"
	    "  -r, --result R     granted, refused, or an error name such as PinIncorrect\n"
	    "  -f, --file PATH    the audit log (default: $XDG_STATE_HOME/kyso/audit.log,\n"
	    "                     else ~/.local/state/kyso/audit.log)\n"
	    "  -j, --json         print the matching records (or the counts) as a JSON array\n"
	    "  -s, --summary      count signed and refused documents per period and certificate\n"
	    "      --by PERIOD    day, week (the default: ISO 8601 weeks, Monday first) or month\n"
	    "      --utc          periods in UTC (default: local time)\n");
	static const struct option opts[] = { { "last", required_argument, NULL, 'n' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' }, { "cert", required_argument, NULL, 'c' },
		{ "result", required_argument, NULL, 'r' }, { "file", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ "summary", no_argument, NULL, 's' }, { "by", required_argument, NULL, 'B' },
		{ "utc", no_argument, NULL, 'Z' }, { NULL, 0, NULL, 0 } };
	struct audit_query q = { .since = INT64_MIN, .until = INT64_MAX };
	char path[4096], result[128], *end;
	enum audit_period by = PERIOD_WEEK;
	unsigned long long last;
	int ch, e, summary = 0, utc = 0, by_given = 0, last_set = 0;
	size_t i;

	while ((ch = getopt_long(argc, argv, "n:c:r:f:jhs", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			errno = 0;
			last = strtoull(optarg, &end, 10);
			if (!isdigit((unsigned char)optarg[0]) || *end != '\0' || errno != 0 ||
			    last > AUDIT_LAST_MAX) {
				fprintf(stderr, _("kyso audit: --last wants a number of requests "
				    "from 0 (all) to %d, not '%s'\n"), AUDIT_LAST_MAX, optarg);
				return EXIT_USAGE;
			}
			q.last = (size_t)last;
			last_set = 1;
			break;
		case 's':
			summary = 1;
			break;
		case 'Z':
			utc = 1;
			break;
		case 'B':
			by_given = 1;
			if (strcmp(optarg, "day") == 0) {
				by = PERIOD_DAY;
			} else if (strcmp(optarg, "week") == 0) {
				by = PERIOD_WEEK;
			} else if (strcmp(optarg, "month") == 0) {
				by = PERIOD_MONTH;
			} else {
				fprintf(stderr, _("kyso audit: --by wants day, week or month, not "
				    "'%s'\n"), optarg);
				return EXIT_USAGE;
			}
			break;
		case 'S':
		case 'U':
			if (parse_when(optarg, ch == 'S' ? &q.since : &q.until) != 0) {
				/* TRANSLATORS: the option (since or until), then what was given */
				fprintf(stderr, _("kyso audit: --%s: '%s' is not a time: give "
				    "2026-12-06T10:00:00Z, 2026-12-06, or 30m, 2h, 7d (ago)\n"),
				    ch == 'S' ? "since" : "until", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'c':
			for (i = 0; optarg[i] != '\0' && i < 64 && isxdigit((unsigned char)optarg[i]);
			    i++)
				q.cert[i] = (char)tolower((unsigned char)optarg[i]);
			q.cert[i] = '\0';
			if (optarg[i] != '\0' || i < 8) {
				fprintf(stderr, _("kyso audit: --cert wants a certificate id, or its "
				    "first 8 or more hex digits, not '%s'\n"), optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			if ((q.result = result_option(optarg, result, sizeof(result))) == NULL) {
				fprintf(stderr, _("kyso audit: --result wants granted, refused or an "
				    "error name such as PinIncorrect, not '%s'\n"), optarg);
				return EXIT_USAGE;
			}
			break;
		case 'f':
			q.path = optarg;
			break;
		default:
			if ((e = cli_common_opt(cli, ch, usage_text, "audit")) >= 0)
				return e;
		}
	}
	if ((e = cli_no_extra_args(argc, argv, "audit")) >= 0)
		return e;
	if (!summary && (by_given || utc)) {
		fprintf(stderr, _("kyso audit: --by and --utc go with --summary\n"));
		return EXIT_USAGE;
	}
	if (summary && last_set) {
		fprintf(stderr, _("kyso audit: --summary counts every record; leave --last out\n"));
		return EXIT_USAGE;
	}
	if (summary && q.result != NULL) {
		fprintf(stderr, _("kyso audit: --summary counts every result; leave --result out\n"));
		return EXIT_USAGE;
	}
	if (q.path == NULL) {
		if (default_path(path, sizeof(path)) != 0) {
			fprintf(stderr, _("kyso audit: no home directory to find the audit log in; "
			    "give it with --file\n"));
			return EXIT_ERROR;
		}
		q.path = path;
	}
	q.json = cli->json;
	if (!summary && !last_set && !q.json && q.since == INT64_MIN && q.until == INT64_MAX &&
	    isatty(STDOUT_FILENO)) {
		q.last = AUDIT_TERMINAL_LAST;  /* a year of signatures is not for a screen */
		q.last_default = 1;
	}
	/* kyso's main took LC_CTYPE from the environment: the widths of the characters */
	utf8_locale = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
	return summary ? audit_summary(&q, by, utc) : show(&q);
}
