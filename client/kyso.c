/* kyso.c — the kyso command: global options and the command table. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "i18n.h"
#include "kyso_cli.h"

static const struct {
	const char *name;
	int (*fn)(struct cli *, int, char **);
	const char *summary;
} commands[] = {
	{ "tokens", cmd_tokens, N_("list the tokens present") },
	{ "certs", cmd_certs, N_("list the certificates on the tokens") },
	{ "sign", cmd_sign, N_("sign a digest or a file with a certificate's key") },
	{ "sign-cms", cmd_sign_cms, N_("sign files as CMS signatures (.p7s), as one batch") },
	{ "sign-pdf", cmd_sign_pdf, N_("sign PDF files (PAdES), many under one consent") },
	{ "verify", cmd_verify, N_("check the signatures of a PDF or a .p7s file") },
	{ "login", cmd_login, N_("log in to a token with its PIN") },
	{ "lock", cmd_lock, N_("log out of every token (signing needs the PIN again)") },
	{ "watch", cmd_watch, N_("show tokens coming, going and changing, as it happens") },
	{ "modules", cmd_modules, N_("list the PKCS#11 modules the agent uses, and their health") },
	{ "info", cmd_info, N_("show which agent answers, where, and its modules") },
	{ "audit", cmd_audit, N_("show the audit log: every signing request, granted or refused") },
	{ "web-origins", cmd_web_origins, N_("list (or forget) the web pages that may ask") },
};

static void
usage(FILE *f)
{
	fprintf(f, _("Usage: kyso [--socket PATH] COMMAND [OPTION]...\n"
	    "Sign with the keys on your tokens through the kyso agent (kysod).\n\nCommands:\n"));
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-11s %s\n", commands[i].name, _(commands[i].summary));
	fprintf(f, _("\nOptions:\n"
	    "  -s, --socket PATH  the agent's socket (default: $KYSO_SOCKET, else\n"
	    "                     $XDG_RUNTIME_DIR/kyso/agent.sock, else\n"
	    "                     /tmp/kyso-UID/agent.sock)\n"
	    "  -h, --help         show this help; 'kyso COMMAND --help' for a command\n"
	    "  -V, --version      show the version\n"
	    "\nExit status: 0 success, 1 error, 2 usage (also an ambiguous --cert), 3 agent\n"
	    "not reachable, 4 PIN required or incorrect, 5 PIN locked, 6 no such certificate\n"
	    "or token, 7 algorithm or digest refused, 8 token failed or removed, 9 cancelled,\n"
	    "refused or not answered in the dialog, 10 forbidden by the policy (kysod.conf),\n"
	    "11 the audit log cannot be written (nothing was signed), 12 'kyso verify' found\n"
	    "a signature not valid. 'kyso watch' ends with 0 when interrupted, 3 when the\n"
	    "agent stops. See kyso(1).\n"));
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli = { 0 };
	int ch, r;

	kyso_i18n_init(KYSO_I18N_TERMINAL);
	/* stop at the command: its options are its own */
	while ((ch = getopt_long(argc, argv, "+s:hV", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			cli.socket = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("kyso %s\n", kyso_version());
			return EXIT_OK;
		default:
			fprintf(stderr, _("Try 'kyso --help' for more information.\n"));
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		argc -= optind;
		argv += optind;
		optind = 0;  /* let the command run getopt afresh */
		r = commands[i].fn(&cli, argc, argv);
		kyso_disconnect(cli.client);
		return r;
	}
	fprintf(stderr, _("kyso: unknown command '%s'\nTry 'kyso --help' for the list of "
	    "commands.\n"), argv[optind]);
	return EXIT_USAGE;
}
