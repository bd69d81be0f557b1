/* events.c — subscribers and the token events they receive (see events.h). */
#include "agent.h"
#include "conn.h"
#include "events.h"
#include "kyso_err.h"
#include "log.h"
#include "params.h"

void
events_token(struct agent *a, const char *event, const struct token *t)
{
	json_t *token = NULL;

	for (struct conn *c = a->conns; c != NULL; c = c->next) {
		if (c->state != CONN_STREAMING)
			continue;
		if (token == NULL && (token = inventory_token_json(t)) == NULL) {
			log_error("out of memory while sending an event");
			return;
		}
		conn_stream(a, c, json_pack("{s:s, s:O}", "event", event, "token", token),
		    EVENTS_UNREAD_MAX);
	}
	json_decref(token);
}

enum dispatch_result
method_subscribe(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { NULL };
	json_t *list;

	if (params_only(p, allowed, r) != KYSO_OK)
		return DISPATCH_DONE;
	if (!c->call_more) {
		reply_fail(r, KYSO_ERR_EXPECTED_MORE, NULL, "Subscribe streams events: call it "
		    "with \"more\": true");
		return DISPATCH_DONE;
	}
	if (c->oneway)
		return DISPATCH_DONE;  /* wants no replies: nothing to stream */
	if ((list = json_array()) == NULL) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return DISPATCH_DONE;
	}
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next)
		if (t->visible)
			json_array_append_new(list, inventory_token_json(t));
	c->state = CONN_STREAMING;
	log_info("client %lu (pid %ld, %s) subscribed to token events", c->serial,
	    (long)c->pid, c->exe);
	conn_stream(a, c, json_pack("{s:s, s:o}", "event", "subscribed", "tokens", list),
	    EVENTS_UNREAD_MAX);
	if (c->state != CONN_STREAMING) {
		/* gone already, or ended as too slow (pipelined replies left unread): the
		 * call is over and nothing more is to be sent for it */
		c->oneway = 1;
		return DISPATCH_DONE;
	}
	return DISPATCH_PENDING;  /* the call never ends: the connection stays busy */
}
