/*
 * kyso_cmds_cms.c — kyso sign-cms: files signed as CAdES-B-B CMS signatures (.p7s), all
 * of them in one SignDocuments batch (one consent). The files are hashed here; the agent
 * builds and signs the CMS; outputs are written to a temporary file beside them and
 * renamed, so that an output is whole or absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/evp.h>

#include "i18n.h"
#include "kyso_cli.h"

#define CMS_INPUTS_MAX 1000         /* the agent's cap on documents per call */
#define ATTACHED_MAX (1024L * 1024 * 1024)

struct cms_file {
	const char *in;
	char *out;
	unsigned char digest[64];
	size_t digest_len;
	int written;
};

struct cms_opts {
	const char *cert, *out, *out_dir, *digest, *alg, *description;
	const char *tsa, *tsa_ca;  /* --tsa: CAdES-B-T through libkyso-pdf's kyso_tsa */
	int attached, force, pin_stdin;
	struct cms_file *files;
	size_t n;
};

/* Hashes the file at path; prints why it cannot. Returns 0 or -1. */
static int
hash_file(const char *path, const EVP_MD *md, unsigned char *out, size_t *len)
{
	unsigned char buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	struct stat st;
	unsigned int n = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), rc = -1;

	if (fd < 0) {
		fprintf(stderr, _("kyso sign-cms: cannot open %s: %s\n"), path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, S_ISDIR(st.st_mode) ? _("kyso sign-cms: %s is not a regular file "
		    "(a directory)\n") : _("kyso sign-cms: %s is not a regular file\n"), path);
		goto out;
	}
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		goto out;
	while ((got = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1)
			goto out;
	if (got < 0) {
		fprintf(stderr, _("kyso sign-cms: cannot read %s: %s\n"), path, strerror(errno));
		goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &n) != 1)
		goto out;
	*len = n;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Each input's output path; refuses two inputs with one output, and outputs that exist. */
static int
plan_outputs(struct cms_opts *o)
{
	struct stat st;

	for (size_t i = 0; i < o->n; i++) {
		struct cms_file *f = &o->files[i];
		char *copy = strdup(f->in);

		if (copy == NULL)
			return EXIT_ERROR;
		if (o->out != NULL)
			f->out = strdup(o->out);
		else if (asprintf(&f->out, "%s/%s.p7s", o->out_dir, basename(copy)) < 0)
			f->out = NULL;
		free(copy);
		if (f->out == NULL)
			return EXIT_ERROR;
		for (size_t k = 0; k < i; k++)
			if (strcmp(o->files[k].out, f->out) == 0) {
				fprintf(stderr, _("kyso sign-cms: %s and %s would both be signed into "
				    "%s\n"), o->files[k].in, f->in, f->out);
				return EXIT_USAGE;
			}
		if (lstat(f->out, &st) == 0 && (!o->force || S_ISDIR(st.st_mode))) {
			fprintf(stderr, S_ISDIR(st.st_mode) ? _("kyso sign-cms: %s exists and is a "
			    "directory\n") : _("kyso sign-cms: %s exists; use --force to replace "
			    "it\n"), f->out);
			return EXIT_ERROR;
		}
	}
	return EXIT_OK;
}

/* The directory an output goes to must be there and writable. */
static int
check_out_dir(const char *out)
{
	char *copy = strdup(out), *dir;
	struct stat st;
	int rc = EXIT_OK;

	if (copy == NULL)
		return EXIT_ERROR;
	dir = dirname(copy);
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, errno == ENOENT ? _("kyso sign-cms: the output directory %s does "
		    "not exist\n") : _("kyso sign-cms: the output directory %s is not a "
		    "directory\n"), dir);
		rc = EXIT_ERROR;
	} else if (access(dir, W_OK) != 0) {
		fprintf(stderr, _("kyso sign-cms: cannot write in %s: %s\n"), dir, strerror(errno));
		rc = EXIT_ERROR;
	}
	free(copy);
	return rc;
}

/* Reads a whole file for --attached. Returns the bytes (malloc'd) or NULL (printed). */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rbe");
	unsigned char *buf = NULL;
	struct stat st;

	*len = 0;
	if (f == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, _("kyso sign-cms: cannot read %s: %s\n"), path, strerror(errno));
		goto out;
	}
	if (st.st_size > ATTACHED_MAX) {
		fprintf(stderr, _("kyso sign-cms: %s is too large to embed (--attached takes up to "
		    "1 GiB)\n"), path);
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL ||
	    fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, _("kyso sign-cms: cannot read %s: %s\n"), path, strerror(errno));
		free(buf);
		buf = NULL;
		goto out;
	}
	*len = (size_t)st.st_size;
out:
	if (f != NULL)
		fclose(f);
	return buf;
}

/*
 * The bytes of the .p7s for file f from the agent's detached CMS: as it is, or with the
 * content embedded (--attached: the signed attributes are the same, the signature too).
 * For B-T (--tsa), cms_stamp then adds the time-stamp token of the signature value to
 * the SignerInfo's unsigned attributes of what this returns.
 */
static unsigned char *
cms_output(const struct cms_opts *o, const struct cms_file *f, const unsigned char *cms,
    size_t len, size_t *outlen)
{
	const unsigned char *p = cms;
	unsigned char *content = NULL, *der = NULL, *out = NULL;
	CMS_ContentInfo *ci;
	ASN1_OCTET_STRING **pos;
	size_t clen;
	int n;

	*outlen = 0;
	if (!o->attached) {
		if ((out = malloc(len)) != NULL) {
			memcpy(out, cms, len);
			*outlen = len;
		}
		return out;
	}
	if ((ci = d2i_CMS_ContentInfo(NULL, &p, (long)len)) == NULL) {
		fprintf(stderr, _("kyso sign-cms: the agent's CMS for %s cannot be read\n"), f->in);
		return NULL;
	}
	if ((content = slurp(f->in, &clen)) != NULL && CMS_set_detached(ci, 0) == 1 &&
	    (pos = CMS_get0_content(ci)) != NULL && *pos != NULL &&
	    ASN1_OCTET_STRING_set(*pos, content, (int)clen) == 1 &&
	    (n = i2d_CMS_ContentInfo(ci, &der)) > 0 && (out = malloc((size_t)n)) != NULL) {
		memcpy(out, der, (size_t)n);
		*outlen = (size_t)n;
	}
	OPENSSL_free(der);
	free(content);
	CMS_ContentInfo_free(ci);
	return out;
}

/* Writes len bytes to path through a temporary file beside it, then renames. 0 or -1. */
static int
write_whole(const char *path, const unsigned char *p, size_t len, int force)
{
	char *d = strdup(path), *b = strdup(path), *tmp = NULL;
	int fd = -1, e = 0;

	if (d == NULL || b == NULL || asprintf(&tmp, "%s/.%s.XXXXXX", dirname(d),
	    basename(b)) < 0) {
		tmp = NULL;
		e = ENOMEM;
		goto out;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		e = errno;
		goto out;
	}
	(void)fchmod(fd, 0644);
	for (size_t done = 0; done < len && e == 0;) {
		ssize_t n = write(fd, p + done, len - done);

		if (n < 0 && errno != EINTR)
			e = errno;
		else if (n > 0)
			done += (size_t)n;
	}
	if (e == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && e == 0)
		e = errno;
	if (e == 0 && force && rename(tmp, path) != 0)
		e = errno;
	if (e == 0 && !force && renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) != 0) {
		/* a file system without RENAME_NOREPLACE: a hard link refuses an existing name */
		if (errno == EINVAL && link(tmp, path) == 0)
			(void)unlink(tmp);
		else
			e = errno;
	}
	if (e != 0)
		(void)unlink(tmp);  /* nothing half-written stays */
out:
	if (e != 0)
		fprintf(stderr, _("kyso sign-cms: cannot write %s: %s\n"), path, e == EEXIST ?
		    _("it exists now (use --force to replace it)") : strerror(e));
	free(tmp);
	free(d);
	free(b);
	return e == 0 ? 0 : -1;
}

/* The digest algorithm: --digest, else SHA-512 for an Ed25519 key (RFC 8419), else SHA-256. */
static const char *
choose_digest(struct cli *cli, const struct cms_opts *o)
{
	kyso_cert **c;
	const char *alg = "sha256";
	size_t n;

	if (o->digest != NULL)
		return o->digest;
	if (kyso_list_certificates(cli->client, NULL, &c, &n) != KYSO_OK)
		return alg;  /* the agent will say what is wrong */
	for (size_t i = 0; i < n; i++)
		if ((strncmp(kyso_cert_id(c[i]), o->cert, strlen(o->cert)) == 0 ||
		    strcmp(kyso_cert_key_uri(c[i]), o->cert) == 0) &&
		    strcmp(kyso_cert_key_type(c[i]), "ed25519") == 0)
			alg = "sha512";
	kyso_certs_free(c);
	return alg;
}

/* Hashes every input, then signs them in one batch (asking for a PIN once if needed). */
static int
sign_all(struct cli *cli, struct cms_opts *o, kyso_batch **out)
{
	const char *dalg = choose_digest(cli, o);
	const EVP_MD *md = EVP_get_digestbyname(dalg);
	kyso_batch *b = NULL;
	char *pin = NULL;
	int e;

	*out = NULL;
	if (md == NULL || (strcmp(dalg, "sha256") != 0 && strcmp(dalg, "sha384") != 0 &&
	    strcmp(dalg, "sha512") != 0)) {
		fprintf(stderr, _("kyso sign-cms: --digest must be sha256, sha384 or sha512\n"));
		return EXIT_USAGE;
	}
	if (kyso_batch_new(o->cert, &b) != KYSO_OK)
		return EXIT_ERROR;
	*out = b;
	for (size_t i = 0; i < o->n; i++)
		if (hash_file(o->files[i].in, md, o->files[i].digest, &o->files[i].digest_len) != 0)
			return EXIT_ERROR;
	for (size_t i = 0; i < o->n; i++)
		if ((e = kyso_batch_add(b, o->files[i].in, dalg, o->files[i].digest,
		    o->files[i].digest_len, NULL, NULL)) != KYSO_OK) {
			fprintf(stderr, _("kyso sign-cms: %s: %s\n"), o->files[i].in, kyso_strerror(e));
			return EXIT_ERROR;
		}
	if ((o->alg != NULL && kyso_batch_set_algorithm(b, o->alg) != KYSO_OK) ||
	    (o->description != NULL && kyso_batch_set_description(b, o->description) !=
	    KYSO_OK)) {
		fprintf(stderr, _("kyso sign-cms: --alg or --description is empty or too long\n"));
		return EXIT_USAGE;
	}
	if (o->pin_stdin && ((pin = cli_read_pin(1, NULL)) == NULL ||
	    kyso_batch_set_pin(b, pin) != KYSO_OK)) {
		cli_pin_free(pin);
		return EXIT_PIN;
	}
	cli_pin_free(pin);
	pin = NULL;
	e = kyso_sign_batch(cli->client, b, NULL, NULL);
	if (e == KYSO_ERR_PIN_REQUIRED && !o->pin_stdin && kyso_batch_result(b, 0, NULL, NULL) ==
	    KYSO_ERR_PIN_REQUIRED && (pin = cli_read_pin(0, _("PIN for the token: "))) != NULL) {
		/* the agent shows no dialog: the officer types the PIN here, once */
		if (kyso_batch_set_pin(b, pin) == KYSO_OK)
			e = kyso_sign_batch(cli->client, b, NULL, NULL);
		cli_pin_free(pin);
	}
	return e;
}

/*
 * Adds a time stamp from --tsa to the CMS in *der (replaced); says why not. Returns
 * KYSO_OK or KYSO_ERR_TSA (no output then).
 */
static int
cms_stamp(const struct cms_opts *o, const struct cms_file *f, unsigned char **der,
    size_t *len)
{
	kyso_tsa *t = NULL;
	unsigned char *stamped = NULL;
	size_t slen = 0;
	int e;

	if ((e = kyso_tsa_new(o->tsa, &t)) != KYSO_OK ||
	    (o->tsa_ca != NULL && (e = kyso_tsa_set_ca(t, o->tsa_ca)) != KYSO_OK) ||
	    (e = kyso_tsa_stamp_cms(t, *der, *len, &stamped, &slen)) != KYSO_OK) {
		fprintf(stderr, _("kyso sign-cms: %s: not written: no time stamp: %s\n"), f->in,
		    t != NULL ? kyso_tsa_error(t) : kyso_strerror(e));
		kyso_tsa_free(t);
		return KYSO_ERR_TSA;
	}
	kyso_tsa_free(t);
	free(*der);
	*der = stamped;
	*len = slen;
	return KYSO_OK;
}

/* Writes the output of every signed file; says what became of each. */
static int
write_outputs(struct cli *cli, struct cms_opts *o, kyso_batch *b, int e)
{
	int rc = e == KYSO_OK ? EXIT_OK : cli_fail(cli, e);
	/* refused as a whole (no batch id: the agent started none, and nothing came back
	 * signed): cli_fail said why, once, not once per file */
	int whole = e != KYSO_OK && kyso_batch_id(b)[0] == '\0';
	json_t *list = cli->json ? json_array() : NULL;

	for (size_t i = 0; whole && i < o->n; i++)
		whole = kyso_batch_result(b, i, NULL, NULL) != KYSO_OK;

	for (size_t i = 0; i < o->n; i++) {
		struct cms_file *f = &o->files[i];
		const unsigned char *cms;
		unsigned char *der = NULL;
		size_t len, dlen = 0;
		int de = kyso_batch_result(b, i, &cms, &len);

		if (de == KYSO_OK && (der = cms_output(o, f, cms, len, &dlen)) != NULL &&
		    o->tsa != NULL && (de = cms_stamp(o, f, &der, &dlen)) != KYSO_OK)
			rc = EXIT_ERROR;
		if (de == KYSO_OK && (der == NULL || write_whole(f->out, der, dlen, o->force) != 0)) {
			rc = EXIT_ERROR;
			de = KYSO_ERR_IO;
		}
		f->written = de == KYSO_OK;
		free(der);
		if (list != NULL)
			json_array_append_new(list, json_pack("{s:s, s:s?, s:s?}", "input", f->in,
			    "output", f->written ? f->out : NULL, "error", f->written ? NULL :
			    de == KYSO_ERR_IO || de == KYSO_ERR_TSA ? _("not written") :
			    kyso_batch_message(b, i)));
		else if (f->written)
			fprintf(stderr, _("kyso: signed %s -> %s\n"), f->in, f->out);
		else if (de != KYSO_ERR_IO && de != KYSO_ERR_TSA && !whole)
			fprintf(stderr, _("kyso: not signed %s: %s\n"), f->in, kyso_batch_message(b, i));
	}
	if (whole && list == NULL && o->n > 1)
		fprintf(stderr, _("kyso: none of the %zu files was signed\n"), o->n);
	if (list != NULL) {
		char *text = json_dumps(list, JSON_INDENT(2));

		printf("%s\n", text != NULL ? text : "[]");
		free(text);
		json_decref(list);
	}
	return rc;
}

int
cmd_sign_cms(struct cli *cli, int argc, char **argv)
{
	static const char usage_text[] =
	    N_("Usage: kyso sign-cms --cert ID [OPTION]... (-o OUT.p7s FILE | --out-dir DIR FILE...)\n"
	    "Sign files as CAdES-B-B CMS signatures (.p7s, DER). The files are hashed here and\n"
	    "signed by the agent as one batch: one confirmation and one PIN dialog for them all.\n"
	    "An output is written whole (a temporary file renamed) or not at all.\n\n"
	    "  -c, --cert ID          certificate id (or a unique prefix of 8+ digits) or a\n"
	    "                         pkcs11: key URI, as 'kyso certs' shows\n"
	    "  -o, --out FILE         the signature of the one FILE\n"
	    "  -d, --out-dir DIR      the signature of each FILE, as DIR/NAME.p7s\n"
	    "      --attached         embed the file in its signature (attached SignedData)\n"
	    "      --force            replace signatures that exist\n"
	    "      --digest ALG       sha256 (default; sha512 for Ed25519 keys), sha384, sha512\n"
	    "      --alg ALG          rsa-pss (or rsa-pss-sha256...), rsa-pkcs1v15, ecdsa,\n"
	    "                         ed25519; default: from the key\n"
	    "      --description TEXT what the files are, for the dialog and the audit log\n"
	    "      --pin-stdin        read the PIN from the first line of standard input\n"
	    "      --tsa URL          an RFC 3161 time-stamp authority: CAdES-B-T (a file\n"
	    "                         whose time stamp fails is not written)\n"
	    "      --tsa-ca FILE      CA certificates the time-stamp authority chains to\n"
	    "  -j, --json             print what became of each file as JSON\n"
	    "Without --pin-stdin, when the agent shows no dialog, kyso asks for the PIN on the\n"
	    "terminal. Verify with: openssl cms -verify -binary -inform DER -in F.p7s -content F\n");
	static const struct option opts[] = {
		{ "cert", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "out-dir", required_argument, NULL, 'd' },
		{ "attached", no_argument, NULL, 'A' },
		{ "force", no_argument, NULL, 'F' },
		{ "digest", required_argument, NULL, 'D' },
		{ "alg", required_argument, NULL, 'a' },
		{ "description", required_argument, NULL, 'T' },
		{ "pin-stdin", no_argument, NULL, 'P' },
		{ "tsa", required_argument, NULL, 'S' },
		{ "tsa-ca", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cms_opts o = { 0 };
	kyso_batch *b = NULL;
	int ch, e, rc;

	while ((ch = getopt_long(argc, argv, "c:o:d:jh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c': o.cert = optarg; break;
		case 'o': o.out = optarg; break;
		case 'd': o.out_dir = optarg; break;
		case 'A': o.attached = 1; break;
		case 'F': o.force = 1; break;
		case 'D': o.digest = optarg; break;
		case 'a': o.alg = optarg; break;
		case 'T': o.description = optarg; break;
		case 'P': o.pin_stdin = 1; break;
		case 'S': o.tsa = optarg; break;
		case 'C': o.tsa_ca = optarg; break;
		default:
			if ((e = cli_common_opt(cli, ch, usage_text, "sign-cms")) >= 0)
				return e;
		}
	}
	o.n = (size_t)(argc - optind);
	if (o.cert == NULL || (o.out == NULL) == (o.out_dir == NULL) || o.n == 0 ||
	    (o.out != NULL && o.n != 1) || o.n > CMS_INPUTS_MAX) {
		fprintf(stderr, _("kyso sign-cms: needs --cert, and -o OUT with one FILE or "
		    "--out-dir DIR with 1 to %d FILEs\nTry 'kyso sign-cms --help' for more "
		    "information.\n"), CMS_INPUTS_MAX);
		return EXIT_USAGE;
	}
	if (o.cert[0] == '\0') {
		fprintf(stderr, _("kyso sign-cms: --cert is empty; 'kyso certs' lists the certificates' ids\n"));
		return EXIT_USAGE;
	}
	if (o.tsa != NULL && strncmp(o.tsa, "http://", 7) != 0 && strncmp(o.tsa, "https://", 8) != 0) {
		fprintf(stderr, _("kyso sign-cms: --tsa takes an http:// or https:// URL, not '%s'\n"),
		    o.tsa);
		return EXIT_USAGE;
	}
	if ((o.files = calloc(o.n, sizeof(*o.files))) == NULL)
		return EXIT_ERROR;
	for (size_t i = 0; i < o.n; i++)
		o.files[i].in = argv[optind + (int)i];
	if ((rc = plan_outputs(&o)) != EXIT_OK || (rc = check_out_dir(o.files[0].out)) !=
	    EXIT_OK || (rc = cli_connect(cli)) != EXIT_OK)
		goto out;
	e = sign_all(cli, &o, &b);
	if (e > 0) {  /* an exit code: nothing was asked of the agent */
		rc = e;
		goto out;
	}
	rc = write_outputs(cli, &o, b, e);
out:
	kyso_batch_free(b);
	for (size_t i = 0; o.files != NULL && i < o.n; i++)
		free(o.files[i].out);
	free(o.files);
	return rc;
}
