/*
 * faulty_control.c — the control file (KYSO_FAULTY_CONTROL) read into a struct faulty_ctl
 * (rules, slot lines, events, pinpad lines), the trace (KYSO_FAULTY_TRACE), rule matching
 * and the fail-once bookkeeping. The syntax is described at the top of faulty_p11.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faulty.h"
#include "ckr_names.h"

/* fail-once lines that fired and are still in the file */
#define FIRED_MAX 64
static char fired[FIRED_MAX][sizeof(((struct faulty_rule *)0)->line)];
static int nfired;
static pthread_mutex_t fired_mu = PTHREAD_MUTEX_INITIALIZER;

/* Copies src, cut to fit size (the label and tag lengths are checked by the callers). */
static void
copy(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
trim(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
	    s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* "slot N LABEL [TAG]" or "slot N -" */
static void
parse_slot(struct faulty_ctl *c, const char *line)
{
	char num[16], label[64], tag[64], *end;
	int k = sscanf(line, "%*s %15s %63s %63s", num, label, tag);
	long n;

	if (k < 2)
		return;
	n = strtol(num, &end, 10);
	if (*end != '\0' || n < 1 || n > FAULTY_SLOTS || strlen(label) > 32 ||
	    (k == 3 && strlen(tag) > 32))
		return;
	c->slot_lines++;
	c->declared[n] = 1;
	if (strcmp(label, "-") == 0) {
		c->label[n][0] = '\0';
		c->content[n][0] = '\0';
		return;
	}
	copy(c->label[n], sizeof(c->label[n]), label);
	copy(c->content[n], sizeof(c->content[n]), label);
	if (k == 3) {
		size_t len = strlen(c->content[n]);

		c->content[n][len] = ' ';
		copy(c->content[n] + len + 1, sizeof(c->content[n]) - len - 1, tag);
	}
}

/* "pinpad LABEL PIN [DELAY_MS]"; the last line for a LABEL counts */
static void
parse_pinpad(struct faulty_ctl *c, const char *line)
{
	/* a line is under 512 bytes: no word is cut */
	char label[512], pin[512], ms[512], extra[2], *end;
	int k = sscanf(line, "%*s %511s %511s %511s %1s", label, pin, ms, extra);
	struct faulty_pinpad *p = NULL;
	long delay = 0;

	if (k < 2 || k > 3 || strlen(label) > 32 || strlen(pin) >= sizeof(p->pin))
		return;
	if (k == 3) {
		if (ms[0] < '0' || ms[0] > '9')
			return;
		delay = strtol(ms, &end, 10);
		if (*end != '\0' || delay < 0 || delay > 3600000)
			return;
	}
	for (int i = 0; i < c->npinpads; i++)
		if (strcmp(c->pinpads[i].label, label) == 0)
			p = &c->pinpads[i];
	if (p == NULL) {
		if (c->npinpads >= FAULTY_PINPADS)
			return;
		p = &c->pinpads[c->npinpads++];
	}
	copy(p->label, sizeof(p->label), label);
	copy(p->pin, sizeof(p->pin), pin);
	p->delay_ms = delay;
	copy(p->line, sizeof(p->line), line);
}

static void
parse_line(struct faulty_ctl *c, char *line)
{
	char word[64], word2[64];
	struct faulty_rule *r;
	int n;

	trim(line);
	while (*line == ' ' || *line == '\t')
		line++;
	if (line[0] == '#' || sscanf(line, "%63s", word) != 1)
		return;
	if (strcmp(word, "slot") == 0) {
		parse_slot(c, line);
		return;
	}
	if (strcmp(word, "pinpad") == 0) {
		parse_pinpad(c, line);
		return;
	}
	if (strcmp(word, "events") == 0) {
		if (sscanf(line, "%*s %63s", word2) == 1 && strcmp(word2, "off") == 0)
			c->events_off = 1;
		return;
	}
	if (c->nrules >= FAULTY_RULES)
		return;
	r = &c->rules[c->nrules];
	r->only[0] = '\0';
	n = sscanf(line, "%63s %15s %63s %63s", r->fn, r->action, r->arg, r->only);
	if (n < 3)
		return;
	copy(r->line, sizeof(r->line), line);
	if (strcmp(r->action, "break") == 0 && !c->has_break) {
		c->has_break = 1;
		c->break_rv = faulty_rule_code(r);
	}
	c->nrules++;
}

/* Forgets fail-once lines no longer in the file: written again, they fire again. */
static void
once_prune(const struct faulty_ctl *c)
{
	pthread_mutex_lock(&fired_mu);
	for (int i = 0; i < nfired;) {
		if (faulty_ctl_has_line(c, fired[i])) {
			i++;
			continue;
		}
		memcpy(fired[i], fired[nfired - 1], sizeof(fired[i]));
		nfired--;
	}
	pthread_mutex_unlock(&fired_mu);
}

struct faulty_ctl *
faulty_ctl_read(void)
{
	const char *path = getenv("KYSO_FAULTY_CONTROL");
	struct faulty_ctl *c = calloc(1, sizeof(*c));
	char line[512];
	FILE *f;

	if (c == NULL)
		return NULL;
	if (path != NULL && (f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			size_t len = strlen(line);

			/* the rest of an overlong line is dropped, never read as a line */
			if (len > 0 && line[len - 1] != '\n' && !feof(f)) {
				int ch;

				while ((ch = fgetc(f)) != EOF && ch != '\n')
					;
			}
			parse_line(c, line);
		}
		fclose(f);
	}
	once_prune(c);
	return c;
}

int
faulty_ctl_has_line(const struct faulty_ctl *c, const char *line)
{
	for (int i = 0; i < c->nrules; i++)
		if (strcmp(c->rules[i].line, line) == 0)
			return 1;
	for (int i = 0; i < c->npinpads; i++)
		if (strcmp(c->pinpads[i].line, line) == 0)
			return 1;
	return 0;
}

const struct faulty_pinpad *
faulty_ctl_pinpad(const struct faulty_ctl *c, const char *label)
{
	if (label[0] == '\0')
		return NULL;
	for (int i = 0; i < c->npinpads; i++)
		if (strcmp(c->pinpads[i].label, label) == 0)
			return &c->pinpads[i];
	return NULL;
}

void
faulty_trace(const char *fn, const char *label)
{
	const char *path = getenv("KYSO_FAULTY_TRACE");
	FILE *f;

	if (path != NULL && (f = fopen(path, "ae")) != NULL) {
		fprintf(f, "%s %s\n", fn, label);
		fclose(f);
	}
}

int
faulty_rule_matches(const struct faulty_rule *r, const char *fn, const char *label)
{
	if (strcmp(r->fn, "*") == 0) {
		if (strcmp(fn, "C_Initialize") == 0 || strcmp(fn, "C_Finalize") == 0 ||
		    strcmp(fn, "C_GetFunctionList") == 0 || strcmp(fn, "C_WaitForSlotEvent") == 0)
			return 0;
	} else if (strcmp(r->fn, fn) != 0) {
		return 0;
	}
	return r->only[0] == '\0' || strcmp(r->only, label) == 0;
}

int
faulty_once_fire(const char *line)
{
	int done = 0;

	pthread_mutex_lock(&fired_mu);
	for (int i = 0; i < nfired; i++)
		done |= strcmp(fired[i], line) == 0;
	if (!done && nfired < FIRED_MAX)
		snprintf(fired[nfired++], sizeof(fired[0]), "%s", line);
	pthread_mutex_unlock(&fired_mu);
	return !done;
}

CK_RV
faulty_rule_code(const struct faulty_rule *r)
{
	CK_RV rv = ckr_parse(r->arg);

	/* "fail CKR_OK" would not fail; a broken module must not answer CKR_OK */
	return rv == CKR_OK ? CKR_GENERAL_ERROR : rv;
}
