/* kyso_cmds_verify.c — kyso verify: check the signatures of a PDF or a .p7s. No agent. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "i18n.h"
#include "kyso_cli.h"
#include "kyso_pdf.h"

static const char verify_usage[] =
    N_("Usage: kyso verify [--ca BUNDLE] [--json] FILE.pdf\n"
    "       kyso verify [--ca BUNDLE] [--json] FILE.p7s [--content FILE]\n"
    "Check every signature of a PDF (or a CMS signature and the file it signs): who\n"
    "signed and when, the digest and the signature, the signed attributes, the time\n"
    "stamp, what part of the document it covers, and the signer's chain to the CA\n"
    "certificates in BUNDLE (default: the system's, /etc/ssl/certs). Revocation is not\n"
    "checked. Exit status 0 only when every signature is valid.\n\n"
    "      --ca BUNDLE     PEM file of the CA certificates to trust\n"
    "      --content FILE  the file a detached .p7s signs\n"
    "  -j, --json          print the report as JSON\n");

/* Is the file a PDF (its header in the first KiB)? */
static int
looks_like_pdf(const char *path)
{
	char head[1024];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, head, sizeof(head));
	close(fd);
	return n > 5 && memmem(head, (size_t)n, "%PDF-", 5) != NULL;
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static const char *
yes(json_t *o, const char *key, const char *good, const char *bad)
{
	return json_is_true(json_object_get(o, key)) ? good : bad;
}

/*
 * One signature, for people: a label per line, aligned (each line is one translatable
 * text, so that a translation keeps its own alignment).
 */
static void
print_signature(json_t *sig, size_t total)
{
	json_t *ts = json_object_get(sig, "timestamp"), *chain = json_object_get(sig, "chain");
	json_t *attrs = json_object_get(sig, "signed_attributes"), *pr;
	long long index = json_integer_value(json_object_get(sig, "index"));
	size_t i;

	if (str(sig, "field")[0] != '\0')
		/* TRANSLATORS: the signature's number, how many the file has, its field's name */
		printf(_("Signature %1$lld of %2$zu: field \"%3$s\"\n"), index, total,
		    str(sig, "field"));
	else
		printf(_("Signature %1$lld of %2$zu\n"), index, total);
	if (str(sig, "signer")[0] != '\0')
		printf(_("  signer:      %s\n  issuer:      %s (serial %s)\n"), str(sig, "signer"),
		    str(sig, "issuer"), str(sig, "serial"));
	if (str(sig, "claimed_time")[0] != '\0')
		/* TRANSLATORS: the time the signer's computer claims, then where it is written
		 * (signing-time, /M: names from the standards) */
		printf(_("  signed at:   %s (claimed, %s)\n"), str(sig, "claimed_time"),
		    str(sig, "claimed_time_source"));
	if (ts != NULL)
		/* TRANSLATORS: the time stamp's time, its authority, and whether it is valid
		 * (or its problem) */
		printf(_("  time stamp:  %1$s by %2$s: %3$s\n"), str(ts, "time")[0] != '\0' ?
		    str(ts, "time") : "?", str(ts, "authority")[0] != '\0' ?
		    str(ts, "authority") : "?", json_is_true(json_object_get(ts, "valid")) ?
		    _("valid") : str(ts, "problem"));
	else
		fputs(_("  time stamp:  none\n"), stdout);
	if (str(sig, "sub_filter")[0] != '\0')
		printf(_("  format:      %s\n"), str(sig, "sub_filter"));
	if (json_object_get(sig, "digest_matches") != NULL)
		printf(_("  digest:      %s, %s\n"), str(sig, "digest_algorithm"),
		    yes(sig, "digest_matches", _("matches the signed bytes"),
		    _("DOES NOT match the signed bytes")));
	if (json_object_get(sig, "signature_valid") != NULL)
		printf(_("  signature:   %s\n"), yes(sig, "signature_valid", _("valid"),
		    _("NOT valid")));
	if (attrs != NULL && json_object_get(attrs, "message_digest") != NULL) {
		const char *ct = yes(attrs, "content_type", _("ok"), _("MISSING or wrong"));
		const char *md = yes(attrs, "message_digest", _("present"), _("MISSING"));

		/* TRANSLATORS: the attributes' names are the standard's; their states follow */
		if (str(attrs, "signing_time")[0] != '\0')
			printf(_("  attributes:  content-type %1$s, message-digest %2$s, "
			    "signing-certificate-v2 %3$s, signing-time %4$s\n"), ct, md,
			    _(str(attrs, "signing_certificate_v2")), str(attrs, "signing_time"));
		else
			printf(_("  attributes:  content-type %1$s, message-digest %2$s, "
			    "signing-certificate-v2 %3$s\n"), ct, md,
			    _(str(attrs, "signing_certificate_v2")));
	}
	if (str(sig, "coverage")[0] != '\0')
		printf(_("  covers:      %s\n"), str(sig, "coverage"));
	if (chain != NULL && str(chain, "note")[0] != '\0')
		/* TRANSLATORS: trusted or NOT trusted, the CA it chains to, a note */
		printf(_("  chain:       %1$s by %2$s; %3$s (revocation not checked)\n"),
		    yes(chain, "trusted", _("trusted"), _("NOT trusted")), str(chain, "anchor"),
		    str(chain, "note"));
	else if (chain != NULL)
		printf(_("  chain:       %1$s by %2$s (revocation not checked)\n"),
		    yes(chain, "trusted", _("trusted"), _("NOT trusted")), str(chain, "anchor"));
	json_array_foreach(json_object_get(sig, "problems"), i, pr)
		printf(_("  problem:     %s\n"), json_string_value(pr));
	printf(_("  result:      %s\n\n"), yes(sig, "valid", _("VALID"), _("NOT VALID")));
}

int
cmd_verify(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'C' },
		{ "content", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ca = NULL, *content = NULL, *file;
	kyso_verify *v = NULL;
	json_t *root, *sig, *pr;
	size_t i, n;
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (ch == 'C')
			ca = optarg;
		else if (ch == 'n')
			content = optarg;
		else if ((e = cli_common_opt(cli, ch, verify_usage, "verify")) >= 0)
			return e;
	}
	if (optind + 1 != argc) {
		fprintf(stderr, _("kyso verify: needs one file to check\nTry 'kyso verify --help' "
		    "for more information.\n"));
		return EXIT_USAGE;
	}
	file = argv[optind];
	if (looks_like_pdf(file)) {
		if (content != NULL) {
			fprintf(stderr, _("kyso verify: --content is for a .p7s; a PDF holds its "
			    "signatures\n"));
			return EXIT_USAGE;
		}
		e = kyso_verify_pdf(file, ca, &v);
	} else {
		e = kyso_verify_cms(file, content, ca, &v);
	}
	if (e != KYSO_OK) {
		fprintf(stderr, _("kyso verify: %s\n"), kyso_verify_error(v));
		kyso_verify_free(v);
		return e == KYSO_ERR_INVALID_ARG ? EXIT_USAGE : EXIT_ERROR;
	}
	rc = kyso_verify_valid(v) ? EXIT_OK : EXIT_INVALID;
	if (cli->json) {
		printf("%s\n", kyso_verify_json(v));
		kyso_verify_free(v);
		return rc;
	}
	root = json_loads(kyso_verify_json(v), 0, NULL);
	n = kyso_verify_count(v);
	printf(P_("%s: %zu signature\n\n", "%s: %zu signatures\n\n", n), file, n);
	json_array_foreach(json_object_get(root, "signatures"), i, sig)
		print_signature(sig, n);
	json_array_foreach(json_object_get(root, "problems"), i, pr)
		printf(_("Document problem: %s\n"), json_string_value(pr));
	printf("%s\n", rc == EXIT_OK ? (n == 1 ? _("The signature is valid.") :
	    _("All signatures are valid.")) : _("NOT VALID: see the problems above."));
	json_decref(root);
	kyso_verify_free(v);
	return rc;
}
