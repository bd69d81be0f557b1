/*
 * kyso_errtext.c — what the kyso CLI says about an error, in its own language. kysod's
 * replies are English (their 'message' is for the developers of programs and for the
 * audit log; docs/translating.md): the CLI says the error in the officer's language from
 * its name and parameters, and keeps kysod's English details on a second line.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "i18n.h"
#include "kyso.h"
#include "kyso_cli.h"
#include "kyso_err.h"

/* The sentence for a Cancelled reply, from its 'reason' (the agent's words for it). */
static const char *
errtext_cancelled(const char *reason)
{
	static const struct {
		const char *reason, *text;
	} reasons[] = {
		{ "cancelled", N_("the officer cancelled the PIN dialog") },
		{ "refused", N_("the officer refused to confirm the signature") },
		{ "timeout", N_("nobody answered the dialog in time") },
		{ "no-dialog", N_("the policy wants every signature confirmed, and no "
		    "confirmation dialog could be shown") },
		{ "locked", N_("the dialog was closed: the tokens were locked (Lock, session lock "
		    "or sleep)") },
	};

	for (size_t i = 0; reason != NULL && i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reason, reasons[i].reason) == 0)
			return _(reasons[i].text);
	return NULL;
}

/* The sentence for err from the agent, in the CLI's language (params: its parameters). */
static const char *
errtext_sentence(int err, const json_t *params)
{
	const char *reason = json_string_value(json_object_get(params, "reason"));
	const char *t;

	if (err == KYSO_ERR_CANCELLED && (t = errtext_cancelled(reason)) != NULL)
		return t;
	if (err == KYSO_ERR_PIN_REQUIRED && json_is_true(json_object_get(params,
	    "user_pin_final_try")))
		return _("the token needs its PIN; this is the LAST try: a wrong PIN locks it");
	return kyso_strerror(err);
}

void
cli_print_error(const kyso_client *c, int err)
{
	const char *msg = c != NULL ? kyso_error_message(c) : "";
	const char *name = c != NULL ? kyso_error_name(c) : "";
	json_t *params;

	if (name[0] == '\0' || !kyso_i18n_active()) {
		/* a local error (already in the CLI's language), or no translation: as is */
		fprintf(stderr, "kyso: %s\n", msg[0] != '\0' ? msg : kyso_strerror(err));
		return;
	}
	params = json_loads(kyso_error_parameters(c), 0, NULL);
	fprintf(stderr, "kyso: %s\n", errtext_sentence(err, params));
	json_decref(params);
	if (msg[0] != '\0')
		/* TRANSLATORS: before kysod's own details of an error, which stay English */
		fprintf(stderr, _("kyso: kysod's details (in English): %s\n"), msg);
}
