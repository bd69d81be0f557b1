/*
 * conn.h — one client connection: its peer credentials, its bounded input and output
 * buffers, and whether a call is being served. One call is served at a time per
 * connection; later calls wait in the input buffer (varlink replies come in order).
 */
#ifndef KYSO_CONN_H
#define KYSO_CONN_H

#include <sys/types.h>

#include "buf.h"
#include "reply.h"

struct agent;

struct conn {
	int fd;
	struct kbuf in, out;
	pid_t pid;
	uid_t uid;
	char exe[256];       /* the caller's executable, from /proc/PID/exe */
	unsigned long serial;/* connection number, for the log */
	int busy;            /* a call is being served by a worker */
	int oneway;          /* the call being served wants no reply */
	int dead;            /* the peer went away; freed once not busy */
	int eof;             /* the peer half-closed: no more input */
	int closing;         /* close once the output is flushed */
	struct conn *prev, *next;
};

/*
 * Accepts a connection on listen_fd; refuses peers of another uid (after telling them so).
 * Returns KYSO_OK (also after a refusal), or KYSO_ERR_IO when accept itself failed.
 */
int conn_accept(struct agent *a, int listen_fd);

/* Handles readiness of c's socket (events from epoll). */
void conn_event(struct agent *a, struct conn *c, unsigned events);

/* Sends the reply to the call c is serving, then resumes reading its next call. */
void conn_reply(struct agent *a, struct conn *c, const struct reply *r);

/* Drops c now (if busy, only marks it dead; conn_release frees it later). */
void conn_drop(struct agent *a, struct conn *c);

/* Called when the job serving c finished: frees c if it died meanwhile. Returns 1 if freed. */
int conn_release_if_dead(struct agent *a, struct conn *c);

/* Closes and frees every connection. */
void conn_drop_all(struct agent *a);

#endif
