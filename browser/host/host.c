/*
 * host.c — kyso-browser-host's main loop (see host.h): one message from the browser at a
 * time, checked, served by its command, answered; and the calls to kysod.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "hangup.h"
#include "host.h"
#include "kyso_err.h"
#include "i18n.h"
#include "log.h"
#include "nm_frame.h"
#include "wire.h"

#define ID_MAX 64   /* characters of a string id */

/* Writes msg (stolen) as one message; an answer over the browsers' limit is replaced. */
static int
host_send(struct host *h, json_t *msg)
{
	char *text;
	int r;

	if (h->hung_up) {   /* the browser left: nobody reads an answer */
		json_decref(msg);
		return KYSO_ERR_IO;
	}
	if ((text = msg != NULL ? json_dumps(msg, JSON_COMPACT) : NULL) == NULL) {
		json_decref(msg);
		log_error("out of memory for an answer");
		return KYSO_ERR_IO;
	}
	r = nm_write(h->out, text, strlen(text));
	free(text);
	if (r == KYSO_ERR_TOO_LARGE) {
		json_t *e = json_pack("{s:O?, s:{s:s, s:s, s:{s:i}}}", "id",
		    json_object_get(msg, "id"), "error", "name",
		    host_err_name(HE_RESULT_TOO_LARGE), "message", "the answer is larger than "
		    "the 1 MiB a browser accepts from a host", "details", "limit", NM_OUT_MAX);

		json_decref(msg);
		return host_send(h, e);
	}
	json_decref(msg);
	if (r != KYSO_OK)
		log_info("the browser closed the pipe: the answer is lost");
	return r;
}

int
host_reply(struct host *h, json_t *id, json_t *result)
{
	return host_send(h, json_pack("{s:O?, s:o}", "id", id, "result", result));
}

int
host_progress(struct host *h, json_t *id, json_t *p)
{
	return host_send(h, json_pack("{s:O?, s:o}", "id", id, "progress", p));
}

int
host_error(struct host *h, json_t *id, enum host_err e, json_t *details, const char *fmt,
    ...)
{
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	log_info("%s: %s: %s", h->origin[0] != '\0' ? h->origin : "a request",
	    host_err_name(e), message);
	return host_send(h, json_pack("{s:O?, s:{s:s, s:s, s:o*}}", "id", id, "error", "name",
	    host_err_name(e), "message", message, "details", details));
}

/* Connects to kysod when there is no connection. */
static int
host_connect(struct host *h, char *message, size_t msglen)
{
	int r;

	if (h->kc != NULL)
		return KYSO_OK;
	if ((r = kyso_connect(h->socket, &h->kc)) != KYSO_OK) {
		snprintf(message, msglen, "the kyso agent (kysod) is not running: %s",
		    h->kc != NULL ? kyso_error_message(h->kc) : kyso_strerror(r));
		kyso_disconnect(h->kc);
		h->kc = NULL;
	}
	return r;
}

int
host_agent_call(struct host *h, const char *method, json_t *params, json_t **reply,
    enum host_err *err, char *message, size_t msglen, json_t **details)
{
	char *text = NULL, *p = NULL;
	const char *name;
	json_t *ep;
	int r;

	*reply = NULL;
	*details = NULL;
	if (params != NULL)
		p = json_dumps(params, JSON_COMPACT);
	json_decref(params);
	if ((r = host_connect(h, message, msglen)) != KYSO_OK) {
		free(p);
		*err = HE_AGENT_NOT_RUNNING;
		return r;
	}
	if (params != NULL && p == NULL) {
		*err = HE_AGENT_ERROR;
		snprintf(message, msglen, "out of memory");
		return KYSO_ERR_NOMEM;
	}
	hangup_call_begin(h->hup, kyso_fd(h->kc));
	r = kyso_call(h->kc, method, p, &text);
	if (hangup_call_end(h->hup))
		h->hung_up = 1;
	free(p);
	if (r == KYSO_OK) {
		*reply = json_loads(text, 0, NULL);
		kyso_free(text);
		if (*reply != NULL)
			return KYSO_OK;
		*err = HE_AGENT_ERROR;
		snprintf(message, msglen, "the agent's answer is not JSON");
		return KYSO_ERR_PROTOCOL;
	}
	name = kyso_error_name(h->kc);
	ep = json_loads(kyso_error_parameters(h->kc), 0, NULL);
	*err = host_err_from_agent(r, name, json_string_value(json_object_get(ep, "reason")));
	if (*err == HE_AGENT_NOT_RUNNING)
		snprintf(message, msglen, "the kyso agent (kysod) %s: %s", r == KYSO_ERR_CONNECT ?
		    "is not running" : "stopped", kyso_error_message(h->kc));
	else
		snprintf(message, msglen, "%s", kyso_error_message(h->kc));
	if (json_is_object(ep) && json_object_size(ep) > 0) {
		json_object_del(ep, "message");
		*details = json_object_size(ep) > 0 ? json_incref(ep) : NULL;
	}
	json_decref(ep);
	if (r == KYSO_ERR_DISCONNECTED || r == KYSO_ERR_IO || r == KYSO_ERR_PROTOCOL) {
		kyso_disconnect(h->kc);   /* the next request connects again */
		h->kc = NULL;
	}
	return r;
}

static const struct {
	const char *name;
	int (*fn)(struct host *, json_t *, json_t *);
} commands[] = {
	{ "status", host_cmd_status },
	{ "certificates", host_cmd_certificates },
	{ "sign", host_cmd_sign },
	{ "signDocuments", host_cmd_sign_documents },
};

/* Checks the page's origin; the host serves only the first page's. */
static int
host_origin(struct host *h, json_t *id, json_t *v)
{
	char norm[ORIGIN_MAX + 1];
	const char *s = json_string_value(v), *why = NULL;

	if (s == NULL) {
		host_error(h, id, HE_INVALID_ARGUMENT, NULL, "the request has no 'origin' (the "
		    "extension adds the page's)");
		return KYSO_ERR_INVALID_ARG;
	}
	if (origin_normalize(s, 0, norm, sizeof(norm), &why) != KYSO_OK) {
		/* a page that is not https (nor http on this machine) gets a name of its own */
		host_error(h, id, strncmp(s, "https://", 8) == 0 ? HE_INVALID_ARGUMENT :
		    HE_INSECURE_ORIGIN, NULL, "the page's origin is refused: %s", why);
		return KYSO_ERR_INVALID_ARG;
	}
	if (h->origin[0] == '\0') {
		memcpy(h->origin, norm, sizeof(h->origin));
		log_info("serving the web page %s (for %s)", h->origin, h->caller);
	} else if (strcmp(h->origin, norm) != 0) {
		host_error(h, id, HE_INVALID_ARGUMENT, NULL, "this host serves the page %s; a "
		    "request for another page needs a host of its own", h->origin);
		return KYSO_ERR_INVALID_ARG;
	}
	return KYSO_OK;
}

int
host_serve(struct host *h, const char *body, size_t len)
{
	static const char *const fields[] = { "id", "origin", "command", "arguments" };
	json_t *msg, *id = NULL, *args, *v;
	const char *key, *cmd;
	json_error_t jerr;
	size_t i;
	int r;

	if (len == 0)
		return host_error(h, NULL, HE_INVALID_ARGUMENT, NULL, "an empty message");
	/* one JSON value, valid UTF-8 (jansson refuses anything else), no duplicate keys */
	if ((msg = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL)
		return host_error(h, NULL, HE_INVALID_ARGUMENT, NULL, "the message is not JSON: %s",
		    wire_json_fault(&jerr));
	if (!json_is_object(msg)) {
		json_decref(msg);
		return host_error(h, NULL, HE_INVALID_ARGUMENT, NULL, "a message is a JSON object");
	}
	v = json_object_get(msg, "id");
	if ((json_is_string(v) && json_string_length(v) <= ID_MAX) || json_is_integer(v))
		id = v;
	else if (v != NULL) {
		r = host_error(h, NULL, HE_INVALID_ARGUMENT, NULL, "'id' must be a string of at "
		    "most %d characters, or an integer", ID_MAX);
		goto out;
	}
	json_object_foreach(msg, key, v) {
		for (i = 0; i < sizeof(fields) / sizeof(fields[0]) && strcmp(key, fields[i]); i++)
			;
		if (i == sizeof(fields) / sizeof(fields[0])) {
			r = host_error(h, id, HE_INVALID_ARGUMENT, NULL, "unknown field '%.32s' in "
			    "the request", key);
			goto out;
		}
	}
	if (host_origin(h, id, json_object_get(msg, "origin")) != KYSO_OK) {
		r = KYSO_OK;   /* answered */
		goto out;
	}
	cmd = json_string_value(json_object_get(msg, "command"));
	args = json_object_get(msg, "arguments");
	if (args != NULL && !json_is_object(args)) {
		r = host_error(h, id, HE_INVALID_ARGUMENT, NULL, "'arguments' must be an object");
		goto out;
	}
	for (i = 0; cmd != NULL && i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			break;
	if (cmd == NULL || i == sizeof(commands) / sizeof(commands[0])) {
		r = host_error(h, id, HE_INVALID_ARGUMENT, NULL, "unknown command%s%.32s%s (use "
		    "status, certificates, sign or signDocuments)", cmd != NULL ? " '" : "",
		    cmd != NULL ? cmd : "", cmd != NULL ? "'" : "");
		goto out;
	}
	args = args != NULL ? json_incref(args) : json_object();
	r = commands[i].fn(h, id, args);
	json_decref(args);
out:
	json_decref(msg);
	return r;
}

static void
usage(FILE *f)
{
	fputs(_("Usage: kyso-browser-host [CALLER]\n"
	    "The native-messaging host of the kyso browser extension: the browser starts it\n"
	    "(CALLER is the extension's origin, or for Firefox the host manifest's path) and\n"
	    "speaks to it on standard input and output; it asks kysod for certificates and\n"
	    "signatures on behalf of web pages, naming each page's origin. It is not meant to\n"
	    "be run by hand. See docs/web.md.\n\n"
	    "  -h, --help      show this help\n"
	    "  -V, --version   show the version\n\n"
	    "Environment: KYSO_SOCKET, kysod's socket (default: $XDG_RUNTIME_DIR/kyso/agent.sock).\n"),
	    f);
}

int
main(int argc, char **argv)
{
	struct host h = { .out = STDOUT_FILENO };
	struct rlimit nocore = { 0, 0 };
	uint32_t len;
	char *body;
	int r, rc = 0;

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		/* only the help follows the locale: what the host says to web pages is for
		 * their developers, in English (docs/web.md), and kysod's messages pass through
		 * in kysod's language */
		kyso_i18n_init(KYSO_I18N_TERMINAL);
		usage(stdout);
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0)) {
		printf("kyso-browser-host %s\n", KYSO_VERSION);
		return 0;
	}
	/* the browser reads our stdout: nothing but messages may go there */
	signal(SIGPIPE, SIG_IGN);
	(void)setrlimit(RLIMIT_CORE, &nocore);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_init("kyso-browser-host", getenv("KYSO_BROWSER_HOST_DEBUG") != NULL ?
	    LOG_LVL_DEBUG : LOG_LVL_WARNING, 0);
	snprintf(h.caller, sizeof(h.caller), "%s", argc > 1 ? argv[argc > 2 ? 2 : 1] :
	    "(no caller named)");
	if (hangup_start(STDIN_FILENO, &h.hup) != KYSO_OK) {
		log_error("cannot start: %s", strerror(errno));
		return 1;
	}
	for (;;) {
		r = nm_read(STDIN_FILENO, &body, &len);
		if (r == KYSO_ERR_DISCONNECTED)
			break;   /* the browser closed the port: done */
		if (r == KYSO_ERR_TOO_LARGE) {
			log_warn("a message of %lu bytes: refused (at most %d)", (unsigned long)len,
			    NM_IN_MAX);
			host_error(&h, NULL, HE_MESSAGE_TOO_LARGE, json_pack("{s:i}", "limit",
			    NM_IN_MAX), "a message of %lu bytes is over the %d-byte limit",
			    (unsigned long)len, NM_IN_MAX);
			rc = 1;   /* its body would follow: the stream cannot be trusted now */
			break;
		}
		if (r != KYSO_OK) {
			log_warn("%s", r == KYSO_ERR_PROTOCOL ? "the input ended inside a message" :
			    r == KYSO_ERR_NOMEM ? "out of memory" : strerror(errno));
			rc = 1;
			break;
		}
		r = host_serve(&h, body, len);
		free(body);
		if (r != KYSO_OK || h.hung_up) {
			if (h.hung_up)
				log_info("the browser left during a request: kysod was told");
			break;
		}
	}
	kyso_disconnect(h.kc);
	hangup_stop(h.hup);
	return rc;
}
