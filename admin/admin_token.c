/* admin_token.c — kyso-admin: modules, choosing the token, errors, and `tokens`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "kyso_err.h"
#include "secret.h"

int
admin_load_modules(struct admin *a)
{
	char err[512];

	if (a->nmodule_paths == 0) {
		if (p11_modules_load_registered(&a->mods, &a->nmods) != KYSO_OK) {
			fprintf(stderr, _("kyso-admin %s: out of memory\n"), a->cmd);
			return AX_ERROR;
		}
		if (a->nmods == 0) {
			fprintf(stderr, _("kyso-admin %s: no PKCS#11 module is registered with p11-kit; "
			    "name one with --module PATH\n"), a->cmd);
			return AX_NOT_FOUND;
		}
		return AX_OK;
	}
	if ((a->mods = calloc(a->nmodule_paths, sizeof(*a->mods))) == NULL)
		return AX_ERROR;
	for (size_t i = 0; i < a->nmodule_paths; i++) {
		if (p11_module_load(a->module_paths[i], &a->mods[a->nmods], err, sizeof(err)) !=
		    KYSO_OK) {
			fprintf(stderr, "kyso-admin %s: %s\n", a->cmd, err);
			return AX_ERROR;
		}
		a->nmods++;
	}
	return AX_OK;
}

void
admin_unload_modules(struct admin *a)
{
	for (size_t i = 0; i < a->nmods; i++)
		p11_module_free(a->mods[i]);
	free(a->mods);
	a->mods = NULL;
	a->nmods = 0;
}

const char *
admin_token_name(const struct p11_token_desc *d)
{
	static char buf[160];

	/* TRANSLATORS: a token: its label and serial number */
	snprintf(buf, sizeof(buf), _("'%s' (serial %s)"), d->label, d->serial);
	return buf;
}

int
admin_fail(const struct admin *a, const char *what, int err, const struct p11_fail *f)
{
	if (f != NULL && f->ckr_name != NULL && f->ckr_name[0] != '\0')
		/* TRANSLATORS: the command, what failed, why, then the PKCS#11 error and
		 * the call that returned it */
		fprintf(stderr, _("kyso-admin %s: %s: %s (%s from %s)\n"), a->cmd, what,
		    kyso_strerror(err), f->ckr_name, f->call);
	else
		fprintf(stderr, "kyso-admin %s: %s: %s\n", a->cmd, what, kyso_strerror(err));
	switch (err) {
	case KYSO_ERR_PIN_INCORRECT:
	case KYSO_ERR_PIN_REQUIRED:
		return AX_PIN;
	case KYSO_ERR_PIN_LOCKED:
		return AX_PIN_LOCKED;
	case KYSO_ERR_NO_SUCH_TOKEN:
	case KYSO_ERR_KEY_NOT_FOUND:
		return AX_NOT_FOUND;
	case KYSO_ERR_UNSUPPORTED_ALG:
		return AX_REFUSED;
	case KYSO_ERR_TOKEN:
	case KYSO_ERR_TOKEN_NOT_PRESENT:
		return AX_TOKEN;
	default:
		return AX_ERROR;
	}
}

int
admin_find_target(struct admin *a, struct admin_target *t, int allow_slot)
{
	size_t matches = 0, tokens = 0;

	memset(t, 0, sizeof(*t));
	if (a->slot >= 0 && !allow_slot) {
		fprintf(stderr, _("kyso-admin %s: --slot is only for init; name the token with "
		    "--token LABEL|SERIAL\n"), a->cmd);
		return AX_USAGE;
	}
	if (a->slot >= 0 && a->token != NULL) {
		fprintf(stderr, _("kyso-admin %s: give --slot or --token, not both\n"), a->cmd);
		return AX_USAGE;
	}
	if (a->slot >= 0 && a->nmods != 1) {
		fprintf(stderr, _("kyso-admin %s: --slot needs exactly one module (--module PATH): "
		    "slot numbers are the module's own\n"), a->cmd);
		return AX_USAGE;
	}
	for (size_t i = 0; i < a->nmods; i++) {
		struct p11_slot_desc *d = NULL;
		struct p11_fail f;
		size_t n = 0;
		int r;

		if ((r = p11_module_slots(a->mods[i], &d, &n, &f)) != KYSO_OK) {
			fprintf(stderr, _("kyso-admin %s: %s: cannot list slots: %s (%s)\n"), a->cmd,
			    p11_module_path(a->mods[i]), kyso_strerror(r), f.ckr_name);
			continue;
		}
		for (size_t k = 0; k < n; k++) {
			int hit;

			if (a->slot >= 0)
				hit = d[k].slot == (unsigned long)a->slot;
			else if (!d[k].token_present)
				continue;
			else if (a->token != NULL)
				hit = (d[k].token.flags & P11_TOKEN_INITIALIZED) &&
				    (strcmp(d[k].token.label, a->token) == 0 ||
				    strcmp(d[k].token.serial, a->token) == 0);
			else
				hit = (d[k].token.flags & P11_TOKEN_INITIALIZED) != 0;
			tokens += d[k].token_present;
			if (!hit)
				continue;
			if (matches++ == 0) {
				t->m = a->mods[i];
				t->d = d[k];
			} else {
				fprintf(stderr, _("kyso-admin %s: %s matches more than one token "
				    "(%s in %s, and %s in %s); name it by serial or choose the "
				    "module with --module\n"), a->cmd,
				    a->token != NULL ? a->token : _("no --token"),
				    t->d.token.serial, p11_module_path(t->m), d[k].token.serial,
				    p11_module_path(a->mods[i]));
				free(d);
				return AX_USAGE;
			}
		}
		free(d);
	}
	if (matches == 1)
		return AX_OK;
	if (a->slot >= 0)
		fprintf(stderr, _("kyso-admin %s: module %s has no slot %ld (see kyso-admin "
		    "tokens)\n"), a->cmd, p11_module_path(a->mods[0]), a->slot);
	else if (a->token != NULL)
		fprintf(stderr, _("kyso-admin %s: no initialised token with label or serial '%s' "
		    "(see kyso-admin tokens)\n"), a->cmd, a->token);
	else
		fprintf(stderr, tokens > 0 ? _("kyso-admin %s: no initialised token present (only "
		    "blank ones); insert one or use --module\n") : _("kyso-admin %s: no initialised "
		    "token present; insert one or use --module\n"), a->cmd);
	return AX_NOT_FOUND;
}

int
admin_open_session(struct admin *a, struct admin_target *t, struct p11_session **s)
{
	struct p11_fail f;
	char what[120];
	int r;

	*s = NULL;
	snprintf(what, sizeof(what), _("token %s"), admin_token_name(&t->d.token));
	if ((r = p11_session_open_rw(t->m, t->d.slot, s, &f)) != KYSO_OK)
		return admin_fail(a, what, r, &f);
	return AX_OK;
}

int
admin_login(struct admin *a, struct admin_target *t, struct p11_session *s)
{
	struct kyso_secret *pin = NULL;
	struct p11_fail f;
	char what[120];
	int r, rc;

	if (!(t->d.token.flags & P11_TOKEN_LOGIN_REQUIRED) || p11_session_logged_in(s))
		return AX_OK;
	if (t->d.token.flags & P11_TOKEN_USER_PIN_LOCKED) {
		fprintf(stderr, _("kyso-admin %s: the user PIN of token %s is locked; unblock it "
		    "with 'kyso-admin unblock-pin' (needs the SO PIN)\n"), a->cmd,
		    admin_token_name(&t->d.token));
		return AX_PIN_LOCKED;
	}
	if (!(t->d.token.flags & P11_TOKEN_PROTECTED_AUTH_PATH) &&
	    (rc = admin_read_pin(a, a->pin_file, "--pin-file", _("user PIN"), 0, &t->d, &pin)) !=
	    AX_OK)
		return rc;
	snprintf(what, sizeof(what), _("token %s"), admin_token_name(&t->d.token));
	r = p11_session_login(s, pin, &f);
	secret_free(pin);
	if (r != KYSO_OK) {
		if (r == KYSO_ERR_PIN_LOCKED)
			fprintf(stderr, _("kyso-admin %s: the user PIN of token %s is locked; unblock "
			    "it with 'kyso-admin unblock-pin'\n"), a->cmd, admin_token_name(&t->d.token));
		return admin_fail(a, r == KYSO_ERR_PIN_INCORRECT ? _("user PIN") : what, r, &f);
	}
	return AX_OK;
}

int
admin_user_session(struct admin *a, struct admin_target *t, struct p11_session **s)
{
	int rc;

	*s = NULL;
	if ((t->d.token.flags & P11_TOKEN_LOGIN_REQUIRED) &&
	    (t->d.token.flags & P11_TOKEN_USER_PIN_LOCKED)) {
		fprintf(stderr, _("kyso-admin %s: the user PIN of token %s is locked; unblock it "
		    "with 'kyso-admin unblock-pin' (needs the SO PIN)\n"), a->cmd,
		    admin_token_name(&t->d.token));
		return AX_PIN_LOCKED;
	}
	if ((rc = admin_open_session(a, t, s)) != AX_OK)
		return rc;
	if ((rc = admin_login(a, t, *s)) != AX_OK) {
		p11_session_close(*s);
		*s = NULL;
	}
	return rc;
}

/* ---- tokens ---- */

static json_t *
mem_json(unsigned long v)
{
	return v == P11_UNKNOWN ? json_null() : json_integer((json_int_t)v);
}

static json_t *
slot_json(const struct p11_slot_desc *d)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:b,s:b}", "slot", (json_int_t)d->slot,
	    "description", d->description, "manufacturer", d->manufacturer, "token_present",
	    d->token_present, "removable", d->removable);
	const struct p11_token_desc *t = &d->token;

	if (o == NULL || !d->token_present)
		return o;
	json_object_set_new(o, "token", json_pack(
	    "{s:s,s:s,s:s,s:s,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:b,s:o,s:o,s:o,s:o,s:o,s:o}",
	    "label", t->label, "serial", t->serial, "manufacturer", t->manufacturer,
	    "model", t->model, "initialized", (t->flags & P11_TOKEN_INITIALIZED) != 0,
	    "user_pin_initialized", (t->flags & P11_TOKEN_USER_PIN_INITIALIZED) != 0,
	    "login_required", (t->flags & P11_TOKEN_LOGIN_REQUIRED) != 0,
	    "protected_auth_path", (t->flags & P11_TOKEN_PROTECTED_AUTH_PATH) != 0,
	    "user_pin_count_low", (t->flags & P11_TOKEN_USER_PIN_COUNT_LOW) != 0,
	    "user_pin_final_try", (t->flags & P11_TOKEN_USER_PIN_FINAL_TRY) != 0,
	    "user_pin_locked", (t->flags & P11_TOKEN_USER_PIN_LOCKED) != 0,
	    "user_pin_to_be_changed", (t->flags & P11_TOKEN_USER_PIN_TO_BE_CHANGED) != 0,
	    "write_protected", (t->flags & P11_TOKEN_WRITE_PROTECTED) != 0,
	    "free_public_memory", mem_json(d->free_public),
	    "total_public_memory", mem_json(d->total_public),
	    "free_private_memory", mem_json(d->free_private),
	    "total_private_memory", mem_json(d->total_private),
	    "min_pin_length", mem_json(d->min_pin), "max_pin_length", mem_json(d->max_pin)));
	return o;
}

static void
slot_print(const struct p11_slot_desc *d)
{
	const struct p11_token_desc *t = &d->token;
	static const struct {
		unsigned flag;
		const char *text;
	} states[] = {
		{ P11_TOKEN_USER_PIN_LOCKED, N_("user PIN LOCKED") },
		{ P11_TOKEN_USER_PIN_FINAL_TRY, N_("user PIN final try") },
		{ P11_TOKEN_USER_PIN_COUNT_LOW, N_("user PIN count low") },
		{ P11_TOKEN_USER_PIN_TO_BE_CHANGED, N_("user PIN to be changed") },
		{ P11_TOKEN_PROTECTED_AUTH_PATH, N_("PIN pad") },
		{ P11_TOKEN_WRITE_PROTECTED, N_("write-protected") },
	};

	/* TRANSLATORS: a slot's number and the module's description of it */
	printf(d->removable ? _("  slot %lu: %s (removable)\n") : _("  slot %lu: %s\n"), d->slot,
	    d->description);
	if (!d->token_present) {
		fputs(_("    no token\n"), stdout);
		return;
	}
	if (!(t->flags & P11_TOKEN_INITIALIZED)) {
		printf(_("    token not initialised (%s %s); to initialise it: kyso-admin init "
		    "--slot %lu --label LABEL\n"), t->manufacturer, t->model, d->slot);
		return;
	}
	/* TRANSLATORS: the token's label, serial, manufacturer and model */
	printf(_("    token '%s', serial %s, %s %s\n"), t->label, t->serial, t->manufacturer,
	    t->model);
	fputs((t->flags & P11_TOKEN_USER_PIN_INITIALIZED) ? _("    state: initialised, user "
	    "PIN set") : _("    state: initialised, user PIN NOT set"), stdout);
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		if (t->flags & states[i].flag)
			printf(", %s", _(states[i].text));
	printf("\n");
	if (d->free_public != P11_UNKNOWN && d->free_private != P11_UNKNOWN)
		printf(_("    free space: public %lu bytes, private %lu bytes\n"),
		    d->free_public, d->free_private);
	else if (d->free_public != P11_UNKNOWN)
		printf(_("    free space: public %lu bytes\n"), d->free_public);
	else if (d->free_private != P11_UNKNOWN)
		printf(_("    free space: private %lu bytes\n"), d->free_private);
	else
		fputs(_("    free space: not reported by the token\n"), stdout);
}

int
cmd_tokens(struct admin *a)
{
	json_t *root = json_pack("{s:[]}", "modules");
	int rc = AX_OK;

	for (size_t i = 0; i < a->nmods; i++) {
		struct p11_slot_desc *d = NULL;
		struct p11_fail f;
		size_t n = 0;
		json_t *slots = json_array();
		int r;

		if ((r = p11_module_slots(a->mods[i], &d, &n, &f)) != KYSO_OK) {
			rc = admin_fail(a, p11_module_path(a->mods[i]), r, &f);
			json_decref(slots);
			continue;
		}
		if (!a->json)
			printf(_("module %s\n"), p11_module_path(a->mods[i]));
		for (size_t k = 0; k < n; k++) {
			if (a->json)
				json_array_append_new(slots, slot_json(&d[k]));
			else
				slot_print(&d[k]);
		}
		if (!a->json && n == 0)
			printf(_("  no slots\n"));
		json_array_append_new(json_object_get(root, "modules"), json_pack("{s:s,s:o}",
		    "path", p11_module_path(a->mods[i]), "slots", slots));
		free(d);
	}
	if (a->json)
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER), printf("\n");
	json_decref(root);
	return rc;
}
