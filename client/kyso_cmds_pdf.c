/* kyso_cmds_pdf.c — kyso sign-pdf: PAdES signatures on PDF files, many under one consent. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "i18n.h"
#include "kyso_cli.h"
#include "kyso_pdf.h"

/* the %n, %o... of --text are the template's, not printf's */
static const char sign_pdf_usage[] =
    /* xgettext:no-c-format */
    N_("Usage: kyso sign-pdf --cert ID [OPTION]... -o OUT.pdf IN.pdf\n"
    "       kyso sign-pdf --cert ID [OPTION]... --out-dir DIR IN.pdf...\n"
    "Sign PDF files (PAdES B-B; B-T with --tsa) with the key of a certificate. The\n"
    "signature is added as a new revision: the original bytes stay as they are, so\n"
    "earlier signatures stay valid. Several files are signed with one consent.\n\n"
    "  -c, --cert ID            certificate id (or a unique prefix), label or key URI,\n"
    "                           as 'kyso certs' shows\n"
    "  -o, --out FILE           the signed file (one input)\n"
    "  -d, --out-dir DIR        write each signed file to DIR under its own name\n"
    "  -f, --force              replace output files that exist\n"
    "      --reason TEXT        why it is signed (/Reason)\n"
    "      --location TEXT      where (/Location)\n"
    "      --contact TEXT       how to reach the signer (/ContactInfo)\n"
    "      --name TEXT          the signer's name (default: the certificate's CN)\n"
    "      --field NAME         the signature field's name (default: Signature1, ...);\n"
    "                           an empty signature field of that name is signed into\n"
    "      --visible            show the signature on a page (needs --rect)\n"
    "      --page N             the page (1 the first, -1 or 'last' the last; default\n"
    "                           the last for a visible signature)\n"
    "      --rect X,Y,W,H       where, from the page's lower-left corner, in points\n"
    "                           (or each number with mm or cm)\n"
    "      --image FILE.png     a seal or handwritten signature in the appearance\n"
    "      --text TEMPLATE      the appearance's text: %n name, %o organisation, %u\n"
    "                           unit, %t time, %r reason, %l location, %c contact,\n"
    "                           \\n a new line; '' for none (default in Vietnamese:\n"
    "                           'Ký số bởi: %n\\n%o\\nThời gian ký: %t\\nLý do: %r...')\n"
    "      --font FONT          font family and style, e.g. 'DejaVu Serif Italic'\n"
    "                           (default DejaVu Sans)\n"
    "      --font-size PT       text size (default: the largest that fits, up to 10)\n"
    "      --color RRGGBB       text colour (default 000000)\n"
    "      --time-format FMT    strftime format of the time shown (default ISO 8601,\n"
    "                           %Y-%m-%dT%H:%M:%S%z)\n"
    "      --utc-offset +HH:MM  the time zone shown and in /M (default +07:00)\n"
    "      --digest ALG         sha256 (default), sha384, sha512\n"
    "      --tsa URL            an RFC 3161 time-stamp authority: PAdES B-T; if it\n"
    "                           fails, the file is not written\n"
    "      --tsa-ca FILE        CA certificates the time-stamp authority must chain to\n"
    "      --reserve BYTES      room kept for the signature (default: from the\n"
    "                           certificate's size)\n"
    "      --description TEXT   what is signed, in your words, for the PIN dialog\n"
    "      --pin-stdin          read the PIN from the first line of standard input\n"
    "      --timings            say where the time went, on standard error\n"
    "  -q, --quiet              print only errors\n"
    "Without --pin-stdin, the agent asks for the PIN in its dialog; where it has none,\n"
    "the PIN is asked on the terminal.\n");

enum {
	O_REASON = 256, O_LOCATION, O_CONTACT, O_NAME, O_FIELD, O_VISIBLE, O_PAGE, O_RECT,
	O_IMAGE, O_TEXT, O_FONT, O_FONT_SIZE, O_COLOR, O_TIME_FORMAT, O_UTC_OFFSET, O_DIGEST,
	O_TSA, O_TSA_CA, O_RESERVE, O_DESCRIPTION, O_PIN_STDIN, O_TIMINGS,
};

/* One number of --rect, in points; mm and cm converted. Returns 0 or -1. */
static int
parse_length(const char *s, const char **end, double *v)
{
	char *e;

	errno = 0;
	*v = strtod(s, &e);
	if (e == s || errno != 0 || !isfinite(*v))
		return -1;
	if (strncmp(e, "mm", 2) == 0) {
		*v *= 72.0 / 25.4;
		e += 2;
	} else if (strncmp(e, "cm", 2) == 0) {
		*v *= 72.0 / 2.54;
		e += 2;
	} else if (strncmp(e, "pt", 2) == 0) {
		e += 2;
	}
	*end = e;
	return 0;
}

static int
parse_rect(const char *s, double r[4])
{
	const char *p = s, *e;

	for (int i = 0; i < 4; i++) {
		if (parse_length(p, &e, &r[i]) != 0)
			return -1;
		if (i < 3 && *e != ',')
			return -1;
		p = e + (i < 3);
	}
	return *p == '\0' ? 0 : -1;
}

static int
parse_offset(const char *s, int *minutes)
{
	int h, m, n = 0;

	if ((s[0] != '+' && s[0] != '-') || sscanf(s + 1, "%2d:%2d%n", &h, &m, &n) != 2 ||
	    s[1 + n] != '\0' || h > 14 || m > 59)
		return -1;
	*minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
	return 0;
}

/* "\n" in a template given on the command line is a new line. */
static char *
unescape_template(const char *s)
{
	char *r = malloc(strlen(s) + 1), *o = r;

	if (r == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		if (s[0] == '\\' && s[1] == 'n') {
			*o++ = '\n';
			s++;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
	return r;
}

struct progress {
	const char *const *in, *const *out;
	int quiet;
	size_t signed_ok, failed;
};

static int
on_document(void *arg, size_t i, size_t total, int err, const char *message)
{
	struct progress *p = arg;

	if (err == KYSO_OK) {
		p->signed_ok++;
		if (!p->quiet)
			/* TRANSLATORS: the file's number, how many, the input, the output */
			printf(_("signed %1$zu/%2$zu: %3$s -> %4$s\n"), i + 1, total, p->in[i],
			    p->out[i]);
	} else {
		p->failed++;
		fprintf(stderr, _("kyso sign-pdf: %s: not signed: %s\n"), p->in[i],
		    message != NULL && message[0] != '\0' ? message : kyso_strerror(err));
	}
	fflush(stdout);
	return 0;
}

/* The exit status for a libkyso-pdf error. */
static int
pdf_exit(int err)
{
	switch (err) {
	case KYSO_OK: return EXIT_OK;
	case KYSO_ERR_CONNECT: case KYSO_ERR_DISCONNECTED: case KYSO_ERR_PERMISSION:
		return EXIT_NO_AGENT;
	case KYSO_ERR_PIN_REQUIRED: case KYSO_ERR_PIN_INCORRECT: return EXIT_PIN;
	case KYSO_ERR_PIN_LOCKED: return EXIT_PIN_LOCKED;
	case KYSO_ERR_NO_SUCH_CERT: case KYSO_ERR_NO_SUCH_TOKEN: case KYSO_ERR_KEY_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case KYSO_ERR_UNSUPPORTED_ALG: case KYSO_ERR_INVALID_DIGEST: return EXIT_REFUSED;
	case KYSO_ERR_TOKEN: case KYSO_ERR_TOKEN_NOT_PRESENT: return EXIT_TOKEN;
	case KYSO_ERR_CANCELLED: return EXIT_CANCELLED;
	case KYSO_ERR_POLICY: return EXIT_POLICY;
	case KYSO_ERR_AUDIT: return EXIT_AUDIT;
	default: return EXIT_ERROR;
	}
}

/* Sets one option; prints why not and returns EXIT_USAGE, else -1. */
static int
set_opt(kyso_pdf_options *o, enum kyso_pdf_setting what, const char *v)
{
	if (kyso_pdf_options_set(o, what, v) == KYSO_OK)
		return -1;
	fprintf(stderr, _("kyso sign-pdf: %s\n"), kyso_pdf_options_error(o));
	return EXIT_USAGE;
}

int
sign_pdf_main(struct cli *cli, int argc, char **argv, sign_pdfs_fn sign)
{
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "out-dir", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "reason", required_argument, NULL, O_REASON },
		{ "location", required_argument, NULL, O_LOCATION },
		{ "contact", required_argument, NULL, O_CONTACT },
		{ "name", required_argument, NULL, O_NAME },
		{ "field", required_argument, NULL, O_FIELD },
		{ "visible", no_argument, NULL, O_VISIBLE },
		{ "page", required_argument, NULL, O_PAGE },
		{ "rect", required_argument, NULL, O_RECT },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "text", required_argument, NULL, O_TEXT },
		{ "font", required_argument, NULL, O_FONT },
		{ "font-size", required_argument, NULL, O_FONT_SIZE },
		{ "color", required_argument, NULL, O_COLOR },
		{ "time-format", required_argument, NULL, O_TIME_FORMAT },
		{ "utc-offset", required_argument, NULL, O_UTC_OFFSET },
		{ "digest", required_argument, NULL, O_DIGEST },
		{ "tsa", required_argument, NULL, O_TSA },
		{ "tsa-ca", required_argument, NULL, O_TSA_CA },
		{ "reserve", required_argument, NULL, O_RESERVE },
		{ "description", required_argument, NULL, O_DESCRIPTION },
		{ "pin-stdin", no_argument, NULL, O_PIN_STDIN },
		{ "timings", no_argument, NULL, O_TIMINGS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *out = NULL, *dir = NULL, *description = NULL;
	kyso_pdf_options *o = NULL;
	struct progress prog = { 0 };
	char **outs = NULL, *tmpl, *end, *message = NULL, *pin = NULL;
	double rect[4] = { 0 };
	int ch, e, rc = EXIT_USAGE, force = 0, visible = 0, have_rect = 0, page = -1;
	int offset = 7 * 60, image = 0, pin_stdin = 0, timings = 0;
	struct pdf_timings t = { 0 };
	size_t n = 0;
	long v;

	if (kyso_pdf_options_new(&o) != KYSO_OK) {
		fprintf(stderr, _("kyso sign-pdf: out of memory\n"));
		return EXIT_ERROR;
	}
	while ((ch = getopt_long(argc, argv, "c:o:d:fqh", opts, NULL)) != -1) {
		e = -1;
		switch (ch) {
		case 'c': cert = optarg; break;
		case 'o': out = optarg; break;
		case 'd': dir = optarg; break;
		case 'f': force = 1; break;
		case 'q': prog.quiet = 1; break;
		case O_REASON: e = set_opt(o, KYSO_PDF_REASON, optarg); break;
		case O_LOCATION: e = set_opt(o, KYSO_PDF_LOCATION, optarg); break;
		case O_CONTACT: e = set_opt(o, KYSO_PDF_CONTACT, optarg); break;
		case O_NAME: e = set_opt(o, KYSO_PDF_NAME, optarg); break;
		case O_FIELD: e = set_opt(o, KYSO_PDF_FIELD, optarg); break;
		case O_VISIBLE: visible = 1; break;
		case O_PAGE:
			errno = 0;
			v = strcmp(optarg, "last") == 0 ? -1 : strtol(optarg, &end, 10);
			if (strcmp(optarg, "last") != 0 && (errno != 0 || *end != '\0' ||
			    v == 0 || v < -100000 || v > 100000)) {
				fprintf(stderr, _("kyso sign-pdf: --page takes a page number (1 is "
				    "the first, -1 or 'last' the last), not '%s'\n"), optarg);
				goto out;
			}
			page = (int)v;
			break;
		case O_RECT:
			if (parse_rect(optarg, rect) != 0) {
				fprintf(stderr, _("kyso sign-pdf: --rect takes X,Y,W,H in points "
				    "(or with mm or cm), e.g. 350,80,180,60, not '%s'\n"), optarg);
				goto out;
			}
			have_rect = 1;
			break;
		case O_IMAGE: image = 1; e = set_opt(o, KYSO_PDF_IMAGE, optarg); break;
		case O_TEXT:
			if ((tmpl = unescape_template(optarg)) == NULL)
				goto out;
			e = set_opt(o, KYSO_PDF_TEXT, tmpl);
			free(tmpl);
			break;
		case O_FONT: e = set_opt(o, KYSO_PDF_FONT, optarg); break;
		case O_FONT_SIZE:
			if (kyso_pdf_options_set_font_size(o, strtod(optarg, &end)) != KYSO_OK ||
			    *end != '\0') {
				fprintf(stderr, _("kyso sign-pdf: --font-size takes points (0 to "
				    "200), not '%s'\n"), optarg);
				goto out;
			}
			break;
		case O_COLOR: e = set_opt(o, KYSO_PDF_COLOR, optarg); break;
		case O_TIME_FORMAT: e = set_opt(o, KYSO_PDF_TIME_FORMAT, optarg); break;
		case O_UTC_OFFSET:
			if (parse_offset(optarg, &offset) != 0) {
				fprintf(stderr, _("kyso sign-pdf: --utc-offset takes +HH:MM or "
				    "-HH:MM, not '%s'\n"), optarg);
				goto out;
			}
			break;
		case O_DIGEST: e = set_opt(o, KYSO_PDF_DIGEST, optarg); break;
		case O_TSA: e = set_opt(o, KYSO_PDF_TSA_URL, optarg); break;
		case O_TSA_CA: e = set_opt(o, KYSO_PDF_TSA_CA, optarg); break;
		case O_RESERVE:
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || v <= 0 ||
			    kyso_pdf_options_set_reserve(o, (size_t)v) != KYSO_OK) {
				fprintf(stderr, _("kyso sign-pdf: --reserve takes a number of bytes "
				    "(at most 1048576), not '%s'\n"), optarg);
				goto out;
			}
			break;
		case O_DESCRIPTION: description = optarg; break;
		case O_PIN_STDIN: pin_stdin = 1; break;
		case O_TIMINGS: timings = 1; break;
		default:
			if ((e = cli_common_opt(cli, ch, sign_pdf_usage, "sign-pdf")) >= 0) {
				rc = e;
				goto out;
			}
		}
		if (e >= 0)
			goto out;
	}
	n = optind < argc ? (size_t)(argc - optind) : 0;
	if (cert == NULL || n == 0 || (out == NULL) == (dir == NULL) || (out != NULL && n > 1)) {
		fprintf(stderr, _("kyso sign-pdf: needs --cert, and -o OUT.pdf with one input or "
		    "--out-dir DIR with one or more\nTry 'kyso sign-pdf --help' for more "
		    "information.\n"));
		goto out;
	}
	if (cert[0] == '\0') {
		fprintf(stderr, _("kyso sign-pdf: --cert is empty; 'kyso certs' lists the certificates' ids\n"));
		goto out;
	}
	if (have_rect)
		visible = 1;
	if (visible && !have_rect) {
		fprintf(stderr, _("kyso sign-pdf: --visible needs --rect X,Y,W,H\n"));
		goto out;
	}
	if (image && !visible) {
		fprintf(stderr, _("kyso sign-pdf: --image needs a visible signature (--rect)\n"));
		goto out;
	}
	if (visible && kyso_pdf_options_set_visible(o, page, rect[0], rect[1], rect[2],
	    rect[3]) != KYSO_OK) {
		fprintf(stderr, _("kyso sign-pdf: %s\n"), kyso_pdf_options_error(o));
		goto out;
	}
	kyso_pdf_options_set_time(o, (time_t)-1, offset);
	if ((outs = calloc(n, sizeof(*outs))) == NULL)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const char *in = argv[optind + (int)i], *base = strrchr(in, '/');

		if (out != NULL)
			outs[i] = strdup(out);
		else if (asprintf(&outs[i], "%s/%s", dir, base != NULL ? base + 1 : in) < 0)
			outs[i] = NULL;
		if (outs[i] == NULL)
			goto nomem;
	}
	prog.in = (const char *const *)argv + optind;
	prog.out = (const char *const *)outs;
	if (pin_stdin && (pin = cli_read_pin(1, NULL)) == NULL) {
		rc = EXIT_PIN;
		goto out;
	}
	e = sign(cli, cert, pin, o, n, prog.in, prog.out, force, description, on_document,
	    &prog, &message, &t);
	if (e == KYSO_ERR_PIN_REQUIRED && !pin_stdin && prog.signed_ok + prog.failed == 0) {
		/* no dialog could ask: the officer types the PIN once here; never retried */
		if ((pin = cli_read_pin(0, _("PIN for the token: "))) == NULL) {
			rc = EXIT_PIN;
			goto out;
		}
		free(message);
		message = NULL;
		memset(&t, 0, sizeof(t));
		e = sign(cli, cert, pin, o, n, prog.in, prog.out, force, description,
		    on_document, &prog, &message, &t);
	}
	if (e != KYSO_OK && message != NULL && (prog.signed_ok + prog.failed == 0 ||
	    e == KYSO_ERR_CANCELLED))
		fprintf(stderr, _("kyso sign-pdf: %s\n"), message);
	if (!prog.quiet && n > 1)
		printf(_("%zu signed, %zu not signed\n"), prog.signed_ok, n - prog.signed_ok);
	if (timings)
		fprintf(stderr, _("timings: open %.3f s (read, parse, check), prepare %.3f s "
		    "(lay out, hash), certificate %.3f s, sign %.3f s (agent and token), "
		    "complete %.3f s (check the CMS, time stamps), write %.3f s (write, sync, "
		    "rename)\n"), t.open, t.prepare, t.certificate, t.sign, t.complete, t.write);
	rc = pdf_exit(e);
	goto out;
nomem:
	fprintf(stderr, _("kyso sign-pdf: out of memory\n"));
	rc = EXIT_ERROR;
out:
	for (size_t i = 0; outs != NULL && i < n; i++)
		free(outs[i]);
	free(outs);
	free(message);
	cli_pin_free(pin);
	kyso_pdf_options_free(o);
	return rc;
}

/* The agent as the signer: connects, then kyso_sign_pdfs with the timings. */
static int
sign_agent(struct cli *cli, const char *certificate, const char *pin,
    const kyso_pdf_options *o, size_t n, const char *const *in, const char *const *out,
    int force, const char *description, kyso_pdf_progress fn, void *arg, char **message,
    struct pdf_timings *t)
{
	if (cli->client == NULL && kyso_connect(cli->socket, &cli->client) != KYSO_OK) {
		if (message != NULL)
			*message = strdup(cli->client != NULL ? kyso_error_message(cli->client) :
			    _("cannot connect to the kyso agent"));
		return KYSO_ERR_CONNECT;
	}
	return pdf_agent_sign_files(cli->client, certificate, pin, o, n, in, out, force,
	    description, fn, arg, message, t);
}

int
cmd_sign_pdf(struct cli *cli, int argc, char **argv)
{
	return sign_pdf_main(cli, argc, argv, sign_agent);
}
