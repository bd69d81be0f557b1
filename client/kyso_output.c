/*
 * kyso_output.c — readable tables and JSON for the kyso tool. Headings and states are
 * translated; columns are measured in the terminal's columns (wcwidth), not in bytes, so
 * that Vietnamese headings, labels and names stay aligned and are never cut inside a
 * character.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <jansson.h>

#include "encode.h"
#include "i18n.h"
#include "kyso_cli.h"

/*
 * Prints s in a column of width terminal columns: with cut, cut at a character that
 * would not fit; padded with spaces up to width (width 0: as it is). A character the
 * locale cannot decode counts as one column (UTF-8 in the C locale: one per character).
 */
static int
out_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), k;
	mbstate_t st;
	wchar_t wc;
	int used = 0, w;

	memset(&st, 0, sizeof(st));
	for (; left > 0; p += k, left -= k) {
		k = mbrtowc(&wc, (const char *)p, left, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			k = utf8_seq(p);
			k = k > 0 && k <= left ? k : 1;
			used++;
		} else {
			w = wcwidth(wc);
			used += w < 0 ? 1 : w;
		}
	}
	return used;
}

/* The wider of width and the text's width: a column fits its heading and its words. */
static int
out_fit(int width, const char *s)
{
	int w = out_width(s);

	return w > width ? w : width;
}

static void
out_cell(FILE *f, const char *s, int width, int cut)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), k;
	mbstate_t st;
	wchar_t wc;
	int used = 0, w;

	memset(&st, 0, sizeof(st));
	while (left > 0) {
		k = mbrtowc(&wc, (const char *)p, left, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			k = utf8_seq(p);
			k = k > 0 && k <= left ? k : 1;
			w = 1;
		} else {
			w = wcwidth(wc);
			w = w < 0 ? 1 : w;
		}
		if (cut && used + w > width)
			break;
		fwrite(p, 1, k, f);
		used += w;
		p += k;
		left -= k;
	}
	for (; used < width; used++)
		fputc(' ', f);
}

void
out_json(FILE *f, const char *json_text, const char *member)
{
	json_t *o = json_loads(json_text, 0, NULL);
	json_t *v = member != NULL ? json_object_get(o, member) : o;

	if (v == NULL) {
		fprintf(f, "%s\n", json_text);
	} else {
		json_dumpf(v, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', f);
	}
	json_decref(o);
}

static const char *
token_state(const kyso_token *t)
{
	unsigned fl = kyso_token_flags(t);

	if (fl & KYSO_TOKEN_USER_PIN_LOCKED)
		return _("PIN locked");
	if (fl & KYSO_TOKEN_USER_PIN_FINAL_TRY)
		return _("final PIN try");
	if (fl & KYSO_TOKEN_USER_PIN_COUNT_LOW)
		return _("few PIN tries left");
	if (fl & KYSO_TOKEN_LOGGED_IN)
		return _("logged in");
	if (fl & KYSO_TOKEN_USER_PIN_TO_BE_CHANGED)
		return _("PIN to be changed");
	/* TRANSLATORS: a token's state: it needs no PIN */
	return fl & KYSO_TOKEN_LOGIN_REQUIRED ? _("PIN needed") : _("open");
}

void
out_tokens(FILE *f, kyso_token *const *t)
{
	int wlabel, wserial, wstate;

	if (t == NULL || t[0] == NULL) {
		fputs(_("No token is present.\n"), f);
		return;
	}
	/* TRANSLATORS: the headings of 'kyso tokens' (upper case in English) */
	wlabel = out_fit(20, _("LABEL"));
	wserial = out_fit(16, _("SERIAL"));
	wstate = out_fit(18, _("STATE"));
	for (size_t i = 0; t[i] != NULL; i++)
		wstate = out_fit(wstate, token_state(t[i]));
	out_cell(f, _("ID"), 16, 0);
	fputs("  ", f);
	out_cell(f, _("LABEL"), wlabel, 0);
	fputs("  ", f);
	out_cell(f, _("SERIAL"), wserial, 0);
	fputs("  ", f);
	out_cell(f, _("STATE"), wstate, 0);
	fprintf(f, "  %s\n", _("MANUFACTURER / MODEL"));
	for (size_t i = 0; t[i] != NULL; i++) {
		out_cell(f, kyso_token_id(t[i]), 16, 0);
		fputs("  ", f);
		out_cell(f, kyso_token_label(t[i]), wlabel, 0);
		fputs("  ", f);
		out_cell(f, kyso_token_serial(t[i]), wserial, 0);
		fputs("  ", f);
		out_cell(f, token_state(t[i]), wstate, 0);
		fprintf(f, "  %s / %s\n", kyso_token_manufacturer(t[i]), kyso_token_model(t[i]));
	}
}

/* The CN of an RFC 2253 name, or the whole name. */
static void
common_name(const char *dn, char *out, size_t outlen)
{
	const char *cn = strstr(dn, "CN=");
	size_t n;

	if (cn == NULL || (cn != dn && cn[-1] != ',')) {
		snprintf(out, outlen, "%s", dn);
		return;
	}
	cn += 3;
	for (n = 0; cn[n] != '\0' && !(cn[n] == ',' && (n == 0 || cn[n - 1] != '\\')); n++)
		;
	snprintf(out, outlen, "%.*s", (int)n, cn);
}

void
out_certs(FILE *f, kyso_cert *const *c, kyso_token *const *t)
{
	int wkey, wexp, wsign;

	if (c == NULL || c[0] == NULL) {
		fputs(_("No certificate is on the tokens present.\n"), f);
		return;
	}
	/* TRANSLATORS: the headings of 'kyso certs' (upper case in English); SIGN: whether
	 * the key can sign (yes or no) */
	wkey = out_fit(12, _("KEY"));
	wexp = out_fit(10, _("EXPIRES"));
	wsign = out_fit(out_fit(out_fit(4, _("SIGN")), _("yes")), _("no"));
	out_cell(f, _("ID"), 16, 0);
	fputs("  ", f);
	out_cell(f, _("SUBJECT"), 28, 0);
	fputs("  ", f);
	out_cell(f, _("KEY"), wkey, 0);
	fputs("  ", f);
	out_cell(f, _("EXPIRES"), wexp, 0);
	fputs("  ", f);
	out_cell(f, _("SIGN"), wsign, 0);
	fprintf(f, "  %s\n", _("TOKEN"));
	for (size_t i = 0; c[i] != NULL; i++) {
		const char *tok = kyso_cert_token(c[i]), *type = kyso_cert_key_type(c[i]);
		char cn[256], key[32];

		for (size_t k = 0; t != NULL && t[k] != NULL; k++)
			if (strcmp(kyso_token_id(t[k]), tok) == 0 && kyso_token_label(t[k])[0])
				tok = kyso_token_label(t[k]);

		common_name(kyso_cert_subject(c[i]), cn, sizeof(cn));
		if (strcmp(type, "rsa") == 0)
			snprintf(key, sizeof(key), "rsa-%d", kyso_cert_key_bits(c[i]));
		else if (strcmp(type, "ec") == 0)
			snprintf(key, sizeof(key), "ec-%s", kyso_cert_curve(c[i]));
		else
			snprintf(key, sizeof(key), "%s", type);
		out_cell(f, kyso_cert_id(c[i]), 16, 1);
		fputs("  ", f);
		out_cell(f, cn, 28, 1);
		fputs("  ", f);
		out_cell(f, key, wkey, 0);
		fputs("  ", f);
		out_cell(f, kyso_cert_not_after(c[i]), wexp, 1);
		fputs("  ", f);
		out_cell(f, kyso_cert_flags(c[i]) & KYSO_CERT_CAN_SIGN ? _("yes") : _("no"), wsign,
		    0);
		fprintf(f, "  %s\n", tok);
	}
	fputs(_("\nUse an ID (or its first 8+ digits) with: kyso sign --cert ID ...\n"), f);
}

void
out_now(char *buf, size_t len, int iso)
{
	time_t now = time(NULL);
	struct tm tm;
	char zone[8];
	size_t n;

	localtime_r(&now, &tm);
	if (!iso) {
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm);
		return;
	}
	/* RFC 3339 wants the offset as +01:00, strftime gives +0100 */
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	if (strftime(zone, sizeof(zone), "%z", &tm) == 5)
		snprintf(buf + n, len - n, "%.3s:%.2s", zone, zone + 3);
}

/* Token text on one line: control characters (a label may hold any) become '?'. */
static void
out_safe(FILE *f, const char *s)
{
	for (; *s != '\0'; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* A copy of token text with its control characters made '?', or NULL (no memory). */
static char *
safe_dup(const char *s)
{
	char *d = strdup(s);

	for (char *p = d; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return d;
}

/* The whole state of a token, for events: "logged in, few PIN tries left". */
static void
token_state_long(const kyso_token *t, char *buf, size_t len)
{
	unsigned fl = kyso_token_flags(t);
	size_t n;

	if (fl & KYSO_TOKEN_USER_PIN_LOCKED) {
		snprintf(buf, len, "%s", _("PIN locked"));
		return;
	}
	n = (size_t)snprintf(buf, len, "%s", fl & KYSO_TOKEN_LOGGED_IN ? _("logged in") :
	    fl & KYSO_TOKEN_LOGIN_REQUIRED ? _("not logged in") : _("no PIN needed"));
	/* a list of states: "logged in, few PIN tries left" */
	if (n < len && (fl & (KYSO_TOKEN_USER_PIN_FINAL_TRY | KYSO_TOKEN_USER_PIN_COUNT_LOW)))
		n += (size_t)snprintf(buf + n, len - n, ", %s", fl & KYSO_TOKEN_USER_PIN_FINAL_TRY ?
		    _("final PIN try") : _("few PIN tries left"));
	if (n < len && (fl & KYSO_TOKEN_USER_PIN_TO_BE_CHANGED))
		snprintf(buf + n, len - n, ", %s", _("PIN to be changed"));
}

void
out_event(FILE *f, const char *when, const char *event, const kyso_token *t)
{
	static const struct { const char *event, *text; } names[] = {
		{ "token-present", N_("token present") }, { "token-added", N_("token added") },
		{ "token-removed", N_("token removed") }, { "token-changed", N_("token changed") },
	};
	const char *what = event;
	char state[192];
	char *label = NULL, *serial = NULL, *maker = NULL, *model = NULL;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(event, names[i].event) == 0)
			what = _(names[i].text);
	fprintf(f, "%s  ", when);
	out_safe(f, what);
	if (kyso_token_id(t)[0] == '\0') {  /* an event of a newer agent, about no token */
		fputc('\n', f);
		return;
	}
	label = safe_dup(kyso_token_label(t));
	serial = safe_dup(kyso_token_serial(t));
	maker = safe_dup(kyso_token_manufacturer(t));
	model = safe_dup(kyso_token_model(t));
	/* TRANSLATORS: after "token added" and the like: the token's label, serial number,
	 * manufacturer and model */
	fprintf(f, _(": '%1$s' (serial %2$s, %3$s %4$s)"), label != NULL ? label : "?",
	    serial != NULL ? serial : "?", maker != NULL ? maker : "?", model != NULL ?
	    model : "?");
	free(label);
	free(serial);
	free(maker);
	free(model);
	if (strcmp(event, "token-removed") != 0) {
		token_state_long(t, state, sizeof(state));
		fprintf(f, ": %s", state);
	}
	fputc('\n', f);
}

static const char *
mod_str(const json_t *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m, key));

	return s != NULL ? s : "";
}

static long long
mod_int(const json_t *m, const char *key)
{
	return (long long)json_integer_value(json_object_get(m, key));
}

/* A module's state in words: "ok", "failing", or the agent's word for a newer state. */
static const char *
mod_state(const json_t *m)
{
	const char *s = mod_str(m, "state");

	if (strcmp(s, "ok") == 0)
		return C_("module state", "ok");
	if (strcmp(s, "failing") == 0)
		return C_("module state", "failing");
	return s;
}

/* How a module's tokens coming and going are noticed, in words. */
static const char *
mod_events(const json_t *m)
{
	const char *e = mod_str(m, "events");

	if (strcmp(e, "slot-events") == 0)
		return _("slot events");
	if (strcmp(e, "usb-hotplug") == 0)
		return _("USB hotplug");
	if (strcmp(e, "poll") == 0)
		return _("polling");
	return e[0] != '\0' ? e : _("unknown");
}

/* "CKR_DEVICE_ERROR in C_GetSlotList, 3 failures in a row; next try in 8 s" */
static void
mod_failure(FILE *f, const json_t *m)
{
	const json_t *err = json_object_get(m, "error");
	long long n = mod_int(m, "failures");

	/* TRANSLATORS: a CKR name (or "an error"), the call (or "loading"), how many
	 * failures in a row */
	fprintf(f, P_("%1$s in %2$s, %3$lld failure in a row", "%1$s in %2$s, %3$lld failures "
	    "in a row", n), mod_str(err, "ckr")[0] ? mod_str(err, "ckr") : _("an error"),
	    mod_str(err, "call")[0] ? mod_str(err, "call") : _("loading"), n);
	if (json_is_integer(json_object_get(m, "retry_in")))
		fprintf(f, _("; next try in %lld s"), mod_int(m, "retry_in"));
}

void
out_module_line(FILE *f, const json_t *m)
{
	long long n = mod_int(m, "tokens");

	fprintf(f, "%s (", mod_str(m, "path"));
	if (strcmp(mod_str(m, "state"), "ok") == 0) {
		/* TRANSLATORS: a working module: how many tokens, and how they are watched
		 * ("slot events", "polling") */
		fprintf(f, P_("ok, %1$lld token, watched by %2$s)\n", "ok, %1$lld tokens, "
		    "watched by %2$s)\n", n), n, mod_events(m));
		return;
	}
	fprintf(f, "%s: ", mod_state(m));
	mod_failure(f, m);
	fputs(")\n", f);
}

void
out_modules(FILE *f, const json_t *modules)
{
	size_t i;
	const json_t *m;
	int wstate, wevents, wtokens;

	if (json_array_size(modules) == 0) {
		fputs(_("No PKCS#11 module is loaded.\n"), f);
		return;
	}
	/* TRANSLATORS: the headings of 'kyso modules' (upper case in English) */
	wstate = out_fit(out_fit(out_fit(8, _("STATE")), C_("module state", "ok")),
	    C_("module state", "failing"));
	wevents = out_fit(12, _("EVENTS"));
	wtokens = out_fit(6, _("TOKENS"));
	out_cell(f, _("STATE"), wstate, 0);
	fputs("  ", f);
	out_cell(f, _("EVENTS"), wevents, 0);
	fputs("  ", f);
	out_cell(f, _("TOKENS"), wtokens, 0);
	fprintf(f, "  %s\n", _("MODULE"));
	json_array_foreach(modules, i, m) {
		out_cell(f, mod_state(m), wstate, 0);
		fputs("  ", f);
		out_cell(f, mod_str(m, "events"), wevents, 0);   /* the protocol's word */
		fprintf(f, "  %*lld  %s\n", wtokens, mod_int(m, "tokens"), mod_str(m, "path"));
		if (strcmp(mod_str(m, "state"), "ok") != 0) {
			fprintf(f, "%*s  ", wstate, "");
			mod_failure(f, m);
			fputc('\n', f);
		}
	}
}
