/* kyso_admin.c — kyso-admin: options, the command table and the help texts. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "i18n.h"
#include "log.h"

#define COMMON_HELP \
	N_("  -m, --module PATH      a PKCS#11 module (repeatable; default: the modules\n" \
	"                         registered with p11-kit)\n" \
	"  -t, --token TOKEN      the token, by label or serial (default: the only one)\n" \
	"  -h, --help             show this help\n")
#define PIN_HELP \
	N_("      --pin-file F       the user PIN: the first line of F ('-': standard input)\n")
#define SO_PIN_HELP \
	N_("      --so-pin-file F    the SO PIN: the first line of F ('-': standard input)\n")
#define NEW_PIN_HELP \
	N_("      --new-pin-file F   the new PIN: the first line of F ('-': standard input)\n" \
	"      --min-pin-length N refuse a new PIN shorter than N (default 4)\n")
#define PIN_NOTE \
	N_("PINs not given in files are asked on the terminal without echo (new ones twice);\n" \
	"they are never taken from the command line.\n")

enum { O_PIN = 256, O_SO_PIN, O_NEW_PIN, O_MIN_PIN, O_SLOT, O_FORCE, O_PUBOUT, O_KEY,
	O_SUBJECT, O_SAN, O_OUT, O_FILE, O_CHAIN, O_PROFILE, O_SET };

static const struct {
	const char *name;
	int (*fn)(struct admin *);
	const char *opts;  /* the option codes it takes, besides m t h */
	const char *summary;
	/* the help, in parts (a part shared by commands is one translation) */
	const char *help[8];
} commands[] = {
	{ "tokens", cmd_tokens, "j", N_("list the slots and tokens, and their state"),
	  { N_("Usage: kyso-admin tokens [--module PATH]... [--json]\n"
	      "List every slot of the modules, with or without a token: whether the token is\n"
	      "initialised, its PIN state and its free memory when it says.\n\n"),
	    COMMON_HELP,
	    N_("  -j, --json             print JSON\n"), NULL } },
	{ "init", cmd_init, "lsfSNM", N_("initialise a token: label, SO PIN, user PIN"),
	  { N_("Usage: kyso-admin init (--slot N | --token TOKEN) --label LABEL [--force]\n"
	      "Initialise (erase) a token, give it LABEL, and set its SO PIN and user PIN.\n"
	      "A blank token takes a new SO PIN; an initialised one needs its current SO PIN.\n"
	      "A token that holds objects or has a user PIN is refused unless --force is given\n"
	      "and its current label is typed back on the terminal.\n\n"),
	    COMMON_HELP,
	    N_("      --slot N           the slot (as kyso-admin tokens shows; one --module)\n"
	      "  -l, --label LABEL      the new label (at most 32 bytes)\n"
	      "      --force            erase a token in use (asks to type its label)\n"),
	    SO_PIN_HELP,
	    N_("      --new-pin-file F   the new user PIN ('-': standard input)\n"
	      "      --min-pin-length N refuse new PINs shorter than N (default 4)\n\n"),
	    PIN_NOTE, NULL } },
	{ "change-pin", cmd_change_pin, "PNM", N_("change the user PIN"),
	  { N_("Usage: kyso-admin change-pin [--token TOKEN] [--pin-file F] [--new-pin-file F]\n"
	      "Change the user PIN (the current one is needed).\n\n"),
	    COMMON_HELP,
	    PIN_HELP,
	    NEW_PIN_HELP,
	      "\n",
	    PIN_NOTE, NULL } },
	{ "unblock-pin", cmd_unblock_pin, "SNM", N_("set a new user PIN with the SO PIN"),
	  { N_("Usage: kyso-admin unblock-pin [--token TOKEN] [--so-pin-file F] [--new-pin-file F]\n"
	      "Log in as the security officer and set a new user PIN: unblocks a locked PIN.\n\n"),
	    COMMON_HELP,
	    SO_PIN_HELP,
	    NEW_PIN_HELP,
	      "\n",
	    PIN_NOTE, NULL } },
	{ "set-so-pin", cmd_set_so_pin, "SNM", N_("change the SO PIN"),
	  { N_("Usage: kyso-admin set-so-pin [--token TOKEN] [--so-pin-file F] [--new-pin-file F]\n"
	      "Change the security officer's PIN (the current one is needed).\n\n"),
	    COMMON_HELP,
	    SO_PIN_HELP,
	    NEW_PIN_HELP,
	      "\n",
	    PIN_NOTE, NULL } },
	{ "keygen", cmd_keygen, "TliPo", N_("generate a signing key pair on the token"),
	  { N_("Usage: kyso-admin keygen --type TYPE --label LABEL [--id HEX] [--token TOKEN]\n"
	      "Generate a key pair on the token: the private key is sensitive, never\n"
	      "extractable and can only sign; the public key shares its CKA_ID and label.\n\n"),
	    COMMON_HELP,
	    N_("  -T, --type TYPE        rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384, ed25519\n"
	      "  -l, --label LABEL      the label of both keys\n"
	      "  -i, --id HEX           the CKA_ID (default: 20 random bytes, printed)\n"
	      "      --pubkey-out F     also write the public key to F (PEM)\n"),
	    PIN_HELP,
	    N_("\nIf the token cannot generate TYPE, the types it can generate are listed.\n"), NULL } },
	{ "csr", cmd_csr, "kuaOP", N_("a certificate request (PKCS#10) signed by a token key"),
	  { N_("Usage: kyso-admin csr --key ID --subject DN [--san TYPE:VALUE]... [--out F]\n"
	      "Build a PKCS#10 certificate request for the token key with CKA_ID ID and have the\n"
	      "token sign it (the private key is used only through C_Sign). The request asks for\n"
	      "keyUsage digitalSignature, nonRepudiation (critical) and the given names.\n\n"),
	    COMMON_HELP,
	    N_("      --key ID           the key's CKA_ID in hex (kyso-admin list shows it)\n"
	      "      --subject DN       \"CN=Alice Example,OU=IT,O=Acme\\, Inc.,C=DE\" (RFC 4514,\n"
	      "                         most specific first) or \"/C=DE/O=Acme/CN=Alice\"\n"
	      "      --san TYPE:VALUE   a subject alternative name: email:, dns:, uri:, ip:\n"
	      "                         (repeatable)\n"
	      "      --out F            write the PEM request to F (default: standard output)\n"),
	    PIN_HELP,
	    N_("\nThe subject and names are checked before the token is used; the user PIN is\n"
	      "asked only when the token signs.\n"), NULL } },
	{ "import-cert", cmd_import_cert, "FcP", N_("store a certificate (and its chain) by its key"),
	  { N_("Usage: kyso-admin import-cert --file F [--chain F] [--token TOKEN] [--pin-file F]\n"
	      "Store the certificate in F (PEM or DER) on the token with the CKA_ID and label of\n"
	      "the token key its public key matches; a certificate that matches no key is\n"
	      "refused and nothing is written. A certificate already on the token is refused;\n"
	      "CA certificates from --chain already on it are skipped with a note. The others\n"
	      "are stored as CA certificates (CKA_CERTIFICATE_CATEGORY 2).\n\n"),
	    COMMON_HELP,
	    N_("      --file F           the certificate (PEM or DER)\n"
	      "      --chain F          CA certificates (a PEM bundle: intermediates, root)\n"),
	    PIN_HELP, NULL } },
	{ "provision", cmd_provision, "pOesSNMf", N_("a new token from a profile: init, PINs, key, CSR"),
	  { N_("Usage: kyso-admin provision --profile FILE --out DIR (--slot N | --token TOKEN)\n"
	      "                            [--set NAME=VALUE]... [--force]\n"
	      "Initialise the token with the profile's label, set its SO PIN and user PIN (the\n"
	      "profile's PIN policy is enforced before the token is touched), generate the\n"
	      "profile's key, and write its certificate request to DIR/SERIAL.csr.pem and a\n"
	      "record of the token to DIR/SERIAL.json. The profile format is in kyso-admin(1).\n\n"),
	    COMMON_HELP,
	    N_("      --slot N           the slot (as kyso-admin tokens shows; one --module)\n"
	      "      --profile FILE     the INI profile: [token] [pin] [key] [subject]\n"
	      "      --out DIR          where the request and the record go\n"
	      "      --set NAME=VALUE   a value for ${NAME} in the profile (repeatable)\n"
	      "      --force            erase a token in use (asks to type its label)\n"),
	    SO_PIN_HELP,
	    N_("      --new-pin-file F   the new user PIN ('-': standard input)\n"
	      "      --min-pin-length N refuse new PINs shorter than N (the profile may ask more)\n"
	      "\n"),
	    PIN_NOTE, NULL } },
	{ "list", cmd_list, "P", N_("list the objects on the token"),
	  { N_("Usage: kyso-admin list [--token TOKEN] [--pin-file F]\n"
	      "List the objects on the token (after the user login): class, id, label, key type\n"
	      "and attributes, certificate subjects.\n\n"),
	    COMMON_HELP,
	    PIN_HELP, NULL } },
	{ "delete", cmd_delete, "iyP", N_("delete the objects with an id"),
	  { N_("Usage: kyso-admin delete --id HEX [--yes] [--token TOKEN] [--pin-file F]\n"
	      "Delete every object (keys, certificate) with CKA_ID HEX, after showing them and\n"
	      "asking to type 'yes' on the terminal.\n\n"),
	    COMMON_HELP,
	    N_("  -i, --id HEX           the CKA_ID (kyso-admin list shows it)\n"
	      "  -y, --yes              do not ask\n"),
	    PIN_HELP, NULL } },
	{ "inventory", cmd_inventory, "jP", N_("the token's keys and certificates as JSON"),
	  { N_("Usage: kyso-admin inventory [--json] [--token TOKEN] [--pin-file F]\n"
	      "Print the token's serial and label, its keys, and its certificates with subject,\n"
	      "issuer, serial and validity, as JSON (--json is implied).\n\n"),
	    COMMON_HELP,
	    N_("  -j, --json             JSON (the only format)\n"),
	    PIN_HELP, NULL } },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f, _("Usage: kyso-admin [--module PATH]... COMMAND [OPTION]...\n"
	    "Provision PKCS#11 tokens: initialise, set PINs, generate keys, request and import\n"
	    "certificates, list, delete.\n\n"
	    "Commands:\n"));
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, _(commands[i].summary));
	fprintf(f, _("\nOptions:\n"
	    "  -m, --module PATH  a PKCS#11 module (repeatable; default: the modules\n"
	    "                     registered with p11-kit, as kysod)\n"
	    "  -h, --help         show this help; 'kyso-admin COMMAND --help' for a command\n"
	    "  -V, --version      show the version\n"
	    "\nExit status: 0 success, 1 error, 2 usage or PIN policy, 4 PIN incorrect, 5 PIN\n"
	    "locked, 6 no such token or object, 7 key type not supported, 8 token failed or\n"
	    "removed, 9 refused to protect the token (not confirmed, not empty). See\n"
	    "kyso-admin(1).\n"));
}

/* The option letter the table uses for ch (long-only options have their own). */
static char
opt_letter(int ch)
{
	switch (ch) {
	case O_PIN: return 'P';
	case O_SO_PIN: return 'S';
	case O_NEW_PIN: return 'N';
	case O_MIN_PIN: return 'M';
	case O_SLOT: return 's';
	case O_FORCE: return 'f';
	case O_PUBOUT: return 'o';
	case O_KEY: return 'k';
	case O_SUBJECT: return 'u';
	case O_SAN: return 'a';
	case O_OUT: return 'O';
	case O_FILE: return 'F';
	case O_CHAIN: return 'c';
	case O_PROFILE: return 'p';
	case O_SET: return 'e';
	default: return (char)ch;
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "module", required_argument, NULL, 'm' },
		{ "token", required_argument, NULL, 't' },
		{ "slot", required_argument, NULL, O_SLOT },
		{ "label", required_argument, NULL, 'l' },
		{ "type", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'i' },
		{ "force", no_argument, NULL, O_FORCE },
		{ "yes", no_argument, NULL, 'y' },
		{ "json", no_argument, NULL, 'j' },
		{ "pin-file", required_argument, NULL, O_PIN },
		{ "so-pin-file", required_argument, NULL, O_SO_PIN },
		{ "new-pin-file", required_argument, NULL, O_NEW_PIN },
		{ "min-pin-length", required_argument, NULL, O_MIN_PIN },
		{ "pubkey-out", required_argument, NULL, O_PUBOUT },
		{ "key", required_argument, NULL, O_KEY },
		{ "subject", required_argument, NULL, O_SUBJECT },
		{ "san", required_argument, NULL, O_SAN },
		{ "out", required_argument, NULL, O_OUT },
		{ "file", required_argument, NULL, O_FILE },
		{ "chain", required_argument, NULL, O_CHAIN },
		{ "profile", required_argument, NULL, O_PROFILE },
		{ "set", required_argument, NULL, O_SET },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct admin a = { .slot = -1, .min_pin = 4 };
	const char *cmdname = NULL;
	size_t ci = NCOMMANDS;
	int ch, help = 0, rc, nstdin = 0;
	char seen[64] = "";
	char *end;
	long v;

	kyso_i18n_init(KYSO_I18N_TERMINAL);
	log_init("kyso-admin", LOG_LVL_WARNING, 0);
	/* options may come before or after the command (GNU getopt permutes) */
	while ((ch = getopt_long(argc, argv, "m:t:l:T:i:yjhV", longopts, NULL)) != -1) {
		char letter = opt_letter(ch);

		if (strchr("mthV?", letter) == NULL && strlen(seen) < sizeof(seen) - 1 &&
		    strchr(seen, letter) == NULL)
			strncat(seen, &letter, 1);
		switch (ch) {
		case 'm':
			if (a.nmodule_paths == ADMIN_MAX_MODULES) {
				fprintf(stderr, _("kyso-admin: at most %d --module options\n"),
				    ADMIN_MAX_MODULES);
				return AX_USAGE;
			}
			a.module_paths[a.nmodule_paths++] = optarg;
			break;
		case 't': a.token = optarg; break;
		case 'l': a.label = optarg; break;
		case 'T': a.type = optarg; break;
		case 'i': a.id_hex = optarg; break;
		case 'y': a.yes = 1; break;
		case 'j': a.json = 1; break;
		case O_FORCE: a.force = 1; break;
		case O_PIN: a.pin_file = optarg; break;
		case O_SO_PIN: a.so_pin_file = optarg; break;
		case O_NEW_PIN: a.new_pin_file = optarg; break;
		case O_PUBOUT: a.pubkey_out = optarg; break;
		case O_KEY: a.key_hex = optarg; break;
		case O_SUBJECT: a.subject = optarg; break;
		case O_OUT: a.out = optarg; break;
		case O_FILE: a.file = optarg; break;
		case O_CHAIN: a.chain = optarg; break;
		case O_PROFILE: a.profile = optarg; break;
		case O_SAN:
		case O_SET:
			if ((ch == O_SAN ? a.nsans : a.nsets) == ADMIN_MAX_SANS) {
				fprintf(stderr, _("kyso-admin: at most %d --%s options\n"),
				    ADMIN_MAX_SANS, ch == O_SAN ? "san" : "set");
				return AX_USAGE;
			}
			if (ch == O_SAN)
				a.sans[a.nsans++] = optarg;
			else
				a.sets[a.nsets++] = optarg;
			break;
		case O_SLOT:
		case O_MIN_PIN:
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 0 || v > (ch == O_SLOT ?
			    0x7fffffffL : 256)) {
				fprintf(stderr, _("kyso-admin: --%s wants a number, not '%s'\n"),
				    ch == O_SLOT ? "slot" : "min-pin-length", optarg);
				return AX_USAGE;
			}
			if (ch == O_SLOT)
				a.slot = v;
			else
				a.min_pin = (unsigned)v;
			break;
		case 'h': help = 1; break;
		case 'V':
			printf("kyso-admin %s\n", KYSO_VERSION);
			return AX_OK;
		default:
			fprintf(stderr, _("Try 'kyso-admin --help' for more information.\n"));
			return AX_USAGE;
		}
	}
	if (optind < argc)
		cmdname = argv[optind++];
	if (cmdname == NULL || strcmp(cmdname, "help") == 0) {
		usage(cmdname != NULL || help ? stdout : stderr);
		return cmdname != NULL || help ? AX_OK : AX_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(cmdname, commands[i].name) == 0)
			ci = i;
	if (ci == NCOMMANDS) {
		fprintf(stderr, _("kyso-admin: unknown command '%s'\nTry 'kyso-admin --help' for "
		    "the list of commands.\n"), cmdname);
		return AX_USAGE;
	}
	a.cmd = commands[ci].name;
	if (help) {
		for (size_t k = 0; commands[ci].help[k] != NULL; k++)
			fputs(_(commands[ci].help[k]), stdout);
		return AX_OK;
	}
	if (optind < argc) {
		fprintf(stderr, _("kyso-admin %s: unexpected argument '%s'\n"), a.cmd, argv[optind]);
		return AX_USAGE;
	}
	for (const char *p = seen; *p != '\0'; p++)
		if (strchr(commands[ci].opts, *p) == NULL) {
			static const char *const names[] = { "j--json", "l--label", "s--slot",
				"f--force", "S--so-pin-file", "N--new-pin-file",
				"M--min-pin-length", "P--pin-file", "T--type", "i--id",
				"o--pubkey-out", "y--yes", "k--key", "u--subject", "a--san",
				"O--out", "F--file", "c--chain", "p--profile", "e--set" };
			const char *name = "?";

			for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
				if (names[k][0] == *p)
					name = names[k] + 1;
			fprintf(stderr, _("kyso-admin %s: %s does not apply to this command; see "
			    "'kyso-admin %s --help'\n"), a.cmd, name, a.cmd);
			return AX_USAGE;
		}
	nstdin = (a.pin_file != NULL && strcmp(a.pin_file, "-") == 0) +
	    (a.so_pin_file != NULL && strcmp(a.so_pin_file, "-") == 0) +
	    (a.new_pin_file != NULL && strcmp(a.new_pin_file, "-") == 0);
	if (nstdin > 1) {
		fprintf(stderr, _("kyso-admin %s: only one PIN can come from standard input ('-')\n"),
	      a.cmd);
		return AX_USAGE;
	}
	if ((rc = admin_load_modules(&a)) == AX_OK)
		rc = commands[ci].fn(&a);
	admin_unload_modules(&a);
	return rc;
}
