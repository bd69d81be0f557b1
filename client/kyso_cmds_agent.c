/* kyso_cmds_agent.c — the agent itself and what it watches: info, modules, watch. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <string.h>

#include <jansson.h>

#include "i18n.h"
#include "kyso_cli.h"

/*
 * Asks for the modules. Returns KYSO_OK with *modules (the array; json_decref it), or an
 * error; KYSO_ERR_METHOD_NOT_FOUND from an agent that does not list them.
 */
static int
list_modules(struct cli *cli, json_t **modules)
{
	char *text;
	json_t *r;
	int e;

	*modules = NULL;
	if ((e = kyso_call(cli->client, "io.kyso.Agent.ListModules", NULL, &text)) != KYSO_OK)
		return e;
	r = json_loads(text, 0, NULL);
	kyso_free(text);
	if (json_is_array(json_object_get(r, "modules")))
		*modules = json_incref(json_object_get(r, "modules"));
	json_decref(r);
	return *modules != NULL ? KYSO_OK : KYSO_ERR_PROTOCOL;
}

int
cmd_info(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso info [--json]\n"
	    "Show which agent answers on which socket, and the PKCS#11 modules it uses.\n\n"
	    "  -j, --json   print the agent's GetInfo reply as JSON, with the modules\n");
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char *product = NULL, *version = NULL, *json;
	json_t *modules = NULL, *m;
	size_t i;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1)
		if ((e = cli_common_opt(cli, ch, usage_text, "info")) >= 0)
			return e;
	if ((e = cli_no_extra_args(argc, argv, "info")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if (cli->json) {
		json_t *o;

		if ((e = kyso_call(cli->client, "org.varlink.service.GetInfo", NULL, &json)) != 0)
			return cli_fail(cli, e);
		o = json_loads(json, 0, NULL);
		kyso_free(json);
		/* an agent older than ListModules still answers, without "modules" */
		if ((e = list_modules(cli, &modules)) != KYSO_OK &&
		    e != KYSO_ERR_METHOD_NOT_FOUND) {
			json_decref(o);
			return cli_fail(cli, e);
		}
		if (modules != NULL)
			json_object_set_new(o, "modules", modules);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
		return EXIT_OK;
	}
	if ((e = kyso_get_info(cli->client, &product, &version)) != KYSO_OK)
		return cli_fail(cli, e);
	/* TRANSLATORS: kyso info's labels, aligned: the agent's name and version, its
	 * socket, libkyso's version */
	printf(_("agent:   %1$s %2$s\nsocket:  %3$s\nclient:  libkyso %4$s\n"), product, version,
	    kyso_socket_path(cli->client), kyso_version());
	kyso_free(product);
	kyso_free(version);
	if ((e = list_modules(cli, &modules)) == KYSO_ERR_METHOD_NOT_FOUND) {
		printf(_("modules: not listed by this agent\n"));
		return EXIT_OK;
	}
	if (e != KYSO_OK)
		return cli_fail(cli, e);
	if (json_array_size(modules) == 0)
		printf(_("modules: none\n"));
	json_array_foreach(modules, i, m) {
		/* TRANSLATORS: aligned with kyso info's other labels */
		fputs(_("module:  "), stdout);
		out_module_line(stdout, m);
	}
	json_decref(modules);
	return EXIT_OK;
}

int
cmd_modules(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso modules [--json]\n"
	    "List the PKCS#11 modules the agent uses: whether each works, how tokens coming\n"
	    "and going are noticed (slot-events, usb-hotplug, poll), how many tokens it\n"
	    "has, and for a failing module what failed and when it is tried again.\n\n"
	    "  -j, --json   print the agent's list of modules as JSON\n");
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	json_t *modules;
	int ch, e;

	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1)
		if ((e = cli_common_opt(cli, ch, usage_text, "modules")) >= 0)
			return e;
	if ((e = cli_no_extra_args(argc, argv, "modules")) >= 0 || (e = cli_connect(cli)) != 0)
		return e;
	if ((e = list_modules(cli, &modules)) != KYSO_OK)
		return cli_fail(cli, e);
	if (cli->json) {
		json_dumpf(modules, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		out_modules(stdout, modules);
	}
	json_decref(modules);
	return EXIT_OK;
}

/* ---- watch ---- */

static volatile sig_atomic_t watch_signal;

static void
watch_on_signal(int sig)
{
	watch_signal = sig;
}

/* One JSON line: {"time", "event", the token's fields...}; flushed by the caller. */
static void
watch_json_line(const char *when, const char *event, json_t *token)
{
	json_t *o = json_pack("{s:s, s:s}", "time", when, "event", event);

	if (o == NULL)
		return;
	if (json_is_object(token))
		json_object_update(o, token);
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* Prints one event as --json wants it; the tokens of "subscribed" as token-present. */
static void
watch_print_json(const kyso_event *ev)
{
	json_t *p = json_loads(kyso_event_json(ev), 0, NULL), *t;
	char when[40];
	size_t i;

	out_now(when, sizeof(when), 1);
	if (strcmp(kyso_event_name(ev), "subscribed") == 0)
		json_array_foreach(json_object_get(p, "tokens"), i, t)
			watch_json_line(when, "token-present", t);
	else
		watch_json_line(when, kyso_event_name(ev), json_object_get(p, "token"));
	json_decref(p);
}

/* Subscribes and prints the tokens present (as the first event, for --json). */
static int
watch_start(struct cli *cli)
{
	kyso_token **t;
	size_t n;
	char when[40];
	int e;

	if (cli->json)
		return kyso_subscribe(cli->client, NULL, NULL);
	if ((e = kyso_subscribe(cli->client, &t, &n)) != KYSO_OK)
		return e;
	out_now(when, sizeof(when), 0);
	if (n == 0)
		printf(_("%s  no token is present\n"), when);
	for (size_t i = 0; i < n; i++)
		out_event(stdout, when, "token-present", t[i]);
	kyso_tokens_free(t);
	return KYSO_OK;
}

/* Sends stdout on at once, so that a pipe sees each line as it happens. */
static int
watch_flush(void)
{
	if (fflush(stdout) == 0)
		return EXIT_OK;
	fprintf(stderr, _("kyso watch: cannot write the events: %s\n"), strerror(errno));
	return EXIT_ERROR;
}

/* Prints the events until a signal (EXIT_OK), or the agent stops or drops us. */
static int
watch_loop(struct cli *cli, const sigset_t *during_wait)
{
	kyso_event *ev;
	char when[40];
	int e, rc;

	for (;;) {
		struct pollfd pfd = { .fd = kyso_fd(cli->client), .events = POLLIN };

		/* take every event already here, then wait for the socket or a signal */
		while ((e = kyso_next_event(cli->client, 0, &ev)) == KYSO_OK) {
			if (cli->json) {
				watch_print_json(ev);
			} else {
				out_now(when, sizeof(when), 0);
				out_event(stdout, when, kyso_event_name(ev), kyso_event_token(ev));
			}
			kyso_event_free(ev);
			if ((rc = watch_flush()) != EXIT_OK)
				return rc;
		}
		if (e == KYSO_ERR_PROTOCOL) {  /* skipped; the next one may be fine */
			fprintf(stderr, _("kyso watch: %s\n"), kyso_error_message(cli->client));
			continue;
		}
		if (e != KYSO_ERR_TIMEOUT)
			return cli_fail(cli, e);  /* the agent stopped (3) or dropped us */
		if (ppoll(&pfd, 1, NULL, during_wait) < 0 && errno != EINTR) {
			fprintf(stderr, _("kyso watch: %s\n"), strerror(errno));
			return EXIT_ERROR;
		}
		if (watch_signal != 0)
			return EXIT_OK;
	}
}

int
cmd_watch(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] = N_("Usage: kyso watch [--json]\n"
	    "Show the tokens present, then each token that is plugged in, pulled out or\n"
	    "changes state (logged in or out, PIN tries low, PIN locked) as it happens,\n"
	    "one line each with the local time, until interrupted (Ctrl-C).\n\n"
	    "  -j, --json   one JSON object per line: the token's fields with \"event\"\n"
	    "               (token-present, token-added, token-removed, token-changed)\n"
	    "               and \"time\"\n"
	    "Exit status: 0 when interrupted, 3 when the agent cannot be reached or stops.\n");
	static const struct option opts[] = { { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct sigaction sa = { .sa_handler = watch_on_signal }, old_int, old_term;
	sigset_t stops, before, during_wait;
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, "jh", opts, NULL)) != -1)
		if ((e = cli_common_opt(cli, ch, usage_text, "watch")) >= 0)
			return e;
	if ((e = cli_no_extra_args(argc, argv, "watch")) >= 0)
		return e;
	/* SIGINT and SIGTERM are held back except inside ppoll: none comes between the
	 * check and the wait, and no line is cut in half. No SA_RESTART: ppoll returns. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigprocmask(SIG_BLOCK, &stops, &before);
	during_wait = before;
	sigdelset(&during_wait, SIGINT);
	sigdelset(&during_wait, SIGTERM);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	if ((rc = cli_connect(cli)) == EXIT_OK) {
		if ((e = watch_start(cli)) != KYSO_OK)
			rc = cli_fail(cli, e);
		else if ((rc = watch_flush()) == EXIT_OK)
			rc = watch_loop(cli, &during_wait);
	}
	/* as before: a second Ctrl-C while exiting works as usual */
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigprocmask(SIG_SETMASK, &before, NULL);
	return rc;
}
