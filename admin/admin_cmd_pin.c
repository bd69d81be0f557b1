/* admin_cmd_pin.c — kyso-admin init, change-pin, unblock-pin, set-so-pin. */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "kyso_err.h"
#include "secret.h"

/* Counts the objects visible without a login. Returns KYSO_OK or an error + fail. */
static int
visible_objects(struct admin_target *t, size_t *n, struct p11_fail *f)
{
	struct p11_session *s;
	struct p11_object_desc *o = NULL;
	int r;

	*n = 0;
	if ((r = p11_session_open(t->m, t->d.slot, &s, f)) != KYSO_OK)
		return r;
	r = p11_session_objects(s, &o, n, f);
	p11_objects_free(o, *n);
	p11_session_close(s);
	return r;
}

/* Refuses to erase a token in use unless --force and its label typed back. */
static int
init_guard(struct admin *a, struct admin_target *t)
{
	const struct p11_token_desc *d = &t->d.token;
	struct p11_fail f;
	char question[200];
	size_t n;
	int r, c;

	if (!(d->flags & P11_TOKEN_INITIALIZED))
		return AX_OK;
	if ((r = visible_objects(t, &n, &f)) != KYSO_OK)
		return admin_fail(a, _("cannot count the token's objects"), r, &f);
	if (n == 0 && !(d->flags & P11_TOKEN_USER_PIN_INITIALIZED))
		return AX_OK;
	if (!a->force) {
		if (d->flags & P11_TOKEN_USER_PIN_INITIALIZED)
			fprintf(stderr, P_("kyso-admin init: token %s is in use: it holds %zu "
			    "object visible without a login, and its user PIN is set (private keys "
			    "are not counted). Initialising erases everything on it; use --force to "
			    "do it anyway (you will type its label to confirm). Nothing was "
			    "changed\n", "kyso-admin init: token %s is in use: it holds %zu objects "
			    "visible without a login, and its user PIN is set (private keys are not "
			    "counted). Initialising erases everything on it; use --force to do it "
			    "anyway (you will type its label to confirm). Nothing was changed\n", n),
			    admin_token_name(d), n);
		else
			fprintf(stderr, P_("kyso-admin init: token %s is in use: it holds %zu "
			    "object visible without a login. Initialising erases everything on it; "
			    "use --force to do it anyway (you will type its label to confirm). "
			    "Nothing was changed\n", "kyso-admin init: token %s is in use: it holds "
			    "%zu objects visible without a login. Initialising erases everything on "
			    "it; use --force to do it anyway (you will type its label to confirm). "
			    "Nothing was changed\n", n), admin_token_name(d), n);
		return AX_DECLINED;
	}
	snprintf(question, sizeof(question), _("Initialising token %s ERASES every key and "
	    "certificate on it.\nType its label to go on: "), admin_token_name(d));
	if ((c = admin_confirm(question, d->label)) != 1) {
		fprintf(stderr, _("kyso-admin init: %s; nothing was changed\n"), c < 0 ?
		    _("--force needs the token's label typed on a terminal, and there is none") :
		    _("the label typed does not match"));
		return AX_DECLINED;
	}
	return AX_OK;
}

/* SO login on a new read-write session, then C_InitPIN(new_pin). */
static int
so_init_pin(struct admin *a, struct admin_target *t, const struct kyso_secret *so_pin,
    const struct kyso_secret *new_pin)
{
	struct p11_session *s;
	struct p11_fail f;
	int r;

	if ((r = p11_session_open_rw(t->m, t->d.slot, &s, &f)) != KYSO_OK)
		return admin_fail(a, _("cannot open a session"), r, &f);
	if ((r = p11_session_login_so(s, so_pin, &f)) != KYSO_OK) {
		p11_session_close(s);
		return admin_fail(a, _("SO PIN"), r, &f);
	}
	r = p11_session_init_pin(s, new_pin, &f);
	(void)p11_session_logout(s, NULL);
	p11_session_close(s);
	if (r != KYSO_OK)
		return admin_fail(a, _("setting the user PIN"), r, &f);
	return AX_OK;
}

int
cmd_init(struct admin *a)
{
	struct admin_target t;
	struct kyso_secret *so = NULL, *user = NULL;
	int rc, blank;

	if (a->label == NULL || a->label[0] == '\0' || strlen(a->label) > 32) {
		fprintf(stderr, _("kyso-admin init: --label LABEL is required (1 to 32 bytes)\n"));
		return AX_USAGE;
	}
	if (a->slot < 0 && a->token == NULL) {
		fprintf(stderr, _("kyso-admin init: name the token with --token LABEL|SERIAL or "
		    "the slot with --slot N (see kyso-admin tokens)\n"));
		return AX_USAGE;
	}
	if ((rc = admin_find_target(a, &t, 1)) != AX_OK)
		return rc;
	if (!t.d.token_present) {
		fprintf(stderr, _("kyso-admin init: slot %lu holds no token\n"), t.d.slot);
		return AX_NOT_FOUND;
	}
	blank = !(t.d.token.flags & P11_TOKEN_INITIALIZED);
	if ((rc = init_guard(a, &t)) != AX_OK)
		return rc;
	/* a blank token takes a new SO PIN; an initialised one checks the current one */
	if ((rc = admin_read_pin(a, a->so_pin_file, "--so-pin-file", _("SO PIN"), blank, &t.d,
	    &so)) != AX_OK ||
	    (rc = admin_read_pin(a, a->new_pin_file, "--new-pin-file", _("user PIN"), 1, &t.d,
	    &user)) != AX_OK)
		goto out;
	if ((rc = admin_init_token(a, &t, a->label, so, user, 0)) == AX_OK)
		printf(_("token %s initialised in slot %lu; SO PIN and user PIN set\n"),
		    admin_token_name(&t.d.token), t.d.slot);
out:
	secret_free(so);
	secret_free(user);
	return rc;
}

int
admin_init_token(struct admin *a, struct admin_target *t, const char *label,
    const struct kyso_secret *so, const struct kyso_secret *user, int guard)
{
	struct p11_fail f;
	int rc, r;

	if (guard && (rc = init_guard(a, t)) != AX_OK)
		return rc;
	if ((r = p11_token_init(t->m, t->d.slot, so, label, &f)) != KYSO_OK)
		return admin_fail(a, r == KYSO_ERR_PIN_INCORRECT || r == KYSO_ERR_PIN_LOCKED ?
		    _("SO PIN") : _("initialising the token"), r, &f);
	if ((rc = so_init_pin(a, t, so, user)) != AX_OK) {
		fprintf(stderr, _("kyso-admin %s: the token was initialised with label '%s' "
		    "but its user PIN is not set; set it with kyso-admin unblock-pin\n"), a->cmd,
		    label);
		return rc;
	}
	if ((r = p11_slot_info(t->m, t->d.slot, &t->d, &f)) != KYSO_OK || !t->d.token_present)
		return admin_fail(a, _("reading the new token"), r != KYSO_OK ? r :
		    KYSO_ERR_TOKEN_NOT_PRESENT, &f);
	return AX_OK;
}

/* Finds the token for a PIN command and checks the token state it needs. */
static int
pin_target(struct admin *a, struct admin_target *t)
{
	int rc;

	if ((rc = admin_find_target(a, t, 0)) != AX_OK)
		return rc;
	if (t->d.token.flags & P11_TOKEN_PROTECTED_AUTH_PATH) {
		fprintf(stderr, _("kyso-admin %s: token %s has a PIN pad; change its PINs on the "
		    "reader or with the vendor's tool\n"), a->cmd, admin_token_name(&t->d.token));
		return AX_ERROR;
	}
	return AX_OK;
}

int
cmd_change_pin(struct admin *a)
{
	struct admin_target t;
	struct kyso_secret *old = NULL, *new = NULL;
	struct p11_session *s = NULL;
	struct p11_fail f;
	int rc, r;

	if ((rc = pin_target(a, &t)) != AX_OK)
		return rc;
	if (t.d.token.flags & P11_TOKEN_USER_PIN_LOCKED) {
		fprintf(stderr, _("kyso-admin change-pin: the user PIN of token %s is locked; "
		    "unblock it with 'kyso-admin unblock-pin' (needs the SO PIN)\n"),
		    admin_token_name(&t.d.token));
		return AX_PIN_LOCKED;
	}
	if ((rc = admin_read_pin(a, a->pin_file, "--pin-file", _("user PIN"), 0, &t.d, &old)) !=
	    AX_OK || (rc = admin_read_pin(a, a->new_pin_file, "--new-pin-file", _("user PIN"), 1,
	    &t.d, &new)) != AX_OK)
		goto out;
	if ((r = p11_session_open_rw(t.m, t.d.slot, &s, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot open a session"), r, &f);
		goto out;
	}
	/* not logged in: C_SetPIN checks the old PIN and changes the user's */
	if ((r = p11_session_set_pin(s, old, new, &f)) != KYSO_OK) {
		/* CKR_PIN_INVALID / CKR_PIN_LEN_RANGE: the new PIN, not the old one */
		rc = admin_fail(a, r == KYSO_ERR_PIN_INCORRECT && p11_fail_new_pin_refused(&f) ?
		    _("the token refused the new user PIN") : _("user PIN"), r, &f);
		goto out;
	}
	printf(_("user PIN of token %s changed\n"), admin_token_name(&t.d.token));
out:
	p11_session_close(s);
	secret_free(old);
	secret_free(new);
	return rc;
}

int
cmd_unblock_pin(struct admin *a)
{
	struct admin_target t;
	struct kyso_secret *so = NULL, *new = NULL;
	int rc;

	if ((rc = pin_target(a, &t)) != AX_OK)
		return rc;
	if ((rc = admin_read_pin(a, a->so_pin_file, "--so-pin-file", _("SO PIN"), 0, &t.d, &so)) !=
	    AX_OK || (rc = admin_read_pin(a, a->new_pin_file, "--new-pin-file", _("user PIN"), 1,
	    &t.d, &new)) != AX_OK)
		goto out;
	if ((rc = so_init_pin(a, &t, so, new)) == AX_OK)
		printf(_("user PIN of token %s set anew (unblocked)\n"), admin_token_name(&t.d.token));
out:
	secret_free(so);
	secret_free(new);
	return rc;
}

int
cmd_set_so_pin(struct admin *a)
{
	struct admin_target t;
	struct kyso_secret *old = NULL, *new = NULL;
	struct p11_session *s = NULL;
	struct p11_fail f;
	int rc, r;

	if ((rc = pin_target(a, &t)) != AX_OK)
		return rc;
	if ((rc = admin_read_pin(a, a->so_pin_file, "--so-pin-file", _("SO PIN"), 0, &t.d, &old)) !=
	    AX_OK || (rc = admin_read_pin(a, a->new_pin_file, "--new-pin-file", _("SO PIN"), 1,
	    &t.d, &new)) != AX_OK)
		goto out;
	if ((r = p11_session_open_rw(t.m, t.d.slot, &s, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot open a session"), r, &f);
		goto out;
	}
	if ((r = p11_session_login_so(s, old, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("SO PIN"), r, &f);
		goto out;
	}
	r = p11_session_set_pin(s, old, new, &f);
	(void)p11_session_logout(s, NULL);
	if (r != KYSO_OK) {
		rc = admin_fail(a, _("the token refused the new SO PIN"), r, &f);
		goto out;
	}
	printf(_("SO PIN of token %s changed\n"), admin_token_name(&t.d.token));
out:
	p11_session_close(s);
	secret_free(old);
	secret_free(new);
	return rc;
}
