/* kyso_output.c — readable tables and JSON for the kyso tool. */
#include <string.h>

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
token_state(const struct kyso_token *t)
{
	if (t->user_pin_locked)
		return "PIN locked";
	if (t->user_pin_final_try)
		return "final PIN try";
	if (t->user_pin_count_low)
		return "few PIN tries left";
	if (t->logged_in)
		return "logged in";
	if (t->user_pin_to_be_changed)
		return "PIN to be changed";
	return t->login_required ? "PIN needed" : "open";
}

void
out_tokens(FILE *f, const struct kyso_token *t, size_t n)
{
	if (n == 0) {
		fprintf(f, "No token is present.\n");
		return;
	}
	fprintf(f, "%-16s  %-20s  %-16s  %-18s  %s\n", "ID", "LABEL", "SERIAL", "STATE",
	    "MANUFACTURER / MODEL");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%-16s  %-20s  %-16s  %-18s  %s / %s\n", t[i].id, t[i].label,
		    t[i].serial, token_state(&t[i]), t[i].manufacturer, t[i].model);
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
out_certs(FILE *f, const struct kyso_cert *c, size_t n, const struct kyso_token *t,
    size_t nt)
{
	if (n == 0) {
		fprintf(f, "No certificate is on the tokens present.\n");
		return;
	}
	fprintf(f, "%-16s  %-28s  %-12s  %-10s  %-4s  %s\n", "ID", "SUBJECT", "KEY",
	    "EXPIRES", "SIGN", "TOKEN");
	for (size_t i = 0; i < n; i++) {
		char cn[64], key[32];
		const char *tok = c[i].token;

		for (size_t k = 0; k < nt; k++)
			if (strcmp(t[k].id, c[i].token) == 0 && t[k].label[0] != '\0')
				tok = t[k].label;

		common_name(c[i].subject, cn, sizeof(cn));
		if (strcmp(c[i].key_type, "rsa") == 0)
			snprintf(key, sizeof(key), "rsa-%d", c[i].key_bits);
		else if (strcmp(c[i].key_type, "ec") == 0)
			snprintf(key, sizeof(key), "ec-%s", c[i].curve);
		else
			snprintf(key, sizeof(key), "%s", c[i].key_type);
		fprintf(f, "%-16.16s  %-28.28s  %-12s  %-10.10s  %-4s  %s\n", c[i].id, cn, key,
		    c[i].not_after, c[i].can_sign ? "yes" : "no", tok);
	}
	fprintf(f, "\nUse an ID (or its first 8+ digits) with: kyso sign --cert ID ...\n");
}
