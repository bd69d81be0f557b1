/*
 * rpc_session.c — p11.h for kysod, its sessions: opened, used and closed in the module's
 * helper process (rpc_client.c), where they live by number. A session of an earlier
 * helper (restarted since) is lost: its calls fail, and the worker opens a new one.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "rpc.h"
#include "rpc_chan.h"
#include "rpc_client.h"
#include "rpc_helper.h"
#include "secret.h"

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

/* Starts x, a RPC_SIGN of req on s (its context PIN, if any, sent before). */
static int
sign_begin(struct call *x, struct p11_session *s, const struct p11_sign_req *req,
    struct p11_fail *fail)
{
	int r;

	if ((r = call_begin(x, s->m, s->gen, RPC_SIGN, fail)) != KYSO_OK)
		return r;
	if (req->context_pin_pad)
		x->ms = rpc_pinpad_ms;  /* the reader's keypad may be asked for the PIN */
	rpc_put_u32(&x->w, s->id);
	rpc_put_bytes(&x->w, req->key_id, req->key_id_len);
	rpc_put_u32(&x->w, (uint32_t)req->mech);
	rpc_put_u32(&x->w, req->pss_hash_bits);
	rpc_put_u8(&x->w, req->context_pin != NULL);
	rpc_put_u8(&x->w, req->context_pin_pad);
	rpc_put_bytes(&x->w, req->in, req->in_len);
	return KYSO_OK;
}

/*
 * Reads the answer of RPC_SIGN x on s (r: how sending and receiving went) and ends x.
 * Returns KYSO_OK with *sig (malloc'd) and *siglen, or the error (+ fail).
 */
static int
sign_answer(struct call *x, struct p11_session *s, int r, unsigned char **sig,
    size_t *siglen, struct p11_fail *fail)
{
	struct sig_out o = { NULL, 0 };

	if (r == KYSO_OK) {
		r = call_result(x, fail);
		s->stuck = (int)rpc_get_u8(&x->r);
		read_sig(&x->r, &o);
		if (call_read_end(x, fail) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(x);
	if (r == KYSO_OK && (o.sig == NULL || o.len == 0))
		r = call_fail(fail, RPC_SIGN, "the module's helper process answered no signature");
	if (r != KYSO_OK) {
		free(o.sig);
		return r;
	}
	*sig = o.sig;
	*siglen = o.len;
	return KYSO_OK;
}

int
p11_session_sign(struct p11_session *s, const struct p11_sign_req *req,
    unsigned char **sig, size_t *siglen, struct p11_fail *fail)
{
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
	if ((r = sign_begin(&x, s, req, fail)) != KYSO_OK)
		return r;
	r = call_run(&x, NULL, fail);
	return sign_answer(&x, s, r, sig, siglen, fail);
}

/* A RPC_SIGN whose answer is read later (p11_session_sign_recv). */
struct p11_sign_call {
	struct p11_session *s;
	struct call x;
};

int
p11_session_sign_send(struct p11_session *s, const struct p11_sign_req *req,
    struct p11_sign_call **out, struct p11_fail *fail)
{
	struct p11_sign_call *c;
	int r;

	*out = NULL;
	p11_fail_clear(fail);
	if (req->context_pin != NULL || req->context_pin_pad)
		return KYSO_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	c->s = s;
	if ((r = sign_begin(&c->x, s, req, fail)) != KYSO_OK) {
		free(c);
		return r;
	}
	if ((r = call_send(&c->x, NULL, fail)) != KYSO_OK) {
		call_end(&c->x);
		free(c);
		return r;
	}
	*out = c;
	return KYSO_OK;
}

int
p11_session_sign_recv(struct p11_sign_call *c, unsigned char **sig, size_t *siglen,
    struct p11_fail *fail)
{
	int r;

	*sig = NULL;
	*siglen = 0;
	p11_fail_clear(fail);
	r = sign_answer(&c->x, c->s, call_recv(&c->x, fail), sig, siglen, fail);
	free(c);
	return r;
}

struct many_out {
	unsigned char *lens, *cat;
	size_t lens_len, cat_len;
};

static void
read_many(struct rpc_msg *m, void *arg)
{
	struct many_out *o = arg;

	o->lens = rpc_get_bytes(m, &o->lens_len);
	o->cat = rpc_get_bytes(m, &o->cat_len);
}

/* A RPC_SIGN_MANY whose answer is read later (p11_session_sign_many_recv). */
struct p11_sign_many_call {
	struct p11_session *s;
	struct call x;
	size_t n;
};

int
p11_session_sign_many_send(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, struct p11_sign_many_call **out,
    struct p11_fail *fail)
{
	struct p11_sign_many_call *c;
	int r;

	*out = NULL;
	p11_fail_clear(fail);
	if (n == 0 || n > P11_SIGN_MANY_MAX || in_len == 0 || in_len * n > RPC_BYTES_MAX)
		return KYSO_ERR_INVALID_ARG;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return KYSO_ERR_NOMEM;
	c->s = s;
	c->n = n;
	if ((r = call_begin(&c->x, s->m, s->gen, RPC_SIGN_MANY, fail)) != KYSO_OK) {
		free(c);
		return r;
	}
	rpc_put_u32(&c->x.w, s->id);
	rpc_put_bytes(&c->x.w, req->key_id, req->key_id_len);
	rpc_put_u32(&c->x.w, (uint32_t)req->mech);
	rpc_put_u32(&c->x.w, req->pss_hash_bits);
	rpc_put_u32(&c->x.w, (uint32_t)n);
	rpc_put_bytes(&c->x.w, ins, in_len * n);
	if ((r = call_send(&c->x, NULL, fail)) != KYSO_OK) {
		call_end(&c->x);
		free(c);
		return r;
	}
	*out = c;
	return KYSO_OK;
}

int
p11_session_sign_many_recv(struct p11_sign_many_call *c, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail)
{
	struct many_out o = { NULL, NULL, 0, 0 };
	size_t off = 0, n = c->n;
	int r;

	for (size_t i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	p11_fail_clear(fail);
	if ((r = call_recv(&c->x, fail)) == KYSO_OK) {
		r = call_result(&c->x, fail);
		c->s->stuck = (int)rpc_get_u8(&c->x.r);
		read_many(&c->x.r, &o);
		if (call_read_end(&c->x, fail) != KYSO_OK)
			r = KYSO_ERR_TOKEN;
	}
	call_end(&c->x);
	free(c);
	if (r == KYSO_OK && (o.lens == NULL || o.lens_len != n * sizeof(uint32_t)))
		r = call_fail(fail, RPC_SIGN_MANY, "the module's helper process answered no "
		    "signatures");
	for (size_t i = 0; r == KYSO_OK && i < n; i++) {
		uint32_t len;

		memcpy(&len, o.lens + i * sizeof(len), sizeof(len));
		if (len == 0 || len > o.cat_len - off ||
		    (sigs[i] = malloc(len)) == NULL) {
			r = len == 0 || len > o.cat_len - off ? call_fail(fail, RPC_SIGN_MANY,
			    "the module's helper process answered a bad signature") :
			    KYSO_ERR_NOMEM;
			break;
		}
		memcpy(sigs[i], o.cat + off, len);
		siglens[i] = len;
		off += len;
	}
	if (o.cat != NULL)
		explicit_bzero(o.cat, o.cat_len);
	free(o.cat);
	free(o.lens);
	if (r == KYSO_OK)
		return KYSO_OK;
	for (size_t i = 0; i < n; i++) {
		free(sigs[i]);
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	return r;
}

int
p11_session_sign_many(struct p11_session *s, const struct p11_sign_req *req,
    const unsigned char *ins, size_t in_len, size_t n, unsigned char **sigs,
    size_t *siglens, struct p11_fail *fail)
{
	struct p11_sign_many_call *c;
	int r;

	for (size_t i = 0; i < n; i++) {
		sigs[i] = NULL;
		siglens[i] = 0;
	}
	if ((r = p11_session_sign_many_send(s, req, ins, in_len, n, &c, fail)) != KYSO_OK)
		return r;
	return p11_session_sign_many_recv(c, sigs, siglens, fail);
}
