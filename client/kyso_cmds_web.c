/* kyso_cmds_web.c — kyso web-origins: the web pages that may ask kysod for signatures. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "i18n.h"
#include "kyso_cli.h"
#include "kyso_err.h"

/* "2026-12-06T10:00:00Z" as "2026-12-06 10:00 UTC" (or as given when it is not that). */
static void
print_since(const char *since)
{
	if (since == NULL || since[0] == '\0')
		return;
	if (strlen(since) == 20 && since[10] == 'T' && since[19] == 'Z')
		/* TRANSLATORS: when the officer allowed a web page: the date and the time */
		printf(_("  (since %.10s %.5s UTC)"), since, since + 11);
	else
		printf(_("  (since %s)"), since);
}

static void
print_list(json_t *r)
{
	json_t *allowed = json_object_get(r, "allowed"), *remembered = json_object_get(r,
	    "remembered"), *v;
	const char *unknown = json_string_value(json_object_get(r, "unknown"));
	const char *file = json_string_value(json_object_get(r, "file"));
	int ask = unknown != NULL && strcmp(unknown, "ask") == 0;
	size_t i;

	fputs(_("Allowed by the policy (web_origins in kysod.conf):\n"), stdout);
	if (json_array_size(allowed) == 0)
		fputs(_("  (none)\n"), stdout);
	json_array_foreach(allowed, i, v)
		printf("  %s\n", json_string_value(v));
	fputs(ask ? _("Any other web page: you are asked whether it may ask "
	    "(web_origins_unknown = ask)\n") : _("Any other web page: refused, without a "
	    "question (web_origins_unknown = deny)\n"), stdout);
	if (!ask && json_array_size(remembered) == 0)
		return;
	if (file != NULL)
		/* TRANSLATORS: the file that keeps the pages the officer allowed */
		printf(_("Allowed always by you (%s):\n"), file);
	else
		fputs(_("Allowed always by you:\n"), stdout);
	if (json_array_size(remembered) == 0)
		fputs(_("  (none)\n"), stdout);
	json_array_foreach(remembered, i, v) {
		printf("  %s", json_string_value(json_object_get(v, "origin")));
		print_since(json_string_value(json_object_get(v, "since")));
		putchar('\n');
	}
	if (!ask && json_array_size(remembered) > 0)
		fputs(_("  (not used while web_origins_unknown = deny)\n"), stdout);
	if (json_array_size(json_object_get(r, "for_now")) > 0) {
		fputs(_("Allowed by you for now (asked again after 10 minutes unused):\n"), stdout);
		json_array_foreach(json_object_get(r, "for_now"), i, v)
			printf("  %s\n", json_string_value(v));
	}
}

int
cmd_web_origins(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso web-origins [--json]\n"
	    "       kyso web-origins --forget ORIGIN | --forget-all\n"
	    "List the web pages that may ask the agent for your certificates and signatures\n"
	    "(through the kyso browser extension): those the policy allows (web_origins in\n"
	    "kysod.conf), what happens to any other page (web_origins_unknown: refused, or you\n"
	    "are asked), and the pages you allowed when you were asked.\n\n"
	    "  -f, --forget ORIGIN  forget a page you allowed, always or for now (e.g.\n"
	    "                       https://vanban.example.vn): it is asked about again\n"
	    "      --forget-all     forget every page you allowed\n"
	    "  -j, --json           print the agent's answer as JSON\n");
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "forget", required_argument, NULL, 'f' },
		{ "forget-all", no_argument, NULL, 'A' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	const char *forget = NULL;
	char *text = NULL, *params = NULL;
	int ch, e, all = 0;
	json_t *r;

	while ((ch = getopt_long(argc, argv, "jf:h", opts, NULL)) != -1) {
		if (ch == 'f')
			forget = optarg;
		else if (ch == 'A')
			all = 1;
		else if ((e = cli_common_opt(cli, ch, usage_text, "web-origins")) >= 0)
			return e;
	}
	if (forget != NULL && all) {
		fprintf(stderr, _("kyso web-origins: --forget and --forget-all exclude each other\n"));
		return EXIT_USAGE;
	}
	if ((e = cli_no_extra_args(argc, argv, "web-origins")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if (forget != NULL || all) {
		r = forget != NULL ? json_pack("{s:s}", "origin", forget) : json_pack("{s:b}",
		    "all", 1);
		params = r != NULL ? json_dumps(r, JSON_COMPACT) : NULL;
		json_decref(r);
		if (params == NULL)
			return cli_fail(cli, KYSO_ERR_NOMEM);
		e = kyso_call(cli->client, "io.kyso.Agent.ForgetWebOrigins", params, &text);
		free(params);
	} else {
		e = kyso_call(cli->client, "io.kyso.Agent.ListWebOrigins", NULL, &text);
	}
	if (e != KYSO_OK)
		return cli_fail(cli, e);
	r = json_loads(text, 0, NULL);
	if (cli->json) {
		out_json(stdout, text, NULL);
	} else if (forget != NULL || all) {
		json_int_t n = json_integer_value(json_object_get(r, "forgotten"));

		if (forget != NULL)
			printf(n > 0 ? _("Forgotten: %s is asked about again.\n") : _("%s was not "
			    "among the pages you allowed.\n"), forget);
		else
			printf(P_("Forgotten: %lld web page.\n", "Forgotten: %lld web pages.\n", n),
			    (long long)n);
	} else {
		print_list(r);
	}
	json_decref(r);
	kyso_free(text);
	return EXIT_OK;
}
