/*
 * whois_async.h — kysod-whois asked off the event loop (whois.h tells why it exists).
 *
 * Under kysod.service every new connection needs kysod-whois to name its program. The
 * loop must not wait for that (a kysod-whois that is slow or stuck, reading /proc of a
 * process in uninterruptible sleep, would hold up every client): a thread of its own asks,
 * one question at a time on its connection to the service, and hands the answers back
 * through a descriptor the loop watches. Until its answer (or the loop's patience,
 * whois_wait_ms()) a connection is not read (conn.h: CONN_NAMING). At most
 * WHOIS_PENDING_MAX questions wait: past that a connection is named "?" at once.
 */
#ifndef KYSO_WHOIS_ASYNC_H
#define KYSO_WHOIS_ASYNC_H

#include <sys/types.h>

/* How many questions may wait for the thread. */
#define WHOIS_PENDING_MAX 64

/* How long the loop waits for a connection's answer before it names the program "?":
 * three times whois_timeout_ms() (the thread may be finishing an earlier question). */
int whois_wait_ms(void);

struct whois_async;

/*
 * What a question asks of kysod-whois: the program of a connection's peer (every
 * connection, when it comes), or the program of the peer's parent (only for a web page's
 * call, whose records and dialogs name the browser: web.c).
 */
enum whois_ask { WHOIS_ASK_EXE, WHOIS_ASK_PARENT };

struct whois_answer {
	unsigned long serial;      /* the connection's (conn.h) */
	enum whois_ask what;       /* the question's */
	int rc;                    /* KYSO_OK: the program asked for is named; else why says */
	char exe[256];             /* as long as conn.h keeps */
	char why[300];
	int parent_rc;             /* WHOIS_ASK_PARENT: rc; parent is the peer's parent's */
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
 * Queues the question what about connection serial (conn_fd is duplicated: the
 * connection may close meanwhile; pid is what SO_PEERCRED said).
 * Returns KYSO_OK, or KYSO_ERR_BUSY (WHOIS_PENDING_MAX questions wait), KYSO_ERR_IO or
 * KYSO_ERR_NOMEM (then the caller names it "?"). Every question queued gets an answer,
 * also one the thread comes to too late to ask (rc KYSO_ERR_TIMEOUT): the loop wakes.
 */
int whois_async_ask(struct whois_async *w, unsigned long serial, int conn_fd, pid_t pid,
    enum whois_ask what);

/*
 * Takes every answer that came, oldest first (free each with free()), and clears the
 * descriptor. NULL when none.
 */
struct whois_answer *whois_async_take(struct whois_async *w);

/*
 * Stops the thread and frees w, its questions and answers. The thread ends within about
 * two whois_timeout_ms() (a question it is asking); if it has not, it is left behind
 * (and w with it) rather than holding up kysod's exit. NULL is allowed.
 */
void whois_async_stop(struct whois_async *w);

#endif
