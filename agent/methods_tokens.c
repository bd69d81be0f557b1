/* methods_tokens.c — ListTokens, ListCertificates, Login, Lock, and job error replies. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "batch.h"
#include "conn.h"
#include "dispatch.h"
#include "encode.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "params.h"
#include "request.h"
#include "secret.h"
#include "tokens.h"
#include "web.h"
#include "worker.h"

/* Lock(): one logout per token; the caller hears back when the last is done. */
struct fanout {
	int pending;
	int failed;
	struct conn *conn;
};

enum dispatch_result
method_list_tokens(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { NULL };
	json_t *list;

	(void)c;
	if (params_only(p, allowed, r) != KYSO_OK)
		return DISPATCH_DONE;
	if ((list = json_array()) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next)
		if (t->visible)
			json_array_append_new(list, inventory_token_json(t));
	reply_ok(r, json_pack("{s:o}", "tokens", list));
	return DISPATCH_DONE;
}

/* Resolves the 'token' parameter, filling r on failure. */
static struct token *
token_param(struct agent *a, const char *ref, struct reply *r)
{
	struct token *t;
	char why[160];
	int e = inventory_find_token(&a->inv, ref, &t, why, sizeof(why));

	if (e == KYSO_ERR_NO_SUCH_TOKEN)
		reply_fail(r, e, json_pack("{s:s}", "token", ref),
		    "no token with id, serial or label '%.*s' is present",
		    utf8_prefix(ref, 64), ref);
	else if (e != KYSO_OK)
		reply_invalid(r, "token", "%s", why);
	return e == KYSO_OK ? t : NULL;
}

enum dispatch_result
method_list_certificates(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { "token", "origin", NULL };
	struct token *only = NULL;
	const char *ref;
	json_t *list;

	if (params_only(p, allowed, r) != KYSO_OK ||
	    params_string(p, "token", 0, 256, &ref, r) != KYSO_OK)
		return DISPATCH_DONE;
	switch (web_gate(a, c, p, method_list_certificates, WEB_AUDIT_NONE, r)) {
	case WEB_GATE_PASS:
		break;
	case WEB_GATE_DONE:
		return DISPATCH_DONE;
	case WEB_GATE_PENDING:
		return DISPATCH_PENDING;
	}
	if (ref != NULL && (only = token_param(a, ref, r)) == NULL)
		return DISPATCH_DONE;
	if ((list = json_array()) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		if (!t->visible || (only != NULL && t != only))
			continue;
		for (size_t i = 0; i < t->ncerts; i++)
			json_array_append(list, t->certs[i].json);
	}
	reply_ok(r, json_pack("{s:o}", "certificates", list));
	return DISPATCH_DONE;
}

int
pin_param(const struct agent *a, json_t *p, struct kyso_secret **pin, struct reply *r)
{
	const char *s;
	int e;

	*pin = NULL;
	if ((e = params_string(p, "pin", 0, 256, &s, r)) != KYSO_OK || s == NULL)
		return e;
	if (a->policy.no_client_pin) {
		reply_fail(r, KYSO_ERR_POLICY, json_pack("{s:s}", "setting", "client_pin"),
		    "the policy (client_pin = no, %s) forbids PINs from programs: leave 'pin' "
		    "out and the agent asks the officer", a->policy.origin != NULL ?
		    a->policy.origin : "kysod.conf");
		return KYSO_ERR_POLICY;
	}
	if ((e = secret_new(s, strlen(s), pin)) != KYSO_OK)
		reply_fail(r, e, NULL, NULL);
	return e;
}

enum dispatch_result
method_login(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { "token", "pin", NULL };
	struct kyso_secret *pin = NULL;
	struct token *t;
	const char *ref;
	struct job_auth *au;
	struct job *j;

	if (params_only(p, allowed, r) != KYSO_OK ||
	    params_string(p, "token", 1, 256, &ref, r) != KYSO_OK ||
	    (t = token_param(a, ref, r)) == NULL || pin_param(a, p, &pin, r) != KYSO_OK)
		return DISPATCH_DONE;
	if (a->policy.no_login_cache) {
		secret_free(pin);
		reply_fail(r, KYSO_ERR_POLICY, json_pack("{s:s}", "setting", "login_cache"),
		    "the policy (login_cache = no, %s) keeps no login between requests: each "
		    "Sign logs in itself", a->policy.origin != NULL ? a->policy.origin :
		    "kysod.conf");
		return DISPATCH_DONE;
	}
	if (pin == NULL && !(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH) &&
	    !tokens_logged_in(t) && a->policy.pinentry == NULL) {
		reply_fail(r, KYSO_ERR_PIN_REQUIRED, token_pin_params(t),
		    "Login needs the user PIN of token '%s' in 'pin'", t->desc.label);
		return DISPATCH_DONE;
	}
	if ((j = job_new(JOB_LOGIN)) == NULL || (j->u.login.auth.ri = request_info_new(a, c,
	    "io.kyso.Agent.Login", NULL)) == NULL) {
		job_free(j);
		secret_free(pin);
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	au = &j->u.login.auth;
	au->ri->audit = NULL;  /* the audit log records signatures */
	au->ri->confirm = 0;
	au->ri->last_pin_wrong = t->pin_wrong;
	j->conn = c;
	j->token = t;
	au->pin = pin;
	au->protected_auth_path = !!(t->desc.flags & P11_TOKEN_PROTECTED_AUTH_PATH);
	tokens_submit(t, j);
	return DISPATCH_PENDING;
}

void
complete_login(struct agent *a, struct job *j, struct reply *r)
{
	(void)a;
	if (j->result == KYSO_OK) {
		log_info("%s token '%s' (serial %s)", j->u.login.already_logged_in ?
		    "Login: already logged in to" : "logged in to", j->token->desc.label,
		    j->token->desc.serial);
		reply_ok(r, json_pack("{s:b}", "already_logged_in", j->u.login.already_logged_in));
	} else {
		reply_from_job(r, j);
	}
}

enum dispatch_result
method_lock(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { NULL };
	struct fanout *f;

	if (params_only(p, allowed, r) != KYSO_OK)
		return DISPATCH_DONE;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	f->conn = c;
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		struct job *j;

		if (!t->visible)
			continue;  /* a token being read is not logged in yet */
		/* a dialog open for it closes, and requests queued behind it end, so that
		 * nothing signs with the login or asks for a PIN after Lock */
		batch_token_locked(a, t);
		worker_end_requests(t->worker, JOB_ABORT_LOCKED);
		if ((j = job_new(JOB_LOGOUT)) == NULL) {
			f->failed++;
			continue;
		}
		j->token = t;
		j->u.logout.fanout = f;
		f->pending++;
		t->logout_queued++;  /* a Sign from now on logs in again */
		tokens_submit(t, j);
	}
	log_info("Lock: dialogs closed and waiting requests ended on every token; logging out "
	    "of %d token(s)", f->pending);
	if (f->pending == 0) {
		int failed = f->failed;

		free(f);
		if (failed > 0)
			reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		else
			reply_ok(r, NULL);  /* no token: nothing to lock */
		return DISPATCH_DONE;
	}
	return DISPATCH_PENDING;
}

void
complete_logout(struct agent *a, struct job *j)
{
	struct fanout *f = j->u.logout.fanout;
	struct reply r = { 0 };

	if (f == NULL) {  /* not for a client: an expired login, a locked session */
		if (j->result != KYSO_OK && j->result != KYSO_ERR_TOKEN_NOT_PRESENT)
			log_warn("logout of token '%s' failed: %s", j->token->desc.label,
			    j->fail.ckr_name);
		return;
	}
	if (j->result != KYSO_OK && j->result != KYSO_ERR_TOKEN_NOT_PRESENT) {
		log_warn("logout of token '%s' failed: %s", j->token->desc.label,
		    j->fail.ckr_name);
		f->failed++;
	}
	if (--f->pending > 0)
		return;
	if (f->failed == 0) {
		log_info("locked: logged out of every token");
		reply_ok(&r, NULL);
	} else {
		reply_fail(&r, KYSO_ERR_TOKEN, json_pack("{s:s, s:s}", "ckr", "", "call",
		    "C_Logout"), "%d token(s) could not be logged out", f->failed);
	}
	conn_reply(a, f->conn, &r);
	reply_clear(&r);
	free(f);
}

void
complete_scan(struct agent *a, struct job *j)
{
	(void)a;
	if (j->result != KYSO_OK && !j->token->gone)
		log_warn("token '%s' in slot %lu could not be read: %s%s%s",
		    j->token->desc.label, j->token->desc.slot, kyso_strerror(j->result),
		    j->fail.ckr_name[0] ? ": " : "", j->fail.ckr_name);
}

json_t *
token_pin_params(const struct token *t)
{
	return json_pack("{s:s, s:b, s:b}", "token", t->id, "user_pin_count_low",
	    !!(t->desc.flags & P11_TOKEN_USER_PIN_COUNT_LOW), "user_pin_final_try",
	    !!(t->desc.flags & P11_TOKEN_USER_PIN_FINAL_TRY));
}

void
reply_pin_required(struct reply *r, const struct token *t, int key_wants_pin)
{
	if (key_wants_pin)
		reply_fail(r, KYSO_ERR_PIN_REQUIRED, token_pin_params(t), "the key of this "
		    "certificate on token '%s' needs the PIN for every signature: send 'pin' with "
		    "each Sign", t->desc.label);
	else
		reply_fail(r, KYSO_ERR_PIN_REQUIRED, token_pin_params(t), "token '%s' needs the "
		    "user PIN: send 'pin' or call Login first", t->desc.label);
}

void
reply_from_job(struct reply *r, const struct job *j)
{
	const struct token *t = j->token;
	const struct p11_token_desc *d = &t->desc;
	const struct job_auth *au = job_auth_part(j);
	const struct job_sign *sg = job_sign_part(j);
	enum job_cancel cancel = au != NULL ? au->cancel : JOB_CANCEL_PIN;
	int low = !!(d->flags & P11_TOKEN_USER_PIN_COUNT_LOW);
	int final = !!(d->flags & P11_TOKEN_USER_PIN_FINAL_TRY);
	json_t *supported;

	if (t->gone && j->result == KYSO_ERR_CANCELLED) {
		/* the dialog ended because the token left */
		reply_fail(r, KYSO_ERR_TOKEN_NOT_PRESENT, json_pack("{s:s}", "token", t->id),
		    "token '%s' was removed", d->label);
		return;
	}
	switch (j->result) {
	case KYSO_ERR_CANCELLED:
		reply_fail(r, j->result, json_pack("{s:s, s:s}", "token", t->id, "reason",
		    job_cancel_reason(cancel)), "%s", job_cancel_message(cancel));
		break;
	case KYSO_ERR_PINENTRY:
		/* in plain words: what happened, then what the officer can do about it */
		reply_fail(r, KYSO_ERR_PIN_REQUIRED, token_pin_params(t), "token '%s' needs its "
		    "PIN, and no PIN dialog could be shown here (%s). %s", d->label, j->why,
		    au != NULL && au->ri != NULL && au->ri->no_client_pin ?
		    "The policy allows PINs only in "
		    "kysod's dialog: use a reader with a PIN pad, or ask the administrator for a "
		    "dialog that works on this desktop (pinentry in /etc/kyso/kysod.conf)" :
		    "Log in first with 'kyso login' in a terminal (it asks for the PIN there), "
		    "use a reader with a PIN pad, or send the PIN ('pin')");
		break;
	case KYSO_ERR_AUDIT:
		reply_fail(r, j->result, NULL, "%s; nothing was signed", j->why);
		break;
	case KYSO_ERR_PIN_INCORRECT:
		reply_fail(r, j->result, token_pin_params(t),
		    "the PIN for token '%s' is incorrect%s", d->label,
		    final ? "; one try is left before it locks" :
		    low ? "; few tries are left before it locks" : "");
		break;
	case KYSO_ERR_PIN_LOCKED:
		reply_fail(r, j->result, json_pack("{s:s}", "token", t->id),
		    "the PIN of token '%s' is locked; an administrator must unblock it",
		    d->label);
		break;
	case KYSO_ERR_PIN_REQUIRED:
		reply_pin_required(r, t, sg != NULL && sg->key_wants_pin);
		break;
	case KYSO_ERR_TOKEN_NOT_PRESENT:
		reply_fail(r, j->result, json_pack("{s:s}", "token", t->id),
		    "token '%s' is not present", d->label);
		break;
	case KYSO_ERR_KEY_NOT_FOUND:
		reply_fail(r, j->result, json_pack("{s:s}", "certificate", sg != NULL ?
		    sg->cert_id : ""),
		    "token '%s' holds no private key for this certificate", d->label);
		break;
	case KYSO_ERR_UNSUPPORTED_ALG:
		supported = json_array();
		for (size_t i = 0; i < t->ncerts; i++)
			if (sg != NULL && strcmp(t->certs[i].ci.id, sg->cert_id) == 0) {
				json_decref(supported);
				supported = inventory_cert_algorithms(&t->certs[i]);
			}
		reply_fail(r, j->result, json_pack("{s:s, s:o}", "algorithm",
		    sg != NULL && sg->alg != NULL ? sg->alg->name : "", "supported", supported),
		    "token '%s' refused the mechanism: %s in %s", d->label, j->fail.ckr_name,
		    j->fail.call);
		break;
	case KYSO_ERR_TOKEN:
		if (j->fail.cause != NULL)  /* no answer: the module's helper process ended */
			reply_fail(r, j->result, json_pack("{s:s, s:s, s:s}", "ckr", "", "call",
			    j->fail.call, "cause", j->fail.cause), "token '%s' failed: %s (in %s)",
			    d->label, j->fail.cause, j->fail.call);
		else
			reply_fail(r, j->result, json_pack("{s:s, s:s}", "ckr", j->fail.ckr_name,
			    "call", j->fail.call), "token '%s' failed: %s in %s", d->label,
			    j->fail.ckr_name, j->fail.call);
		break;
	default:
		reply_fail(r, KYSO_ERR_INTERNAL, NULL, "%s", kyso_strerror(j->result));
		break;
	}
}
