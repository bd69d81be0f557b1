/* methods_modules.c — io.kyso.Agent.ListModules: each module, how it is watched, its health. */
#include "agent.h"
#include "dispatch.h"
#include "kyso_err.h"
#include "modwatch.h"
#include "params.h"

static json_t *
module_json(struct agent *a, size_t i)
{
	struct modwatch_status st;
	json_int_t tokens = 0;
	json_t *o;

	modwatch_status(&a->watch[i], &st);
	for (struct token *t = a->inv.tokens; t != NULL; t = t->next)
		tokens += t->visible && t->mw == &a->watch[i];
	o = json_pack("{s:s, s:s, s:s, s:I, s:i}", "path", p11_module_path(a->modules[i]),
	    "state", st.broken ? "failing" : "ok", "events", modwatch_source_name(st.source),
	    "tokens", tokens, "failures", st.failures);
	if (o != NULL && st.broken) {
		json_t *e = json_pack("{s:s, s:s}", "ckr", st.fail.ckr_name, "call",
		    st.fail.call);

		if (e != NULL && st.fail.cause != NULL)  /* its helper process ended */
			json_object_set_new(e, "cause", json_string(st.fail.cause));
		json_object_set_new(o, "error", e);
		json_object_set_new(o, "retry_in", json_integer((st.retry_in_ms + 999) / 1000));
	}
	return o;
}

enum dispatch_result
method_list_modules(struct agent *a, struct conn *c, json_t *p, struct reply *r)
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
	for (size_t i = 0; i < a->nmodules; i++)
		json_array_append_new(list, module_json(a, i));
	reply_ok(r, json_pack("{s:o}", "modules", list));
	return DISPATCH_DONE;
}
