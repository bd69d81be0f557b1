/*
 * conn.h — one client connection: its peer credentials, its bounded input and output
 * buffers, and its state (enum conn_state: ready, its program being named, serving a call
 * at a worker, streaming events, closing, closed). One call is served at a time per connection; later calls
 * wait in the input buffer (varlink replies come in order).
 */
#ifndef KYSO_CONN_H
#define KYSO_CONN_H

#include <sys/types.h>

#include "buf.h"
#include "origin.h"
#include "reply.h"

struct agent;
struct doc_batch;
struct job;
struct web_ask;

/* What a connection is doing; one at a time. */
enum conn_state {
	CONN_READY,      /* reads and serves calls */
	CONN_NAMING,     /* its program is being named by kysod-whois (whois_async.h): not
	                  * read until then */
	CONN_SERVING,    /* a call is at a worker (its job points to the connection); later
	                  * calls wait in the input */
	CONN_STREAMING,  /* Subscribe: token events stream to it; it carries nothing else */
	CONN_CLOSING,    /* its last replies are flushed, then it is closed */
	CONN_ORPHAN,     /* closed while a worker's job points to it: freed once it is back */
	CONN_DEAD,       /* closed; freed between epoll batches (conn_reap) */
};

struct conn {
	int fd;
	struct kbuf in, out;
	pid_t pid;
	uid_t uid;
	char exe[256];       /* the caller's executable, from /proc/PID/exe */
	long naming_since_ms;/* agent_now_ms() when CONN_NAMING began */
	int naming_errno;    /* why /proc/PID/exe could not be read (EACCES...) */
	int whois_named;     /* kysod-whois names the caller (kysod cannot read its /proc) */
	int parent_asked;    /* and was asked for its parent (a web page's call needed it) */
	int parent_named;    /* kysod-whois named the caller's parent: ppid, parent */
	pid_t ppid;
	char parent[256];
	struct web_ask *parent_wait; /* the web page's call waiting for that answer (web.c) */
	unsigned long serial;/* connection number, for the log */
	enum conn_state state;
	unsigned events;     /* what epoll watches for (EPOLLIN...) */
	int oneway;          /* the call being served wants no reply */
	int call_more;       /* the call being served asked for "more" (streamed replies) */
	int eof;             /* the peer half-closed: no more input */
	int backlog;         /* complete calls wait in the input (served by agent_run) */
	long partial_since;  /* agent_now() when an unfinished message began; 0 if none */
	long closing_since;  /* agent_now() when it began CONN_CLOSING */
	struct doc_batch *batch; /* the SignDocuments call being served (CONN_SERVING), or NULL */
	struct job *job;     /* the job serving the current call (its dialog ends when the
	                      * client disconnects), or NULL */
	char origin[ORIGIN_MAX + 1]; /* the web page of the current call ("": none; web.h) */
	struct conn *prev, *next;
};

/*
 * The loop calls this when kysod-whois's answers wait (whois_async.h): each names its
 * connection's program, which is then read and served.
 */
void conn_whois_answers(struct agent *a);

/* The ms until the first connection waiting for its name gives up waiting (0: now), or
 * -1 when none waits. */
int conn_naming_timeout(const struct agent *a);

/* Returns 1 if c's socket is closed (CONN_ORPHAN, CONN_DEAD). */
int conn_gone(const struct conn *c);

/*
 * Accepts a connection on listen_fd; refuses peers of another uid (after telling them so).
 * Returns 1 when a connection was taken (served or refused), 0 when none was waiting, or
 * KYSO_ERR_IO (errno set: EMFILE...) when accept itself failed, KYSO_ERR_NOMEM.
 */
int conn_accept(struct agent *a, int listen_fd);

/* Handles readiness of c's socket (events from epoll). */
void conn_event(struct agent *a, struct conn *c, unsigned events);

/* Sends the reply to the call c is serving, then resumes reading its next call. */
void conn_reply(struct agent *a, struct conn *c, const struct reply *r);

/*
 * Queues params (stolen) as a streamed reply ("continues": true) to c's call and flushes.
 * A client with more than max bytes unread gets a last SubscriberTooSlow error instead
 * and is closed (after 30 s if it never reads). Returns KYSO_OK or KYSO_ERR_TOO_SLOW.
 */
int conn_stream(struct agent *a, struct conn *c, json_t *params, size_t max);

/* Closes c and marks it dead; its memory is freed by conn_reap once no job points to it. */
void conn_drop(struct agent *a, struct conn *c);

/* Called when the job serving c finished. Returns 1 if c is dead (nothing to reply to). */
int conn_release_if_dead(struct agent *a, struct conn *c);

/* Frees the dead connections no job points to; called between epoll batches only. */
void conn_reap(struct agent *a);

/* Serves calls waiting in c's input (a bounded number; sets c->backlog if more wait). */
void conn_process(struct agent *a, struct conn *c);

/* Writes what c's output holds and updates what c waits for; may drop c. */
void conn_flush(struct agent *a, struct conn *c);

/*
 * Serves connections with waiting calls, and drops those whose unfinished message is older
 * than CONN_PARTIAL_TIMEOUT seconds. Returns the epoll timeout to use next (ms, -1: none).
 */
int conn_housekeeping(struct agent *a);

/* Seconds after which a message that never ends is given up on. */
#define CONN_PARTIAL_TIMEOUT 30

/* Closes and frees every connection. */
void conn_drop_all(struct agent *a);

#endif
