/*
 * config_merge.c — kysod's configuration files laid over each other (see config_layer.h):
 * the admin file over the defaults, the user's file over that, tighten-only where the
 * admin spoke; what the user's file may not loosen is dropped with a warning.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_layer.h"
#include "kyso_err.h"
#include "origin.h"

static void
take_modules(struct kysod_config *c, struct config_strv *m)
{
	struct config_strv old = { c->modules, c->nmodules };

	config_strv_free(&old);
	c->modules = m->v;
	c->nmodules = m->n;
	m->v = NULL;
	m->n = 0;
}

static void
take_origins(struct kysod_config *c, struct config_strv *o)
{
	struct config_strv old = { c->web_origins, c->nweb_origins };

	config_strv_free(&old);
	c->web_origins = o->v;
	c->nweb_origins = o->n;
	o->v = NULL;
	o->n = 0;
}

/* Sets key k of c from layer l (taking its strings and list); admin: mark it fixed. */
static void
put(struct kysod_config *c, struct config_layer *l, int k, int admin)
{
	switch (config_keys[k].type) {
	case T_BOOL: case T_LEVEL: case T_ASK: *FIELD(c, k, int) = (int)l->v[k]; break;
	case T_TTL: case T_TIMEOUT: case T_COUNT: *FIELD(c, k, long) = l->v[k]; break;
	case T_MODULES: take_modules(c, &l->modules); break;
	case T_ORIGINS: take_origins(c, &l->origins); break;
	default:
		free(*FIELD(c, k, char *));
		*FIELD(c, k, char *) = l->s[k];
		l->s[k] = NULL;
	}
	if (config_keys[k].fixed != 0 && (admin || config_keys[k].rule == R_OVERRIDE || k == K_MODULES ||
	    k == K_WEB_ORIGINS))
		*(int *)((char *)c + config_keys[k].fixed) = 1;
}

/* x is a longer duration than y. */
static int
longer(long x, long y)
{
	return x == CONFIG_UNLIMITED ? y != CONFIG_UNLIMITED : y != CONFIG_UNLIMITED && x > y;
}

static const char *
show(int k, long v, char *buf, size_t len)
{
	if (config_keys[k].type == T_BOOL)
		return v ? "yes" : "no";
	if (config_keys[k].type == T_ASK)
		return v ? "ask" : "deny";
	if (config_keys[k].type == T_COUNT) {
		if (v == CONFIG_UNLIMITED)
			return "auto";
		snprintf(buf, len, "%ld", v);
		return buf;
	}
	config_format_duration(v, buf, len);
	return buf;
}

/* The user's list, cut to what the admin's (already in c) allows. */
static int
intersect(struct kysod_config *c, struct config_layer *u, const struct config_layer *a, struct config_strv *w)
{
	struct config_strv keep = { 0 };
	int rc = KYSO_OK;

	for (size_t i = 0; i < u->modules.n && rc == KYSO_OK; i++) {
		if (config_module_allowed(c, u->modules.v[i])) {
			rc = config_strv_push(&keep, u->modules.v[i]);
			u->modules.v[i] = NULL;
		} else
			rc = config_warnf(w, "%s line %d: modules: '%s' dropped: %s line %d does not allow "
			    "it", u->path, u->line[K_MODULES], u->written.v[i], a->path,
			    a->line[K_MODULES]);
	}
	if (rc == KYSO_OK && keep.n == 0)
		rc = config_warnf(w, "%s line %d: modules: %s line %d allows none of these: no module "
		    "will be used", u->path, u->line[K_MODULES], a->path, a->line[K_MODULES]);
	if (rc == KYSO_OK)
		take_modules(c, &keep);
	config_strv_free(&keep);
	return rc;
}

/* The user's web_origins, cut to the entries an admin entry covers (already in c). */
static int
intersect_origins(struct kysod_config *c, struct config_layer *u, const struct config_layer *a,
    struct config_strv *w)
{
	struct config_strv keep = { 0 };
	int rc = KYSO_OK, covered;

	for (size_t i = 0; i < u->origins.n && rc == KYSO_OK; i++) {
		covered = 0;
		for (size_t j = 0; j < c->nweb_origins && !covered; j++)
			covered = origin_pattern_within(u->origins.v[i], c->web_origins[j]);
		if (covered) {
			rc = config_strv_push(&keep, u->origins.v[i]);
			u->origins.v[i] = NULL;
		} else
			rc = config_warnf(w, "%s line %d: web_origins: '%s' dropped: %s line %d does not "
			    "allow it", u->path, u->line[K_WEB_ORIGINS], u->origins.v[i], a->path,
			    a->line[K_WEB_ORIGINS]);
	}
	if (rc == KYSO_OK)
		take_origins(c, &keep);
	config_strv_free(&keep);
	return rc;
}

int
config_merge_layers(struct kysod_config *c, struct config_layer *a, struct config_layer *u, struct config_strv *w)
{
	char ub[32], ab[32];
	const char *cs;
	int looser, rc = KYSO_OK;

	for (int k = 0; k < K_COUNT && rc == KYSO_OK; k++) {
		if (a->line[k] != 0)
			put(c, a, k, 1);
		if (u->line[k] == 0)
			continue;
		if (a->line[k] == 0 || config_keys[k].rule == R_OVERRIDE) {
			put(c, u, k, 0);
			continue;
		}
		cs = config_keys[k].rule == R_FIXED ? *FIELD(c, k, char *) : NULL;
		switch (config_keys[k].rule) {
		case R_AND: looser = u->v[k] && !a->v[k]; break;
		case R_OR: looser = !u->v[k] && a->v[k]; break;
		case R_MIN: looser = longer(u->v[k], a->v[k]); break;
		case R_FIXED: looser = strcmp(u->s[k], cs) != 0; break;
		default:   /* R_LIST */
			rc = k == K_MODULES ? intersect(c, u, a, w) : intersect_origins(c, u, a, w);
			continue;
		}
		if (!looser)
			put(c, u, k, 0);
		else if (config_keys[k].rule == R_FIXED)
			rc = config_warnf(w, "%s line %d: %s = %s ignored: %s line %d fixes it to %s",
			    u->path, u->line[k], config_keys[k].name, u->s[k], a->path, a->line[k], cs);
		else
			rc = config_warnf(w, "%s line %d: %s = %s ignored: it would loosen %s = %s set by "
			    "%s line %d", u->path, u->line[k], config_keys[k].name,
			    show(k, u->v[k], ub, sizeof(ub)), config_keys[k].name,
			    show(k, a->v[k], ab, sizeof(ab)), a->path, a->line[k]);
	}
	return rc;
}

