/*
 * rpc_client.c — p11.h for kysod: each module runs in a kyso-p11-helper process of its
 * own (rpc_spawn.c), and each call is a request and its response on a channel to it
 * (rpc.h). A call that gets no answer — the helper crashed, ended, did not answer within
 * its deadline (then it is ended), or broke the protocol — fails with KYSO_ERR_TOKEN and
 * p11_fail.cause saying which; the module's watcher then restarts it (modwatch.c:
 * p11_module_finalize and p11_module_init start a new process).
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "rpc.h"
#include "rpc_chan.h"
#include "rpc_client.h"
#include "rpc_helper.h"
#include "secret.h"

long rpc_call_ms = 60000;
long rpc_pinpad_ms = 300000;
int rpc_no_filter;

/* Loading and initialising (OpenSC probes its readers: seconds) gets at least this long. */
#define RPC_START_MIN_MS 60000
/* C_Finalize gets at most this long: the helper is ended (killed) after it anyway. */
#define RPC_FINALIZE_MAX_MS 5000

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

void
p11_set_helper_options(const struct p11_helper_options *o)
{
	rpc_call_ms = o->call_ms > 0 ? o->call_ms : 60000;
	rpc_pinpad_ms = o->pinpad_ms > 0 ? o->pinpad_ms : 300000;
	rpc_no_filter = o->no_filter;
}

const char *
rpc_cause(int status, int late, int broken)
{
	static const struct {
		int sig;
		const char *cause;
	} signals[] = {
		{ SIGSEGV, "the module crashed (SIGSEGV); its helper process ended" },
		{ SIGBUS, "the module crashed (SIGBUS); its helper process ended" },
		{ SIGILL, "the module crashed (SIGILL); its helper process ended" },
		{ SIGFPE, "the module crashed (SIGFPE); its helper process ended" },
		{ SIGABRT, "the module aborted (SIGABRT); its helper process ended" },
		{ SIGSYS, "the module made a system call the helper's filter forbids (SIGSYS)" },
		{ SIGKILL, "the module's helper process was killed (SIGKILL)" },
		{ SIGTERM, "the module's helper process was stopped (SIGTERM)" },
	};

	if (late)
		return "the module did not answer in time; its helper process was ended";
	if (broken)
		return "the module's helper process broke the protocol and was ended";
	if (WIFSIGNALED(status)) {
		for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
			if (signals[i].sig == WTERMSIG(status))
				return signals[i].cause;
		return "the module's helper process was killed by a signal";
	}
	return WIFEXITED(status) && WEXITSTATUS(status) != 0 ?
	    "the module's helper process exited with an error" :
	    "the module's helper process exited";
}

long
rpc_deadline_ms(unsigned id)
{
	const struct rpc_call *c = rpc_call_find(id);

	if (id == RPC_HELLO)
		return rpc_call_ms > RPC_START_MIN_MS ? rpc_call_ms : RPC_START_MIN_MS;
	if (id == RPC_FINALIZE)  /* at a restart or shutdown: not worth a long wait */
		return rpc_call_ms < RPC_FINALIZE_MAX_MS ? rpc_call_ms : RPC_FINALIZE_MAX_MS;
	switch (c->deadline) {
	case RPC_DEADLINE_NONE:
		return -1;
	case RPC_DEADLINE_PINPAD:
		return rpc_pinpad_ms;
	default:
		return rpc_call_ms;
	}
}

int
rpc_exchange(struct rpc_helper *h, struct rpc_chan *c, const struct kbuf *req,
    unsigned id, long ms, int pass_fd, struct rpc_msg *m, const char **cause)
{
	int e;

	if (rpc_set_timeout(c->fd, ms, &c->timeout_ms) != KYSO_OK ||
	    rpc_send(c->fd, req->data, req->len, pass_fd) != KYSO_OK) {
		*cause = rpc_helper_lost(h);
		return KYSO_ERR_TOKEN;
	}
	e = rpc_recv(c->fd, &c->rx, NULL);
	if (e == RPC_AGAIN) {
		log_warn("PKCS#11 module: no answer to %s within %ld s; its helper process (pid "
		    "%ld) is ended", rpc_call_find(id)->name, ms / 1000, (long)h->pid);
		rpc_helper_kill(h, 1);
		*cause = rpc_cause(0, 1, 0);
		return KYSO_ERR_TOKEN;
	}
	if (e == RPC_EOF || e == KYSO_ERR_IO) {
		*cause = rpc_helper_lost(h);
		return KYSO_ERR_TOKEN;
	}
	if (e == KYSO_OK && rpc_read_begin(m, c->rx.frame, c->rx.len, 1) == KYSO_OK &&
	    m->id == id)
		return KYSO_OK;
	log_error("the helper process (pid %ld) of a PKCS#11 module broke the protocol "
	    "answering %s (%s); it is ended", (long)h->pid, rpc_call_find(id)->name,
	    e != KYSO_OK ? kyso_strerror(e) : m->id != id ? "another call's answer" : m->why);
	rpc_helper_kill(h, 0);
	*cause = rpc_cause(0, 0, 1);
	return KYSO_ERR_TOKEN;
}

/* ---- one call ---- */

struct call {
	struct rpc_helper *h;
	struct rpc_chan *c;
	struct rpc_msg w, r;
	unsigned id;
	long ms;             /* its deadline (rpc_deadline_ms, or a PIN pad's) */
	int broken;          /* the channel cannot be used again */
};

static int
call_fail(struct p11_fail *fail, unsigned id, const char *cause)
{
	if (fail != NULL) {
		fail->ckr = 0;
		fail->ckr_name = "";
		fail->call = rpc_call_find(id)->name;
		fail->cause = cause;
	}
	return KYSO_ERR_TOKEN;
}

/*
 * Takes a channel to m's helper (gen: the session's helper, 0 for any) and starts the
 * request. Returns KYSO_OK, or KYSO_ERR_TOKEN with fail (no helper, or another one).
 */
static int
call_begin(struct call *x, struct p11_module *m, unsigned gen, unsigned id,
    struct p11_fail *fail)
{
	const char *cause = NULL;

	memset(x, 0, sizeof(*x));
	x->id = id;
	x->ms = rpc_deadline_ms(id);
	pthread_mutex_lock(&m->mu);
	if (m->h == NULL || (gen != 0 && gen != m->gen)) {
		pthread_mutex_unlock(&m->mu);
		return call_fail(fail, id, m->h == NULL ?
		    "the module's helper process is not running" :
		    "the module's helper process was restarted: the session is gone");
	}
	x->h = m->h;
	rpc_helper_ref(x->h);
	pthread_mutex_unlock(&m->mu);
	if ((x->c = rpc_helper_get(x->h, &cause)) == NULL) {
		rpc_helper_unref(x->h);
		return call_fail(fail, id, cause);
	}
	rpc_write_begin(&x->w, &x->c->out, id, 0);
	return KYSO_OK;
}

/* Sends the request (req: a frame built elsewhere, NULL: x->w) and gets the answer. */
static int
call_run(struct call *x, const struct kbuf *req, struct p11_fail *fail)
{
	const char *cause = NULL;

	if (req == NULL && rpc_write_end(&x->w) != KYSO_OK) {
		log_error("PKCS#11 request %s: %s", rpc_call_find(x->id)->name, x->w.why);
		return call_fail(fail, x->id, "kysod could not write the request");
	}
	if (rpc_exchange(x->h, x->c, req != NULL ? req : &x->c->out, x->id, x->ms, -1, &x->r,
	    &cause) != KYSO_OK) {
		x->broken = 1;
		return call_fail(fail, x->id, cause);
	}
	return KYSO_OK;
}

/* Ends reading the answer: a message that does not fit its signature ends the helper. */
static int
call_read_end(struct call *x, struct p11_fail *fail)
{
	if (rpc_read_end(&x->r) == KYSO_OK)
		return KYSO_OK;
	log_error("the helper process (pid %ld) of a PKCS#11 module broke the protocol (%s); "
	    "it is ended", (long)x->h->pid, x->r.why);
	rpc_helper_kill(x->h, 0);
	x->broken = 1;
	return call_fail(fail, x->id, rpc_cause(0, 0, 1));
}

static void
call_end(struct call *x)
{
	if (x->c == NULL)
		return;
	rpc_rx_wipe(&x->c->rx);
	kbuf_reset(&x->c->out);
	rpc_helper_put(x->h, x->c, x->broken);
	rpc_helper_unref(x->h);
	x->c = NULL;
}

/* Reads "iF" (the result and the failure) of an answer; the result, or a transport error. */
static int
call_result(struct call *x, struct p11_fail *fail)
{
	int r = rpc_get_i32(&x->r);

	if (fail != NULL)
		rpc_get_fail(&x->r, fail);
	else {
		struct p11_fail ignored;

		rpc_get_fail(&x->r, &ignored);
	}
	return r;
}

/* ---- modules ---- */

/* Starts m's helper and waits for it to load and initialise the module. */
static int
module_start(struct p11_module *m, char *err, size_t errlen)
{
	struct rpc_helper *h = NULL;
	struct rpc_msg w, r;
	const char *cause = NULL;
	char *why = NULL;
	int e, result = KYSO_ERR_MODULE;

	if ((e = rpc_helper_spawn(m->path, &h, err, errlen)) != KYSO_OK)
		return e;
	pthread_mutex_lock(&h->ctl_mu);
	rpc_write_begin(&w, &h->ctl->out, RPC_HELLO, 0);
	e = rpc_write_end(&w);
	if (e == KYSO_OK)
		e = rpc_exchange(h, h->ctl, &h->ctl->out, RPC_HELLO, rpc_deadline_ms(RPC_HELLO),
		    -1, &r, &cause);
	if (e == KYSO_OK) {
		result = rpc_get_i32(&r);
		why = rpc_get_string(&r);
		if (rpc_read_end(&r) != KYSO_OK) {
			rpc_helper_kill(h, 0);
			cause = rpc_cause(0, 0, 1);
			result = KYSO_ERR_MODULE;
		}
	}
	rpc_rx_wipe(&h->ctl->rx);
	pthread_mutex_unlock(&h->ctl_mu);
	if (e != KYSO_OK || result != KYSO_OK) {
		if (why != NULL && why[0] != '\0')
			snprintf(err, errlen, "%s", why);
		else
			snprintf(err, errlen, "PKCS#11 module %s could not be loaded: %s", m->path,
			    cause != NULL ? cause : kyso_strerror(result));
		free(why);
		rpc_helper_stop(h);
		rpc_helper_unref(h);
		return KYSO_ERR_MODULE;
	}
	free(why);
	pthread_mutex_lock(&m->mu);
	m->h = h;
	m->gen++;
	rpc_helper_on_exit(h, m->on_exit, m->on_exit_arg);
	pthread_mutex_unlock(&m->mu);
	return KYSO_OK;
}

int
p11_module_load(const char *path, struct p11_module **out, char *err, size_t errlen)
{
	struct p11_module *m;

	*out = NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL || (m->path = strdup(path)) == NULL) {
		free(m);
		snprintf(err, errlen, "out of memory");
		return KYSO_ERR_NOMEM;
	}
	pthread_mutex_init(&m->mu, NULL);
	if (module_start(m, err, errlen) != KYSO_OK) {
		pthread_mutex_destroy(&m->mu);
		free(m->path);
		free(m);
		return KYSO_ERR_MODULE;
	}
	*out = m;
	return KYSO_OK;
}

int
p11_modules_load_registered(struct p11_module ***out, size_t *n)
{
	struct p11_module **mods;
	char **paths = NULL, err[512];
	size_t count = 0, i;
	int r;

	*out = NULL;
	*n = 0;
	if ((r = rpc_list_registered(&paths, &count)) != KYSO_OK)
		return r;
	if ((mods = calloc(count + 1, sizeof(*mods))) == NULL) {
		for (i = 0; i < count; i++)
			free(paths[i]);
		free(paths);
		return KYSO_ERR_NOMEM;
	}
	for (i = 0; i < count; i++) {
		if (p11_module_load(paths[i], &mods[*n], err, sizeof(err)) != KYSO_OK) {
			log_warn("%s; skipped", err);
		} else {
			log_info("loaded PKCS#11 module %s", paths[i]);
			(*n)++;
		}
		free(paths[i]);
	}
	free(paths);
	*out = mods;
	return KYSO_OK;
}

const char *
p11_module_path(const struct p11_module *m)
{
	return m->path;
}

void
p11_module_on_exit(struct p11_module *m, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&m->mu);
	m->on_exit = fn;
	m->on_exit_arg = arg;
	if (m->h != NULL)
		rpc_helper_on_exit(m->h, fn, arg);
	pthread_mutex_unlock(&m->mu);
}

int
p11_module_tokens(struct p11_module *m, struct p11_token_desc **out, size_t *n,
    struct p11_fail *fail)
{
	struct call x;
	int r;

	*out = NULL;
	*n = 0;
	p11_fail_clear(fail);
	if ((r = call_begin(&x, m, 0, RPC_TOKENS, fail)) == KYSO_OK &&
	    (r = call_run(&x, NULL, fail)) == KYSO_OK) {
		r = call_result(&x, fail);
		*out = rpc_get_tokens(&x.r, n);
		if (call_read_end(&x, fail) != KYSO_OK || r != KYSO_OK) {
			free(*out);
			*out = NULL;
			*n = 0;
			r = r != KYSO_OK ? r : KYSO_ERR_TOKEN;
		}
	}
	call_end(&x);
	return r;
}

int
p11_module_wait_event(struct p11_module *m, unsigned long *slot, struct p11_fail *fail)
{
	struct call x;
	int r;

	*slot = 0;
	p11_fail_clear(fail);
	if ((r = call_begin(&x, m, 0, RPC_WAIT_EVENT, fail)) == KYSO_OK &&
	    (r = call_run(&x, NULL, fail)) == KYSO_OK) {
		r = call_result(&x, fail);
		*slot = (unsigned long)rpc_get_u64(&x.r);
		if (call_read_end(&x, fail) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(&x);
	return r;
}

void
p11_module_finalize(struct p11_module *m)
{
	struct rpc_helper *h;
	struct call x;

	pthread_mutex_lock(&m->mu);
	h = m->h;
	if (h != NULL)
		rpc_helper_stop(h);  /* asked: its end is no crash */
	pthread_mutex_unlock(&m->mu);
	if (h == NULL)
		return;
	/* C_Finalize in the helper wakes a C_WaitForSlotEvent in progress there */
	if (call_begin(&x, m, 0, RPC_FINALIZE, NULL) == KYSO_OK &&
	    call_run(&x, NULL, NULL) == KYSO_OK)
		(void)rpc_get_i32(&x.r);
	call_end(&x);
	pthread_mutex_lock(&m->mu);
	m->h = NULL;
	pthread_mutex_unlock(&m->mu);
	rpc_helper_unref(h);  /* the process ends when its last call is over */
}

int
p11_module_init(struct p11_module *m, struct p11_fail *fail)
{
	char err[512];
	int running;

	p11_fail_clear(fail);
	pthread_mutex_lock(&m->mu);
	running = m->h != NULL;
	pthread_mutex_unlock(&m->mu);
	if (running)
		return KYSO_OK;
	if (module_start(m, err, sizeof(err)) == KYSO_OK)
		return KYSO_OK;
	log_warn("%s", err);
	call_fail(fail, RPC_HELLO, "the module could not be loaded and initialised in a new "
	    "helper process");
	return KYSO_ERR_MODULE;
}

int
p11_module_slot_count(struct p11_module *m, size_t *n)
{
	struct call x;
	int r;

	*n = 0;
	if ((r = call_begin(&x, m, 0, RPC_SLOT_COUNT, NULL)) == KYSO_OK &&
	    (r = call_run(&x, NULL, NULL)) == KYSO_OK) {
		r = rpc_get_i32(&x.r);
		*n = (size_t)rpc_get_u64(&x.r);
		if (call_read_end(&x, NULL) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(&x);
	return r;
}

/* A call on a slot answering only "i" (present, removable): the answer, or dflt. */
static int
slot_question(struct p11_module *m, unsigned id, unsigned long slot, int dflt)
{
	struct call x;
	int r = dflt;

	if (call_begin(&x, m, 0, id, NULL) == KYSO_OK) {
		rpc_put_u64(&x.w, slot);
		if (call_run(&x, NULL, NULL) == KYSO_OK) {
			r = rpc_get_i32(&x.r);
			if (call_read_end(&x, NULL) != KYSO_OK)
				r = dflt;
		}
	}
	call_end(&x);
	return r;
}

int
p11_slot_present(struct p11_module *m, unsigned long slot)
{
	int r = slot_question(m, RPC_SLOT_PRESENT, slot, -1);

	return r == 0 || r == 1 ? r : -1;
}

int
p11_slot_removable(struct p11_module *m, unsigned long slot)
{
	return slot_question(m, RPC_SLOT_REMOVABLE, slot, 0) == 1;
}

int
p11_slot_describe(struct p11_module *m, unsigned long slot, struct p11_token_desc *d,
    struct p11_fail *fail)
{
	struct call x;
	int r;

	memset(d, 0, sizeof(*d));
	p11_fail_clear(fail);
	if ((r = call_begin(&x, m, 0, RPC_SLOT_DESCRIBE, fail)) == KYSO_OK) {
		rpc_put_u64(&x.w, slot);
		if ((r = call_run(&x, NULL, fail)) == KYSO_OK) {
			r = call_result(&x, fail);
			rpc_get_token(&x.r, d);
			if (call_read_end(&x, fail) != KYSO_OK)
				r = KYSO_ERR_TOKEN;
		}
	}
	call_end(&x);
	return r;
}

/* ---- sessions ---- */

int
p11_session_open(struct p11_module *m, unsigned long slot, struct p11_session **out,
    struct p11_fail *fail)
{
	struct p11_session *s;
	struct call x;
	int r;

	*out = NULL;
	p11_fail_clear(fail);
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return KYSO_ERR_NOMEM;
	s->m = m;
	if ((r = call_begin(&x, m, 0, RPC_OPEN, fail)) == KYSO_OK) {
		rpc_put_u64(&x.w, slot);
		if ((r = call_run(&x, NULL, fail)) == KYSO_OK) {
			r = call_result(&x, fail);
			s->id = rpc_get_u32(&x.r);
			if (call_read_end(&x, fail) != KYSO_OK)
				r = KYSO_ERR_TOKEN;
		}
		pthread_mutex_lock(&m->mu);
		s->gen = m->gen;  /* the helper of this call (a restart fails the call first) */
		pthread_mutex_unlock(&m->mu);
	}
	call_end(&x);
	if (r != KYSO_OK) {
		free(s);
		return r;
	}
	*out = s;
	return KYSO_OK;
}

void
p11_session_close(struct p11_session *s)
{
	struct call x;

	if (s == NULL)
		return;
	if (call_begin(&x, s->m, s->gen, RPC_CLOSE, NULL) == KYSO_OK) {
		rpc_put_u32(&x.w, s->id);
		if (call_run(&x, NULL, NULL) == KYSO_OK) {
			(void)rpc_get_i32(&x.r);
			(void)call_read_end(&x, NULL);
		}
	}
	call_end(&x);
	free(s);
}

/*
 * A session call answering "iFy" and what out_fn reads after: the result (or a
 * transport error), the stuck flag stored.
 */
static int
session_call(struct p11_session *s, unsigned id, const struct kbuf *req,
    struct p11_fail *fail, void (*out_fn)(struct rpc_msg *, void *), void *arg)
{
	struct call x;
	int r;

	p11_fail_clear(fail);
	if ((r = call_begin(&x, s->m, s->gen, id, fail)) != KYSO_OK)
		return r;
	if (req == NULL)
		rpc_put_u32(&x.w, s->id);
	if ((r = call_run(&x, req, fail)) == KYSO_OK) {
		r = call_result(&x, fail);
		if (id == RPC_DESCRIBE && out_fn != NULL)
			out_fn(&x.r, arg);
		s->stuck = (int)rpc_get_u8(&x.r);
		if (id != RPC_DESCRIBE && out_fn != NULL)
			out_fn(&x.r, arg);
		if (call_read_end(&x, fail) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(&x);
	return r;
}

static void
read_token(struct rpc_msg *m, void *arg)
{
	rpc_get_token(m, arg);
}

int
p11_session_describe(struct p11_session *s, struct p11_token_desc *out, struct p11_fail *fail)
{
	memset(out, 0, sizeof(*out));
	return session_call(s, RPC_DESCRIBE, NULL, fail, read_token, out);
}

int
p11_session_stuck(const struct p11_session *s)
{
	return s->stuck;
}

int
p11_session_logged_in(struct p11_session *s)
{
	struct call x;
	int r = 0;

	if (call_begin(&x, s->m, s->gen, RPC_LOGGED_IN, NULL) == KYSO_OK) {
		rpc_put_u32(&x.w, s->id);
		if (call_run(&x, NULL, NULL) == KYSO_OK) {
			(void)rpc_get_i32(&x.r);
			r = (int)rpc_get_u8(&x.r);
			if (call_read_end(&x, NULL) != KYSO_OK)
				r = 0;
		}
	}
	call_end(&x);
	return r;
}

/*
 * A request carrying a PIN (RPC_LOGIN, RPC_CONTEXT_PIN), written straight into locked
 * memory (*buf, freed and so wiped by the caller once sent). Returns KYSO_OK or an error.
 */
static int
secret_request(struct p11_session *s, unsigned id, const struct kyso_secret *pin,
    struct kyso_secret **buf, struct kbuf *frame)
{
	struct rpc_msg w;

	*buf = NULL;
	if (secret_len(pin) > RPC_SECRET_FRAME_MAX - 64 ||
	    secret_alloc(RPC_SECRET_FRAME_MAX, buf) != KYSO_OK)
		return KYSO_ERR_INVALID_ARG;
	/* a kbuf over the locked page: it never grows (the frame is smaller) */
	frame->data = secret_buf(*buf);
	frame->len = 0;
	frame->cap = RPC_SECRET_FRAME_MAX;
	frame->max = RPC_SECRET_FRAME_MAX;
	rpc_write_begin(&w, frame, id, 0);
	rpc_put_u32(&w, s->id);
	rpc_put_secret(&w, pin);
	return rpc_write_end(&w);
}

int
p11_session_login(struct p11_session *s, const struct kyso_secret *pin,
    struct p11_fail *fail)
{
	struct kyso_secret *buf = NULL;
	struct kbuf frame;
	int r;

	if (pin == NULL)
		return session_call(s, RPC_LOGIN_PAD, NULL, fail, NULL, NULL);
	if ((r = secret_request(s, RPC_LOGIN, pin, &buf, &frame)) == KYSO_OK)
		r = session_call(s, RPC_LOGIN, &frame, fail, NULL, NULL);
	else
		p11_fail_clear(fail);
	secret_free(buf);
	return r;
}

int
p11_session_logout(struct p11_session *s, struct p11_fail *fail)
{
	return session_call(s, RPC_LOGOUT, NULL, fail, NULL, NULL);
}

struct certs_out {
	struct p11_cert_desc *c;
	size_t n;
};

static void
read_certs(struct rpc_msg *m, void *arg)
{
	struct certs_out *o = arg;

	o->c = rpc_get_certs(m, &o->n);
}

int
p11_session_certs(struct p11_session *s, struct p11_cert_desc **out, size_t *n,
    struct p11_fail *fail)
{
	struct certs_out o = { NULL, 0 };
	int r = session_call(s, RPC_CERTS, NULL, fail, read_certs, &o);

	if (r != KYSO_OK) {
		p11_certs_free(o.c, o.n);
		o.c = NULL;
		o.n = 0;
	}
	*out = o.c;
	*n = o.n;
	return r;
}

void
p11_certs_free(struct p11_cert_desc *c, size_t n)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(c[i].der);
		free(c[i].id);
		free(c[i].label);
		free(c[i].key_label);
	}
	free(c);
}

int
p11_session_key_always_auth(struct p11_session *s, const unsigned char *id, size_t id_len)
{
	struct call x;
	int r = 0;

	if (call_begin(&x, s->m, s->gen, RPC_ALWAYS_AUTH, NULL) == KYSO_OK) {
		rpc_put_u32(&x.w, s->id);
		rpc_put_bytes(&x.w, id, id_len);
		if (call_run(&x, NULL, NULL) == KYSO_OK) {
			r = rpc_get_i32(&x.r) == 1;
			if (call_read_end(&x, NULL) != KYSO_OK)
				r = 0;
		}
	}
	call_end(&x);
	return r;
}

struct sig_out {
	unsigned char *sig;
	size_t len;
};

static void
read_sig(struct rpc_msg *m, void *arg)
{
	struct sig_out *o = arg;

	o->sig = rpc_get_bytes(m, &o->len);
}

int
p11_session_sign(struct p11_session *s, const struct p11_sign_req *req,
    unsigned char **sig, size_t *siglen, struct p11_fail *fail)
{
	struct sig_out o = { NULL, 0 };
	struct kyso_secret *buf = NULL;
	struct kbuf frame;
	struct call x;
	int r;

	*sig = NULL;
	*siglen = 0;
	p11_fail_clear(fail);
	if (req->context_pin != NULL) {
		/* the PIN goes alone, in a small request from locked memory; the helper keeps
		 * it for this signature only */
		if ((r = secret_request(s, RPC_CONTEXT_PIN, req->context_pin, &buf, &frame)) !=
		    KYSO_OK) {
			secret_free(buf);
			return r;
		}
		if ((r = call_begin(&x, s->m, s->gen, RPC_CONTEXT_PIN, fail)) == KYSO_OK &&
		    (r = call_run(&x, &frame, fail)) == KYSO_OK) {
			r = rpc_get_i32(&x.r);
			if (call_read_end(&x, fail) != KYSO_OK)
				r = KYSO_ERR_TOKEN;
		}
		call_end(&x);
		secret_free(buf);
		if (r != KYSO_OK)
			return r;
	}
	if ((r = call_begin(&x, s->m, s->gen, RPC_SIGN, fail)) != KYSO_OK)
		return r;
	if (req->context_pin_pad)
		x.ms = rpc_pinpad_ms;  /* the reader's keypad may be asked for the PIN */
	rpc_put_u32(&x.w, s->id);
	rpc_put_bytes(&x.w, req->key_id, req->key_id_len);
	rpc_put_u32(&x.w, (uint32_t)req->mech);
	rpc_put_u32(&x.w, req->pss_hash_bits);
	rpc_put_u8(&x.w, req->context_pin != NULL);
	rpc_put_u8(&x.w, req->context_pin_pad);
	rpc_put_bytes(&x.w, req->in, req->in_len);
	if ((r = call_run(&x, NULL, fail)) == KYSO_OK) {
		r = call_result(&x, fail);
		s->stuck = (int)rpc_get_u8(&x.r);
		read_sig(&x.r, &o);
		if (call_read_end(&x, fail) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(&x);
	if (r == KYSO_OK && (o.sig == NULL || o.len == 0)) {
		r = call_fail(fail, RPC_SIGN, "the module's helper process answered no signature");
	}
	if (r != KYSO_OK) {
		free(o.sig);
		return r;
	}
	*sig = o.sig;
	*siglen = o.len;
	return KYSO_OK;
}

void
p11_module_free(struct p11_module *m)
{
	if (m == NULL)
		return;
	p11_module_finalize(m);
	pthread_mutex_destroy(&m->mu);
	free(m->path);
	free(m);
}
