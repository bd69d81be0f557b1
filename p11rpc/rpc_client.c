/*
 * rpc_client.c — p11.h for kysod, its modules: each module runs in a kyso-p11-helper
 * process of its own (rpc_spawn.c), and each call is a request and its response on a
 * channel to it (rpc.h, rpc_call.c; sessions: rpc_session.c). A call that gets no answer — the helper crashed, ended, did not answer within
 * its deadline (then it is ended), or broke the protocol — fails with KYSO_ERR_TOKEN and
 * p11_fail.cause saying which; the module's watcher then restarts it (modwatch.c:
 * p11_module_finalize and p11_module_init start a new process).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "rpc.h"
#include "rpc_client.h"
#include "rpc_helper.h"
#include "secret.h"

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
	if (rpc_module_is_kyso(path)) {
		/* no helper is started for it: it would connect to this very agent */
		snprintf(err, errlen, "%s is kyso-pkcs11, kyso's own module that forwards to "
		    "kysod: kysod never loads it (that would be a loop)", path);
		log_error("refusing to load %s: it is kyso-pkcs11, the module that forwards to "
		    "kysod itself (a loop)", path);
		return KYSO_ERR_MODULE;
	}
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
