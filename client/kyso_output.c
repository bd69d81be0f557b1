/* kyso_output.c — readable tables and JSON for the kyso tool. */
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "kyso_cli.h"

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
		return "PIN locked";
	if (fl & KYSO_TOKEN_USER_PIN_FINAL_TRY)
		return "final PIN try";
	if (fl & KYSO_TOKEN_USER_PIN_COUNT_LOW)
		return "few PIN tries left";
	if (fl & KYSO_TOKEN_LOGGED_IN)
		return "logged in";
	if (fl & KYSO_TOKEN_USER_PIN_TO_BE_CHANGED)
		return "PIN to be changed";
	return fl & KYSO_TOKEN_LOGIN_REQUIRED ? "PIN needed" : "open";
}

void
out_tokens(FILE *f, kyso_token *const *t)
{
	if (t == NULL || t[0] == NULL) {
		fprintf(f, "No token is present.\n");
		return;
	}
	fprintf(f, "%-16s  %-20s  %-16s  %-18s  %s\n", "ID", "LABEL", "SERIAL", "STATE",
	    "MANUFACTURER / MODEL");
	for (size_t i = 0; t[i] != NULL; i++)
		fprintf(f, "%-16s  %-20s  %-16s  %-18s  %s / %s\n", kyso_token_id(t[i]),
		    kyso_token_label(t[i]), kyso_token_serial(t[i]), token_state(t[i]),
		    kyso_token_manufacturer(t[i]), kyso_token_model(t[i]));
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
	if (c == NULL || c[0] == NULL) {
		fprintf(f, "No certificate is on the tokens present.\n");
		return;
	}
	fprintf(f, "%-16s  %-28s  %-12s  %-10s  %-4s  %s\n", "ID", "SUBJECT", "KEY",
	    "EXPIRES", "SIGN", "TOKEN");
	for (size_t i = 0; c[i] != NULL; i++) {
		const char *tok = kyso_cert_token(c[i]), *type = kyso_cert_key_type(c[i]);
		char cn[64], key[32];

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
		fprintf(f, "%-16.16s  %-28.28s  %-12s  %-10.10s  %-4s  %s\n", kyso_cert_id(c[i]),
		    cn, key, kyso_cert_not_after(c[i]),
		    kyso_cert_flags(c[i]) & KYSO_CERT_CAN_SIGN ? "yes" : "no", tok);
	}
	fprintf(f, "\nUse an ID (or its first 8+ digits) with: kyso sign --cert ID ...\n");
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

/* The whole state of a token, for events: "logged in, few PIN tries left". */
static void
token_state_long(const kyso_token *t, char *buf, size_t len)
{
	unsigned fl = kyso_token_flags(t);
	size_t n;

	if (fl & KYSO_TOKEN_USER_PIN_LOCKED) {
		snprintf(buf, len, "PIN locked");
		return;
	}
	n = (size_t)snprintf(buf, len, "%s", fl & KYSO_TOKEN_LOGGED_IN ? "logged in" :
	    fl & KYSO_TOKEN_LOGIN_REQUIRED ? "not logged in" : "no PIN needed");
	if (n < len && (fl & (KYSO_TOKEN_USER_PIN_FINAL_TRY | KYSO_TOKEN_USER_PIN_COUNT_LOW)))
		n += (size_t)snprintf(buf + n, len - n, ", %s", fl & KYSO_TOKEN_USER_PIN_FINAL_TRY ?
		    "final PIN try" : "few PIN tries left");
	if (n < len && (fl & KYSO_TOKEN_USER_PIN_TO_BE_CHANGED))
		snprintf(buf + n, len - n, ", PIN to be changed");
}

void
out_event(FILE *f, const char *when, const char *event, const kyso_token *t)
{
	static const struct { const char *event, *text; } names[] = {
		{ "token-present", "token present" }, { "token-added", "token added" },
		{ "token-removed", "token removed" }, { "token-changed", "token changed" },
	};
	const char *what = event;
	char state[96];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(event, names[i].event) == 0)
			what = names[i].text;
	fprintf(f, "%s  ", when);
	out_safe(f, what);
	if (kyso_token_id(t)[0] == '\0') {  /* an event of a newer agent, about no token */
		fputc('\n', f);
		return;
	}
	fputs(": '", f);
	out_safe(f, kyso_token_label(t));
	fputs("' (serial ", f);
	out_safe(f, kyso_token_serial(t));
	fputs(", ", f);
	out_safe(f, kyso_token_manufacturer(t));
	fputc(' ', f);
	out_safe(f, kyso_token_model(t));
	fputc(')', f);
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

/* How a module's tokens coming and going are noticed, in words. */
static const char *
mod_events(const json_t *m)
{
	const char *e = mod_str(m, "events");

	if (strcmp(e, "slot-events") == 0)
		return "slot events";
	if (strcmp(e, "usb-hotplug") == 0)
		return "USB hotplug";
	if (strcmp(e, "poll") == 0)
		return "polling";
	return e[0] != '\0' ? e : "unknown";
}

/* "CKR_DEVICE_ERROR in C_GetSlotList, 3 failures in a row; next try in 8 s" */
static void
mod_failure(FILE *f, const json_t *m)
{
	const json_t *err = json_object_get(m, "error");
	long long n = mod_int(m, "failures");

	fprintf(f, "%s in %s, %lld failure%s in a row", mod_str(err, "ckr")[0] ?
	    mod_str(err, "ckr") : "an error", mod_str(err, "call")[0] ? mod_str(err, "call") :
	    "loading", n, n == 1 ? "" : "s");
	if (json_is_integer(json_object_get(m, "retry_in")))
		fprintf(f, "; next try in %lld s", mod_int(m, "retry_in"));
}

void
out_module_line(FILE *f, const json_t *m)
{
	long long n = mod_int(m, "tokens");

	fprintf(f, "%s (", mod_str(m, "path"));
	if (strcmp(mod_str(m, "state"), "ok") == 0) {
		fprintf(f, "ok, %lld token%s, watched by %s)\n", n, n == 1 ? "" : "s",
		    mod_events(m));
		return;
	}
	fprintf(f, "%s: ", mod_str(m, "state"));
	mod_failure(f, m);
	fputs(")\n", f);
}

void
out_modules(FILE *f, const json_t *modules)
{
	size_t i;
	const json_t *m;

	if (json_array_size(modules) == 0) {
		fprintf(f, "No PKCS#11 module is loaded.\n");
		return;
	}
	fprintf(f, "%-8s  %-12s  %6s  %s\n", "STATE", "EVENTS", "TOKENS", "MODULE");
	json_array_foreach(modules, i, m) {
		fprintf(f, "%-8s  %-12s  %6lld  %s\n", mod_str(m, "state"), mod_str(m, "events"),
		    mod_int(m, "tokens"), mod_str(m, "path"));
		if (strcmp(mod_str(m, "state"), "ok") != 0) {
			fprintf(f, "%-8s  ", "");
			mod_failure(f, m);
			fputc('\n', f);
		}
	}
}
