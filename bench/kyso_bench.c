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
#include "bench.h"
#include "kyso.h"
#include "kyso_err.h"
#include "p11.h"
#include "secret.h"

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
			r = bench_batch_open(o, &p[i]) != KYSO_OK;
		else if (o->mode == MODE_AGENT)
			r = bench_agent_open(o, &p[i]) != KYSO_OK;
		else if (o->mode == MODE_PING)
			r = bench_ping_open(o, &p[i]) != KYSO_OK;
		else if (i == 0)
			r = bench_direct_open(o, &p[0]) != KYSO_OK;
		else
			r = bench_direct_clone(&p[0], &p[i]) != KYSO_OK;
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
			bench_direct_close(&p[0]);
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
		r = bench_batch_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		kyso_batch_free(p.batch);
		kyso_disconnect(p.client);
	} else if (o.mode == MODE_DIGESTS) {
		r = bench_digests_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		free(p.digests);
		kyso_sign_request_free(p.kreq);
		kyso_disconnect(p.client);
	} else if (o.mode == MODE_AGENT || o.mode == MODE_PING) {
		r = (o.mode == MODE_AGENT ? bench_agent_open(&o, &p) : bench_ping_open(&o, &p)) ==
		    KYSO_OK ? bench_run(&o, &p) : 1;
		kyso_sign_request_free(p.kreq);
		kyso_disconnect(p.client);
	} else {
		r = bench_direct_open(&o, &p) == KYSO_OK ? bench_run(&o, &p) : 1;
		bench_direct_close(&p);
	}
	return r;
}
