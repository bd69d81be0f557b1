/* admin_pin.c — PINs for kyso-admin: from a file, standard input or a quiet prompt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include "admin.h"
#include "kyso_err.h"
#include "secret.h"

#define PIN_MAX 256

/* A line buffer kept out of swap and wiped. */
struct pinbuf {
	char b[PIN_MAX + 2];
};

static void
pinbuf_wipe(struct pinbuf *p)
{
	explicit_bzero(p, sizeof(*p));
}

/*
 * Reads one line from fd a byte at a time (nothing read past it), without the line end.
 * Returns its length, -1 on a read error or end of input before any byte, -2 if longer
 * than PIN_MAX.
 */
static long
line_read(int fd, struct pinbuf *p)
{
	size_t n = 0;
	char c;
	ssize_t got;

	for (;;) {
		got = read(fd, &c, 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			if (n == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (n >= PIN_MAX)
			return -2;
		p->b[n++] = c;
	}
	if (n > 0 && p->b[n - 1] == '\r')
		n--;
	p->b[n] = '\0';
	return (long)n;
}

/* The terminal prompt, echo off. Returns the line length or a negative value. */
static long
prompt_read(FILE *tty, const char *prompt, struct pinbuf *p)
{
	struct termios old, quiet;
	int fd = fileno(tty), have = tcgetattr(fd, &old) == 0;
	long n;

	fprintf(tty, "%s", prompt);
	fflush(tty);
	if (have) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	n = line_read(fd, p);
	if (have)
		tcsetattr(fd, TCSAFLUSH, &old);
	fprintf(tty, "\n");
	return n;
}

/* Checks a new PIN's length against the policy and the token's bounds. */
static int
policy_check(const struct admin *a, const char *what, size_t len,
    const struct p11_slot_desc *d)
{
	if (len < a->min_pin) {
		fprintf(stderr, P_("kyso-admin %s: the new %s is too short: %zu character, the "
		    "policy wants at least %u (--min-pin-length); nothing was changed\n",
		    "kyso-admin %s: the new %s is too short: %zu characters, the policy wants at "
		    "least %u (--min-pin-length); nothing was changed\n", len), a->cmd, what, len,
		    a->min_pin);
		return AX_USAGE;
	}
	if (d != NULL && d->min_pin != P11_UNKNOWN && d->min_pin > 0 && len < d->min_pin) {
		fprintf(stderr, P_("kyso-admin %s: the new %s is too short for the token: %zu "
		    "character, it takes %lu to %lu; nothing was changed\n", "kyso-admin %s: the "
		    "new %s is too short for the token: %zu characters, it takes %lu to %lu; "
		    "nothing was changed\n", len), a->cmd, what, len, d->min_pin, d->max_pin);
		return AX_USAGE;
	}
	if (d != NULL && d->max_pin != P11_UNKNOWN && d->max_pin > 0 && len > d->max_pin) {
		fprintf(stderr, P_("kyso-admin %s: the new %s is too long for the token: %zu "
		    "character, it takes at most %lu; nothing was changed\n", "kyso-admin %s: the "
		    "new %s is too long for the token: %zu characters, it takes at most %lu; "
		    "nothing was changed\n", len), a->cmd, what, len, d->max_pin);
		return AX_USAGE;
	}
	return AX_OK;
}

/* Reads the PIN from file; returns the length or an exit code (negated). */
static long
file_pin(const struct admin *a, const char *file, const char *opt, const char *what,
    struct pinbuf *p)
{
	int fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	long n;

	if (fd < 0) {
		fprintf(stderr, _("kyso-admin %s: cannot open %s %s: %s\n"), a->cmd, opt, file,
		    strerror(errno));
		return -AX_ERROR;
	}
	n = line_read(fd, p);
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == -2) {
		fprintf(stderr, _("kyso-admin %s: the %s in %s is longer than %d bytes\n"), a->cmd,
		    what, strcmp(file, "-") == 0 ? _("standard input") : file, PIN_MAX);
		return -AX_USAGE;
	}
	if (n <= 0) {
		/* TRANSLATORS: the command, the PIN, the file, the option */
		fprintf(stderr, _("kyso-admin %s: no %s in %s (%s: its first line)\n"), a->cmd,
		    what, strcmp(file, "-") == 0 ? _("standard input") : file, opt);
		return -AX_USAGE;
	}
	return n;
}

/* Asks at the terminal (twice for a new PIN); returns the length or a negated exit code. */
static long
tty_pin(const struct admin *a, const char *opt, const char *what, int is_new,
    const struct p11_slot_desc *d, struct pinbuf *p)
{
	struct pinbuf again = { { 0 } };
	char prompt[200];
	FILE *tty;
	long n, m;

	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+e")) == NULL) {
		fprintf(stderr, _("kyso-admin %s: the %s is needed and there is no terminal to ask "
		    "on; use %s FILE\n"), a->cmd, what, opt);
		return -AX_USAGE;
	}
	setvbuf(tty, NULL, _IONBF, 0);
	/* TRANSLATORS: the PIN ("user PIN", "SO PIN"), then the token */
	snprintf(prompt, sizeof(prompt), is_new ? _("New %s for token %s: ") :
	    _("%s for token %s: "), what, d != NULL && d->token_present ?
	    admin_token_name(&d->token) : "?");
	n = prompt_read(tty, prompt, p);
	if (n > 0 && is_new) {
		(void)mlock(&again, sizeof(again));  /* like p: never swapped out */
		snprintf(prompt, sizeof(prompt), _("New %s again: "), what);
		m = prompt_read(tty, prompt, &again);
		if (m != n || memcmp(again.b, p->b, (size_t)n) != 0) {
			pinbuf_wipe(&again);
			(void)munlock(&again, sizeof(again));
			fclose(tty);
			fprintf(stderr, _("kyso-admin %s: the two entries of the new %s differ; "
			    "nothing was changed\n"), a->cmd, what);
			return -AX_USAGE;
		}
		pinbuf_wipe(&again);
		(void)munlock(&again, sizeof(again));
	}
	fclose(tty);
	if (n <= 0) {
		fprintf(stderr, n == -2 ? _("kyso-admin %s: no %s entered (longer than 256 "
		    "bytes)\n") : _("kyso-admin %s: no %s entered\n"), a->cmd, what);
		return -AX_USAGE;
	}
	return n;
}

int
admin_read_pin(const struct admin *a, const char *file, const char *opt, const char *what,
    int is_new, const struct p11_slot_desc *d, struct kyso_secret **out)
{
	struct pinbuf p = { { 0 } };
	long n;
	int rc;

	*out = NULL;
	(void)mlock(&p, sizeof(p));
	n = file != NULL ? file_pin(a, file, opt, what, &p) : tty_pin(a, opt, what, is_new, d, &p);
	if (n < 0) {
		pinbuf_wipe(&p);
		(void)munlock(&p, sizeof(p));
		return (int)-n;
	}
	rc = is_new ? policy_check(a, what, (size_t)n, d) : AX_OK;
	if (rc == AX_OK && secret_new(p.b, (size_t)n, out) != KYSO_OK) {
		fprintf(stderr, _("kyso-admin %s: out of memory\n"), a->cmd);
		rc = AX_ERROR;
	}
	pinbuf_wipe(&p);
	(void)munlock(&p, sizeof(p));
	return rc;
}

int
admin_confirm(const char *question, const char *expected)
{
	struct pinbuf p = { { 0 } };
	FILE *tty;
	long n;
	int ok;

	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+e")) == NULL)
		return -1;
	setvbuf(tty, NULL, _IONBF, 0);
	fprintf(tty, "%s", question);
	n = line_read(fileno(tty), &p);
	fclose(tty);
	ok = n >= 0 && strcmp(p.b, expected) == 0;
	return ok;
}
