/* dispatch.c — varlink call validation, the method table, and job completion. */
#include <string.h>

#include "agent.h"
#include "batch.h"
#include "conn.h"
#include "dispatch.h"
#include "encode.h"
#include "events.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "logins.h"
#include "tokens.h"
#include "web.h"

static const struct {
	const char *name;
	method_fn fn;
} methods[] = {
	{ "org.varlink.service.GetInfo", method_get_info },
	{ "org.varlink.service.GetInterfaceDescription", method_get_interface_description },
	{ "io.kyso.Agent.ListTokens", method_list_tokens },
	{ "io.kyso.Agent.ListCertificates", method_list_certificates },
	{ "io.kyso.Agent.Sign", method_sign },
	{ "io.kyso.Agent.Login", method_login },
	{ "io.kyso.Agent.Lock", method_lock },
	{ "io.kyso.Agent.Subscribe", method_subscribe },
	{ "io.kyso.Agent.ListModules", method_list_modules },
	{ "io.kyso.Agent.SignDocuments", method_sign_documents },
	{ "io.kyso.Agent.ListWebOrigins", method_list_web_origins },
	{ "io.kyso.Agent.ForgetWebOrigins", method_forget_web_origins },
	{ "io.kyso.Agent.SignDigests", method_sign_digests },
};

static const char *const interfaces[] = { "org.varlink.service", "io.kyso.Agent" };

/* Checks the call envelope. Returns KYSO_OK with *method and *params, or fills r. */
static int
dispatch_envelope(json_t *msg, const char **method, json_t **params, int *oneway, int *more,
    struct reply *r)
{
	const char *key;
	json_t *v;

	*method = NULL;
	*params = NULL;
	*oneway = 0;
	*more = 0;
	json_object_foreach(msg, key, v) {
		if (strcmp(key, "method") == 0) {
			if (!json_is_string(v)) {
				reply_fail(r, KYSO_ERR_PROTOCOL, NULL, "'method' must be a string");
				return KYSO_ERR_PROTOCOL;
			}
			*method = json_string_value(v);
		} else if (strcmp(key, "parameters") == 0) {
			if (!json_is_object(v)) {
				reply_fail(r, KYSO_ERR_PROTOCOL, NULL,
				    "'parameters' must be a JSON object");
				return KYSO_ERR_PROTOCOL;
			}
			*params = v;
		} else if (strcmp(key, "oneway") == 0 || strcmp(key, "more") == 0 ||
		    strcmp(key, "upgrade") == 0) {
			if (!json_is_boolean(v)) {
				reply_fail(r, KYSO_ERR_PROTOCOL, NULL, "'%s' must be true or false",
				    key);
				return KYSO_ERR_PROTOCOL;
			}
			if (strcmp(key, "upgrade") == 0 && json_is_true(v)) {
				reply_fail(r, KYSO_ERR_PROTOCOL, NULL,
				    "protocol upgrades are not supported");
				return KYSO_ERR_PROTOCOL;
			}
			if (strcmp(key, "oneway") == 0)
				*oneway = json_is_true(v);
			if (strcmp(key, "more") == 0)
				*more = json_is_true(v);
		} else {
			reply_fail(r, KYSO_ERR_PROTOCOL, NULL, "unknown field '%.*s' in the call",
			    utf8_prefix(key, 64), key);
			return KYSO_ERR_PROTOCOL;
		}
	}
	if (*method == NULL) {
		reply_fail(r, KYSO_ERR_PROTOCOL, NULL, "the call has no 'method'");
		return KYSO_ERR_PROTOCOL;
	}
	return KYSO_OK;
}

/* Replies MethodNotFound, or InterfaceNotFound when the interface is unknown too. */
static void
dispatch_not_found(const char *method, struct reply *r)
{
	const char *dot = strrchr(method, '.');
	size_t ilen = dot != NULL ? (size_t)(dot - method) : 0;

	for (size_t i = 0; i < sizeof(interfaces) / sizeof(interfaces[0]); i++)
		if (ilen == strlen(interfaces[i]) && strncmp(method, interfaces[i], ilen) == 0) {
			reply_fail(r, KYSO_ERR_METHOD_NOT_FOUND,
			    json_pack("{s:s}", "method", method), "no method '%.*s'",
			    utf8_prefix(method, 128), method);
			return;
		}
	reply_fail(r, KYSO_ERR_INTERFACE_NOT_FOUND,
	    json_pack("{s:s%}", "interface", method, ilen), "no interface '%.*s'",
	    utf8_prefix(method, ilen < 128 ? ilen : 128), method);
}

enum dispatch_result
dispatch_call(struct agent *a, struct conn *c, json_t *msg, struct reply *r, int *oneway)
{
	const char *method;
	json_t *params, *empty = NULL;
	enum dispatch_result d = DISPATCH_DONE;
	size_t i;

	if (dispatch_envelope(msg, &method, &params, oneway, &c->call_more, r) != KYSO_OK) {
		*oneway = 0;
		log_info("client %lu (pid %ld, %s): bad call: %s", c->serial, (long)c->pid, c->exe,
		    json_string_value(json_object_get(r->eparams, "message")));
		return DISPATCH_DONE;
	}
	log_info("client %lu (pid %ld, %s): %.*s", c->serial, (long)c->pid, c->exe,
	    utf8_prefix(method, 128), method);
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(method, methods[i].name) == 0)
			break;
	if (i == sizeof(methods) / sizeof(methods[0])) {
		dispatch_not_found(method, r);
		return DISPATCH_DONE;
	}
	if (params == NULL && (params = empty = json_object()) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	d = methods[i].fn(a, c, params, r);
	json_decref(empty);
	if (d == DISPATCH_DONE && r->error != NULL)
		log_info("client %lu: %s: %s", c->serial, r->error,
		    json_string_value(json_object_get(r->eparams, "message")));
	return d;
}

/* Stores what the worker learnt about its token (not for a token that left). */
static void
dispatch_apply_state(struct job *j)
{
	struct token *t = j->token;

	if (t == NULL)
		return;
	if (t->gone) {
		/* in flight when the token was pulled: whatever failed, it is gone; unless
		 * no answer came at all (its module's helper process ended), which says more */
		if (j->result != KYSO_OK && !(j->result == KYSO_ERR_TOKEN && j->fail.cause != NULL))
			j->result = KYSO_ERR_TOKEN_NOT_PRESENT;
		return;
	}
	if (j->state.desc_valid)
		inventory_set_desc(t, &j->state.desc);
	t->logged_in = j->state.logged_in;
	if (j->state.certs_valid && inventory_set_certs(t, j->state.certs, j->state.ncerts) !=
	    KYSO_OK)
		log_error("out of memory while storing the certificates of '%s'",
		    t->desc.label);
}

void
dispatch_complete(struct agent *a, struct job *j)
{
	struct reply r = { 0 };
	struct p11_token_desc before;
	int was_logged_in = 0;

	memset(&before, 0, sizeof(before));
	if (j->conn != NULL && j->conn->job == j)
		j->conn->job = NULL;   /* its client's disconnection has nothing to end now */
	if (j->kind == JOB_WEB_ASK) {
		web_complete(a, j);
		return;
	}
	if (j->token != NULL) {
		before = j->token->desc;
		was_logged_in = j->token->logged_in;
	}
	dispatch_apply_state(j);
	if (j->token != NULL && j->kind != JOB_MODSCAN)
		logins_note(a, j->token, j, was_logged_in);
	switch (j->kind) {
	case JOB_SCAN:
		complete_scan(a, j);
		break;
	case JOB_LOGOUT:
		complete_logout(a, j);
		break;
	case JOB_LOGIN:
		complete_login(a, j, &r);
		break;
	case JOB_SIGN:
		complete_sign(a, j, &r);
		break;
	case JOB_DOCUMENT:
		complete_document(a, j);  /* the batch replies when its last document is back */
		break;
	case JOB_MODSCAN:
		tokens_module_scanned(a, j);
		return;
	case JOB_WEB_ASK:
		return;   /* above */
	}
	if (j->conn != NULL && (j->kind == JOB_LOGIN || j->kind == JOB_SIGN)) {
		if (r.error != NULL)
			log_info("client %lu: %s: %s", j->conn->serial, r.error,
			    json_string_value(json_object_get(r.eparams, "message")));
		conn_reply(a, j->conn, &r);
	}
	reply_clear(&r);
	tokens_job_done(a, j, j->token != NULL ? &before : NULL, was_logged_in);
}
