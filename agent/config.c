/*
 * config.c — kysod's configuration files (see config.h): each file is read into a
 * "layer" with libinih, every value checked as it is read; then the admin layer is laid
 * over the defaults and the user layer over that, tighten-only where the admin spoke.
 *
 * libinih reads lines through our reader, which counts them (the handler gets no line
 * number), refuses over-long lines (inih would split them) and sees section lines, which
 * inih does not report when they hold no key: "[kysdo]" alone must still be an error.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "config_layer.h"
#include "kyso_err.h"
#include "log.h"
#include "origin.h"

#define FILE_MAX (64 * 1024)

#define F(field) offsetof(struct kysod_config, field)
const struct config_keydef config_keys[K_COUNT] = {
	[K_LOGIN_CACHE] = { "login_cache", T_BOOL, R_AND, F(login_cache), 0 },
	[K_IDLE_TTL] = { "login_idle_ttl", T_TTL, R_MIN, F(login_idle_ttl), 0 },
	[K_MAX_TTL] = { "login_max_ttl", T_TTL, R_MIN, F(login_max_ttl), 0 },
	[K_CLIENT_PIN] = { "client_pin", T_BOOL, R_AND, F(client_pin), 0 },
	[K_CONFIRM] = { "confirm", T_BOOL, R_OR, F(confirm), 0 },
	[K_PINENTRY] = { "pinentry", T_PROGRAM, R_FIXED, F(pinentry), F(pinentry_fixed) },
	[K_PINENTRY_TIMEOUT] = { "pinentry_timeout", T_TIMEOUT, R_MIN, F(pinentry_timeout), 0 },
	[K_MODULES] = { "modules", T_MODULES, R_LIST, F(modules), F(modules_set) },
	[K_LOG_LEVEL] = { "log_level", T_LEVEL, R_OVERRIDE, F(log_level), F(log_level_set) },
	[K_AUDIT_LOG] = { "audit_log", T_PATH, R_FIXED, F(audit_log), F(audit_log_fixed) },
	[K_WEB_ORIGINS] = { "web_origins", T_ORIGINS, R_LIST, F(web_origins),
	    F(web_origins_set) },
	[K_WEB_UNKNOWN] = { "web_origins_unknown", T_ASK, R_AND, F(web_origins_ask), 0 },
	[K_SIGNING_TIME_SKEW] = { "signing_time_skew", T_TTL, R_MIN, F(signing_time_skew),
	    0 },
	/* the user may lower it, not raise it ("auto" counts as unlimited) */
	[K_SESSIONS] = { "sessions_per_token", T_COUNT, R_MIN, F(sessions_per_token), 0 },
};

/* The state of one file's parse. */
struct parse {
	struct config_layer *l;
	struct config_strv *warnings;
	const char *pos, *end;      /* the rest of the file's text */
	int lineno;                 /* the line inih works on */
	int prev_key;               /* a key came before this line in this section */
	int continuation;           /* inih takes this line as the previous value's next line */
	int rc, err_line;           /* the first error, and its line */
	char *err;
	size_t errlen;
};

int
config_strv_push(struct config_strv *s, char *str)
{
	char **v = str != NULL ? realloc(s->v, (s->n + 1) * sizeof(*v)) : NULL;

	if (v == NULL) {
		free(str);
		return KYSO_ERR_NOMEM;
	}
	v[s->n++] = str;
	s->v = v;
	return KYSO_OK;
}

void
config_strv_free(struct config_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

int
config_warnf(struct config_strv *w, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return config_strv_push(w, n < 0 ? NULL : s);
}

/* Records the first error, "FILE line N: ...", and returns 0 (the handler's "failed"). */
static int fail(struct parse *p, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
fail(struct parse *p, int rc, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->rc != KYSO_OK)
		return 0;
	p->rc = rc;
	p->err_line = p->lineno;
	n = snprintf(p->err, p->errlen, "%s line %d: ", p->l->path, p->lineno);
	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return 0;
}

/* ---- values ---- */

static int
parse_bool(struct parse *p, const char *key, const char *v, long *out)
{
	static const char *const words[] = { "no", "yes", "false", "true", "off", "on", "0", "1" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcasecmp(v, words[i]) == 0)
			return *out = (long)(i % 2), 1;
	return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not a boolean (use yes or no, true or "
	    "false, on or off, 1 or 0)", key, v);
}

/* "auto" (CONFIG_UNLIMITED) or 1..CONFIG_SESSIONS_MAX */
static int
parse_count(struct parse *p, const char *key, const char *v, long *out)
{
	char *end;
	long n;

	if (strcasecmp(v, "auto") == 0)
		return *out = CONFIG_UNLIMITED, 1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] >= '0' && v[0] <= '9' && *end == '\0' && errno == 0 && n >= 1 &&
	    n <= CONFIG_SESSIONS_MAX)
		return *out = n, 1;
	return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not 'auto' or a number of sessions "
	    "from 1 to %d", key, v, CONFIG_SESSIONS_MAX);
}

static int
parse_time(struct parse *p, const char *key, const char *v, long *out, int zero_ok)
{
	int r = config_parse_duration(v, out);

	if (r == KYSO_ERR_TOO_LARGE)
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is longer than 30 days (use "
		    "'unlimited' for no limit)", key, v);
	if (r != KYSO_OK)
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not a duration (use e.g. 300, "
		    "90s, 15m, 8h, 1d or 'unlimited')", key, v);
	if (*out == 0 && !zero_ok)
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not a timeout (use 'unlimited' "
		    "to wait without limit)", key, v);
	return 1;
}

/* An absolute path; with program, also a program name; with spaces_ok, "%h/...". 1/0. */
static int
check_path(struct parse *p, const char *key, const char *v, int program, int spaces_ok)
{
	if (v[0] == '"' || v[0] == '\'')
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: write the value without quotes", key);
	for (const char *s = v; *s != '\0'; s++) {
		if (iscntrl((unsigned char)*s))
			return fail(p, KYSO_ERR_INVALID_ARG, "%s: the value contains a control "
			    "character", key);
		if (*s == ' ' && !spaces_ok)
			return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' contains a space (name one "
			    "program, without arguments)", key, v);
	}
	if (spaces_ok && strncmp(v, "%h/", 3) == 0)
		return 1;
	if (v[0] != '/' && (!program || strchr(v, '/') != NULL))
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not an absolute path%s", key, v,
		    program ? " nor a program name" : spaces_ok ? " nor one under %h/" : "");
	return 1;
}

/* Adds the space-separated module paths of v to the layer's list, as real paths. */
static int
parse_modules(struct parse *p, const char *v)
{
	struct config_layer *l = p->l;
	char *copy = strdup(v), *save = NULL, *tok, *real;
	int ok = 1, dup;

	if (copy == NULL)
		return fail(p, KYSO_ERR_NOMEM, "out of memory");
	for (tok = strtok_r(copy, " \t", &save); ok && tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (!(ok = check_path(p, "modules", tok, 0, 0)))
			break;
		if ((real = realpath(tok, NULL)) == NULL &&
		    (config_warnf(p->warnings, "%s line %d: modules: '%s' cannot be resolved (%s); kept "
		    "as written", l->path, p->lineno, tok, strerror(errno))
		    != KYSO_OK || (real = strdup(tok)) == NULL)) {
			ok = fail(p, KYSO_ERR_NOMEM, "out of memory");
			break;
		}
		dup = 0;
		for (size_t i = 0; i < l->modules.n && !dup; i++)
			dup = strcmp(l->modules.v[i], real) == 0;
		if (dup)
			free(real);
		else if (config_strv_push(&l->modules, real) != KYSO_OK ||
		    config_strv_push(&l->written, strdup(tok)) != KYSO_OK)
			ok = fail(p, KYSO_ERR_NOMEM, "out of memory");
	}
	free(copy);
	return ok;
}

/* Adds the space-separated origins and patterns of v to the layer's web_origins. */
static int
parse_origins(struct parse *p, const char *v)
{
	struct config_strv *o = &p->l->origins;
	char *copy = strdup(v), *save = NULL, *tok, norm[ORIGIN_MAX + 1];
	const char *why;
	int ok = 1, dup, r;

	if (copy == NULL)
		return fail(p, KYSO_ERR_NOMEM, "out of memory");
	for (tok = strtok_r(copy, " \t", &save); ok && tok != NULL;
	    tok = strtok_r(NULL, " \t", &save)) {
		if (strcasecmp(tok, "none") == 0)
			continue;   /* "web_origins = none": the key is set, to no page */
		if ((r = origin_normalize(tok, ORIGIN_PATTERN | ORIGIN_SLASH_OK, norm,
		    sizeof(norm), &why)) != KYSO_OK) {
			ok = fail(p, KYSO_ERR_INVALID_ARG, "web_origins: '%.80s%s' is not an origin "
			    "(https://host[:port] or https://*.domain[:port]): %s", tok,
			    strlen(tok) > 80 ? "..." : "", why);
			break;
		}
		dup = 0;
		for (size_t i = 0; i < o->n && !dup; i++)
			dup = strcmp(o->v[i], norm) == 0;
		if (!dup && config_strv_push(o, strdup(norm)) != KYSO_OK)
			ok = fail(p, KYSO_ERR_NOMEM, "out of memory");
	}
	free(copy);
	return ok;
}

/* ---- reading a file ---- */

/* libinih's fgets: one line of the file per call, noting what inih will make of it. */
static char *
reader(char *str, int num, void *stream)
{
	struct parse *p = stream;
	const char *nl, *s, *e;
	size_t len;
	int indented;

	if (p->rc != KYSO_OK || p->pos >= p->end || num < 3)
		return NULL;
	nl = memchr(p->pos, '\n', (size_t)(p->end - p->pos));
	len = nl != NULL ? (size_t)(nl - p->pos) + 1 : (size_t)(p->end - p->pos);
	p->lineno++;
	if (len > (size_t)num - 1 || memchr(p->pos, '\0', len) != NULL) {
		if (len > (size_t)num - 1)
			fail(p, KYSO_ERR_INVALID_ARG, "the line is longer than %d characters (a "
			    "long modules list may continue on indented lines)", num - 2);
		else
			fail(p, KYSO_ERR_INVALID_ARG, "a NUL byte: this is not a text file");
		return NULL;
	}
	memcpy(str, p->pos, len);
	str[len] = '\0';
	p->pos += len;
	s = str;
	if (p->lineno == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	indented = *s != '\0' && isspace((unsigned char)*s);
	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	p->continuation = indented && p->prev_key && *s != '\0' && strchr(";#", *s) == NULL;
	if (*s == '[' && !p->continuation) {
		p->prev_key = 0;
		e = strchr(s, ']');
		if (e == NULL)
			return str;   /* inih reports the syntax error */
		if (e - s - 1 != 5 || strncmp(s + 1, "kysod", 5) != 0) {
			fail(p, KYSO_ERR_INVALID_ARG, "unknown section [%.*s] (keys go before any "
			    "section or under [kysod])", (int)(e - s - 1), s + 1);
			return NULL;
		}
	}
	return str;
}

static int
handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct config_layer *l = p->l;
	int k;

	if (p->rc != KYSO_OK)
		return 0;
	p->prev_key = 1;
	if (section[0] != '\0' && strcmp(section, "kysod") != 0)
		return fail(p, KYSO_ERR_INVALID_ARG, "unknown section [%s]", section);
	for (k = 0; k < K_COUNT && strcmp(name, config_keys[k].name) != 0; k++)
		;
	if (k == K_COUNT)
		return fail(p, KYSO_ERR_INVALID_ARG, "unknown key '%s'", name);
	if (p->continuation)
		return k == K_MODULES ? parse_modules(p, value) : k == K_WEB_ORIGINS ?
		    parse_origins(p, value) : fail(p, KYSO_ERR_INVALID_ARG, "%s: only modules "
		    "and web_origins may continue on an indented line", name);
	if (l->line[k] != 0)
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: set twice (first on line %d)", name,
		    l->line[k]);
	if (value[0] == '\0')
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: no value", name);
	l->line[k] = p->lineno;
	switch (config_keys[k].type) {
	case T_BOOL: return parse_bool(p, name, value, &l->v[k]);
	case T_TTL: return parse_time(p, name, value, &l->v[k], 1);
	case T_TIMEOUT: return parse_time(p, name, value, &l->v[k], 0);
	case T_COUNT: return parse_count(p, name, value, &l->v[k]);
	case T_MODULES: return parse_modules(p, value);
	case T_ORIGINS: return parse_origins(p, value);
	case T_ASK:
		if (strcasecmp(value, "deny") == 0 || strcasecmp(value, "ask") == 0)
			return l->v[k] = strcasecmp(value, "ask") == 0, 1;
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is neither deny nor ask", name,
		    value);
	case T_LEVEL:
		if ((l->v[k] = log_level_parse(value)) >= 0)
			return 1;
		return fail(p, KYSO_ERR_INVALID_ARG, "%s: '%s' is not a log level (use error, "
		    "warning, info or debug)", name, value);
	case T_PROGRAM:
		if (strcasecmp(value, CONFIG_PINENTRY_NONE) == 0)
			value = CONFIG_PINENTRY_NONE;
		else if (!check_path(p, name, value, 1, 0))
			return 0;
		break;
	case T_PATH:
		if (!check_path(p, name, value, 0, 1))
			return 0;
		break;
	}
	return (l->s[k] = strdup(value)) != NULL ? 1 : fail(p, KYSO_ERR_NOMEM, "out of memory");
}

/* Reads l->path into l. A missing file sets nothing, unless required. */
static int
load_layer(struct config_layer *l, int required, struct config_strv *w, char *err, size_t errlen)
{
	struct parse p = { .l = l, .warnings = w, .err = err, .errlen = errlen };
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int fd, line, rc = KYSO_OK;
	FILE *f = NULL;

	if ((fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0 &&
	    errno == ENOENT && !required)
		return KYSO_OK;
	if (fd < 0 || (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", l->path, strerror(errno));
		rc = KYSO_ERR_IO;
	} else if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read: not a regular file", l->path);
		rc = KYSO_ERR_IO;
	} else if ((data = malloc(FILE_MAX + 1)) == NULL)
		rc = KYSO_ERR_NOMEM;
	else if ((len = fread(data, 1, FILE_MAX + 1, f)), ferror(f)) {
		snprintf(err, errlen, "%s: cannot read: %s", l->path, strerror(errno));
		rc = KYSO_ERR_IO;
	} else if (len > FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d KiB", l->path, FILE_MAX / 1024);
		rc = KYSO_ERR_INVALID_ARG;
	}
	if (f != NULL)
		fclose(f);
	else if (fd >= 0)
		close(fd);
	if (rc == KYSO_OK) {
		p.pos = data;
		p.end = data + len;
		line = ini_parse_stream(reader, &p, handler, &p);
		if (p.rc != KYSO_OK && (line <= 0 || line >= p.err_line))
			rc = p.rc;   /* inih stops when we do: the first error is ours */
		else if (line != 0) {
			snprintf(err, errlen, "%s line %d: syntax error (expected 'key = value', "
			    "[kysod] or a comment)", l->path, line);
			rc = line == -2 ? KYSO_ERR_NOMEM : KYSO_ERR_INVALID_ARG;
		}
	}
	if (rc == KYSO_ERR_NOMEM)
		snprintf(err, errlen, "%s: out of memory", l->path);
	free(data);
	return rc;
}

static void
layer_free(struct config_layer *l)
{
	for (int k = 0; k < K_COUNT; k++)
		free(l->s[k]);
	config_strv_free(&l->modules);
	config_strv_free(&l->written);
	config_strv_free(&l->origins);
}

/* ---- the API ---- */

int
config_defaults(struct kysod_config *c)
{
	memset(c, 0, sizeof(*c));
	c->login_cache = 1;
	c->login_idle_ttl = 600;
	c->login_max_ttl = 7200;
	c->signing_time_skew = CONFIG_SIGNING_TIME_SKEW_DEFAULT;
	c->client_pin = 1;
	c->pinentry_timeout = 60;
	c->sessions_per_token = CONFIG_UNLIMITED;  /* auto */
	c->log_level = LOG_LVL_INFO;
	c->pinentry = strdup("pinentry");
	return c->pinentry != NULL ? KYSO_OK : KYSO_ERR_NOMEM;
}

int
config_override_pinentry(struct kysod_config *c, const char *prog)
{
	char *copy;

	if (c->pinentry_fixed)
		return 0;
	if ((copy = strdup(prog)) == NULL)
		return KYSO_ERR_NOMEM;
	free(c->pinentry);
	c->pinentry = copy;
	return 1;
}

int
config_load(struct kysod_config *c, const char *admin_path, const char *user_path,
    unsigned flags, char *err, size_t errlen)
{
	struct config_layer a = { .path = admin_path }, u = { .path = user_path };
	struct config_strv w = { 0 };
	char upath[PATH_MAX];
	const char *env = secure_getenv(CONFIG_ADMIN_ENV);
	int rc;

	if (errlen > 0)
		err[0] = '\0';
	config_free(c);
	rc = config_defaults(c);
	if (rc == KYSO_OK && a.path == NULL) {
		a.path = config_admin_path();
		if (env != NULL && env[0] != '\0' && getuid() != 0)
			rc = config_warnf(&w, "%s=%s ignored: only root may name another admin file; "
			    "reading %s", CONFIG_ADMIN_ENV, env, a.path);
	}
	if (rc == KYSO_OK && u.path == NULL) {
		if (config_user_path(upath, sizeof(upath)) == KYSO_OK)
			u.path = upath;
		else
			rc = config_warnf(&w, "no home directory: no user configuration file is read");
	}
	if (rc == KYSO_OK)
		rc = load_layer(&a, 0, &w, err, errlen);
	if (rc == KYSO_OK && u.path != NULL)
		rc = load_layer(&u, (flags & CONFIG_USER_REQUIRED) != 0, &w, err, errlen);
	if (rc == KYSO_OK)
		rc = config_merge_layers(c, &a, &u, &w);
	if (c->login_idle_ttl == 0 || c->login_max_ttl == 0)
		c->login_cache = 0;
	layer_free(&a);
	layer_free(&u);
	if (rc != KYSO_OK) {
		if (rc == KYSO_ERR_NOMEM && errlen > 0 && err[0] == '\0')
			snprintf(err, errlen, "out of memory");
		config_strv_free(&w);
		config_free(c);
		config_defaults(c);
		return rc;
	}
	c->warnings = w.v;
	c->nwarnings = w.n;
	return KYSO_OK;
}

int
config_module_allowed(const struct kysod_config *c, const char *path)
{
	char *real;
	int ok = 0;

	if (!c->modules_set)
		return 1;
	real = realpath(path, NULL);
	for (size_t i = 0; i < c->nmodules && !ok; i++)
		ok = strcmp(real != NULL ? real : path, c->modules[i]) == 0;
	free(real);
	return ok;
}

void
config_free(struct kysod_config *c)
{
	struct config_strv m, w;

	if (c == NULL)
		return;
	m = (struct config_strv){ c->modules, c->nmodules };
	w = (struct config_strv){ c->warnings, c->nwarnings };
	config_strv_free(&m);
	config_strv_free(&w);
	m = (struct config_strv){ c->web_origins, c->nweb_origins };
	config_strv_free(&m);
	free(c->pinentry);
	free(c->audit_log);
	memset(c, 0, sizeof(*c));
}
