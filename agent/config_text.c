/*
 * config_text.c — kysod's settings in words: durations as written in kysod.conf ("90s",
 * "15m", "unlimited") and the one-line summary of the settings kysod logs at start.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "kyso_err.h"

int
config_parse_duration(const char *s, long *out)
{
	long v = 0, mult = 1;
	const char *units = "smhd";
	static const long unit[] = { 1, 60, 3600, 86400 };

	if (strcasecmp(s, "unlimited") == 0) {
		*out = CONFIG_UNLIMITED;
		return KYSO_OK;
	}
	if (!isdigit((unsigned char)*s))
		return KYSO_ERR_INVALID_ARG;
	for (; isdigit((unsigned char)*s); s++)
		if (v <= CONFIG_MAX_DURATION)   /* past the cap the value only needs to stay big */
			v = v * 10 + (*s - '0');
	if (*s != '\0' && strchr(units, *s) != NULL)
		mult = unit[strchr(units, *s++) - units];
	if (*s != '\0')
		return KYSO_ERR_INVALID_ARG;
	if (v > CONFIG_MAX_DURATION / mult)
		return KYSO_ERR_TOO_LARGE;
	*out = v * mult;
	return KYSO_OK;
}

void
config_format_duration(long secs, char *buf, size_t len)
{
	if (secs == CONFIG_UNLIMITED)
		snprintf(buf, len, "unlimited");
	else if (secs < 120 || secs % 60 != 0)   /* "60s" reads better than "1m" */
		snprintf(buf, len, "%lds", secs);
	else if (secs % 86400 == 0)
		snprintf(buf, len, "%ldd", secs / 86400);
	else if (secs % 3600 == 0)
		snprintf(buf, len, "%ldh", secs / 3600);
	else
		snprintf(buf, len, "%ldm", secs / 60);
}

void
config_describe(const struct kysod_config *c, char *buf, size_t len)
{
	char idle[32], max[32], pt[32];
	size_t n;

	if (len == 0)
		return;
	config_format_duration(c->login_idle_ttl, idle, sizeof(idle));
	config_format_duration(c->login_max_ttl, max, sizeof(max));
	config_format_duration(c->pinentry_timeout, pt, sizeof(pt));
	if (c->login_cache)
		snprintf(buf, len, "login cache %s idle / %s max", idle, max);
	else
		snprintf(buf, len, "no login cache");
	n = strlen(buf);
	snprintf(buf + n, len - n, ", client PINs %s, %s", c->client_pin ? "allowed" : "refused",
	    c->confirm ? "confirmation for every signature" : "no confirmation");
	n = strlen(buf);
	if (c->pinentry == NULL || strcmp(c->pinentry, CONFIG_PINENTRY_NONE) == 0)
		snprintf(buf + n, len - n, ", no pinentry%s", c->pinentry_fixed ? " (fixed)" : "");
	else
		snprintf(buf + n, len - n, ", pinentry '%s' (%s%s)", c->pinentry, pt,
		    c->pinentry_fixed ? ", fixed" : "");
	n = strlen(buf);
	if (c->sessions_per_token != CONFIG_UNLIMITED)
		snprintf(buf + n, len - n, ", %ld session(s) per token", c->sessions_per_token);
	n = strlen(buf);
	if (c->modules_set)
		snprintf(buf + n, len - n, ", %zu module(s) allowed", c->nmodules);
	n = strlen(buf);
	if (c->audit_log != NULL)
		snprintf(buf + n, len - n, ", audit log %s%s", c->audit_log,
		    c->audit_log_fixed ? " (fixed)" : "");
	n = strlen(buf);
	/* the default (5m) goes without saying, as the other keys' defaults do not */
	if (c->signing_time_skew == CONFIG_UNLIMITED) {
		snprintf(buf + n, len - n, ", signing times of any date");
	} else if (c->signing_time_skew != CONFIG_SIGNING_TIME_SKEW_DEFAULT) {
		char skew[32];

		config_format_duration(c->signing_time_skew, skew, sizeof(skew));
		snprintf(buf + n, len - n, ", signing times within %s of now", skew);
	}
	n = strlen(buf);
	if (!c->web_origins_set && !c->web_origins_ask)
		return;   /* the default: no web page may ask */
	if (c->nweb_origins > 0)
		snprintf(buf + n, len - n, ", %zu web origin(s) allowed, others %s",
		    c->nweb_origins, c->web_origins_ask ? "asked" : "refused");
	else
		snprintf(buf + n, len - n, ", no web origin allowed, others %s",
		    c->web_origins_ask ? "asked" : "refused");
}
