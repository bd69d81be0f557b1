/*
 * rpc_call.c — one call from kysod to a module's helper (rpc_client.h): the options,
 * deadlines, the exchange on a channel, and why a helper that gave no answer ended.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "cpuload.h"
#include "kyso_err.h"
#include "log.h"
#include "monotime.h"
#include "p11.h"
#include "rpc.h"
#include "rpc_chan.h"
#include "rpc_client.h"
#include "rpc_helper.h"

long rpc_call_ms = 60000;
long rpc_pinpad_ms = 300000;
int rpc_no_filter;

/* Loading and initialising (OpenSC probes its readers: seconds) gets at least this long. */
#define RPC_START_MIN_MS 60000
/* C_Finalize gets at most this long: the helper is ended (killed) after it anyway. */
#define RPC_FINALIZE_MAX_MS 5000

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
rpc_exchange_send(struct rpc_helper *h, struct rpc_chan *c, const struct kbuf *req, long ms,
    int pass_fd, const char **cause)
{
	c->rx.wait_ms = ms;  /* the answer's deadline (rpc_recv) */
	if (rpc_send(c->fd, req->data, req->len, pass_fd) != KYSO_OK) {
		*cause = rpc_helper_lost(h);
		return KYSO_ERR_TOKEN;
	}
	clock_gettime(CLOCK_MONOTONIC, &c->sent);
	return KYSO_OK;
}

/* The longest answer time for which the caller polls before it sleeps (µs). */
#define RPC_SPIN_MAX_US 150

/*
 * The answer to a fast call (a signature on a fast token) comes within tens of µs, and
 * sleeping in recvmsg for it costs a wake-up as long (40–60 µs on these virtual
 * machines): the caller looks for it first, for about as long as this channel's answers
 * take, when they take at most RPC_SPIN_MAX_US and a CPU is free to run the helper
 * (cpuload.h: under load polling only takes the CPU from the thread it waits for).
 */
static void
rpc_answer_spin(struct rpc_chan *c)
{
	long limit = 2 * c->answer_us;
	char b;

	if (c->answer_us <= 0 || c->answer_us > RPC_SPIN_MAX_US || !cpuload_room())
		return;
	if (limit > RPC_SPIN_MAX_US)
		limit = RPC_SPIN_MAX_US;
	while (mono_us_since(&c->sent) < limit) {
		if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) != -1 || errno != EAGAIN)
			return;
		cpuload_pause();
	}
}

int
rpc_exchange_recv(struct rpc_helper *h, struct rpc_chan *c, unsigned id, long ms,
    struct rpc_msg *m, const char **cause)
{
	int e;
	long took;

	rpc_answer_spin(c);
	e = rpc_recv(c->fd, &c->rx, NULL);
	if (e == KYSO_OK) {
		took = mono_us_since(&c->sent);
		c->answer_us = c->answer_us == 0 ? took : (7 * c->answer_us + took) / 8;
	}

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

int
rpc_exchange(struct rpc_helper *h, struct rpc_chan *c, const struct kbuf *req,
    unsigned id, long ms, int pass_fd, struct rpc_msg *m, const char **cause)
{
	if (rpc_exchange_send(h, c, req, ms, pass_fd, cause) != KYSO_OK)
		return KYSO_ERR_TOKEN;
	return rpc_exchange_recv(h, c, id, ms, m, cause);
}

/* ---- one call ---- */

int
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
int
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

int
call_send(struct call *x, const struct kbuf *req, struct p11_fail *fail)
{
	const char *cause = NULL;

	if (req == NULL && rpc_write_end(&x->w) != KYSO_OK) {
		log_error("PKCS#11 request %s: %s", rpc_call_find(x->id)->name, x->w.why);
		return call_fail(fail, x->id, "kysod could not write the request");
	}
	if (rpc_exchange_send(x->h, x->c, req != NULL ? req : &x->c->out, x->ms, -1, &cause) !=
	    KYSO_OK) {
		x->broken = 1;
		return call_fail(fail, x->id, cause);
	}
	return KYSO_OK;
}

int
call_recv(struct call *x, struct p11_fail *fail)
{
	const char *cause = NULL;

	if (rpc_exchange_recv(x->h, x->c, x->id, x->ms, &x->r, &cause) != KYSO_OK) {
		x->broken = 1;
		return call_fail(fail, x->id, cause);
	}
	return KYSO_OK;
}

/* Sends the request (req: a frame built elsewhere, NULL: x->w) and gets the answer. */
int
call_run(struct call *x, const struct kbuf *req, struct p11_fail *fail)
{
	int r = call_send(x, req, fail);

	return r == KYSO_OK ? call_recv(x, fail) : r;
}

/* Ends reading the answer: a message that does not fit its signature ends the helper. */
int
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

void
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
int
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
