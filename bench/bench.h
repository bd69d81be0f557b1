/*
 * bench.h — kyso_bench's signing paths (bench_paths.c): what the loop in kyso_bench.c
 * runs, each set up and ready to make one signature (or one call) at a time.
 */
#ifndef KYSO_BENCH_H
#define KYSO_BENCH_H

#include <stddef.h>

#include "kyso.h"
#include "p11.h"

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

/*
 * Each sets up p for o's path (p->sign makes one signature, p->per_call of them per call)
 * and returns KYSO_OK, or a kyso_err after saying why on stderr.
 */
int bench_direct_open(const struct bench_opts *o, struct bench_path *p);   /* and p11kit */
int bench_agent_open(const struct bench_opts *o, struct bench_path *p);
int bench_batch_open(const struct bench_opts *o, struct bench_path *p);
int bench_digests_open(const struct bench_opts *o, struct bench_path *p);
int bench_ping_open(const struct bench_opts *o, struct bench_path *p);

/* Another session on p0's module and slot, for a thread of its own (direct, p11kit):
 * KYSO_OK or a kyso_err, said on stderr. */
int bench_direct_clone(const struct bench_path *p0, struct bench_path *p);

/* Closes a direct or p11kit path's session and module. */
void bench_direct_close(struct bench_path *p);

#endif
