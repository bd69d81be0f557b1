/* web.c — calls on behalf of web pages: the origin policy and the officer's question. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "conn.h"
#include "dialogs.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "origin.h"
#include "params.h"
#include "procinfo.h"
#include "record.h"
#include "request.h"
#include "web.h"
#include "whois_async.h"
#include "web_store.h"
#include "worker.h"

/* How long shutdown waits for the question's thread to leave its dialog. */
#define WEB_STOP_WAIT_MS 3000
/* Pages allowed "only for now" (WEB_ONCE_TTL_S, dialogs.h): at most this many at once */
#define WEB_ONCE_MAX 32

struct web_ask {
	method_fn again;             /* the method to serve the call with, once allowed */
	json_t *params;              /* its parameters (a reference) */
	enum web_audit audit;        /* how a refusal is recorded */
	int always;                  /* the officer chose "Always allow" */
	struct completions *done;    /* where the thread posts the job */
	atomic_int *threads;         /* the count of live question threads */
};

struct web_once {
	char origin[ORIGIN_MAX + 1]; /* "": a free place */
	long until;                  /* agent_now() after which it is asked again */
};

struct web_state {
	struct web_store *store;     /* the pages allowed always; NULL: no state directory */
	struct web_once once[WEB_ONCE_MAX];   /* the pages allowed "only for now" */
	struct job *current;         /* the question on screen (its thread runs), or NULL */
	struct job *head, *tail;     /* the questions waiting their turn, linked by next */
	atomic_int threads;
};

enum decision { ALLOWED, ASK, DENIED };

/* The pages allowed always, or NULL (no state directory; an agent without web_init). */
static struct web_store *
store_of(const struct agent *a)
{
	return a->web != NULL ? a->web->store : NULL;
}

int
web_init(struct agent *a)
{
	struct web_state *w = calloc(1, sizeof(*w));

	if (w == NULL)
		return KYSO_ERR_NOMEM;
	atomic_init(&w->threads, 0);
	if (a->policy.web_store_path != NULL &&
	    (w->store = web_store_new(a->policy.web_store_path)) == NULL) {
		free(w);
		return KYSO_ERR_NOMEM;
	}
	a->web = w;
	return KYSO_OK;
}

int
web_free(struct agent *a)
{
	struct web_state *w = a->web;
	struct timespec pause = { 0, 10 * 1000000L };
	struct job *j, *next;
	int waited = 0;

	if (w == NULL)
		return 1;
	for (j = w->head; j != NULL; j = next) {
		next = j->next;
		if (j->conn != NULL && j->conn->job == j)
			j->conn->job = NULL;
		job_free(j);
	}
	w->head = w->tail = NULL;
	if (w->current != NULL)
		pinentry_abort_fire(&w->current->abort);
	/* the thread posts its job and leaves; agent_free's drain frees the job */
	while (atomic_load(&w->threads) > 0 && waited < WEB_STOP_WAIT_MS) {
		nanosleep(&pause, NULL);
		waited += 10;
	}
	if (atomic_load(&w->threads) > 0) {
		log_warn("the web page question's dialog did not end");
		return 0;   /* its thread still points to w: leave it allocated */
	}
	web_store_free(w->store);
	free(w);
	a->web = NULL;
	return 1;
}

void
web_ask_free(struct web_ask *q)
{
	if (q == NULL)
		return;
	json_decref(q->params);
	free(q);
}

int
web_parent(const struct conn *c, pid_t *ppid, char *exe, size_t len)
{
	char path[64];
	ssize_t n;
	int e;

	snprintf(exe, len, "?");
	if ((*ppid = proc_parent(c->pid)) > 0) {
		snprintf(path, sizeof(path), "/proc/%ld/exe", (long)*ppid);
		if ((n = readlink(path, exe, len - 1)) >= 0) {
			exe[n] = '\0';
			return KYSO_OK;
		}
		e = errno;
		if (e != EACCES && e != EPERM) {
			snprintf(exe, len, "?");
			return KYSO_ERR_IO;
		}
	}
	/* kysod.service's own user namespace keeps /proc/PID/exe (and maybe /proc/PID/stat)
	 * of other processes from it: kysod-whois told, asked by web_gate (whois.h) */
	if (c->parent_named) {
		*ppid = c->ppid;
		snprintf(exe, len, "%s", c->parent);
		return KYSO_OK;
	}
	snprintf(exe, len, "?");
	return KYSO_ERR_IO;
}

/*
 * Whether the officer allowed o "only for now" and has not left it unused for
 * WEB_ONCE_TTL_S since; a use extends it. (In memory only: kysod's restart forgets it.)
 */
static int
web_once_has(struct web_state *w, const char *o)
{
	long now = agent_now();

	for (int i = 0; w != NULL && i < WEB_ONCE_MAX; i++)
		if (w->once[i].origin[0] != '\0' && w->once[i].until > now &&
		    strcmp(w->once[i].origin, o) == 0) {
			w->once[i].until = now + WEB_ONCE_TTL_S;
			return 1;
		}
	return 0;
}

/* Notes that the officer allowed o "only for now" (the oldest note gives way). */
static void
web_once_add(struct web_state *w, const char *o)
{
	int slot = 0;

	for (int i = 0; i < WEB_ONCE_MAX; i++) {
		if (strcmp(w->once[i].origin, o) == 0 || w->once[i].origin[0] == '\0') {
			slot = i;
			break;
		}
		if (w->once[i].until < w->once[slot].until)
			slot = i;
	}
	snprintf(w->once[slot].origin, sizeof(w->once[slot].origin), "%s", o);
	w->once[slot].until = agent_now() + WEB_ONCE_TTL_S;
}

/* Forgets the "only for now" of o (NULL: of every page). Returns how many. */
static size_t
web_once_forget(struct web_state *w, const char *o)
{
	size_t n = 0;

	for (int i = 0; w != NULL && i < WEB_ONCE_MAX; i++)
		if (w->once[i].origin[0] != '\0' && (o == NULL ||
		    strcmp(w->once[i].origin, o) == 0)) {
			n += w->once[i].until > agent_now();
			w->once[i].origin[0] = '\0';
		}
	return n;
}

/* Whether the page o may ask, and why not in *why (a static phrase) when it may not. */
static enum decision
web_decide(const struct agent *a, const char *o, const char **why)
{
	const struct agent_policy *p = &a->policy;

	*why = NULL;
	for (size_t i = 0; i < p->nweb_origins; i++)
		if (origin_match(p->web_origins[i], o))
			return ALLOWED;
	if (!p->web_ask) {
		*why = "";
		return DENIED;
	}
	if (origin_is_http(o)) {
		*why = "; a page served over http (on this machine) must be listed: it is never "
		    "asked about";
		return DENIED;
	}
	if (p->pinentry == NULL) {
		*why = "; web_origins_unknown = ask, but there are no dialogs (pinentry = none)";
		return DENIED;
	}
	if ((store_of(a) != NULL && web_store_has(store_of(a), o)) || web_once_has(a->web, o))
		return ALLOWED;
	if (a->web == NULL) {
		*why = "";   /* an agent without web_init (tests): nobody to ask */
		return DENIED;
	}
	return ASK;
}

static void *
web_ask_thread(void *arg)
{
	struct job *j = arg;
	struct job_web *wj = &j->u.web;
	struct web_ask *q = wj->ask;
	struct completions *done = q->done;
	atomic_int *threads = q->threads;
	int r = dialog_web_allow(wj->ri, &j->abort, &q->always, j->why, sizeof(j->why));

	switch (r) {
	case KYSO_OK:
		break;
	case KYSO_ERR_CANCELLED:
		wj->cancel = pinentry_abort_fired(&j->abort) ? JOB_CANCEL_DISCONNECTED :
		    JOB_CANCEL_REFUSED;
		break;
	case KYSO_ERR_TIMEOUT:
		wj->cancel = JOB_CANCEL_TIMEOUT;
		r = KYSO_ERR_CANCELLED;
		break;
	default:
		log_warn("no dialog could ask about web page %s: %s", wj->ri->origin, j->why);
		wj->cancel = JOB_CANCEL_NO_DIALOG;
		r = KYSO_ERR_CANCELLED;
		break;
	}
	j->result = r;
	completions_post(done, j);
	atomic_fetch_sub(threads, 1);   /* the last thing: web_free waits for it */
	return NULL;
}

/* Puts the next waiting question on screen, if none is. */
static void
web_ask_next(struct agent *a)
{
	struct web_state *w = a->web;
	pthread_attr_t attr;
	pthread_t th;
	struct job *j;

	while (w->current == NULL && (j = w->head) != NULL) {
		w->head = j->next;
		if (w->head == NULL)
			w->tail = NULL;
		j->next = NULL;
		atomic_fetch_add(&w->threads, 1);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&th, &attr, web_ask_thread, j) == 0) {
			w->current = j;
		} else {
			atomic_fetch_sub(&w->threads, 1);
			log_error("cannot start a thread for a web page's question");
			j->result = KYSO_ERR_CANCELLED;
			j->u.web.cancel = JOB_CANCEL_NO_DIALOG;
			completions_post(&a->done, j);   /* answered by web_complete */
		}
		pthread_attr_destroy(&attr);
	}
}

/* Queues the question whether c's page may ask; the call p is served again if so. */
static int
web_ask(struct agent *a, struct conn *c, json_t *p, method_fn again, enum web_audit audit)
{
	struct web_state *w = a->web;
	struct web_ask *q = calloc(1, sizeof(*q));
	struct job *j = job_new(JOB_WEB_ASK);

	if (q == NULL || j == NULL ||
	    (j->u.web.ri = request_info_new(a, c, NULL, NULL)) == NULL) {   /* the page and browser */
		free(q);
		job_free(j);
		return KYSO_ERR_NOMEM;
	}
	q->again = again;
	q->params = json_incref(p);
	q->audit = audit;
	q->done = &a->done;
	q->threads = &w->threads;
	j->u.web.ask = q;
	j->u.web.cancel = JOB_CANCEL_REFUSED;   /* until the dialog says otherwise */
	j->conn = c;
	c->job = j;
	if (w->tail != NULL)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	log_info("client %lu (pid %ld, %s): web page %s is not in web_origins: the officer is "
	    "asked", c->serial, (long)c->pid, c->exe, c->origin);
	web_ask_next(a);
	return KYSO_OK;
}

/*
 * The call p of c waits (c->parent_wait) while kysod-whois names the caller's parent.
 * Returns KYSO_OK, or an error when it cannot be asked (the call goes on without it).
 */
static int
web_parent_ask(struct agent *a, struct conn *c, json_t *p, method_fn again,
    enum web_audit audit)
{
	struct web_ask *q = calloc(1, sizeof(*q));
	int e;

	if (q == NULL)
		return KYSO_ERR_NOMEM;
	if ((e = whois_async_ask(a->whois, c->serial, c->fd, c->pid, WHOIS_ASK_PARENT)) !=
	    KYSO_OK) {
		free(q);
		log_warn("client %lu (pid %ld): kysod-whois cannot be asked for the browser of "
		    "web page %s: %s", c->serial, (long)c->pid, c->origin, kyso_strerror(e));
		return e;
	}
	q->again = again;
	q->params = json_incref(p);
	q->audit = audit;
	c->parent_wait = q;
	return KYSO_OK;
}

void
web_parent_answered(struct agent *a, struct conn *c, const struct whois_answer *ans)
{
	struct web_ask *q = c->parent_wait;
	struct reply r = { 0 };

	if (q == NULL)
		return;
	c->parent_wait = NULL;
	if (ans->parent_rc == KYSO_OK) {
		c->parent_named = 1;
		c->ppid = ans->ppid;
		snprintf(c->parent, sizeof(c->parent), "%s", ans->parent);
	} else {
		log_warn("client %lu (pid %ld): the browser of its web page's call is named '?': "
		    "%s", c->serial, (long)c->pid, ans->why);
	}
	if (!conn_release_if_dead(a, c) && q->again(a, c, q->params, &r) == DISPATCH_DONE)
		conn_reply(a, c, &r);
	reply_clear(&r);
	web_ask_free(q);
}

enum web_gate
web_gate(struct agent *a, struct conn *c, json_t *p, method_fn again,
    enum web_audit audit, struct reply *r)
{
	json_t *v = json_object_get(p, "origin");
	const char *why = NULL;
	int e;

	c->origin[0] = '\0';
	if (v == NULL || json_is_null(v))
		return WEB_GATE_PASS;
	if (!json_is_string(v)) {
		reply_invalid(r, "origin", "'origin' must be a string");
		return WEB_GATE_DONE;
	}
	e = origin_normalize(json_string_value(v), 0, c->origin, sizeof(c->origin), &why);
	if (e != KYSO_OK) {
		c->origin[0] = '\0';
		reply_invalid(r, "origin", "'origin' is not a web origin: %s", why);
		return WEB_GATE_DONE;
	}
	/* the browser, for the dialogs and the records: asked of kysod-whois only now */
	if (c->whois_named && !c->parent_asked && a->whois != NULL) {
		c->parent_asked = 1;
		if (web_parent_ask(a, c, p, again, audit) == KYSO_OK)
			return WEB_GATE_PENDING;
	}
	switch (web_decide(a, c->origin, &why)) {
	case ALLOWED:
		return WEB_GATE_PASS;
	case DENIED:
		reply_fail(r, KYSO_ERR_POLICY, json_pack("{s:s, s:s}", "setting", "web_origins",
		    "origin", c->origin), "the web page %s may not use kyso: it is not in "
		    "web_origins (%s)%s", c->origin, a->policy.origin != NULL ? a->policy.origin :
		    "kysod.conf", why);
		return WEB_GATE_DONE;
	case ASK:
		break;
	}
	if (web_ask(a, c, p, again, audit) != KYSO_OK) {
		reply_fail(r, KYSO_ERR_NOMEM, NULL, NULL);
		return WEB_GATE_DONE;
	}
	return WEB_GATE_PENDING;
}

/* The officer's answer was yes: remember it, and serve the call. */
static void
web_allowed(struct agent *a, struct conn *c, struct job *j)
{
	struct web_ask *q = j->u.web.ask;
	const char *o = j->u.web.ri->origin;
	struct reply r = { 0 };
	char err[300];

	log_info("client %lu: the officer allowed web page %s %s", c->serial, o,
	    q->always ? "always" : "for now");
	if (q->always && store_of(a) != NULL &&
	    web_store_add(store_of(a), o, err, sizeof(err)) != KYSO_OK)
		log_error("web page %s cannot be remembered: %s", o, err);
	web_once_add(a->web, o);   /* also after "always": the file may not be writable */
	if (q->again(a, c, q->params, &r) == DISPATCH_DONE)
		conn_reply(a, c, &r);
	reply_clear(&r);
}

/* The audit record(s) of a signing call whose page the officer did not allow. */
static void
web_record_refused(struct agent *a, struct conn *c, const struct web_ask *q,
    const struct reply *r)
{
	const char *alg = json_string_value(json_object_get(q->params, "algorithm"));
	const char *desc = json_string_value(json_object_get(q->params, "description"));

	if (q->audit == WEB_AUDIT_SIGN)
		record_refusal(a, c, NULL, alg, desc, r);
	else if (q->audit == WEB_AUDIT_DOCUMENTS)
		record_documents_refused(a, c, NULL, alg, desc, json_string_value(
		    json_object_get(q->params, "profile")), json_object_get(q->params,
		    "documents"), r);
}

void
web_complete(struct agent *a, struct job *j)
{
	struct web_state *w = a->web;
	struct job_web *wj = &j->u.web;
	struct conn *c = j->conn;
	struct reply r = { 0 };
	const char *o = wj->ri->origin;

	if (w != NULL && w->current == j)
		w->current = NULL;
	if (c != NULL && c->job == j)
		c->job = NULL;
	if (c == NULL || conn_release_if_dead(a, c)) {
		log_info("web page %s: its client left before the officer answered", o);
	} else if (j->result == KYSO_OK) {
		memcpy(c->origin, o, sizeof(c->origin));
		web_allowed(a, c, j);
	} else {
		reply_fail(&r, KYSO_ERR_CANCELLED, json_pack("{s:s, s:s}", "reason",
		    job_cancel_reason(wj->cancel), "origin", o), "%s",
		    wj->cancel == JOB_CANCEL_TIMEOUT ?
		    "nobody answered whether this web page may use kyso" :
		    wj->cancel == JOB_CANCEL_NO_DIALOG ? "no dialog could ask the officer whether "
		    "this web page may use kyso" : "the officer did not allow this web page to "
		    "use kyso");
		memcpy(c->origin, o, sizeof(c->origin));
		web_record_refused(a, c, wj->ask, &r);
		log_info("client %lu: web page %s: %s", c->serial, o,
		    json_string_value(json_object_get(r.eparams, "message")));
		conn_reply(a, c, &r);
		reply_clear(&r);
	}
	if (w != NULL)
		web_ask_next(a);   /* the loop frees j */
}

/* ---- kyso web-origins ---- */

enum dispatch_result
method_list_web_origins(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { NULL };
	const char *const *origins;
	const time_t *since;
	json_t *listed, *remembered, *now_list;
	char stamp[32];
	struct tm tm;
	size_t n = 0;

	(void)c;
	if (params_only(p, allowed, r) != KYSO_OK)
		return DISPATCH_DONE;
	listed = json_array();
	remembered = json_array();
	now_list = json_array();
	for (int i = 0; a->web != NULL && i < WEB_ONCE_MAX; i++)
		if (a->web->once[i].origin[0] != '\0' && a->web->once[i].until > agent_now())
			json_array_append_new(now_list, json_string(a->web->once[i].origin));
	for (size_t i = 0; i < a->policy.nweb_origins; i++)
		json_array_append_new(listed, json_string(a->policy.web_origins[i]));
	if (store_of(a) != NULL)
		n = web_store_list(store_of(a), &origins, &since);
	for (size_t i = 0; i < n; i++) {
		gmtime_r(&since[i], &tm);
		strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_append_new(remembered, json_pack("{s:s, s:s}", "origin", origins[i],
		    "since", since[i] != 0 ? stamp : ""));
	}
	reply_ok(r, json_pack("{s:o, s:s, s:o, s:o, s:s?}", "allowed", listed, "unknown",
	    a->policy.web_ask ? "ask" : "deny", "remembered", remembered, "for_now", now_list,
	    "file",
	    store_of(a) != NULL ? web_store_path(store_of(a)) : NULL));
	return DISPATCH_DONE;
}

enum dispatch_result
method_forget_web_origins(struct agent *a, struct conn *c, json_t *p, struct reply *r)
{
	static const char *const allowed[] = { "origin", "all", NULL };
	char norm[ORIGIN_MAX + 1], err[300];
	const char *o = NULL, *why;
	json_t *all = json_object_get(p, "all");
	size_t removed = 0, removed_always = 0;
	int e;

	if (params_only(p, allowed, r) != KYSO_OK ||
	    params_string(p, "origin", 0, ORIGIN_MAX + 1, &o, r) != KYSO_OK)
		return DISPATCH_DONE;
	if (all != NULL && !json_is_null(all) && !json_is_boolean(all)) {
		reply_invalid(r, "all", "'all' must be true or false");
		return DISPATCH_DONE;
	}
	if ((o == NULL) == !json_is_true(all)) {
		reply_invalid(r, o == NULL ? "origin" : "all", "send 'origin', or 'all': true");
		return DISPATCH_DONE;
	}
	if (o != NULL && (e = origin_normalize(o, ORIGIN_SLASH_OK, norm, sizeof(norm), &why)) !=
	    KYSO_OK) {
		reply_invalid(r, "origin", "'origin' is not a web origin: %s", why);
		return DISPATCH_DONE;
	}
	removed = web_once_forget(a->web, o != NULL ? norm : NULL);
	if (store_of(a) != NULL && (e = web_store_forget(store_of(a), o != NULL ? norm :
	    NULL, &removed_always, err, sizeof(err))) != KYSO_OK) {
		reply_fail(r, KYSO_ERR_INTERNAL, NULL, "%s", e == KYSO_ERR_NOMEM ?
		    "out of memory" : err);
		return DISPATCH_DONE;
	}
	log_info("client %lu (pid %ld, %s): forgot %zu web page(s) allowed always and %zu "
	    "allowed for now", c->serial, (long)c->pid, c->exe, removed_always, removed);
	reply_ok(r, json_pack("{s:i}", "forgotten", (json_int_t)(removed + removed_always)));
	return DISPATCH_DONE;
}
