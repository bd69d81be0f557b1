/*
 * rpc_server.c — the helper's side of the wire: each channel served by a thread of its
 * own, each call answered by the in-process pkcs11/ layer (see rpc.h, rpc_server.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kyso_err.h"
#include "log.h"
#include "cpuload.h"
#include "rpc.h"
#include "rpc_chan.h"
#include "rpc_server.h"
#include "secret.h"

/* After answering, a channel's thread looks for the next call this long before it
 * sleeps: the agent's next signature usually follows (as its own workers do). */
#define SERVE_SPIN_US 200

/*
 * The sessions the agent opened, by id (index + 1). An entry never moves (a call on one
 * channel's thread holds a pointer to it while another channel opens a session), and is
 * cleared only when no call uses it: a CLOSE arriving while another call still uses the
 * session (kysod gave up on that call) closes it when that call is done.
 */
struct slot_entry {
	struct p11_session *s;
	struct kyso_secret *context_pin;  /* for the next signature's context login */
	unsigned users;                   /* calls using the session now */
	int closing;                      /* CLOSE arrived: the last user closes it */
};

#define SESSIONS_MAX 4096

static struct p11_module *mod;
static int load_result;
static char load_why[512];
static pthread_mutex_t sessions_mu = PTHREAD_MUTEX_INITIALIZER;
/* C_Finalize from RPC_FINALIZE (a channel's thread) and at the helper's end (main) */
static pthread_mutex_t finalize_mu = PTHREAD_MUTEX_INITIALIZER;
/* Calls inside the module now (all but C_WaitForSlotEvent, which C_Finalize ends, and
 * C_Finalize itself): C_Finalize waits for them (kysod closes its lanes' sessions on their
 * own threads while it finalizes at its exit), at most FINALIZE_WAIT_S. */
static pthread_mutex_t calls_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t calls_cv = PTHREAD_COND_INITIALIZER;
static int calls_in_flight;

#define FINALIZE_WAIT_S 5

/* C_Finalize once the calls in the module are done (finalize_mu held). Returns 1, or 0
 * when calls were still in it after FINALIZE_WAIT_S: then it is not finalized. */
static int
finalize_when_idle(void)
{
	struct timespec until;
	int idle;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += FINALIZE_WAIT_S;
	pthread_mutex_lock(&calls_mu);
	while (calls_in_flight > 0 && pthread_cond_timedwait(&calls_cv, &calls_mu, &until) == 0)
		;
	idle = calls_in_flight == 0;
	pthread_mutex_unlock(&calls_mu);
	if (idle && mod != NULL)
		p11_module_finalize(mod);
	return idle;
}

static void
call_enter(unsigned id)
{
	if (id == RPC_WAIT_EVENT || id == RPC_FINALIZE)
		return;
	pthread_mutex_lock(&calls_mu);
	calls_in_flight++;
	pthread_mutex_unlock(&calls_mu);
}

static void
call_leave(unsigned id)
{
	if (id == RPC_WAIT_EVENT || id == RPC_FINALIZE)
		return;
	pthread_mutex_lock(&calls_mu);
	if (--calls_in_flight == 0)
		pthread_cond_broadcast(&calls_cv);
	pthread_mutex_unlock(&calls_mu);
}
static struct slot_entry sessions[SESSIONS_MAX];
static size_t nsessions;   /* entries used so far (the table's high-water mark) */

void
rpc_server_init(struct p11_module *m, int result, const char *why)
{
	mod = m;
	load_result = result;
	snprintf(load_why, sizeof(load_why), "%s", why != NULL ? why : "");
}

static uint32_t
session_add(struct p11_session *s)
{
	uint32_t id = 0;

	pthread_mutex_lock(&sessions_mu);
	for (size_t i = 0; i < nsessions && id == 0; i++)
		if (sessions[i].s == NULL && sessions[i].users == 0)
			id = (uint32_t)i + 1;
	if (id == 0 && nsessions < SESSIONS_MAX)
		id = (uint32_t)++nsessions;
	if (id != 0) {
		sessions[id - 1].s = s;
		sessions[id - 1].closing = 0;
	}
	pthread_mutex_unlock(&sessions_mu);
	return id;
}

/*
 * The session with id for a call, or NULL (none, or being closed): *sp is its session.
 * The call gives it back with session_put. The agent uses a session from one thread at
 * a time.
 */
static struct slot_entry *
session_get(uint32_t id, struct p11_session **sp)
{
	struct slot_entry *e = NULL;

	*sp = NULL;
	pthread_mutex_lock(&sessions_mu);
	if (id > 0 && id <= nsessions && sessions[id - 1].s != NULL && !sessions[id - 1].closing) {
		e = &sessions[id - 1];
		e->users++;
		*sp = e->s;
	}
	pthread_mutex_unlock(&sessions_mu);
	return e;
}

/* A call is done with e (NULL is allowed); the last one after a CLOSE closes it. */
static void
session_put(struct slot_entry *e)
{
	struct p11_session *s = NULL;
	struct kyso_secret *pin = NULL;

	if (e == NULL)
		return;
	pthread_mutex_lock(&sessions_mu);
	if (--e->users == 0 && e->closing) {
		s = e->s;
		pin = e->context_pin;
		e->s = NULL;
		e->context_pin = NULL;
		e->closing = 0;
	}
	pthread_mutex_unlock(&sessions_mu);
	secret_free(pin);
	p11_session_close(s);
}

/* CLOSE: e is closed once the calls using it (the CLOSE among them) are done. */
static void
session_close_mark(struct slot_entry *e)
{
	pthread_mutex_lock(&sessions_mu);
	e->closing = 1;
	pthread_mutex_unlock(&sessions_mu);
}

/*
 * Takes session e's context PIN (NULL if none) and leaves pin in its place, under the
 * sessions' lock: a CLOSE of the session may run on another channel's thread at the same
 * time, and the PIN must be freed once.
 */
static struct kyso_secret *
session_swap_pin(struct slot_entry *e, struct kyso_secret *pin)
{
	struct kyso_secret *old;

	pthread_mutex_lock(&sessions_mu);
	old = e->context_pin;
	e->context_pin = pin;
	pthread_mutex_unlock(&sessions_mu);
	return old;
}

/* A channel: its socket, its buffers (the small one in locked memory). */
struct chan {
	int fd;
	struct kyso_secret *locked;
	struct rpc_rx rx;
	struct kbuf out;
};

static void *serve_main(void *arg);

/* RPC_CHANNEL: a thread for the new channel fd. */
static int
serve_new_channel(int fd)
{
	pthread_attr_t attr;
	pthread_t t;
	struct chan *c;
	int e;

	if (fd < 0 || (c = calloc(1, sizeof(*c))) == NULL) {
		if (fd >= 0)
			close(fd);
		return KYSO_ERR_INVALID_ARG;
	}
	c->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&t, &attr, serve_main, c);
	pthread_attr_destroy(&attr);
	if (e != 0) {
		close(fd);
		free(c);
		return KYSO_ERR_INTERNAL;
	}
	return KYSO_OK;
}

static int serve_sign_many(struct rpc_msg *in, struct rpc_msg *out, struct p11_session *s);

/* The session calls: each answers i F (or i) y(stuck) and its outputs. */
static void
serve_session(struct rpc_msg *in, struct rpc_msg *out, unsigned id)
{
	struct p11_fail f = { 0, "", "", NULL };
	uint32_t sid = rpc_get_u32(in);
	struct p11_session *s = NULL;
	struct slot_entry *e = in->err == KYSO_OK ? session_get(sid, &s) : NULL;
	struct p11_token_desc d;
	struct p11_cert_desc *certs = NULL;
	struct kyso_secret *pin = NULL;
	unsigned char *kid = NULL, *data = NULL, *sig = NULL;
	size_t kidlen = 0, datalen = 0, siglen = 0, ncerts = 0;
	int r = KYSO_ERR_INVALID_ARG;

	memset(&d, 0, sizeof(d));
	switch (id) {
	case RPC_LOGIN:
	case RPC_CONTEXT_PIN:
		pin = rpc_get_secret(in);
		break;
	case RPC_ALWAYS_AUTH:
		kid = rpc_get_bytes(in, &kidlen);
		break;
	case RPC_SIGN: {
		struct p11_sign_req req = { 0 };

		kid = rpc_get_bytes(in, &kidlen);
		req.mech = (enum p11_mech)rpc_get_u32(in);
		req.pss_hash_bits = rpc_get_u32(in);
		int use_pin = (int)rpc_get_u8(in);

		req.context_pin_pad = (int)rpc_get_u8(in);
		data = rpc_get_bytes(in, &datalen);
		if (rpc_read_end(in) != KYSO_OK || e == NULL)
			break;
		req.key_id = kid;
		req.key_id_len = kidlen;
		req.in = data;
		req.in_len = datalen;
		/* one signature's: taken from the session, freed after it */
		struct kyso_secret *cpin = session_swap_pin(e, NULL);

		req.context_pin = use_pin ? cpin : NULL;
		r = p11_session_sign(s, &req, &sig, &siglen, &f);
		secret_free(cpin);
		break;
	}
	case RPC_SIGN_MANY:
		r = serve_sign_many(in, out, s);
		break;
	default:
		break;
	}
	if (id == RPC_SIGN_MANY) {
		session_put(e);
		return;  /* answered */
	}
	if (id != RPC_SIGN && rpc_read_end(in) == KYSO_OK && e != NULL) {
		switch (id) {
		case RPC_CLOSE:
			session_close_mark(e);
			r = KYSO_OK;
			break;
		case RPC_DESCRIBE:
			r = p11_session_describe(s, &d, &f);
			break;
		case RPC_LOGGED_IN:
			r = p11_session_logged_in(s);
			break;
		case RPC_LOGIN:
		case RPC_LOGIN_PAD:
			r = p11_session_login(s, pin, &f);
			break;
		case RPC_LOGOUT:
			r = p11_session_logout(s, &f);
			break;
		case RPC_CERTS:
			r = p11_session_certs(s, &certs, &ncerts, &f);
			break;
		case RPC_ALWAYS_AUTH:
			r = p11_session_key_always_auth(s, kid, kidlen);
			break;
		case RPC_CONTEXT_PIN:
			secret_free(session_swap_pin(e, pin));
			pin = NULL;
			r = KYSO_OK;
			break;
		}
	}
	secret_free(pin);  /* wiped right after the login */
	rpc_put_i32(out, r);
	if (id != RPC_CLOSE && id != RPC_LOGGED_IN && id != RPC_ALWAYS_AUTH &&
	    id != RPC_CONTEXT_PIN)
		rpc_put_fail(out, &f);
	if (id == RPC_DESCRIBE)
		rpc_put_token(out, &d);
	if (id == RPC_DESCRIBE || id == RPC_LOGGED_IN || id == RPC_LOGIN ||
	    id == RPC_LOGIN_PAD || id == RPC_LOGOUT || id == RPC_CERTS || id == RPC_SIGN)
		rpc_put_u8(out, id == RPC_LOGGED_IN ? r == 1 : s != NULL && p11_session_stuck(s));
	if (id == RPC_CERTS)
		rpc_put_certs(out, r == KYSO_OK ? certs : NULL, r == KYSO_OK ? ncerts : 0);
	if (id == RPC_SIGN)
		rpc_put_bytes(out, sig, r == KYSO_OK ? siglen : 0);
	p11_certs_free(certs, ncerts);
	if (sig != NULL)
		explicit_bzero(sig, siglen);
	free(sig);
	if (data != NULL)
		explicit_bzero(data, datalen);
	free(data);
	free(kid);
	session_put(e);
}

/*
 * RPC_SIGN_MANY on session s: reads the request, signs, writes the whole answer. Returns
 * the result it answered.
 */
static int
serve_sign_many(struct rpc_msg *in, struct rpc_msg *out, struct p11_session *s)
{
	struct p11_fail f = { 0, "", "", NULL };
	struct p11_sign_req req = { 0 };
	unsigned char *kid, *ins, **sigs = NULL, *cat = NULL;
	size_t kidlen = 0, inslen = 0, *lens = NULL, n, in_len, total = 0;
	uint32_t *lens32 = NULL;
	int r = KYSO_ERR_INVALID_ARG;

	kid = rpc_get_bytes(in, &kidlen);
	req.mech = (enum p11_mech)rpc_get_u32(in);
	req.pss_hash_bits = rpc_get_u32(in);
	n = rpc_get_u32(in);
	ins = rpc_get_bytes(in, &inslen);
	in_len = n > 0 ? inslen / n : 0;
	if (rpc_read_end(in) == KYSO_OK && s != NULL && n > 0 && n <= P11_SIGN_MANY_MAX &&
	    in_len > 0 && in_len * n == inslen) {
		sigs = calloc(n, sizeof(*sigs));
		lens = calloc(n, sizeof(*lens));
		lens32 = calloc(n, sizeof(*lens32));
		r = sigs != NULL && lens != NULL && lens32 != NULL ? KYSO_OK : KYSO_ERR_NOMEM;
		req.key_id = kid;
		req.key_id_len = kidlen;
		if (r == KYSO_OK)
			r = p11_session_sign_many(s, &req, ins, in_len, n, sigs, lens, &f);
		for (size_t i = 0; r == KYSO_OK && i < n; i++)
			total += lens[i];
		if (r == KYSO_OK && (total > RPC_BYTES_MAX || (cat = malloc(total)) == NULL))
			r = KYSO_ERR_NOMEM;
		for (size_t i = 0, off = 0; r == KYSO_OK && i < n; off += lens[i], i++) {
			memcpy(cat + off, sigs[i], lens[i]);
			lens32[i] = (uint32_t)lens[i];
		}
	}
	rpc_put_i32(out, r);
	rpc_put_fail(out, &f);
	rpc_put_u8(out, s != NULL && p11_session_stuck(s));
	rpc_put_bytes(out, lens32, r == KYSO_OK ? n * sizeof(*lens32) : 0);
	rpc_put_bytes(out, cat, r == KYSO_OK ? total : 0);
	for (size_t i = 0; sigs != NULL && i < n; i++) {
		if (sigs[i] != NULL)
			explicit_bzero(sigs[i], lens[i]);
		free(sigs[i]);
	}
	if (cat != NULL)
		explicit_bzero(cat, total);
	free(cat);
	free(sigs);
	free(lens);
	free(lens32);
	if (ins != NULL)
		explicit_bzero(ins, inslen);
	free(ins);
	free(kid);
	return r;
}

/* The module calls. */
static void
serve_module(struct rpc_msg *in, struct rpc_msg *out, unsigned id, int passed, int *stop)
{
	struct p11_fail f = { 0, "", "", NULL };
	struct p11_token_desc d, *list = NULL;
	struct p11_session *s = NULL;
	unsigned long slot = 0;
	size_t n = 0;
	int r = KYSO_ERR_INVALID_ARG;

	memset(&d, 0, sizeof(d));
	if (id == RPC_SLOT_PRESENT || id == RPC_SLOT_DESCRIBE || id == RPC_SLOT_REMOVABLE ||
	    id == RPC_OPEN)
		slot = (unsigned long)rpc_get_u64(in);
	if (rpc_read_end(in) == KYSO_OK) {
		switch (id) {
		case RPC_HELLO:
			r = load_result;
			break;
		case RPC_CHANNEL:
			r = serve_new_channel(passed);
			passed = -1;
			break;
		case RPC_TOKENS:
			r = mod != NULL ? p11_module_tokens(mod, &list, &n, &f) : KYSO_ERR_MODULE;
			break;
		case RPC_WAIT_EVENT:
			r = mod != NULL ? p11_module_wait_event(mod, &slot, &f) : KYSO_ERR_MODULE;
			break;
		case RPC_FINALIZE:
			pthread_mutex_lock(&finalize_mu);
			if (!finalize_when_idle())
				log_warn("calls are still inside the module: not finalized");
			pthread_mutex_unlock(&finalize_mu);
			r = KYSO_OK;
			*stop = 1;
			break;
		case RPC_SLOT_COUNT:
			r = mod != NULL ? p11_module_slot_count(mod, &n) : KYSO_ERR_MODULE;
			break;
		case RPC_SLOT_PRESENT:
			r = mod != NULL ? p11_slot_present(mod, slot) : -1;
			break;
		case RPC_SLOT_DESCRIBE:
			r = mod != NULL ? p11_slot_describe(mod, slot, &d, &f) : KYSO_ERR_MODULE;
			break;
		case RPC_SLOT_REMOVABLE:
			r = mod != NULL ? p11_slot_removable(mod, slot) : 0;
			break;
		case RPC_OPEN:
			r = mod != NULL ? p11_session_open(mod, slot, &s, &f) : KYSO_ERR_MODULE;
			if (r == KYSO_OK && (n = session_add(s)) == 0) {
				p11_session_close(s);
				r = KYSO_ERR_NOMEM;
			}
			break;
		}
	}
	if (passed >= 0)
		close(passed);
	rpc_put_i32(out, r);
	if (id == RPC_HELLO)
		rpc_put_string(out, load_why);
	if (id == RPC_TOKENS || id == RPC_WAIT_EVENT || id == RPC_SLOT_DESCRIBE || id == RPC_OPEN)
		rpc_put_fail(out, &f);
	if (id == RPC_TOKENS)
		rpc_put_tokens(out, r == KYSO_OK ? list : NULL, r == KYSO_OK ? n : 0);
	if (id == RPC_WAIT_EVENT)
		rpc_put_u64(out, slot);
	if (id == RPC_SLOT_COUNT)
		rpc_put_u64(out, n);
	if (id == RPC_SLOT_DESCRIBE)
		rpc_put_token(out, &d);
	if (id == RPC_OPEN)
		rpc_put_u32(out, r == KYSO_OK ? (uint32_t)n : 0);
	free(list);
}

/* Answers one frame into c->out. Returns 0, or -1 when the channel must end. */
static int
serve_frame(struct chan *c, int passed, int *stop)
{
	struct rpc_msg in, out;

	if (rpc_read_begin(&in, c->rx.frame, c->rx.len, 0) != KYSO_OK) {
		log_error("a message from kysod broke the protocol (%s); the channel is closed",
		    in.why);
		if (passed >= 0)
			close(passed);
		return -1;
	}
	rpc_write_begin(&out, &c->out, in.id, 1);
	call_enter(in.id);
	if (in.id >= RPC_CLOSE)
		serve_session(&in, &out, in.id);
	else
		serve_module(&in, &out, in.id, passed, stop);
	call_leave(in.id);
	if (in.err != KYSO_OK)
		log_error("a message from kysod broke the protocol (%s)", in.why);
	if (rpc_write_end(&out) != KYSO_OK) {
		/* an answer too large (a token with thousands of certificates), or a bug: the
		 * call fails, the channel goes on */
		log_error("cannot answer %s: %s", rpc_call_find(in.id)->name, out.why);
		if (rpc_write_failure(&out, &c->out, in.id, out.err == KYSO_ERR_TOO_LARGE ?
		    KYSO_ERR_TOO_LARGE : KYSO_ERR_INTERNAL) != KYSO_OK)
			return -1;
	}
	return rpc_send(c->fd, c->out.data, c->out.len, -1) == KYSO_OK ? 0 : -1;
}

/* A frame waits on the socket (polls briefly after an answer, then blocks). */
static void
serve_wait(int fd, int busy)
{
	struct timespec t0, now;

	if (!busy || !cpuload_room())  /* one CPU, or all busy: polling only delays */
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		char b;

		if (recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN)
			return;
		cpuload_pause();
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000000L + (now.tv_nsec - t0.tv_nsec) / 1000 <
	    SERVE_SPIN_US);
}

/* Serves c until kysod closes it. The control channel's end ends the process. */
static int
serve_loop(struct chan *c)
{
	int stop = 0, busy = 0, r = 0;

	if (secret_alloc(RPC_SECRET_FRAME_MAX, &c->locked) != KYSO_OK) {
		log_error("out of memory for a channel");
		close(c->fd);
		return -1;
	}
	c->rx.small = secret_buf(c->locked);
	c->rx.small_cap = RPC_SECRET_FRAME_MAX;
	kbuf_init(&c->rx.big, RPC_FRAME_MAX);
	kbuf_init(&c->out, RPC_FRAME_MAX);
	while (!stop) {
		int passed = -1;

		serve_wait(c->fd, busy);
		r = rpc_recv(c->fd, &c->rx, &passed);
		if (r != KYSO_OK) {
			if (r != RPC_EOF)
				log_error("cannot read from kysod: %s", kyso_strerror(r));
			if (passed >= 0)
				close(passed);
			break;
		}
		r = serve_frame(c, passed, &stop);
		rpc_rx_wipe(&c->rx);
		kbuf_reset(&c->out);
		if (r != 0)
			break;
		busy = 1;
	}
	kbuf_free(&c->rx.big);
	kbuf_free(&c->out);
	secret_free(c->locked);
	close(c->fd);
	return stop;
}

static void *
serve_main(void *arg)
{
	struct chan *c = arg;

	(void)serve_loop(c);
	free(c);
	return NULL;
}

void
rpc_server_run(int fd)
{
	struct chan c;

	memset(&c, 0, sizeof(c));
	c.fd = fd;
	(void)serve_loop(&c);
}

int
rpc_server_finish(void)
{
	int done;

	pthread_mutex_lock(&finalize_mu);
	done = finalize_when_idle();
	pthread_mutex_unlock(&finalize_mu);
	return done;
}
