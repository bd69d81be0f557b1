/*
 * admin_provision.c — kyso-admin provision: a new token from an INI profile in one go
 * (init, SO PIN and user PIN, keygen, certificate request into a directory).
 *
 * The profile (kyso-admin(1), docs/examples/provision.ini):
 *   [token]   label = TEMPLATE                 (at most 32 bytes once expanded)
 *   [pin]     min_length = N                   (new SO and user PINs)
 *   [key]     type = rsa:2048|...|ed25519, label = TEMPLATE, id = HEX (optional)
 *   [subject] template = DN TEMPLATE, san = TEMPLATE (repeatable)
 * TEMPLATE text may name values given with --set NAME=VALUE as ${NAME}.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <ini.h>
#include <jansson.h>
#include <openssl/x509.h>

#include "admin.h"
#include "csr.h"
#include "encode.h"
#include "kyso_err.h"
#include "secret.h"

#define PROFILE_MAX_SANS 16
#define TEXT_MAX 1024

struct profile {
	char token_label[TEXT_MAX];
	unsigned min_pin;
	char key_type[32];
	char key_label[TEXT_MAX];
	char key_id[2 * 64 + 1];
	char subject[TEXT_MAX];
	char sans[PROFILE_MAX_SANS][TEXT_MAX];
	size_t nsans;
	char err[300];  /* the first error while reading */
	const struct admin *a;
};

/* Copies the value of --set NAME=... for name[len], or NULL. */
static const char *
set_value(const struct admin *a, const char *name, size_t len)
{
	for (size_t i = 0; i < a->nsets; i++)
		if (strncmp(a->sets[i], name, len) == 0 && a->sets[i][len] == '=')
			return a->sets[i] + len + 1;
	return NULL;
}

/* Expands ${NAME} in in into out; "$$" is a dollar sign. Returns 0 or -1 with p->err. */
static int
expand(struct profile *p, const char *key, const char *in, char *out, size_t outlen)
{
	size_t n = 0;

	for (const char *s = in; *s != '\0';) {
		const char *add = s, *end;
		size_t len = 1;

		if (s[0] == '$' && s[1] == '$') {
			s += 2;
		} else if (s[0] == '$' && s[1] == '{') {
			if ((end = strchr(s + 2, '}')) == NULL) {
				snprintf(p->err, sizeof(p->err), _("%s: '${' without '}'"), key);
				return -1;
			}
			if ((add = set_value(p->a, s + 2, (size_t)(end - s - 2))) == NULL) {
				snprintf(p->err, sizeof(p->err), _("%s uses ${%.*s}: give it with --set "
				    "%.*s=VALUE"), key, (int)(end - s - 2), s + 2, (int)(end - s - 2),
				    s + 2);
				return -1;
			}
			len = strlen(add);
			s = end + 1;
		} else {
			s++;
		}
		if (n + len >= outlen) {
			snprintf(p->err, sizeof(p->err), _("%s is too long"), key);
			return -1;
		}
		memcpy(out + n, add, len);
		n += len;
	}
	out[n] = '\0';
	return 0;
}

/* inih's handler: one "name = value" in a section. Returns 1 to go on, 0 on an error. */
static int
profile_entry(void *user, const char *section, const char *name, const char *value)
{
	struct profile *p = user;
	char key[80];
	char *end;
	long v;

	if (p->err[0] != '\0')
		return 0;
	snprintf(key, sizeof(key), "[%s] %s", section, name);
	if (strcmp(section, "token") == 0 && strcmp(name, "label") == 0)
		return expand(p, key, value, p->token_label, sizeof(p->token_label)) == 0;
	if (strcmp(section, "pin") == 0 && strcmp(name, "min_length") == 0) {
		v = strtol(value, &end, 10);
		if (*value == '\0' || *end != '\0' || v < 1 || v > 256) {
			snprintf(p->err, sizeof(p->err), _("%s wants a number from 1 to 256, not '%s'"),
			    key, value);
			return 0;
		}
		p->min_pin = (unsigned)v;
		return 1;
	}
	if (strcmp(section, "key") == 0 && strcmp(name, "type") == 0) {
		snprintf(p->key_type, sizeof(p->key_type), "%s", value);
		return 1;
	}
	if (strcmp(section, "key") == 0 && strcmp(name, "label") == 0)
		return expand(p, key, value, p->key_label, sizeof(p->key_label)) == 0;
	if (strcmp(section, "key") == 0 && strcmp(name, "id") == 0) {
		if (strlen(value) >= sizeof(p->key_id)) {
			snprintf(p->err, sizeof(p->err), _("%s: at most 64 bytes in hex"), key);
			return 0;
		}
		snprintf(p->key_id, sizeof(p->key_id), "%s", value);
		return 1;
	}
	if (strcmp(section, "subject") == 0 && strcmp(name, "template") == 0)
		return expand(p, key, value, p->subject, sizeof(p->subject)) == 0;
	if (strcmp(section, "subject") == 0 && strcmp(name, "san") == 0) {
		if (p->nsans == PROFILE_MAX_SANS) {
			snprintf(p->err, sizeof(p->err), _("at most %d san entries"),
			    PROFILE_MAX_SANS);
			return 0;
		}
		return expand(p, key, value, p->sans[p->nsans++], TEXT_MAX) == 0;
	}
	snprintf(p->err, sizeof(p->err), _("unknown setting %s"), key);
	return 0;
}

/* Reads and checks the profile. Prints why on failure and returns an exit code. */
static int
profile_read(struct admin *a, struct profile *p, enum p11_key_type *type,
    unsigned char **id, size_t *id_len)
{
	X509_NAME *name = NULL;
	GENERAL_NAMES *gn = NULL;
	const char *sans[PROFILE_MAX_SANS];
	char err[512];
	int line, r;

	memset(p, 0, sizeof(*p));
	p->a = a;
	for (size_t i = 0; i < a->nsets; i++)
		if (strchr(a->sets[i], '=') == NULL || a->sets[i][0] == '=') {
			fprintf(stderr, _("kyso-admin provision: --set wants NAME=VALUE, not '%s'\n"),
			    a->sets[i]);
			return AX_USAGE;
		}
	line = ini_parse(a->profile, profile_entry, p);
	if (line < 0) {
		fprintf(stderr, _("kyso-admin provision: cannot read the profile %s: %s\n"),
		    a->profile, line == -1 ? strerror(errno) : _("out of memory"));
		return AX_USAGE;
	}
	if (line > 0) {
		fprintf(stderr, _("kyso-admin provision: %s, line %d: %s\n"), a->profile, line,
		    p->err[0] != '\0' ? p->err : _("not a valid INI line"));
		return AX_USAGE;
	}
	if (p->token_label[0] == '\0' || strlen(p->token_label) > 32) {
		fprintf(stderr, _("kyso-admin provision: %s: [token] label is required (1 to 32 "
		    "bytes once expanded)\n"), a->profile);
		return AX_USAGE;
	}
	if (p->key_type[0] == '\0' || p11_key_type_parse(p->key_type, type) != KYSO_OK) {
		if (p->key_type[0] != '\0')
			fprintf(stderr, _("kyso-admin provision: %s: [key] type is one of "
			    "rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384, ed25519, not %s; nothing "
			    "was changed\n"), a->profile, p->key_type);
		else
			fprintf(stderr, _("kyso-admin provision: %s: [key] type is one of "
			    "rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384, ed25519; nothing was "
			    "changed\n"), a->profile);
		return AX_USAGE;
	}
	if (p->key_label[0] == '\0')
		snprintf(p->key_label, sizeof(p->key_label), "%s", p->token_label);
	if (p->subject[0] == '\0') {
		fprintf(stderr, _("kyso-admin provision: %s: [subject] template is required\n"),
		    a->profile);
		return AX_USAGE;
	}
	for (size_t i = 0; i < p->nsans; i++)
		sans[i] = p->sans[i];
	if ((r = csr_parse_subject(p->subject, &name, err, sizeof(err))) != KYSO_OK ||
	    (r = csr_parse_sans(sans, p->nsans, &gn, err, sizeof(err))) != KYSO_OK) {
		X509_NAME_free(name);
		fprintf(stderr, _("kyso-admin provision: %s: %s; nothing was changed\n"), a->profile,
		    err);
		return AX_USAGE;
	}
	X509_NAME_free(name);
	GENERAL_NAMES_free(gn);
	if (p->key_id[0] != '\0') {
		if (hex_decode(p->key_id, id, id_len) != KYSO_OK || *id_len == 0) {
			fprintf(stderr, _("kyso-admin provision: %s: [key] id wants hex, not '%s'\n"),
			    a->profile, p->key_id);
			return AX_USAGE;
		}
	} else if ((*id = malloc(20)) == NULL || getrandom(*id, 20, 0) != 20) {
		fprintf(stderr, _("kyso-admin provision: no random bytes for the key id\n"));
		return AX_ERROR;
	} else {
		*id_len = 20;
	}
	if (p->min_pin > a->min_pin)
		a->min_pin = p->min_pin;
	return AX_OK;
}


/*
 * --out DIR: an existing directory, or one to create (0700: the records name the
 * officers) whose parent exists. Sets *missing when it must be created. Returns AX_OK or
 * AX_USAGE (with a message).
 */
static int
out_dir_check(const char *dir, int *missing)
{
	char parent[4096], *slash;
	struct stat st;

	*missing = 0;
	if (stat(dir, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return AX_OK;
		fprintf(stderr, _("kyso-admin provision: --out %s exists and is not a directory\n"),
		    dir);
		return AX_USAGE;
	}
	if (errno != ENOENT) {
		fprintf(stderr, _("kyso-admin provision: --out %s: %s\n"), dir, strerror(errno));
		return AX_USAGE;
	}
	if (strlen(dir) >= sizeof(parent)) {
		fprintf(stderr, _("kyso-admin provision: --out %s: the path is too long\n"), dir);
		return AX_USAGE;
	}
	snprintf(parent, sizeof(parent), "%s", dir);
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' && slash != parent)
		*slash = '\0';  /* requests/ names requests */
	if ((slash = strrchr(parent, '/')) == NULL)
		snprintf(parent, sizeof(parent), ".");
	else
		slash[slash == parent] = '\0';  /* "/x" keeps "/" */
	if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, _("kyso-admin provision: --out %s: its parent %s is not a "
		    "directory (only the last part is created)\n"), dir, parent);
		return AX_USAGE;
	}
	*missing = 1;
	return AX_OK;
}

/* DIR/<serial>.json: what was provisioned. */
static int
record_write(struct admin *a, const struct admin_target *t, const struct profile *p,
    const char *id_hex, const char *csr_path, const char *path)
{
	json_t *sans = json_array(), *j;
	int ok;

	for (size_t i = 0; i < p->nsans; i++)
		json_array_append_new(sans, json_string(p->sans[i]));
	j = json_pack("{s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s},s:s,s:o,s:s,s:I}", "serial",
	    t->d.token.serial, "label", t->d.token.label, "manufacturer",
	    t->d.token.manufacturer, "model", t->d.token.model, "key", "id", id_hex, "type",
	    p->key_type, "label", p->key_label, "subject", p->subject, "sans", sans, "csr",
	    csr_path, "min_pin_length", (json_int_t)a->min_pin);
	ok = j != NULL && json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0;
	json_decref(j);
	if (!ok) {
		fprintf(stderr, _("kyso-admin provision: cannot write %s\n"), path);
		return AX_ERROR;
	}
	return AX_OK;
}

int
cmd_provision(struct admin *a)
{
	struct profile *p;
	struct admin_target t;
	struct kyso_secret *so = NULL, *user = NULL;
	struct p11_session *s = NULL;
	struct p11_fail f;
	const char *sans[PROFILE_MAX_SANS];
	enum p11_key_type type;
	unsigned char *id = NULL;
	size_t id_len = 0;
	unsigned types;
	char hex[2 * 64 + 1] = "", csr_path[4096], json_path[4096];
	int rc, r, out_missing = 0;

	if (a->profile == NULL || a->out == NULL) {
		fprintf(stderr, _("kyso-admin provision: --profile FILE and --out DIR are required\n"));
		return AX_USAGE;
	}
	if (a->slot < 0 && a->token == NULL) {
		fprintf(stderr, _("kyso-admin provision: name the token with --token LABEL|SERIAL "
		    "or the slot with --slot N (see kyso-admin tokens)\n"));
		return AX_USAGE;
	}
	if ((rc = out_dir_check(a->out, &out_missing)) != AX_OK)
		return rc;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return AX_ERROR;
	/* everything is checked, and the PINs read against the policy, before the token is
	 * touched */
	if ((rc = profile_read(a, p, &type, &id, &id_len)) != AX_OK)
		goto out;
	if (id_len <= 64)
		hex_encode(id, id_len, hex);
	if ((rc = admin_find_target(a, &t, 1)) != AX_OK)
		goto out;
	if (!t.d.token_present) {
		fprintf(stderr, _("kyso-admin provision: slot %lu holds no token\n"), t.d.slot);
		rc = AX_NOT_FOUND;
		goto out;
	}
	if ((r = p11_slot_keygen_types(t.m, t.d.slot, &types, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("cannot read the token's mechanisms"), r, &f);
		goto out;
	}
	if (!(types & (1u << type))) {
		fprintf(stderr, _("kyso-admin provision: the token cannot generate %s keys (the "
		    "profile's [key] type); nothing was changed\n"), p->key_type);
		rc = AX_REFUSED;
		goto out;
	}
	if ((rc = admin_read_pin(a, a->so_pin_file, "--so-pin-file", _("SO PIN"),
	    !(t.d.token.flags & P11_TOKEN_INITIALIZED), &t.d, &so)) != AX_OK ||
	    (rc = admin_read_pin(a, a->new_pin_file, "--new-pin-file", _("user PIN"), 1, &t.d,
	    &user)) != AX_OK)
		goto out;
	/* the last step before the token changes: a directory that cannot be made stops here */
	if (out_missing && mkdir(a->out, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, _("kyso-admin provision: cannot create --out %s: %s; nothing was "
		    "changed\n"), a->out, strerror(errno));
		rc = AX_ERROR;
		goto out;
	}
	if ((rc = admin_init_token(a, &t, p->token_label, so, user, 1)) != AX_OK)
		goto out;
	printf(_("token %s initialised; SO PIN and user PIN set\n"), admin_token_name(&t.d.token));
	if ((rc = admin_open_session(a, &t, &s)) != AX_OK)
		goto out;
	if ((r = p11_session_login(s, user, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("user PIN"), r, &f);
		goto out;
	}
	if ((r = p11_session_keygen(s, type, id, id_len, p->key_label, &f)) != KYSO_OK) {
		rc = admin_fail(a, _("generating the key"), r, &f);
		goto out;
	}
	printf(_("generated a %s key pair '%s', id %s\n"), p->key_type, p->key_label, hex);
	snprintf(csr_path, sizeof(csr_path), "%s/%s.csr.pem", a->out, t.d.token.serial);
	snprintf(json_path, sizeof(json_path), "%s/%s.json", a->out, t.d.token.serial);
	for (size_t i = 0; i < p->nsans; i++)
		sans[i] = p->sans[i];
	if ((rc = admin_csr_write(a, &t, s, id, id_len, p->subject, sans, p->nsans, user,
	    csr_path)) != AX_OK)
		goto out;
	if ((rc = record_write(a, &t, p, hex, csr_path, json_path)) == AX_OK)
		printf(_("request %s\nrecord %s\n"), csr_path, json_path);
out:
	p11_session_close(s);
	secret_free(so);
	secret_free(user);
	free(id);
	free(p);
	return rc;
}
