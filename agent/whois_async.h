/*
 * whois_async.h — kysod-whois asked off the event loop (whois.h tells why it exists).
 *
 * Under kysod.service every new connection needs kysod-whois to name its program. The
 * loop must not wait for that (a kysod-whois that is slow or stuck, reading /proc of a
 * process in uninterruptible sleep, would hold up every client): a thread of its own asks,
 * one question at a time on its connection to the service, and hands the answers back
 * through a descriptor the loop watches. Until its answer (or the loop's patience,
 * WHOIS_WAIT_MS) a connection is not read (conn.h: CONN_NAMING).
 */
#ifndef KYSO_WHOIS_ASYNC_H
#define KYSO_WHOIS_ASYNC_H

#include <sys/types.h>

/* How long the loop waits for a connection's answer before it names the program "?". */
#define WHOIS_WAIT_MS 3000

struct whois_async;

struct whois_answer {
	unsigned long serial;      /* the connection's (conn.h) */
	int rc;                    /* KYSO_OK: exe is the peer's program; else why says why */
	char exe[256];             /* as long as conn.h keeps */
	char why[300];
	int parent_rc;             /* KYSO_OK: parent is the program of the peer's parent */
	pid_t ppid;
	char parent[256];
	struct whois_answer *next;
};

/*
 * Starts the thread. Returns KYSO_OK with *out and *efd (readable while answers wait; the
 * loop watches it), or KYSO_ERR_IO / KYSO_ERR_NOMEM.
 */
int whois_async_start(struct whois_async **out, int *efd);

/*
 * Queues the questions about connection serial: its program and its parent's (conn_fd
 * is duplicated: the connection may close meanwhile; pid is what SO_PEERCRED said).
 * Returns KYSO_OK, or KYSO_ERR_IO / KYSO_ERR_NOMEM (then the caller names it "?").
 */
int whois_async_ask(struct whois_async *w, unsigned long serial, int conn_fd, pid_t pid);

/*
 * Takes every answer that came, oldest first (free each with free()), and clears the
 * descriptor. NULL when none. A question older than WHOIS_WAIT_MS when the thread comes
 * to it is dropped unasked (the loop has named that program "?" by then).
 */
struct whois_answer *whois_async_take(struct whois_async *w);

/* Stops the thread (it may be in a question: at most about two WHOIS_TIMEOUT_MS) and
 * frees w, its questions and answers. NULL is allowed. */
void whois_async_stop(struct whois_async *w);

#endif
