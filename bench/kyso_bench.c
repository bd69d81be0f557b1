/*
 * kyso_bench.c — signing throughput on one token, by one of these paths:
 *
 *   direct  kyso's PKCS#11 layer on the module itself, one session;
 *   p11kit  the same loop on p11-kit-client.so, talking to a `p11-kit server`;
 *   agent   libkyso's kyso_sign over one persistent connection to kysod;
 *   ping    libkyso's kyso_get_info on one connection: the agent's round trip without
 *           the token (what the agent costs before its worker is involved);
 *   batch   libkyso's kyso_sign_batch: documents signed as CMS by SignDocuments, --batch
 *           of them per call (bench/documents.sh; the figure is documents per second).
 *
 * The direct and p11kit loops go through pkcs11/p11.h (p11_session_sign: sign-init, a
 * length query and the signature) with the mechanisms the agent chooses for a digest
 * request: ECDSA over the 32-byte digest for P-256, RSA PKCS#1 v1.5 over the SHA-256
 * DigestInfo for RSA-2048. bench/run.sh interleaves the paths; docs/performance.md tells
 * how to read the figures.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alg.h"
#include "kyso.h"
#include "kyso_err.h"
#include "p11.h"
#include "secret.h"

#define P11KIT_CLIENT "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"

enum bench_mode { MODE_DIRECT, MODE_P11KIT, MODE_AGENT, MODE_PING, MODE_BATCH, MODE_DIGESTS };
enum bench_key { BK_P256, BK_RSA2048 };

struct bench_opts {
	enum bench_mode mode;
	enum bench_key key;
	const char *module;   /* direct: the module; p11kit: the client module */
	const char *server;   /* p11kit: P11_KIT_SERVER_ADDRESS */
	const char *socket;   /* agent: its socket */
	const char *token;    /* token label */
	const char *label;    /* the certificate's CKA_LABEL (names the key too) */
	const char *pin;
	double seconds;       /* run this long ... */
	long count;           /* ... or this many signatures (when > 0) */
	long warmup;          /* untimed signatures first */
	int raw;              /* agent: ask for raw r||s instead of DER (ECDSA) */
	long batch;           /* batch: documents per SignDocuments call */
	int quiet;            /* print only the ops/s figure */
	long clients;         /* threads signing at once: sessions, or connections */
	int pin_each;         /* agent: the PIN in every Sign request */
};

/* One signing path, set up and ready: sign() makes one signature. */
struct bench_path {
	int (*sign)(struct bench_path *p);
	size_t min_len, max_len;   /* what a signature of this key may measure */
	size_t last_len;
	/* direct / p11kit */
	struct p11_module *module;
	struct p11_session *session;
	struct p11_sign_req req;
	unsigned char in[19 + 64];
	unsigned char key_id[256];
	unsigned long slot;
	long per_call;             /* what one sign() makes: 1, or a batch's documents */
	kyso_batch *batch;
	unsigned char *digests;    /* digests: per_call digests, one after another */
	/* agent */
	kyso_client *client;
	kyso_sign_request *kreq;
	char cert_id[65];
	unsigned char digest[32];
};

static const char *const mode_names[] = { "direct", "p11kit", "agent", "ping", "batch",
	"digests" };
static const char *const key_names[] = { "p256", "rsa2048" };

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage: kyso_bench MODE [OPTION]...\n"
	    "Signs a SHA-256 digest in a loop on one token and prints signatures per second.\n"
	    "\nModes:\n"
	    "  direct   kyso's PKCS#11 layer on --module, one session\n"
	    "  p11kit   the same loop through p11-kit-client.so and a p11-kit server\n"
	    "  agent    libkyso's kyso_sign over one connection to kysod\n"
	    "  ping     libkyso's kyso_get_info over one connection to kysod (no token)\n"
	    "  batch    libkyso's kyso_sign_batch: --batch documents as CMS per call (the\n"
	    "           figures are documents)\n"
	    "  digests  libkyso's kyso_sign_digests: --batch raw digests per SignDigests call\n"
	    "           (the figures are signatures)\n"
	    "\nOptions:\n"
	    "  -k, --key TYPE        p256 or rsa2048 (default p256)\n"
	    "  -L, --label NAME      the certificate's label on the token (default: TYPE)\n"
	    "  -t, --token LABEL     the token's label (required)\n"
	    "  -P, --pin PIN         the user PIN (default 123456)\n"
	    "  -m, --module PATH     direct: the PKCS#11 module; p11kit: the client module\n"
	    "                        (default " P11KIT_CLIENT ")\n"
	    "  -A, --server ADDRESS  p11kit: the server address, e.g. unix:path=/tmp/p.sock\n"
	    "  -s, --socket PATH     agent: kysod's socket\n"
	    "  -d, --seconds S       run for S seconds (default 2)\n"
	    "  -n, --count N         make N signatures instead\n"
	    "  -w, --warmup N        untimed signatures first (default 20)\n"
	    "  -r, --raw             agent: ask for raw r||s ECDSA signatures, not DER\n"
	    "  -b, --batch N         batch: documents per call (default 1000)\n"
	    "  -c, --clients N       N threads at once (direct, p11kit: a session each; agent,\n"
	    "                        batch: a connection each); the figure is their sum\n"
	    "  -p, --pin-each        agent: send the PIN in every Sign request\n"
	    "  -q, --quiet           print only the ops/s figure\n"
	    "  -h, --help            show this help\n");
}

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a count of at least min into *out. Returns 0, or -1 (said on stderr). */
static int
parse_count(const char *s, long min, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min) {
		fprintf(stderr, "kyso_bench: bad number '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

static int
parse_opts(int argc, char **argv, struct bench_opts *o)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "label", required_argument, NULL, 'L' },
		{ "token", required_argument, NULL, 't' },
		{ "pin", required_argument, NULL, 'P' },
		{ "module", required_argument, NULL, 'm' },
		{ "server", required_argument, NULL, 'A' },
		{ "socket", required_argument, NULL, 's' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "count", required_argument, NULL, 'n' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "raw", no_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "clients", required_argument, NULL, 'c' },
		{ "pin-each", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int ch;

	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 1;
	}
	if (strcmp(argv[1], "direct") == 0)
		o->mode = MODE_DIRECT;
	else if (strcmp(argv[1], "p11kit") == 0)
		o->mode = MODE_P11KIT;
	else if (strcmp(argv[1], "agent") == 0)
		o->mode = MODE_AGENT;
	else if (strcmp(argv[1], "ping") == 0)
		o->mode = MODE_PING;
	else if (strcmp(argv[1], "batch") == 0)
		o->mode = MODE_BATCH;
	else if (strcmp(argv[1], "digests") == 0)
		o->mode = MODE_DIGESTS;
	else {
		fprintf(stderr, "kyso_bench: unknown mode '%s' (direct, p11kit, agent or "
		    "ping, batch)\n",
		    argv[1]);
		return 2;
	}
	optind = 2;
	while ((ch = getopt_long(argc, argv, "k:L:t:P:m:A:s:d:n:w:b:c:prqh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			if (strcmp(optarg, "p256") == 0)
				o->key = BK_P256;
			else if (strcmp(optarg, "rsa2048") == 0)
				o->key = BK_RSA2048;
			else {
				fprintf(stderr, "kyso_bench: unknown key type '%s'\n", optarg);
				return 2;
			}
			break;
		case 'L':
			o->label = optarg;
			break;
		case 't':
			o->token = optarg;
			break;
		case 'P':
			o->pin = optarg;
			break;
		case 'm':
			o->module = optarg;
			break;
		case 'A':
			o->server = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'd':
			errno = 0;
			o->seconds = strtod(optarg, &end);
			if (errno != 0 || *end != '\0' || !(o->seconds > 0.0)) {
				fprintf(stderr, "kyso_bench: bad --seconds '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n':
			if (parse_count(optarg, 1, &o->count) != 0)
				return 2;
			break;
		case 'w':
			if (parse_count(optarg, 0, &o->warmup) != 0)
				return 2;
			break;
		case 'r':
			o->raw = 1;
			break;
		case 'b':
			if (parse_count(optarg, 1, &o->batch) != 0 || o->batch > 1000) {
				fprintf(stderr, "kyso_bench: --batch takes 1 to 1000\n");
				return 2;
			}
			break;
		case 'q':
			o->quiet = 1;
			break;
		case 'c':
			if (parse_count(optarg, 1, &o->clients) != 0 || o->clients > 64) {
				fprintf(stderr, "kyso_bench: --clients takes 1 to 64\n");
				return 2;
			}
			break;
		case 'p':
			o->pin_each = 1;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "kyso_bench: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o->label == NULL)
		o->label = key_names[o->key];
	if (o->token == NULL && o->mode != MODE_PING) {
		fprintf(stderr, "kyso_bench: --token is required\n");
		return 2;
	}
	if (o->mode == MODE_DIRECT && o->module == NULL) {
		fprintf(stderr, "kyso_bench: direct needs --module\n");
		return 2;
	}
	if (o->mode == MODE_P11KIT && o->server == NULL) {
		fprintf(stderr, "kyso_bench: p11kit needs --server\n");
		return 2;
	}
	if ((o->mode == MODE_AGENT || o->mode == MODE_PING || o->mode == MODE_BATCH ||
	    o->mode == MODE_DIGESTS) &&
	    o->socket == NULL) {
		fprintf(stderr, "kyso_bench: %s needs --socket\n", mode_names[o->mode]);
		return 2;
	}
	return 0;
}

/* ---- direct and p11kit: kyso's PKCS#11 layer ---- */

static int
direct_sign_one(struct bench_path *p)
{
	struct p11_fail f;
	unsigned char *sig = NULL;
	size_t len = 0;
	int r = p11_session_sign(p->session, &p->req, &sig, &len, &f);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: signing failed: %s (%s in %s)\n", kyso_strerror(r),
		    f.ckr_name, f.call);
	free(sig);
	p->last_len = len;
	return r;
}

/* Finds the token labelled label and returns its slot in *slot. */
static int
direct_find_slot(struct p11_module *m, const char *label, unsigned long *slot)
{
	struct p11_token_desc *d = NULL;
	struct p11_fail f;
	size_t n = 0;
	int r;

	if ((r = p11_module_tokens(m, &d, &n, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot list the slots: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	r = KYSO_ERR_NO_SUCH_TOKEN;
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, label) == 0) {
			*slot = d[i].slot;
			r = KYSO_OK;
			break;
		}
	free(d);
	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: no token labelled '%s'\n", label);
	return r;
}

/* Looks up the CKA_ID of the certificate labelled label (its key shares it). */
static int
direct_find_key_id(struct bench_path *p, const char *label)
{
	struct p11_cert_desc *c = NULL;
	struct p11_fail f;
	size_t n = 0;
	int r;

	if ((r = p11_session_certs(p->session, &c, &n, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot list the certificates: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	r = KYSO_ERR_NO_SUCH_CERT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(c[i].label, label) == 0 && c[i].has_private_key &&
		    c[i].id_len <= sizeof(p->key_id)) {
			memcpy(p->key_id, c[i].id, c[i].id_len);
			p->req.key_id = p->key_id;
			p->req.key_id_len = c[i].id_len;
			r = KYSO_OK;
			break;
		}
	p11_certs_free(c, n);
	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: no certificate labelled '%s' with a private key\n",
		    label);
	return r;
}

static int
direct_path_open(const struct bench_opts *o, struct bench_path *p)
{
	const char *path = o->module != NULL ? o->module : P11KIT_CLIENT;
	struct kyso_secret *pin = NULL;
	struct p11_fail f;
	unsigned long slot = 0;
	char err[512];
	int r;

	if (o->mode == MODE_P11KIT && setenv("P11_KIT_SERVER_ADDRESS", o->server, 1) != 0) {
		fprintf(stderr, "kyso_bench: setenv: %s\n", strerror(errno));
		return KYSO_ERR_NOMEM;
	}
	if ((r = p11_module_load(path, &p->module, err, sizeof(err))) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", err);
		return r;
	}
	if ((r = direct_find_slot(p->module, o->token, &slot)) != KYSO_OK)
		return r;
	p->slot = slot;
	if ((r = p11_session_open(p->module, slot, &p->session, &f)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot open a session: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
		return r;
	}
	/* a token already logged in (by this process) does not check the PIN: skip it */
	if (p11_session_logged_in(p->session))
		r = KYSO_OK;
	else if ((r = secret_new(o->pin, strlen(o->pin), &pin)) == KYSO_OK) {
		r = p11_session_login(p->session, pin, &f);
		secret_free(pin);
	}
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: login failed: %s (%s in %s)\n", kyso_strerror(r),
		    f.ckr_name, f.call);
		return r;
	}
	if ((r = direct_find_key_id(p, o->label)) != KYSO_OK)
		return r;
	/* what the agent feeds the token for a digest request (agent/alg.c alg_plan) */
	if (o->key == BK_P256) {
		p->req.mech = P11_MECH_ECDSA;
		memcpy(p->in, p->digest, sizeof(p->digest));
		p->req.in_len = sizeof(p->digest);
		p->min_len = p->max_len = 64;
	} else {
		p->req.mech = P11_MECH_RSA_PKCS;
		p->req.in_len = alg_digest_info(256, p->digest, sizeof(p->digest), p->in);
		if (p->req.in_len == 0)
			return KYSO_ERR_INTERNAL;
		p->min_len = p->max_len = 256;
	}
	p->req.in = p->in;
	p->sign = direct_sign_one;
	return KYSO_OK;
}

static void
direct_path_close(struct bench_path *p)
{
	p11_session_close(p->session);
	p->session = NULL;
	p11_module_free(p->module);
	p->module = NULL;
}

/* ---- agent: libkyso ---- */

static int
agent_sign_one(struct bench_path *p)
{
	unsigned char *sig = NULL;
	size_t len = 0;
	int r = kyso_sign(p->client, p->kreq, &sig, &len);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: Sign failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	kyso_free(sig);
	p->last_len = len;
	return r;
}

static int
agent_path_open(const struct bench_opts *o, struct bench_path *p)
{
	kyso_cert **certs = NULL;
	size_t n = 0;
	int r;

	if ((r = kyso_connect(o->socket, &p->client)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", p->client != NULL ?
		    kyso_error_message(p->client) : kyso_strerror(r));
		return r;
	}
	if ((r = kyso_login(p->client, o->token, o->pin, NULL)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: Login failed: %s\n", kyso_error_message(p->client));
		return r;
	}
	if ((r = kyso_list_certificates(p->client, o->token, &certs, &n)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: ListCertificates failed: %s\n",
		    kyso_error_message(p->client));
		return r;
	}
	r = KYSO_ERR_NO_SUCH_CERT;
	for (size_t i = 0; i < n; i++)
		if (strcmp(kyso_cert_label(certs[i]), o->label) == 0 &&
		    (kyso_cert_flags(certs[i]) & KYSO_CERT_CAN_SIGN)) {
			snprintf(p->cert_id, sizeof(p->cert_id), "%s", kyso_cert_id(certs[i]));
			r = KYSO_OK;
			break;
		}
	kyso_certs_free(certs);
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: the agent knows no signing certificate labelled "
		    "'%s' on token '%s'\n", o->label, o->token);
		return r;
	}
	/* the full certificate id: the agent's lookup is the same for any prefix */
	r = kyso_sign_request_new(p->cert_id, o->key == BK_P256 ? "ecdsa-sha256" :
	    "rsa-pkcs1v15-sha256", &p->kreq);
	if (r == KYSO_OK)
		r = kyso_sign_request_set_digest(p->kreq, p->digest, sizeof(p->digest));
	if (r == KYSO_OK && o->key == BK_P256 && o->raw)
		r = kyso_sign_request_set_signature_format(p->kreq, "raw");
	if (r == KYSO_OK && o->pin_each)
		r = kyso_sign_request_set_pin(p->kreq, o->pin);
	if (r != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot make the signing request: %s\n",
		    kyso_strerror(r));
		return r;
	}
	if (o->key == BK_P256 && o->raw) {
		p->min_len = p->max_len = 64;
	} else if (o->key == BK_P256) {
		p->min_len = 8;   /* DER: SEQUENCE of two INTEGERs */
		p->max_len = 72;
	} else {
		p->min_len = p->max_len = 256;
	}
	p->sign = agent_sign_one;
	return KYSO_OK;
}

static int
batch_sign_one(struct bench_path *p)
{
	size_t len = 0;
	int r = kyso_sign_batch(p->client, p->batch, NULL, NULL);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: SignDocuments failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	else
		(void)kyso_batch_result(p->batch, 0, NULL, &len);
	p->last_len = len;
	return r;
}

/* The agent's path, then one batch of documents that every call signs again. */
static int
batch_path_open(const struct bench_opts *o, struct bench_path *p)
{
	char name[48];
	int r;

	if ((r = agent_path_open(o, p)) != KYSO_OK)
		return r;
	if ((r = kyso_batch_new(p->cert_id, &p->batch)) != KYSO_OK)
		return r;
	for (long i = 0; i < o->batch; i++) {
		snprintf(name, sizeof(name), "document-%04ld.pdf", i);
		if ((r = kyso_batch_add(p->batch, name, "sha256", p->digest, sizeof(p->digest),
		    NULL, NULL)) != KYSO_OK)
			return r;
	}
	p->per_call = o->batch;
	p->min_len = 256;     /* a CMS with the certificate: hundreds of bytes at least */
	p->max_len = 65536;
	p->sign = batch_sign_one;
	return KYSO_OK;
}

static int
digests_sign_one(struct bench_path *p)
{
	unsigned char **sigs = NULL;
	size_t *lens = NULL;
	int r = kyso_sign_digests(p->client, p->kreq, p->digests, sizeof(p->digest),
	    (size_t)p->per_call, &sigs, &lens);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: SignDigests failed: %s (%s)\n",
		    kyso_error_message(p->client), kyso_error_name(p->client));
	p->last_len = r == KYSO_OK ? lens[0] : 0;
	kyso_signatures_free(sigs, lens, (size_t)p->per_call);
	return r;
}

/* The agent's path, then the same digest o->batch times for every call. */
static int
digests_path_open(const struct bench_opts *o, struct bench_path *p)
{
	int r;

	if ((r = agent_path_open(o, p)) != KYSO_OK)
		return r;
	if ((p->digests = malloc((size_t)o->batch * sizeof(p->digest))) == NULL)
		return KYSO_ERR_NOMEM;
	for (long i = 0; i < o->batch; i++)
		memcpy(p->digests + (size_t)i * sizeof(p->digest), p->digest, sizeof(p->digest));
	p->per_call = o->batch;
	p->sign = digests_sign_one;
	return KYSO_OK;
}

static int
ping_one(struct bench_path *p)
{
	char *product = NULL;
	int r = kyso_get_info(p->client, &product, NULL);

	if (r != KYSO_OK)
		fprintf(stderr, "kyso_bench: GetInfo failed: %s\n", kyso_error_message(p->client));
	p->last_len = product != NULL ? strlen(product) : 0;
	kyso_free(product);
	return r;
}

static int
ping_path_open(const struct bench_opts *o, struct bench_path *p)
{
	int r;

	if ((r = kyso_connect(o->socket, &p->client)) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: %s\n", p->client != NULL ?
		    kyso_error_message(p->client) : kyso_strerror(r));
		return r;
	}
	p->min_len = 1;
	p->max_len = 1024;
	p->sign = ping_one;
	return KYSO_OK;
}

/* ---- the loop ---- */

static int
bench_run(const struct bench_opts *o, struct bench_path *p)
{
	double t0, t1;
	long ops = 0;

	for (long i = 0; i < o->warmup; i++)
		if (p->sign(p) != KYSO_OK)
			return 1;
	/* the first signature also checks that the path signs with the right key type */
	if (p->sign(p) != KYSO_OK)
		return 1;
	if (p->last_len < p->min_len || p->last_len > p->max_len) {
		fprintf(stderr, "kyso_bench: %s: a %zu-byte signature; expected %zu to %zu\n",
		    mode_names[o->mode], p->last_len, p->min_len, p->max_len);
		return 1;
	}
	t0 = now_seconds();
	t1 = t0;
	for (;;) {
		if (p->sign(p) != KYSO_OK)
			return 1;
		ops += p->per_call;
		t1 = now_seconds();
		if (o->count > 0 ? ops >= o->count : t1 - t0 >= o->seconds)
			break;
	}
	if (o->quiet)
		printf("%.1f\n", (double)ops / (t1 - t0));
	else
		printf("%s %s: %ld %s in %.3f s = %.1f ops/s\n", mode_names[o->mode],
		    o->mode == MODE_PING ? "-" : key_names[o->key], ops,
		    o->mode == MODE_PING ? "calls" : o->mode == MODE_BATCH ? "documents" :
		    "signatures", t1 - t0,
		    (double)ops / (t1 - t0));
	return 0;
}

/* ---- several clients at once ---- */

/* Another session on p0's module and slot, for a thread of its own (direct, p11kit). */
static int
direct_path_clone(const struct bench_path *p0, struct bench_path *p)
{
	struct p11_fail f;
	int r;

	*p = *p0;
	p->module = NULL;  /* p0's */
	p->session = NULL;
	p->req.in = p->in;
	p->req.key_id = p->key_id;
	if ((r = p11_session_open(p0->module, p0->slot, &p->session, &f)) != KYSO_OK)
		fprintf(stderr, "kyso_bench: cannot open another session: %s (%s in %s)\n",
		    kyso_strerror(r), f.ckr_name, f.call);
	return r;
}

struct runner {
	const struct bench_opts *o;
	struct bench_path *p;
	pthread_barrier_t *start;
	atomic_int *stop;
	long ops;
	int rc;
};

static void *
runner_main(void *arg)
{
	struct runner *ru = arg;
	struct bench_path *p = ru->p;
	int ok = 1;

	for (long i = 0; ok && i < ru->o->warmup; i++)
		ok = p->sign(p) == KYSO_OK;
	if (ok && (p->last_len < p->min_len || p->last_len > p->max_len)) {
		fprintf(stderr, "kyso_bench: %s: a %zu-byte signature; expected %zu to %zu\n",
		    mode_names[ru->o->mode], p->last_len, p->min_len, p->max_len);
		ok = 0;
	}
	pthread_barrier_wait(ru->start);
	while (ok && !atomic_load(ru->stop)) {
		if (p->sign(p) != KYSO_OK)
			ok = 0;
		else
			ru->ops += p->per_call;
	}
	ru->rc = ok ? 0 : 1;
	return NULL;
}

/* o->clients threads on the paths p[0..clients-1] for o->seconds; prints the sum. */
static int
bench_run_clients(const struct bench_opts *o, struct bench_path *p)
{
	long n = o->clients;
	struct runner ru[64];
	pthread_t t[64];
	pthread_barrier_t start;
	atomic_int stop = 0;
	struct timespec d;
	double t0, t1;
	long ops = 0;
	int rc = 0;

	pthread_barrier_init(&start, NULL, (unsigned)n + 1);
	for (long i = 0; i < n; i++) {
		ru[i] = (struct runner){ .o = o, .p = &p[i], .start = &start, .stop = &stop };
		if (pthread_create(&t[i], NULL, runner_main, &ru[i]) != 0) {
			fprintf(stderr, "kyso_bench: cannot start a thread\n");
			exit(1);  /* the others wait at the barrier */
		}
	}
	pthread_barrier_wait(&start);
	t0 = now_seconds();
	d.tv_sec = (time_t)o->seconds;
	d.tv_nsec = (long)((o->seconds - (double)d.tv_sec) * 1e9);
	while (nanosleep(&d, &d) != 0)
		;
	atomic_store(&stop, 1);
	for (long i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		ops += ru[i].ops;
		rc |= ru[i].rc;
	}
	t1 = now_seconds();
	pthread_barrier_destroy(&start);
	if (rc != 0)
		return 1;
	if (o->quiet)
		printf("%.1f\n", (double)ops / (t1 - t0));
	else
		printf("%s %s, %ld clients: %ld %s in %.3f s = %.1f ops/s\n", mode_names[o->mode],
		    key_names[o->key], n, ops, o->mode == MODE_BATCH ? "documents" :
		    "signatures", t1 - t0, (double)ops / (t1 - t0));
	return 0;
}

/* The paths of o->clients clients: the first opened as for one, the others beside it. */
static int
bench_clients(const struct bench_opts *o)
{
	static struct bench_path p[64];
	int r = 0, agentish = o->mode == MODE_AGENT || o->mode == MODE_BATCH;
	long opened = 0;

	for (long i = 0; i < o->clients && r == 0; i++, opened++) {
		p[i].per_call = 1;
		if (alg_hash(256, (const unsigned char *)"kyso bench", 10, p[i].digest) != KYSO_OK)
			r = 1;
		else if (o->mode == MODE_BATCH)
			r = batch_path_open(o, &p[i]) != KYSO_OK;
		else if (o->mode == MODE_AGENT)
			r = agent_path_open(o, &p[i]) != KYSO_OK;
		else if (o->mode == MODE_PING)
			r = ping_path_open(o, &p[i]) != KYSO_OK;
		else if (i == 0)
			r = direct_path_open(o, &p[0]) != KYSO_OK;
		else
			r = direct_path_clone(&p[0], &p[i]) != KYSO_OK;
	}
	if (r == 0)
		r = bench_run_clients(o, p);
	for (long i = opened - 1; i >= 0; i--) {
		if (agentish || o->mode == MODE_PING) {
			kyso_batch_free(p[i].batch);
			kyso_sign_request_free(p[i].kreq);
			kyso_disconnect(p[i].client);
		} else if (i > 0) {
			p11_session_close(p[i].session);
		} else {
			direct_path_close(&p[0]);
		}
	}
	return r;
}

int
main(int argc, char **argv)
{
	struct bench_opts o = { .pin = "123456", .seconds = 2.0, .warmup = 20, .batch = 1000 };
	struct bench_path p;
	int r;

	/* a peer that dies (agent, p11-kit server) must show as an error, not kill us */
	signal(SIGPIPE, SIG_IGN);
	if ((r = parse_opts(argc, argv, &o)) != 0)
		return r == 1 ? 0 : 2;
	if (o.clients > 1)
		return bench_clients(&o);
	memset(&p, 0, sizeof(p));
	p.per_call = 1;
	/* any fixed 32 bytes will do: the token signs them as a SHA-256 digest */
	if (alg_hash(256, (const unsigned char *)"kyso bench", 10, p.digest) != KYSO_OK) {
		fprintf(stderr, "kyso_bench: cannot hash\n");
		return 1;
	}
	if (o.mode == MODE_BATCH) {
		r = batch_path_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		kyso_batch_free(p.batch);
		kyso_disconnect(p.client);
	} else if (o.mode == MODE_DIGESTS) {
		r = digests_path_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		free(p.digests);
		kyso_sign_request_free(p.kreq);
		kyso_disconnect(p.client);
	} else if (o.mode == MODE_AGENT || o.mode == MODE_PING) {
		r = (o.mode == MODE_AGENT ? agent_path_open(&o, &p) : ping_path_open(&o, &p)) ==
		    KYSO_OK ? bench_run(&o, &p) : 1;
		kyso_sign_request_free(p.kreq);
		kyso_disconnect(p.client);
	} else {
		r = direct_path_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		direct_path_close(&p);
	}
	return r;
}
