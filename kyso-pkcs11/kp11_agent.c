/*
 * kp11_agent.c — calls to kysod: ListCertificates, Sign and Login, over a small pool of
 * libkyso connections (one call at a time each), so that threads of the program sign at
 * once and a signature does not pay for a new connection. No call is made with the
 * module's lock held.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "encode.h"
#include "kp11.h"
#include "kyso_err.h"
#include "libkyso_internal.h"
#include "monotime.h"

int
kp_agent_connect(kyso_client **out, struct kp_fail *f)
{
	struct ucred cred = { 0 };
	socklen_t len = sizeof(cred);
	kyso_client *c = NULL;
	int e;

	*out = NULL;
	if ((e = kyso_connect(NULL, &c)) != KYSO_OK) {
		f->err = e;
		snprintf(f->message, sizeof(f->message), "%s", c != NULL ? kyso_error_message(c) :
		    kyso_strerror(e));
		kyso_disconnect(c);
		return e;
	}
	/* the agent itself must never talk to itself through this module (a loop): kysod
	 * refuses to load it, and this is the second guard, for a copy it did not recognise
	 * or a proxy module that loaded it */
	if (getsockopt(kyso_fd(c), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
	    cred.pid == getpid()) {
		f->err = KYSO_ERR_CONNECT;
		snprintf(f->message, sizeof(f->message), "the socket %s is served by this very "
		    "process: kyso-pkcs11 was loaded into kysod, and refuses to talk to itself",
		    kyso_socket_path(c));
		kyso_disconnect(c);
		return KYSO_ERR_CONNECT;
	}
	*out = c;
	return KYSO_OK;
}

/* Closes a connection of the pool; in a forked child without disturbing the parent's. */
static void
conn_close(kyso_client *c, int inherited)
{
	(void)inherited;  /* libkyso only closes (never shuts down) its socket */
	kyso_disconnect(c);
}

void
kp_pool_clear(int inherited)
{
	for (size_t i = 0; i < kp.npool; i++)
		conn_close(kp.pool[i], inherited);
	kp.npool = 0;
}

/* A pooled connection the agent closed (it restarted) reads as end of file at once. */
static int
conn_stale(kyso_client *c)
{
	struct pollfd p = { .fd = kyso_fd(c), .events = POLLIN };

	return p.fd < 0 || poll(&p, 1, 0) != 0;
}

/*
 * Takes a turn (one of KP_CONN_MAX, waiting for one while all are taken) and a
 * connection from the pool, or makes one. *turn says which, for conn_give.
 */
static int
conn_take(kyso_client **out, unsigned long *epoch, size_t *turn, struct kp_fail *f)
{
	kyso_client *c = NULL;
	size_t i = 0;
	int e = KYSO_OK;

	*out = NULL;
	*turn = KP_CONN_MAX;  /* none taken */
	pthread_mutex_lock(&kp.mu);
	*epoch = kp.epoch;
	while (kp.nbusy >= KP_CONN_MAX && kp_still(*epoch) == CKR_OK)
		pthread_cond_wait(&kp.conn_cv, &kp.mu);
	if (kp_still(*epoch) != CKR_OK) {
		pthread_mutex_unlock(&kp.mu);
		f->err = KYSO_ERR_DISCONNECTED;
		snprintf(f->message, sizeof(f->message), "the program called C_Finalize");
		return f->err;
	}
	while (kp.busy[i].used)
		i++;
	kp.busy[i].used = 1;
	kp.busy[i].fd = -1;  /* none until connected */
	kp.nbusy++;
	*turn = i;
	while (c == NULL && kp.npool > 0) {
		c = kp.pool[--kp.npool];
		if (conn_stale(c)) {
			kyso_disconnect(c);
			c = NULL;
		}
	}
	pthread_mutex_unlock(&kp.mu);
	if (c == NULL)
		e = kp_agent_connect(&c, f);
	pthread_mutex_lock(&kp.mu);
	kp.busy[i].c = c;  /* C_Finalize may shut it down from now on */
	kp.busy[i].fd = c != NULL ? kyso_fd(c) : -1;
	pthread_mutex_unlock(&kp.mu);
	*out = c;
	return e;
}

/* Gives a connection back after a call (closed if it failed or the cycle ended), and the
 * turn. c may be NULL (the connection could not be made). */
static void
conn_give(kyso_client *c, unsigned long epoch, size_t turn, int e)
{
	int keep = c != NULL && (e == KYSO_OK || (e != KYSO_ERR_DISCONNECTED &&
	    e != KYSO_ERR_IO && e != KYSO_ERR_PROTOCOL && e != KYSO_ERR_TOO_LARGE &&
	    e != KYSO_ERR_NOMEM && e != KYSO_ERR_TIMEOUT && kyso_fd(c) >= 0));

	pthread_mutex_lock(&kp.mu);
	kp.busy[turn].c = NULL;
	kp.busy[turn].fd = -1;
	kp.busy[turn].used = 0;
	kp.nbusy--;
	pthread_cond_broadcast(&kp.conn_cv);
	if (keep && kp.initialized && !kp.finalizing && kp.epoch == epoch &&
	    kp.npool < KP_POOL_MAX) {
		kp.pool[kp.npool++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&kp.mu);
	kyso_disconnect(c);
}

void
kp_calls_end(void)
{
	struct timespec until;
	int shut = 0;

	/* the socket as it was when the call began (the calling thread owns c and may be
	 * changing it): a call that failed and closed it meanwhile is about to leave, and
	 * in that instant the number could name another descriptor — C_Finalize while
	 * calls are in progress is outside what PKCS#11 defines, and this only wakes them */
	for (size_t i = 0; i < KP_CONN_MAX; i++)
		if (kp.busy[i].used && kp.busy[i].fd >= 0) {
			(void)shutdown(kp.busy[i].fd, SHUT_RDWR);
			shut++;
		}
	pthread_cond_broadcast(&kp.conn_cv);  /* the calls waiting for a turn give up */
	until = clock_after_ms(CLOCK_REALTIME, KP_FINALIZE_WAIT_MS);
	while (kp.nbusy > 0)
		if (pthread_cond_timedwait(&kp.conn_cv, &kp.mu, &until) == ETIMEDOUT)
			break;
	if (kp.nbusy > 0)
		kp_log("C_Finalize: %zu call(s) to kysod still in progress (%d woken)", kp.nbusy,
		    shut);
}

void
kp_calls_forget(void)
{
	for (size_t i = 0; i < KP_CONN_MAX; i++) {
		kyso_disconnect(kp.busy[i].c);  /* the parent's: this child's copy only */
		kp.busy[i].c = NULL;
		kp.busy[i].fd = -1;
		kp.busy[i].used = 0;
	}
	kp.nbusy = 0;
}

/* Notes a failed call in *f. */
static int
call_failed(kyso_client *c, int e, struct kp_fail *f)
{
	f->err = e;
	f->detail = kp_detail_parse(kyso_error_parameters(c));
	snprintf(f->message, sizeof(f->message), "%s%s%s%s", kyso_error_message(c),
	    kyso_error_name(c)[0] != '\0' ? " (" : "", kyso_error_name(c),
	    kyso_error_name(c)[0] != '\0' ? ")" : "");
	return e;
}

/*
 * One call on a pooled connection. A connection found dead before the call is replaced;
 * a call that met a closed connection is repeated once on a new one only when it is
 * harmless to repeat (idempotent).
 */
static int
agent_call(const char *method, json_t *params, int idempotent, int wait_ms, json_t **reply,
    struct kp_fail *f)
{
	kyso_client *c;
	unsigned long epoch;
	size_t turn;
	int e;

	memset(f, 0, sizeof(*f));
	for (int attempt = 0; attempt < 2; attempt++) {
		if ((e = conn_take(&c, &epoch, &turn, f)) != KYSO_OK) {
			if (turn < KP_CONN_MAX)
				conn_give(c, epoch, turn, e);
			return e;
		}
		c->timeout_ms = wait_ms;
		e = kyso_rpc(c, method, params, reply);
		if (e != KYSO_OK)
			call_failed(c, e, f);
		conn_give(c, epoch, turn, e);
		if (e != KYSO_ERR_DISCONNECTED || !idempotent)
			break;
	}
	return e;
}

int
kp_agent_list_certs(const char *token_id, json_t **certs, struct kp_fail *f)
{
	json_t *p = json_pack("{s:s}", "token", token_id), *r = NULL;
	int e;

	*certs = NULL;
	if (p == NULL) {
		memset(f, 0, sizeof(*f));
		f->err = KYSO_ERR_NOMEM;
		return f->err;
	}
	e = agent_call("io.kyso.Agent.ListCertificates", p, 1, KP_WAIT_AGENT_MS, &r, f);
	json_decref(p);
	if (e != KYSO_OK)
		return e;
	*certs = json_incref(json_object_get(r, "certificates"));
	json_decref(r);
	if (!json_is_array(*certs)) {
		json_decref(*certs);
		*certs = NULL;
		f->err = KYSO_ERR_PROTOCOL;
		snprintf(f->message, sizeof(f->message), "the agent's certificate list is "
		    "malformed");
		return f->err;
	}
	return KYSO_OK;
}

/* Wipes the PIN string inside a request before it is freed (jansson keeps a copy). */
static void
wipe_pin(json_t *o)
{
	json_t *pin = json_object_get(o, "pin");

	if (json_is_string(pin))
		explicit_bzero((char *)(uintptr_t)json_string_value(pin), json_string_length(pin));
}

int
kp_agent_sign(const char *cert, const char *alg, const unsigned char *in, size_t len,
    int is_data, int raw, const char *pin, unsigned char **sig, size_t *siglen,
    struct kp_fail *f)
{
	json_t *p = NULL, *r = NULL;
	const char *s;
	char *b64 = NULL;
	int e = KYSO_ERR_NOMEM;

	*sig = NULL;
	*siglen = 0;
	memset(f, 0, sizeof(*f));
	if ((b64 = b64_encode(in, len)) == NULL ||
	    (p = json_pack("{s:s, s:s, s:s}", "certificate", cert, "algorithm", alg,
	    is_data ? "data" : "digest", b64)) == NULL ||
	    (raw && json_object_set_new(p, "signature_format", json_string("raw")) != 0) ||
	    (pin != NULL && json_object_set_new(p, "pin", json_string(pin)) != 0)) {
		f->err = KYSO_ERR_NOMEM;
		goto out;
	}
	/* not repeated: a Sign is a signature and an audit record */
	if ((e = agent_call("io.kyso.Agent.Sign", p, 0, KP_WAIT_OFFICER_MS, &r, f)) != KYSO_OK)
		goto out;
	s = json_string_value(json_object_get(r, "signature"));
	if (s == NULL || b64_decode(s, sig, siglen) != KYSO_OK) {
		e = f->err = KYSO_ERR_PROTOCOL;
		snprintf(f->message, sizeof(f->message), "the agent's signature is not base64");
	}
out:
	if (p != NULL)
		wipe_pin(p);
	json_decref(p);
	json_decref(r);
	free(b64);
	return e;
}

int
kp_agent_login(const char *token_id, const char *pin, size_t pinlen, int *unchecked,
    struct kp_fail *f)
{
	json_t *p, *r = NULL;
	char *copy = NULL;
	int e;

	*unchecked = 0;
	memset(f, 0, sizeof(*f));
	if ((p = json_pack("{s:s}", "token", token_id)) == NULL) {
		f->err = KYSO_ERR_NOMEM;
		return f->err;
	}
	if (pin != NULL) {
		/* the program's PIN is not NUL-terminated; the copy is locked and wiped */
		if ((copy = malloc(pinlen + 1)) == NULL) {
			json_decref(p);
			f->err = KYSO_ERR_NOMEM;
			return f->err;
		}
		(void)mlock(copy, pinlen + 1);
		memcpy(copy, pin, pinlen);
		copy[pinlen] = '\0';
		/* jansson takes valid UTF-8 only (kysod's protocol is JSON) */
		if (json_object_set_new(p, "pin", json_stringn(copy, pinlen)) != 0) {
			e = f->err = KYSO_ERR_INVALID_ARG;
			snprintf(f->message, sizeof(f->message), "the PIN is not valid UTF-8 text");
			goto out;
		}
	}
	e = agent_call("io.kyso.Agent.Login", p, 0, KP_WAIT_OFFICER_MS, &r, f);
	if (e == KYSO_OK)
		*unchecked = json_is_true(json_object_get(r, "already_logged_in"));
out:
	wipe_pin(p);
	json_decref(p);
	json_decref(r);
	if (copy != NULL) {
		explicit_bzero(copy, pinlen + 1);
		(void)munlock(copy, pinlen + 1);
		free(copy);
	}
	return e;
}
