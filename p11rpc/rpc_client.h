/*
 * rpc_client.h — shared by kysod's side of the wire (rpc_client.c, rpc_spawn.c): the
 * options p11_set_helper_options set, one request-response exchange on a channel, and
 * the sentences that say why a helper process ended.
 */
#ifndef KYSO_RPC_CLIENT_H
#define KYSO_RPC_CLIENT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "p11.h"
#include "rpc.h"

struct rpc_chan;
struct rpc_helper;

extern long rpc_call_ms;    /* how long a call may take (p11_set_helper_options) */
extern long rpc_pinpad_ms;  /* a login on the PIN pad */
extern int rpc_no_filter;   /* helpers run without their seccomp filter */

/*
 * Sends the frame req (with descriptor pass_fd unless -1) on c and receives the response
 * to call id within its deadline, which m is then ready to read (rpc_read_begin done; the
 * frame stays in c->rx until rpc_rx_wipe). A helper that does not answer in time is
 * ended. Returns KYSO_OK, or KYSO_ERR_TOKEN with *cause (the helper ended, did not answer,
 * or broke the protocol).
 */
int rpc_exchange(struct rpc_helper *h, struct rpc_chan *c, const struct kbuf *req,
    unsigned id, long ms, int pass_fd, struct rpc_msg *m, const char **cause);

/*
 * rpc_exchange in two halves, for a call whose answer is read later (the channel is not
 * used for anything else meanwhile): _send sends req (KYSO_OK, or KYSO_ERR_TOKEN with
 * *cause); _recv receives the response to call id within ms, as rpc_exchange.
 */
int rpc_exchange_send(struct rpc_helper *h, struct rpc_chan *c, const struct kbuf *req,
    long ms, int pass_fd, const char **cause);
int rpc_exchange_recv(struct rpc_helper *h, struct rpc_chan *c, unsigned id, long ms,
    struct rpc_msg *m, const char **cause);

/* The deadline of call id in ms (-1: none), as the table and the options say. */
long rpc_deadline_ms(unsigned id);

/*
 * The modules registered with p11-kit, listed by a kyso-p11-helper --registered (p11-kit
 * loads every registered module to list them: not in kysod). Returns KYSO_OK with a
 * malloc'd array of malloc'd paths (none if the helper fails, logged), or KYSO_ERR_NOMEM.
 */
int rpc_list_registered(char ***paths, size_t *n);

/*
 * Why a helper process ended, as a static sentence for p11_fail.cause: from its wait
 * status, or because kysod ended it: late (no answer in time) or broken (the protocol).
 */
const char *rpc_cause(int status, int late, int broken);


/* A module as kysod's side of the wire knows it. */
struct p11_module {
	char *path;
	pthread_mutex_t mu;
	struct rpc_helper *h;   /* the running helper, NULL when none (finalised, failed) */
	unsigned gen;           /* grows at each start: sessions of an older helper are lost */
	void (*on_exit)(void *);
	void *on_exit_arg;
};

struct p11_session {
	struct p11_module *m;
	unsigned gen;
	uint32_t id;            /* the helper's number for it */
	int stuck;              /* as the helper last said (p11_session_stuck) */
};

/* One call on a channel to a module's helper (rpc_call.c). */
struct call {
	struct rpc_helper *h;
	struct rpc_chan *c;
	struct rpc_msg w, r;
	unsigned id;
	long ms;             /* its deadline (rpc_deadline_ms, or a PIN pad's) */
	int broken;          /* the channel cannot be used again */
};

/* Fills fail for a call that got no answer (cause); returns KYSO_ERR_TOKEN. */
int call_fail(struct p11_fail *fail, unsigned id, const char *cause);

/*
 * Takes a channel to m's helper (gen: the session's helper, 0 for any) and starts the
 * request in x->w. Returns KYSO_OK, or KYSO_ERR_TOKEN with fail (no helper, another one).
 */
int call_begin(struct call *x, struct p11_module *m, unsigned gen, unsigned id,
    struct p11_fail *fail);

/*
 * Sends the request (req: a frame built elsewhere, NULL: x->w) and gets the answer into
 * x->r. Returns KYSO_OK or KYSO_ERR_TOKEN with fail (no answer: fail->cause).
 */
int call_run(struct call *x, const struct kbuf *req, struct p11_fail *fail);

/*
 * call_run in two halves (a call whose answer is read later): call_send sends the
 * request, call_recv gets the answer into x->r. Each returns KYSO_OK or KYSO_ERR_TOKEN
 * with fail, as call_run.
 */
int call_send(struct call *x, const struct kbuf *req, struct p11_fail *fail);
int call_recv(struct call *x, struct p11_fail *fail);

/* Reads "iF" (the result and the failure; fail may be NULL); returns the result. */
int call_result(struct call *x, struct p11_fail *fail);

/*
 * Ends reading: an answer that does not fit its signature ends the helper. Returns
 * KYSO_OK or KYSO_ERR_TOKEN with fail.
 */
int call_read_end(struct call *x, struct p11_fail *fail);

/* Gives the channel back; NULL channel (call_begin failed) is fine. */
void call_end(struct call *x);

/*
 * Whether the module file path (or a bare name, in p11-kit's module directory) is
 * kyso-pkcs11, which kysod never loads: its file holds the marker common/loopguard.h
 * names (read, not loaded). Returns 1 if so, 0 otherwise (also when it cannot be read:
 * the helper checks again with the loader).
 */
int rpc_module_is_kyso(const char *path);

#endif
