/* conn.c — client connections: accept, peer checks, reading calls, writing replies. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "batch.h"
#include "conn.h"
#include "dispatch.h"
#include "kyso_err.h"
#include "job.h"
#include "log.h"
#include "web.h"
#include "whois_async.h"
#include "wire.h"

/* Replies queued past this stop the serving of further calls until the client reads. */
#define CONN_OUT_HIGH (256 * 1024)
/* Calls served from one connection before the others get their turn. */
#define CONN_CALLS_PER_PASS 32
/* Connections one process may hold. */
#define CONN_PER_PID_MAX 32

struct whois_answer;
static void conn_warn_unnamed(pid_t pid, const char *why);
static void conn_named(struct agent *a, struct conn *c, const struct whois_answer *ans);

static unsigned long conn_serials;

/* Refusals anyone can provoke at will: logged within limits, per cause (log.h). */
enum conn_refusal { REFUSE_NO_CRED, REFUSE_OTHER_UID, REFUSE_AGENT_FULL, REFUSE_PID_FULL,
	REFUSE_COUNT };
static struct log_limit conn_refusal_limits[REFUSE_COUNT];

/* Logs a refused connection unless its cause was logged too often lately. */
static void __attribute__((format(printf, 2, 3)))
conn_log_refusal(enum conn_refusal cause, const char *fmt, ...)
{
	unsigned dropped;
	char line[320];
	va_list ap;

	if (!log_limit_allow(&conn_refusal_limits[cause], &dropped))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (dropped > 0)
		log_warn("%s (and %u more like it not logged: at most %d a minute)", line,
		    dropped, LOG_LIMIT_BURST);
	else
		log_warn("%s", line);
}

int
conn_gone(const struct conn *c)
{
	return c->state == CONN_ORPHAN || c->state == CONN_DEAD;
}

/* Closes c once its output is flushed (and gives up on that after a timeout). */
static void
conn_closing(struct conn *c)
{
	if (c->state != CONN_CLOSING)
		c->closing_since = agent_now();
	c->state = CONN_CLOSING;
}

/*
 * Tells epoll what c waits for, when that changed. Input is read also while a call is
 * served (later calls wait in the bounded buffer), until the buffer is full, the client
 * half-closed, or 256 KiB of replies wait unread; HUP and ERR always come.
 */
static void
conn_watch(struct agent *a, struct conn *c, int op)
{
	struct epoll_event ev = { 0 };

	if (conn_gone(c))
		return;
	ev.data.ptr = c;
	ev.events = 0;
	if (c->state != CONN_CLOSING && !c->eof && c->out.len <= CONN_OUT_HIGH &&
	    c->in.len < c->in.max)
		ev.events |= EPOLLIN | EPOLLRDHUP;
	if (c->out.len > 0)
		ev.events |= EPOLLOUT;
	if (op == EPOLL_CTL_MOD && ev.events == c->events)
		return;  /* unchanged: no system call on the hot path */
	if (epoll_ctl(a->epfd, op, c->fd, &ev) != 0)
		log_warn("epoll_ctl on client %lu: %s", c->serial, strerror(errno));
	c->events = ev.events;
}

static void
conn_free(struct agent *a, struct conn *c)
{
	web_ask_free(c->parent_wait);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		a->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
}

/*
 * Closes c's socket and marks it dead. The memory stays until conn_reap: later events of
 * the same epoll batch, or a worker's job, may still point to it.
 */
void
conn_drop(struct agent *a, struct conn *c)
{
	if (conn_gone(c))
		return;
	if (c->fd >= 0) {
		(void)epoll_ctl(a->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
	/* a worker's job may still point to a connection it serves: freed once it is back */
	c->state = c->state == CONN_SERVING ? CONN_ORPHAN : CONN_DEAD;
	if (c->batch != NULL)
		batch_conn_gone(c->batch);  /* it stops between two documents */
	if (c->job != NULL) {
		/* nobody waits for the answer: its dialog ends, and it signs nothing more */
		atomic_store(&c->job->abort_why, JOB_ABORT_DISCONNECTED);
		pinentry_abort_fire(&c->job->abort);
		log_info("client %lu (pid %ld) left while its request was served: its dialog, if "
		    "any, is closed", c->serial, (long)c->pid);
	}
	agent_fd_freed(a);
	a->nconns--;
	kbuf_free(&c->in);
	kbuf_free(&c->out);
	log_debug("client %lu (pid %ld) disconnected", c->serial, (long)c->pid);
}

int
conn_release_if_dead(struct agent *a, struct conn *c)
{
	(void)a;
	if (!conn_gone(c))
		return 0;
	c->state = CONN_DEAD;  /* conn_reap frees it */
	return 1;
}

void
conn_reap(struct agent *a)
{
	struct conn *c, *next;

	for (c = a->conns; c != NULL; c = next) {
		next = c->next;
		if (c->state == CONN_DEAD)
			conn_free(a, c);
	}
}

void
conn_drop_all(struct agent *a)
{
	while (a->conns != NULL) {
		a->conns->job = NULL;   /* shutdown: jobs were ended and freed before */
		conn_drop(a, a->conns);
		conn_free(a, a->conns);
	}
}

/* Queues the reply to the current call (unless it was oneway). */
static void
conn_send(struct conn *c, const struct reply *r)
{
	int e;

	if (c->oneway) {
		c->oneway = 0;
		return;
	}
	if ((e = reply_append(r, &c->out)) != KYSO_OK) {
		struct reply fail = { 0 };

		reply_fail(&fail, KYSO_ERR_INTERNAL, NULL, "the reply could not be sent: %s",
		    kyso_strerror(e));
		if (reply_append(&fail, &c->out) != KYSO_OK)
			conn_closing(c);
		reply_clear(&fail);
	}
}

/* Notes since when a message has been arriving without its end (for the timeout). */
static void
conn_mark_partial(struct conn *c)
{
	size_t len;

	if (c->in.len == 0 || wire_frame_find(&c->in, &len) == 1)
		c->partial_since = 0;
	else if (c->partial_since == 0)
		c->partial_since = agent_now();
}

/* Sends an error that ends the connection (the stream cannot be trusted any more). */
static void
conn_send_fatal(struct conn *c, int err, json_t *eparams, const char *why)
{
	struct reply r = { 0 };

	c->oneway = 0;
	/* a subscription ends with it (CONN_CLOSING): no event after the error, and
	 * conn_flush closes the connection once the error is read */
	reply_fail(&r, err, eparams, "%s", why);
	conn_send(c, &r);
	reply_clear(&r);
	conn_closing(c);
}

void
conn_flush(struct agent *a, struct conn *c)
{
	int e = wire_write_some(c->fd, &c->out);

	if (e == KYSO_ERR_IO) {
		conn_drop(a, c);
		return;
	}
	if (c->eof && c->state == CONN_READY) {
		size_t len;

		if (wire_frame_find(&c->in, &len) != 1)
			conn_closing(c);  /* nothing more can come */
	}
	if (c->out.len == 0 && c->state == CONN_CLOSING) {
		conn_drop(a, c);
		return;
	}
	conn_watch(a, c, EPOLL_CTL_MOD);
}

/*
 * Serves the complete calls in c's input, one at a time, until one goes to a worker, the
 * replies waiting to be sent pass CONN_OUT_HIGH (the client is not reading), or
 * CONN_CALLS_PER_PASS calls were served (other clients get their turn; agent_run comes
 * back). The served calls are consumed from the buffer in one go.
 */
void
conn_process(struct agent *a, struct conn *c)
{
	char why[256];
	size_t off = 0, len;
	int served = 0;

	while (c->state == CONN_READY && c->out.len <= CONN_OUT_HIGH &&
	    served < CONN_CALLS_PER_PASS) {
		struct reply r = { 0 };
		json_t *msg = NULL;
		int e = wire_frame_find_at(&c->in, off, &len);

		if (e == 0)
			break;
		if (e < 0) {
			log_warn("client %lu (pid %ld): message over %d bytes; closing", c->serial,
			    (long)c->pid, KYSO_WIRE_MAX);
			conn_send_fatal(c, KYSO_ERR_TOO_LARGE,
			    json_pack("{s:i}", "limit", KYSO_WIRE_MAX - 1),
			    "message exceeds the 1 MiB limit");
			break;
		}
		e = wire_parse((const char *)c->in.data + off, len, &msg, why, sizeof(why));
		off += len + 1;
		served++;
		if (e != KYSO_OK) {
			log_info("client %lu (pid %ld): %s", c->serial, (long)c->pid, why);
			reply_fail(&r, KYSO_ERR_PROTOCOL, NULL, "%s", why);
			c->oneway = 0;
			conn_send(c, &r);
			reply_clear(&r);
			continue;
		}
		c->origin[0] = '\0';   /* set by web_gate for a web page's call */
		if (dispatch_call(a, c, msg, &r, &c->oneway) == DISPATCH_PENDING) {
			if (c->state == CONN_READY)  /* Subscribe made it CONN_STREAMING */
				c->state = CONN_SERVING;
		} else
			conn_send(c, &r);
		reply_clear(&r);
		json_decref(msg);
	}
	kbuf_consume(&c->in, off);  /* wipes what was served: calls may carry a PIN */
	c->backlog = c->state == CONN_READY && wire_frame_find(&c->in, &len) == 1;
	conn_mark_partial(c);
}

int
conn_stream(struct agent *a, struct conn *c, json_t *params, size_t max)
{
	json_t *msg;
	int e;

	if (conn_gone(c)) {
		json_decref(params);
		return KYSO_OK;
	}
	if (c->out.len > max) {
		struct reply r = { 0 };

		json_decref(params);
		log_warn("client %lu (pid %ld, %s) left %zu bytes of events unread; "
		    "its subscription is ended", c->serial, (long)c->pid, c->exe, c->out.len);
		reply_fail(&r, KYSO_ERR_TOO_SLOW, json_pack("{s:i}", "unread",
		    (json_int_t)c->out.len), "%zu bytes of events were left unread; the "
		    "subscription is ended", c->out.len);
		c->oneway = 0;
		conn_send(c, &r);
		reply_clear(&r);
		conn_closing(c);
		conn_flush(a, c);
		return KYSO_ERR_TOO_SLOW;
	}
	msg = params != NULL ? json_pack("{s:o, s:b}", "parameters", params, "continues", 1) :
	    NULL;
	e = msg != NULL ? wire_append(&c->out, msg) : KYSO_ERR_NOMEM;
	json_decref(msg);
	if (e != KYSO_OK)
		log_error("client %lu: an event could not be queued: %s", c->serial,
		    kyso_strerror(e));
	conn_flush(a, c);
	return KYSO_OK;
}

void
conn_reply(struct agent *a, struct conn *c, const struct reply *r)
{
	if (conn_release_if_dead(a, c))
		return;
	c->state = CONN_READY;
	conn_send(c, r);
	conn_process(a, c);
	conn_flush(a, c);
}

void
conn_event(struct agent *a, struct conn *c, unsigned events)
{
	if (conn_gone(c))
		return;  /* dropped earlier in this batch */
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* the peer is gone entirely: nobody would read a reply */
		conn_drop(a, c);
		return;
	}
	if ((events & (EPOLLIN | EPOLLRDHUP)) && !c->eof) {
		for (;;) {
			long n = wire_read_some(c->fd, &c->in);

			if (n == WIRE_AGAIN || n == KYSO_ERR_TOO_LARGE)
				break;  /* too large: conn_process reports it */
			if (n == 0) {
				c->eof = 1;  /* half-closed: serve what came, then close */
				break;
			}
			if (n < 0) {
				conn_drop(a, c);
				return;
			}
			/* a short read emptied the socket: no second read to hear EAGAIN (epoll is
			 * level-triggered: what comes later, or the end, is reported again) */
			if (n < WIRE_READ_CHUNK)
				break;
		}
	}
	conn_process(a, c);
	conn_flush(a, c);
}

/* Milliseconds until the deadline at since + CONN_PARTIAL_TIMEOUT, at least 0. */
static int
conn_ms_left(long since, long now)
{
	long left = (since + CONN_PARTIAL_TIMEOUT - now) * 1000;

	return left < 0 ? 0 : (int)left;
}

int
conn_housekeeping(struct agent *a)
{
	long now = agent_now();
	int timeout = -1, left, partial;
	struct conn *c;

	for (c = a->conns; c != NULL; c = c->next) {
		if (conn_gone(c))
			continue;
		if (c->state == CONN_NAMING) {
			long waited = agent_now_ms() - c->naming_since_ms;

			if (waited < whois_wait_ms()) {
				left = (int)(whois_wait_ms() - waited);
				if (timeout < 0 || left < timeout)
					timeout = left;
				continue;
			}
			log_info("client %lu (pid %ld): kysod-whois did not answer within %d ms; "
			    "its program is named '?'", c->serial, (long)c->pid, whois_wait_ms());
			conn_named(a, c, NULL);
		}
		if (c->state == CONN_CLOSING && c->out.len > 0 &&
		    now - c->closing_since >= CONN_PARTIAL_TIMEOUT) {
			log_info("client %lu (pid %ld) reads nothing; dropped", c->serial,
			    (long)c->pid);
			conn_drop(a, c);
			continue;
		}
		/* while a call is at a worker its reply comes first (replies stay in order):
		 * the unfinished message is given up on when the connection is ready again */
		partial = c->partial_since != 0 && (c->state == CONN_READY ||
		    c->state == CONN_STREAMING);
		if (partial && now - c->partial_since >= CONN_PARTIAL_TIMEOUT) {
			log_info("client %lu (pid %ld): message unfinished after %d s; closing",
			    c->serial, (long)c->pid, CONN_PARTIAL_TIMEOUT);
			c->partial_since = 0;
			conn_send_fatal(c, KYSO_ERR_PROTOCOL, NULL, "the message was not finished "
			    "(no NUL byte) within 30 seconds");
			conn_flush(a, c);
			continue;
		}
		if (c->backlog && c->out.len <= CONN_OUT_HIGH) {
			conn_process(a, c);
			conn_flush(a, c);
			if (conn_gone(c))
				continue;
		}
		if (c->backlog && c->out.len <= CONN_OUT_HIGH)
			timeout = 0;
		if (partial && ((left = conn_ms_left(c->partial_since, now)) < timeout ||
		    timeout < 0))
			timeout = left;
		if (c->state == CONN_CLOSING && c->out.len > 0 &&
		    ((left = conn_ms_left(c->closing_since, now)) < timeout || timeout < 0))
			timeout = left;
	}
	return timeout;
}

/* Once per process: every caller would say the same. */
static void
conn_warn_unnamed(pid_t pid, const char *why)
{
	static int warned;

	if (warned)
		return;
	warned = 1;
	log_warn("cannot tell which program connects (pid %ld): %s", (long)pid, why);
}

/*
 * Names c's program (for the dialogs, the log and the audit record) from /proc/PID/exe.
 * In systemd's sandbox (a user namespace of its own, where the kernel does not let kysod
 * read it) kysod-whois is asked, off the loop (whois_async.h): c waits in CONN_NAMING
 * for the answer, unread. "?" when neither can tell. Returns 1 if c is named now.
 */
static int
conn_name(struct agent *a, struct conn *c)
{
	char link[64], why[320];
	ssize_t n;
	int e;

	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)c->pid);
	if ((n = readlink(link, c->exe, sizeof(c->exe) - 1)) >= 0) {
		c->exe[n] = '\0';
		return 1;
	}
	e = errno;
	snprintf(c->exe, sizeof(c->exe), "?");
	if (e != EACCES && e != EPERM)
		return 1;
	if (a->whois != NULL && whois_async_ask(a->whois, c->serial, c->fd, c->pid,
	    WHOIS_ASK_EXE) == KYSO_OK) {
		c->whois_named = 1;  /* its parent too, if a web page's call needs it (web.c) */
		c->state = CONN_NAMING;
		c->naming_since_ms = agent_now_ms();
		c->naming_errno = e;
		return 0;
	}
	snprintf(why, sizeof(why), "/proc/%ld/exe: %s; %s", (long)c->pid, strerror(e),
	    a->whois != NULL ? "cannot ask kysod-whois" : "no KYSO_WHOIS_SOCKET");
	conn_warn_unnamed(c->pid, why);
	return 1;
}

/* c's program is named (exe NULL: "?"): it is read and served from now on. */
static void
conn_named(struct agent *a, struct conn *c, const struct whois_answer *ans)
{
	c->state = CONN_READY;
	if (ans != NULL && ans->rc == KYSO_OK)
		snprintf(c->exe, sizeof(c->exe), "%s", ans->exe);
	else
		snprintf(c->exe, sizeof(c->exe), "?");
	if (ans == NULL || ans->rc != KYSO_OK) {
		char why[400];

		snprintf(why, sizeof(why), "/proc/%ld/exe: %s; %s", (long)c->pid,
		    strerror(c->naming_errno), ans != NULL ? ans->why :
		    "kysod-whois did not answer in time");
		conn_warn_unnamed(c->pid, why);
	}
	log_debug("client %lu connected: pid %ld, %s", c->serial, (long)c->pid, c->exe);
	conn_watch(a, c, EPOLL_CTL_ADD);
}

int
conn_naming_timeout(const struct agent *a)
{
	long now = agent_now_ms(), left;
	int timeout = -1;

	for (const struct conn *c = a->conns; c != NULL; c = c->next) {
		if (c->state != CONN_NAMING)
			continue;
		left = c->naming_since_ms + whois_wait_ms() - now;
		left = left < 0 ? 0 : left;
		if (timeout < 0 || left < timeout)
			timeout = (int)left;
	}
	return timeout;
}

void
conn_whois_answers(struct agent *a)
{
	struct whois_answer *ans = whois_async_take(a->whois), *next;
	struct conn *c;

	for (; ans != NULL; ans = next) {
		next = ans->next;
		for (c = a->conns; c != NULL; c = c->next)
			if (c->serial == ans->serial && ans->what == WHOIS_ASK_EXE &&
			    c->state == CONN_NAMING) {
				conn_named(a, c, ans);
				break;
			} else if (c->serial == ans->serial && ans->what == WHOIS_ASK_PARENT) {
				web_parent_answered(a, c, ans);  /* its call goes on */
				break;
			}
		free(ans);   /* no connection: it left, or was named "?" after whois_wait_ms() */
	}
}

static int
conn_count_pid(const struct agent *a, pid_t pid)
{
	int n = 0;

	for (const struct conn *c = a->conns; c != NULL; c = c->next)
		n += !conn_gone(c) && c->pid == pid;
	return n;
}

int
conn_accept(struct agent *a, int listen_fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;
	int fd;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) ? 0 :
		    KYSO_ERR_IO;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
		conn_log_refusal(REFUSE_NO_CRED, "cannot read the peer credentials of a client: "
		    "%s; refused", strerror(errno));
		close(fd);
		return 1;
	}
	if (cred.uid != getuid()) {
		static const char refusal[] = "{\"error\":\"io.kyso.Agent.PermissionDenied\","
		    "\"parameters\":{\"message\":\"this agent serves only its own user\"}}";

		conn_log_refusal(REFUSE_OTHER_UID, "refused a connection from uid %lu (pid %ld): "
		    "only uid %lu may connect", (unsigned long)cred.uid, (long)cred.pid,
		    (unsigned long)getuid());
		(void)!send(fd, refusal, sizeof(refusal), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return 1;
	}
	if (a->nconns >= AGENT_MAX_CONNS || conn_count_pid(a, cred.pid) >= CONN_PER_PID_MAX) {
		static const char busy[] = "{\"error\":\"io.kyso.Agent.TooManyConnections\","
		    "\"parameters\":{\"message\":\"the agent has too many connections open; "
		    "close some and try again\"}}";

		if (a->nconns >= AGENT_MAX_CONNS)
			conn_log_refusal(REFUSE_AGENT_FULL, "refused a connection from pid %ld: "
			    "the agent's connection limit is reached", (long)cred.pid);
		else
			conn_log_refusal(REFUSE_PID_FULL, "refused a connection from pid %ld: that "
			    "process holds too many connections", (long)cred.pid);
		(void)!send(fd, busy, sizeof(busy), MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
		return 1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return KYSO_ERR_NOMEM;
	}
	c->fd = fd;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->serial = ++conn_serials;
	kbuf_init(&c->in, KYSO_WIRE_MAX);
	kbuf_init(&c->out, KYSO_WIRE_REPLY_MAX);
	c->next = a->conns;
	if (a->conns != NULL)
		a->conns->prev = c;
	a->conns = c;
	a->nconns++;
	if (conn_name(a, c)) {
		log_debug("client %lu connected: pid %ld, %s", c->serial, (long)c->pid, c->exe);
		conn_watch(a, c, EPOLL_CTL_ADD);
	} else {
		log_debug("client %lu connected: pid %ld; kysod-whois is asked for its program",
		    c->serial, (long)c->pid);
	}
	return 1;
}
