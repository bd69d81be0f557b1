/*
 * config_layer.h — inside kysod's configuration (config.c reads the files, config_merge.c
 * lays them over each other): the table of keys, one file's settings ("layer"), and the
 * small string lists both use. Not for the rest of the agent: config.h is its interface.
 */
#ifndef KYSO_CONFIG_LAYER_H
#define KYSO_CONFIG_LAYER_H

#include <stddef.h>

#include "config.h"

enum config_key {
	K_LOGIN_CACHE, K_IDLE_TTL, K_MAX_TTL, K_CLIENT_PIN, K_CONFIRM, K_PINENTRY,
	K_PINENTRY_TIMEOUT, K_MODULES, K_LOG_LEVEL, K_AUDIT_LOG, K_WEB_ORIGINS, K_WEB_UNKNOWN,
	K_SIGNING_TIME_SKEW, K_SESSIONS, K_COUNT
};
enum config_type { T_BOOL, T_TTL, T_TIMEOUT, T_PROGRAM, T_PATH, T_MODULES, T_LEVEL, T_ORIGINS,
	T_ASK, T_COUNT };
/* what the user file may do to a key the admin file set (R_LIST: keep the user's entries
 * the admin's list covers) */
enum config_rule { R_AND, R_OR, R_MIN, R_FIXED, R_LIST, R_OVERRIDE };

struct config_keydef {
	const char *name;
	enum config_type type;
	enum config_rule rule;
	size_t field, fixed;   /* where it goes in struct kysod_config; its _fixed flag */
};
/* The keys kysod.conf knows, indexed by enum config_key (config.c). */
extern const struct config_keydef config_keys[K_COUNT];
#define FIELD(c, k, type) ((type *)((char *)(c) + config_keys[k].field))

struct config_strv {
	char **v;
	size_t n;
};

/* One file's settings: line[k] is where key k was set (0: not set), v[k] its number or
 * boolean, s[k] its string; modules the real paths of `modules`, written as written;
 * origins the normalised web_origins. */
struct config_layer {
	const char *path;
	int line[K_COUNT];
	long v[K_COUNT];
	char *s[K_COUNT];
	struct config_strv modules, written, origins;
};

/* Appends str to s (taken; freed on failure; NULL means out of memory). KYSO_OK or
 * KYSO_ERR_NOMEM. */
int config_strv_push(struct config_strv *s, char *str);

/* Frees s's strings and array and empties it. */
void config_strv_free(struct config_strv *s);

/* Appends a warning made from fmt to w. KYSO_OK or KYSO_ERR_NOMEM. */
int config_warnf(struct config_strv *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Lays admin layer a over the defaults in c, then user layer u over that, tighten-only
 * where a set a key (what u may not loosen is dropped with a warning in w); takes strings
 * and lists out of the layers. KYSO_OK or KYSO_ERR_NOMEM.
 */
int config_merge_layers(struct kysod_config *c, struct config_layer *a, struct config_layer *u,
    struct config_strv *w);

#endif
