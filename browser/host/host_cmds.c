/* host_cmds.c — the status and certificates commands of kyso-browser-host. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "kyso_err.h"

/* Checks that args holds only the names in allowed (NULL-terminated). */
static int
only(struct host *h, json_t *id, json_t *args, const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(args, key, v) {
		for (i = 0; allowed[i] != NULL && strcmp(key, allowed[i]) != 0; i++)
			;
		if (allowed[i] == NULL) {
			host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s}", "argument", key),
			    "unknown argument '%.32s'", key);
			return KYSO_ERR_INVALID_ARG;
		}
	}
	return KYSO_OK;
}

/* Answers a failed agent call. */
static int
agent_failed(struct host *h, json_t *id, enum host_err e, const char *message,
    json_t *details)
{
	return host_error(h, id, e, details, "%s", message);
}

int
host_cmd_status(struct host *h, json_t *id, json_t *args)
{
	static const char *const allowed[] = { NULL };
	json_t *info, *details, *result;
	enum host_err e;
	char msg[512];

	if (only(h, id, args, allowed) != KYSO_OK)
		return KYSO_OK;
	if (host_agent_call(h, "org.varlink.service.GetInfo", NULL, &info, &e, msg,
	    sizeof(msg), &details) != KYSO_OK)
		return agent_failed(h, id, e, msg, details);
	result = json_pack("{s:{s:s}, s:{s:O?, s:O?}, s:s}", "host", "version", KYSO_VERSION,
	    "agent", "product", json_object_get(info, "product"), "version",
	    json_object_get(info, "version"), "origin", h->origin);
	json_decref(info);
	return host_reply(h, id, result);
}

/* Whether a key_usage array holds name. */
static int
has_usage(json_t *usages, const char *name)
{
	json_t *v;
	size_t i;

	json_array_foreach(usages, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
			return 1;
	return 0;
}

/* The certificate c of the agent's listing, as the page sees it. */
static json_t *
cert_for_page(json_t *c)
{
	return json_pack("{s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:O, "
	    "s:O}", "id", json_object_get(c, "id"), "subject", json_object_get(c, "subject"),
	    "issuer", json_object_get(c, "issuer"), "serial", json_object_get(c, "serial"),
	    "notBefore", json_object_get(c, "not_before"), "notAfter",
	    json_object_get(c, "not_after"), "keyType", json_object_get(c, "key_type"),
	    "keyBits", json_object_get(c, "key_bits"), "curve", json_object_get(c, "curve"),
	    "keyUsage", json_object_get(c, "key_usage"), "algorithms",
	    json_object_get(c, "algorithms"), "label", json_object_get(c, "label"), "token",
	    json_object_get(c, "token"), "certificate", json_object_get(c, "der"));
}

int
host_cmd_certificates(struct host *h, json_t *id, json_t *args)
{
	static const char *const allowed[] = { "keyUsage", "validNow", NULL };
	static const char *const usages[] = { "nonRepudiation", "digitalSignature", "any",
		NULL };
	json_t *reply, *details, *list, *out, *c, *v;
	const char *usage = "nonRepudiation", *nb, *na;
	char now[32], msg[512];
	struct tm tm;
	time_t t = time(NULL);
	enum host_err e;
	int valid_now = 1;
	size_t i;

	if (only(h, id, args, allowed) != KYSO_OK)
		return KYSO_OK;
	if ((v = json_object_get(args, "keyUsage")) != NULL && !json_is_null(v)) {
		for (i = 0; usages[i] != NULL && (!json_is_string(v) ||
		    strcmp(json_string_value(v), usages[i]) != 0); i++)
			;
		if (usages[i] == NULL)
			return host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s}", "argument",
			    "keyUsage"), "keyUsage must be nonRepudiation, digitalSignature or any");
		usage = usages[i];
	}
	if ((v = json_object_get(args, "validNow")) != NULL && !json_is_null(v)) {
		if (!json_is_boolean(v))
			return host_error(h, id, HE_INVALID_ARGUMENT, json_pack("{s:s}", "argument",
			    "validNow"), "validNow must be true or false");
		valid_now = json_is_true(v);
	}
	if (host_agent_call(h, "io.kyso.Agent.ListCertificates", json_pack("{s:s}", "origin",
	    h->origin), &reply, &e, msg, sizeof(msg), &details) != KYSO_OK)
		return agent_failed(h, id, e, msg, details);
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);
	list = json_object_get(reply, "certificates");
	out = json_array();
	json_array_foreach(list, i, c) {
		if (!json_is_true(json_object_get(c, "can_sign")))
			continue;   /* no key: nothing a page can use */
		if (strcmp(usage, "any") != 0 && !has_usage(json_object_get(c, "key_usage"),
		    usage))
			continue;
		nb = json_string_value(json_object_get(c, "not_before"));
		na = json_string_value(json_object_get(c, "not_after"));
		/* RFC 3339 in UTC, all the same width: they compare as strings */
		if (valid_now && (nb == NULL || na == NULL || strcmp(nb, now) > 0 ||
		    strcmp(na, now) < 0))
			continue;
		json_array_append_new(out, cert_for_page(c));
	}
	json_decref(reply);
	return host_reply(h, id, json_pack("{s:o}", "certificates", out));
}
