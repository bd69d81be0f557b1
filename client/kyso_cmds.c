/* kyso_cmds.c — the commands of the kyso tool. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "encode.h"
#include "i18n.h"
#include "kyso_cli.h"

/* Largest document kyso sign reads (it is hashed here, not sent). */
#define SIGN_FILE_MAX (1024L * 1024 * 1024)
/* Largest document sent whole (ed25519): base64 and JSON must fit the 1 MiB message. */
#define SIGN_DATA_MAX (700 * 1024)
#define PIN_MAX 256

int
cli_connect(struct cli *cli)
{
	int e = kyso_connect(cli->socket, &cli->client);

	if (e == KYSO_OK)
		return EXIT_OK;
	cli_print_error(cli->client, e);
	return EXIT_NO_AGENT;
}

int
cli_fail(struct cli *cli, int err)
{
	cli_print_error(cli->client, err);
	switch (err) {
	case KYSO_ERR_CONNECT:
	case KYSO_ERR_DISCONNECTED:
	case KYSO_ERR_PERMISSION:
		return EXIT_NO_AGENT;
	case KYSO_ERR_PIN_REQUIRED:
	case KYSO_ERR_PIN_INCORRECT:
		return EXIT_PIN;
	case KYSO_ERR_PIN_LOCKED:
		return EXIT_PIN_LOCKED;
	case KYSO_ERR_NO_SUCH_CERT:
	case KYSO_ERR_NO_SUCH_TOKEN:
	case KYSO_ERR_KEY_NOT_FOUND:
		return EXIT_NOT_FOUND;
	case KYSO_ERR_UNSUPPORTED_ALG:
	case KYSO_ERR_INVALID_DIGEST:
		return EXIT_REFUSED;
	case KYSO_ERR_TOKEN:
	case KYSO_ERR_TOKEN_NOT_PRESENT:
		return EXIT_TOKEN;
	case KYSO_ERR_CANCELLED:
		return EXIT_CANCELLED;
	case KYSO_ERR_POLICY:
		return EXIT_POLICY;
	case KYSO_ERR_AUDIT:
		return EXIT_AUDIT;
	case KYSO_ERR_INVALID_PARAMETER:  /* what the command line gave: an ambiguous id... */
	case KYSO_ERR_INVALID_ARG:
		return EXIT_USAGE;
	default:
		return EXIT_ERROR;
	}
}

void
cli_pin_free(char *pin)
{
	if (pin == NULL)
		return;
	explicit_bzero(pin, PIN_MAX + 2);
	(void)munlock(pin, PIN_MAX + 2);
	free(pin);
}

/* Strips the line end; returns 0 if the line was complete and not empty. */
static int
pin_line(char *pin)
{
	size_t n = strlen(pin);

	if (n == 0 || pin[n - 1] != '\n') {
		if (n <= PIN_MAX)
			return n > 0 ? 0 : -1;  /* last line without newline */
		return -1;
	}
	pin[--n] = '\0';
	if (n > 0 && pin[n - 1] == '\r')
		pin[--n] = '\0';
	return n > 0 ? 0 : -1;
}

char *
cli_read_pin(int from_stdin, const char *prompt)
{
	struct termios old, quiet;
	char *pin = calloc(1, PIN_MAX + 2);
	FILE *tty;
	int ok;

	if (pin == NULL)
		return NULL;
	(void)mlock(pin, PIN_MAX + 2);
	if (from_stdin) {
		setvbuf(stdin, NULL, _IONBF, 0);  /* no copy of the PIN in a stdio buffer */
		ok = fgets(pin, PIN_MAX + 2, stdin) != NULL && pin_line(pin) == 0;
		if (!ok) {
			fprintf(stderr, _("kyso: no PIN on standard input (one line, at most %d "
			    "bytes)\n"), PIN_MAX);
			cli_pin_free(pin);
			return NULL;
		}
		return pin;
	}
	if (!isatty(STDIN_FILENO) || (tty = fopen("/dev/tty", "r+e")) == NULL) {
		fprintf(stderr, _("kyso: the token needs a PIN and there is no terminal to ask "
		    "on; use --pin-stdin\n"));
		cli_pin_free(pin);
		return NULL;
	}
	setvbuf(tty, NULL, _IONBF, 0);  /* no copy of the PIN in a stdio buffer */
	fprintf(tty, "%s", prompt);
	tcgetattr(fileno(tty), &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(fileno(tty), TCSAFLUSH, &quiet);
	ok = fgets(pin, PIN_MAX + 2, tty) != NULL && pin_line(pin) == 0;
	tcsetattr(fileno(tty), TCSAFLUSH, &old);
	fprintf(tty, "\n");
	fclose(tty);
	if (!ok) {
		fprintf(stderr, _("kyso: no PIN entered\n"));
		cli_pin_free(pin);
		return NULL;
	}
	return pin;
}

int
cli_common_opt(struct cli *cli, int ch, const char *usage_text, const char *cmd)
{
	switch (ch) {
	case 'j':
		cli->json = 1;
		return -1;
	case 'h':
		fputs(_(usage_text), stdout);
		return EXIT_OK;
	default:
		fprintf(stderr, _("Try 'kyso %s --help' for more information.\n"), cmd);
		return EXIT_USAGE;
	}
}

int
cli_no_extra_args(int argc, char **argv, const char *cmd)
{
	if (optind < argc) {
		fprintf(stderr, _("kyso %s: unexpected argument '%s'\n"), cmd, argv[optind]);
		return EXIT_USAGE;
	}
	return -1;
}

int
cmd_tokens(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso tokens [--json]\n"
	    "List the tokens the agent sees, with their PIN state.\n\n"
	    "  -j, --json   print the agent's answer as JSON\n");
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	kyso_token **t;
	char *json;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1)
		if ((e = cli_common_opt(cli, ch, usage_text, "tokens")) >= 0)
			return e;
	if ((e = cli_no_extra_args(argc, argv, "tokens")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if (cli->json) {
		if ((e = kyso_call(cli->client, "io.kyso.Agent.ListTokens", NULL, &json)) != 0)
			return cli_fail(cli, e);
		out_json(stdout, json, "tokens");
		kyso_free(json);
		return EXIT_OK;
	}
	if ((e = kyso_list_tokens(cli->client, &t, NULL)) != KYSO_OK)
		return cli_fail(cli, e);
	out_tokens(stdout, t);
	kyso_tokens_free(t);
	return EXIT_OK;
}

int
cmd_certs(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso certs [--token TOKEN] [--json]\n"
	    "List the certificates on the tokens, with what their keys can sign.\n\n"
	    "  -t, --token TOKEN  only this token (id, serial or label)\n"
	    "  -j, --json         print the agent's answer as JSON (with the DER)\n");
	static const struct option opts[] = { { "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *token = NULL;
	kyso_cert **c;
	kyso_token **t = NULL;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "t:jh", opts, NULL)) != -1) {
		if (ch == 't')
			token = optarg;
		else if ((e = cli_common_opt(cli, ch, usage_text, "certs")) >= 0)
			return e;
	}
	if ((e = cli_no_extra_args(argc, argv, "certs")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if (cli->json) {
		json_t *p = token != NULL ? json_pack("{s:s}", "token", token) : NULL;
		char *ptext = p != NULL ? json_dumps(p, JSON_COMPACT) : NULL, *json;

		json_decref(p);
		e = kyso_call(cli->client, "io.kyso.Agent.ListCertificates", ptext, &json);
		free(ptext);
		if (e != KYSO_OK)
			return cli_fail(cli, e);
		out_json(stdout, json, "certificates");
		kyso_free(json);
		return EXIT_OK;
	}
	if ((e = kyso_list_certificates(cli->client, token, &c, NULL)) != KYSO_OK)
		return cli_fail(cli, e);
	(void)kyso_list_tokens(cli->client, &t, NULL);  /* labels only: NULL if it fails */
	out_certs(stdout, c, t);
	kyso_certs_free(c);
	kyso_tokens_free(t);
	return EXIT_OK;
}

/* Reads a whole file ("-" for standard input), up to max bytes. */
static unsigned char *
read_file(const char *path, long max, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rbe");
	unsigned char *buf = NULL, *nb;
	size_t cap = 0, n = 0, got;

	*len = 0;
	if (f == NULL) {
		fprintf(stderr, _("kyso: cannot open %s: %s\n"), path, strerror(errno));
		return NULL;
	}
	do {
		if (n == cap) {
			cap = cap == 0 ? 65536 : cap * 2;
			if (cap > (size_t)max + 1)
				cap = (size_t)max + 1;
			if (n == cap || (nb = realloc(buf, cap)) == NULL) {
				fprintf(stderr, _("kyso: %s is larger than %ld bytes\n"), path, max);
				free(buf);
				buf = NULL;
				goto out;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		fprintf(stderr, _("kyso: cannot read %s: %s\n"), path, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	if (buf == NULL)
		buf = malloc(1);
	*len = n;
out:
	if (f != stdin)
		fclose(f);
	return buf;
}

/* The SHA-2 size named by an algorithm's suffix, or 0 (ed25519, unknown). */
static unsigned
alg_hash_bits(const char *alg)
{
	size_t n = strlen(alg);

	if (n > 7 && strcmp(alg + n - 7, "-sha256") == 0)
		return 256;
	if (n > 7 && strcmp(alg + n - 7, "-sha384") == 0)
		return 384;
	if (n > 7 && strcmp(alg + n - 7, "-sha512") == 0)
		return 512;
	return 0;
}

/* The algorithms kyso sign knows, as its help and errors list them. */
#define SIGN_ALGS "rsa-pkcs1v15-sha256|384|512, rsa-pss-sha256|384|512, " \
	"ecdsa-sha256|384|512, ed25519"

/* Returns 1 if alg is one of SIGN_ALGS. */
static int
alg_known(const char *alg)
{
	static const char *const families[] = { "rsa-pkcs1v15-", "rsa-pss-", "ecdsa-" };

	if (strcmp(alg, "ed25519") == 0)
		return 1;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strncmp(alg, families[i], strlen(families[i])) == 0 &&
		    strchr(alg + strlen(families[i]), '-') == NULL && alg_hash_bits(alg) != 0)
			return 1;
	return 0;
}

/* After UnsupportedAlgorithm: the algorithms the agent says this key can use. */
static void
print_supported(struct cli *cli)
{
	json_t *p = json_loads(kyso_error_parameters(cli->client), 0, NULL), *a;
	size_t i;

	if (json_array_size(json_object_get(p, "supported")) > 0) {
		fprintf(stderr, _("kyso: this key signs with:"));
		json_array_foreach(json_object_get(p, "supported"), i, a)
			fprintf(stderr, "%s %s", i > 0 ? "," : "", json_string_value(a));
		fputc('\n', stderr);
	}
	json_decref(p);
}

/* Builds the PIN prompt for the token named in the agent's last error. */
static void
pin_prompt(struct cli *cli, char *out, size_t outlen)
{
	json_t *p = json_loads(kyso_error_parameters(cli->client), 0, NULL);
	const char *id = json_string_value(json_object_get(p, "token"));
	kyso_token **t = NULL;

	snprintf(out, outlen, "%s", _("PIN for the token: "));
	if (id != NULL && kyso_list_tokens(cli->client, &t, NULL) == KYSO_OK)
		for (size_t i = 0; t[i] != NULL; i++) {
			unsigned fl = kyso_token_flags(t[i]);

			if (strcmp(kyso_token_id(t[i]), id) == 0)
				snprintf(out, outlen, fl & KYSO_TOKEN_USER_PIN_FINAL_TRY ?
				    _("PIN for token '%s' (serial %s) — FINAL TRY before it "
				    "locks: ") : fl & KYSO_TOKEN_USER_PIN_COUNT_LOW ?
				    _("PIN for token '%s' (serial %s) — few tries left: ") :
				    _("PIN for token '%s' (serial %s): "), kyso_token_label(t[i]),
				    kyso_token_serial(t[i]));
		}
	kyso_tokens_free(t);
	json_decref(p);
}

static int
write_signature(const char *out, const unsigned char *sig, size_t len)
{
	FILE *f;

	if (out == NULL) {
		char *b64 = b64_encode(sig, len);

		if (b64 == NULL)
			return EXIT_ERROR;
		printf("%s\n", b64);
		free(b64);
		return EXIT_OK;
	}
	if ((f = fopen(out, "wbe")) == NULL || fwrite(sig, 1, len, f) != len ||
	    fclose(f) != 0) {
		fprintf(stderr, _("kyso: cannot write %s: %s\n"), out, strerror(errno));
		return EXIT_ERROR;
	}
	return EXIT_OK;
}

int
cmd_sign(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] =
	    N_("Usage: kyso sign --cert ID --alg ALG (--digest HEX | --in FILE) [OPTION]...\n"
	    "Sign a digest, or a file (hashed here; sent whole for ed25519), with the key of\n"
	    "a certificate. The signature goes to --out as bytes, else to stdout as base64.\n\n"
	    "  -c, --cert ID          certificate id (or a unique prefix of 8+ digits) or a\n"
	    "                         pkcs11: key URI, as 'kyso certs' shows\n"
	    "  -a, --alg ALG          rsa-pkcs1v15-sha256|384|512, rsa-pss-sha256|384|512,\n"
	    "                         ecdsa-sha256|384|512, ed25519\n"
	    "  -d, --digest HEX       the hash to sign, in hex\n"
	    "  -i, --in FILE          the document to sign ('-' for standard input)\n"
	    "  -o, --out FILE         write the signature bytes to FILE\n"
	    "      --format der|raw   ECDSA signature encoding (default der)\n"
	    "      --description TEXT what is being signed, for the agent's log\n"
	    "      --pin-stdin        read the PIN from the first line of standard input\n"
	    "  -j, --json             print the signature and algorithm as JSON (and write\n"
	    "                         --out if given)\n"
	    "Without --pin-stdin, a token that needs a PIN is asked for it on the terminal.\n");
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "alg", required_argument, NULL, 'a' },
		{ "digest", required_argument, NULL, 'd' },
		{ "in", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'F' },
		{ "description", required_argument, NULL, 'D' },
		{ "pin-stdin", no_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cert = NULL, *alg = NULL, *format = NULL, *description = NULL;
	const char *digest_hex = NULL, *in = NULL, *out = NULL;
	kyso_sign_request *req = NULL;
	unsigned char *digest = NULL, *data = NULL, *sig = NULL, md[64];
	size_t len = 0, siglen = 0;
	char *pin = NULL, prompt[200], desc[300];
	int ch, e, pin_stdin = 0, rc = EXIT_ERROR;
	unsigned bits;

	while ((ch = getopt_long(argc, argv, "c:a:d:i:o:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': cert = optarg; break;
		case 'a': alg = optarg; break;
		case 'd': digest_hex = optarg; break;
		case 'i': in = optarg; break;
		case 'o': out = optarg; break;
		case 'F': format = optarg; break;
		case 'D': description = optarg; break;
		case 'P': pin_stdin = 1; break;
		default:
			if ((e = cli_common_opt(cli, ch, usage_text, "sign")) >= 0)
				return e;
		}
	}
	if ((e = cli_no_extra_args(argc, argv, "sign")) >= 0)
		return e;
	if (cert == NULL || alg == NULL || (digest_hex == NULL) == (in == NULL)) {
		fprintf(stderr, _("kyso sign: needs --cert, --alg, and one of --digest or --in\n"
		    "Try 'kyso sign --help' for more information.\n"));
		return EXIT_USAGE;
	}
	if (cert[0] == '\0') {
		fprintf(stderr, _("kyso sign: --cert is empty; 'kyso certs' lists the certificates' ids\n"));
		return EXIT_USAGE;
	}
	if (!alg_known(alg)) {
		fprintf(stderr, _("kyso sign: unknown algorithm '%s'; use one of: %s\n"), alg,
		    SIGN_ALGS);
		return EXIT_USAGE;
	}
	if (pin_stdin && in != NULL && strcmp(in, "-") == 0) {
		fprintf(stderr, _("kyso sign: --pin-stdin and --in - both want standard input\n"));
		return EXIT_USAGE;
	}
	if (kyso_sign_request_new(cert, alg, &req) != KYSO_OK ||
	    kyso_sign_request_set_signature_format(req, format) != KYSO_OK ||
	    kyso_sign_request_set_description(req, description) != KYSO_OK)
		goto nomem;
	if (digest_hex != NULL) {
		if (hex_decode(digest_hex, &digest, &len) != KYSO_OK || len == 0) {
			fprintf(stderr, _("kyso sign: --digest must be hexadecimal\n"));
			rc = EXIT_USAGE;
			goto out;
		}
		if (kyso_sign_request_set_digest(req, digest, len) != KYSO_OK)
			goto nomem;
	} else {
		if ((data = read_file(in, SIGN_FILE_MAX, &len)) == NULL)
			goto out;
		if ((bits = alg_hash_bits(alg)) != 0) {
			const EVP_MD *m = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() :
			    EVP_sha512();

			EVP_Digest(data, len, md, NULL, m, NULL);
			e = kyso_sign_request_set_digest(req, md, bits / 8);
		} else if (len > SIGN_DATA_MAX) {
			fprintf(stderr, _("kyso sign: %s signs the whole document, and the agent takes "
			    "documents up to %d KiB\n"), alg, SIGN_DATA_MAX / 1024);
			goto out;
		} else {
			e = kyso_sign_request_set_data(req, data, len);
		}
		if (e == KYSO_OK && description == NULL) {
			/* TRANSLATORS: what kyso sign tells the agent it signs, shown in the
			 * dialog as the program's own words */
			snprintf(desc, sizeof(desc), _("file %s"), strcmp(in, "-") == 0 ?
			    _("(standard input)") : in);
			e = kyso_sign_request_set_description(req, desc);
		}
		if (e != KYSO_OK)
			goto nomem;
	}
	if ((rc = cli_connect(cli)) != 0)
		goto out;
	if (pin_stdin && ((pin = cli_read_pin(1, NULL)) == NULL ||
	    kyso_sign_request_set_pin(req, pin) != KYSO_OK)) {
		rc = EXIT_PIN;
		goto out;
	}
	e = kyso_sign(cli->client, req, &sig, &siglen);
	if (e == KYSO_ERR_PIN_REQUIRED && !pin_stdin) {
		/* the officer types the PIN once; a wrong PIN is reported, never retried */
		pin_prompt(cli, prompt, sizeof(prompt));
		if ((pin = cli_read_pin(0, prompt)) == NULL ||
		    kyso_sign_request_set_pin(req, pin) != KYSO_OK) {
			rc = EXIT_PIN;
			goto out;
		}
		e = kyso_sign(cli->client, req, &sig, &siglen);
	}
	if (e != KYSO_OK) {
		rc = cli_fail(cli, e);
		if (e == KYSO_ERR_UNSUPPORTED_ALG)
			print_supported(cli);
		goto out;
	}
	if (cli->json) {
		char *b64 = b64_encode(sig, siglen);

		printf("{\n  \"signature\": \"%s\",\n  \"algorithm\": \"%s\"\n}\n",
		    b64 != NULL ? b64 : "", alg);
		free(b64);
		rc = out != NULL ? write_signature(out, sig, siglen) : EXIT_OK;
	} else {
		rc = write_signature(out, sig, siglen);
	}
	goto out;
nomem:
	fprintf(stderr, _("kyso: out of memory\n"));
	rc = EXIT_ERROR;
out:
	kyso_sign_request_free(req);  /* wipes its copy of the PIN */
	cli_pin_free(pin);
	free(digest);
	free(data);
	kyso_free(sig);
	return rc;
}

/*
 * Finds the token to log in to: the one named (id, serial or label), or the only one.
 * Fills id, *logged_in and *pin_pad from the agent's listing.
 */
static int
login_token(struct cli *cli, const char *token, char *id, size_t idlen,
    int *logged_in, int *pin_pad)
{
	kyso_token **t, *found = NULL;
	int e, matches = 0;

	if ((e = kyso_list_tokens(cli->client, &t, NULL)) != KYSO_OK)
		return cli_fail(cli, e);
	for (size_t i = 0; t[i] != NULL && token != NULL; i++)
		if (strcmp(kyso_token_id(t[i]), token) == 0) {  /* an exact id wins, as in the agent */
			found = t[i];
			matches = 1;
		}
	for (size_t i = 0; t[i] != NULL && found == NULL; i++)
		if (token == NULL || strcmp(kyso_token_serial(t[i]), token) == 0 ||
		    strcmp(kyso_token_label(t[i]), token) == 0) {
			found = t[i];
			matches++;
		}
	if (matches != 1) {
		if (token != NULL && matches == 0)
			fprintf(stderr, _("kyso login: no token '%s' is present\n"), token);
		else
			fputs(matches == 0 ? _("kyso login: no token is present\n") :
			    _("kyso login: several tokens match; name one with --token\n"),
			    stderr);
		kyso_tokens_free(t);
		return matches == 0 ? EXIT_NOT_FOUND : EXIT_USAGE;
	}
	snprintf(id, idlen, "%s", kyso_token_id(found));
	*logged_in = (kyso_token_flags(found) & KYSO_TOKEN_LOGGED_IN) != 0;
	*pin_pad = (kyso_token_flags(found) & KYSO_TOKEN_PROTECTED_AUTH_PATH) != 0;
	if (token == NULL || strcmp(token, kyso_token_id(found)) != 0)
		fprintf(stderr, _("kyso: token '%s' (serial %s)\n"), kyso_token_label(found),
		    kyso_token_serial(found));
	kyso_tokens_free(t);
	return EXIT_OK;
}

int
cmd_login(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso login [--token TOKEN] [--pin-stdin]\n"
	    "Log in to a token, so that signing needs no PIN until 'kyso lock' or until the\n"
	    "login expires. The agent asks for the PIN in its own dialog; without one (or\n"
	    "with pinentry = none) kyso asks on the terminal.\n\n"
	    "  -t, --token TOKEN  the token (id, serial or label); needed when several\n"
	    "                     tokens are present\n"
	    "      --pin-stdin    read the PIN from the first line of standard input\n");
	static const struct option opts[] = { { "token", required_argument, NULL, 't' },
		{ "pin-stdin", no_argument, NULL, 'P' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *token = NULL;
	char *pin = NULL, prompt[200], id[64];
	int ch, e, pin_stdin = 0, rc, logged_in = 0, pin_pad = 0;

	while ((ch = getopt_long(argc, argv, "t:h", opts, NULL)) != -1) {
		if (ch == 't')
			token = optarg;
		else if (ch == 'P')
			pin_stdin = 1;
		else if (ch == 'j' || (e = cli_common_opt(cli, ch, usage_text, "login")) >= 0)
			return ch == 'j' ? EXIT_USAGE : e;
	}
	if ((e = cli_no_extra_args(argc, argv, "login")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if ((rc = login_token(cli, token, id, sizeof(id), &logged_in, &pin_pad)) != EXIT_OK)
		return rc;
	if (logged_in) {
		fprintf(stderr, _("kyso: already logged in\n"));
		return EXIT_OK;
	}
	if (pin_pad)
		fprintf(stderr, _("kyso: enter the PIN on the reader's PIN pad\n"));
	else if (pin_stdin && (pin = cli_read_pin(1, NULL)) == NULL)
		return EXIT_PIN;
	/* without --pin-stdin the agent asks the officer itself */
	e = kyso_login(cli->client, id, pin, &logged_in);
	if (e == KYSO_ERR_PIN_REQUIRED && pin == NULL && !pin_pad) {
		/* the agent could not show a dialog: ask here */
		snprintf(prompt, sizeof(prompt), _("PIN for token '%s': "),
		    token != NULL ? token : id);
		if ((pin = cli_read_pin(0, prompt)) == NULL)
			return EXIT_PIN;
		e = kyso_login(cli->client, id, pin, &logged_in);
	}
	cli_pin_free(pin);
	if (e != KYSO_OK)
		return cli_fail(cli, e);
	fputs(logged_in ? _("kyso: already logged in (the PIN was not checked)\n") :
	    _("kyso: logged in\n"), stderr);
	return EXIT_OK;
}

int
cmd_lock(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso lock\n"
	    "Log out of every token: the next signature needs the PIN again.\n");
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	int ch, e;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1)
		if (ch == 'j' || (e = cli_common_opt(cli, ch, usage_text, "lock")) >= 0)
			return ch == 'j' ? EXIT_USAGE : e;
	if ((e = cli_no_extra_args(argc, argv, "lock")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if ((e = kyso_lock(cli->client)) != KYSO_OK)
		return cli_fail(cli, e);
	fprintf(stderr, _("kyso: locked; every token is logged out\n"));
	return EXIT_OK;
}
