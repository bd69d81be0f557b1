/*
 * whois_async.c — kysod-whois asked by a thread of its own (see whois_async.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "kyso_err.h"
#include "log.h"
#include "whois.h"
#include "whois_async.h"

struct question {
	unsigned long serial;
	int fd;                 /* a duplicate of the connection's */
	pid_t pid;
	enum whois_ask what;
	long asked_ms;          /* agent_now_ms() */
	struct question *next;
};

struct whois_async {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct question *qhead, *qtail;
	size_t pending;         /* questions in the queue */
	struct whois_answer *ahead, *atail;
	int efd;
	int stopping;
	int ended;              /* the thread has left whois_main */
};

int
whois_wait_ms(void)
{
	return 3 * whois_timeout_ms();
}

/* The question q, asked of kysod-whois (whois.c: one at a time, in time). */
static void
answer(const struct question *q, struct whois_answer *a)
{
	a->serial = q->serial;
	a->what = q->what;
	if (q->what == WHOIS_ASK_PARENT) {
		a->rc = a->parent_rc = whois_parent(q->fd, &a->ppid, a->parent,
		    sizeof(a->parent));
		if (a->rc != KYSO_OK) {
			snprintf(a->why, sizeof(a->why), "%s", a->parent);
			snprintf(a->parent, sizeof(a->parent), "?");
		}
		return;
	}
	a->rc = whois_exe(q->fd, q->pid, a->exe, sizeof(a->exe));
	if (a->rc != KYSO_OK) {
		snprintf(a->why, sizeof(a->why), "%s", a->exe);
		snprintf(a->exe, sizeof(a->exe), "?");
	}
}

static void *
whois_main(void *arg)
{
	struct whois_async *w = arg;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct question *q;
		struct whois_answer *a;

		while (w->qhead == NULL && !w->stopping)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stopping)
			break;
		q = w->qhead;
		w->qhead = q->next;
		if (w->qhead == NULL)
			w->qtail = NULL;
		w->pending--;
		pthread_mutex_unlock(&w->mu);
		if ((a = calloc(1, sizeof(*a))) != NULL) {
			if (agent_now_ms() - q->asked_ms < whois_wait_ms()) {
				answer(q, a);
			} else {
				/* the loop has named it "?" by now: not asked, but answered, so that
				 * the loop wakes for it whatever else it is waiting for */
				a->serial = q->serial;
				a->what = q->what;
				a->rc = a->parent_rc = KYSO_ERR_TIMEOUT;
				snprintf(a->why, sizeof(a->why), "kysod-whois is too slow: the "
				    "question waited %d ms", whois_wait_ms());
				snprintf(a->exe, sizeof(a->exe), "?");
				snprintf(a->parent, sizeof(a->parent), "?");
			}
		}
		close(q->fd);
		free(q);
		pthread_mutex_lock(&w->mu);
		if (a != NULL) {
			if (w->atail != NULL)
				w->atail->next = a;
			else
				w->ahead = a;
			w->atail = a;
		}
		(void)!write(w->efd, &one, sizeof(one));
	}
	w->ended = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	whois_close();
	return NULL;
}

int
whois_async_start(struct whois_async **out, int *efd)
{
	struct whois_async *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (w == NULL)
		return KYSO_ERR_NOMEM;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    pthread_create(&w->thread, NULL, whois_main, w) != 0) {
		if (w->efd >= 0)
			close(w->efd);
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		free(w);
		return KYSO_ERR_IO;
	}
	*efd = w->efd;
	*out = w;
	return KYSO_OK;
}

int
whois_async_ask(struct whois_async *w, unsigned long serial, int conn_fd, pid_t pid,
    enum whois_ask what)
{
	struct question *q;

	pthread_mutex_lock(&w->mu);
	if (w->pending >= WHOIS_PENDING_MAX) {
		pthread_mutex_unlock(&w->mu);
		return KYSO_ERR_BUSY;
	}
	pthread_mutex_unlock(&w->mu);
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return KYSO_ERR_NOMEM;
	if ((q->fd = fcntl(conn_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
		free(q);
		return KYSO_ERR_IO;
	}
	q->serial = serial;
	q->pid = pid;
	q->what = what;
	q->asked_ms = agent_now_ms();
	pthread_mutex_lock(&w->mu);
	w->pending++;
	if (w->qtail != NULL)
		w->qtail->next = q;
	else
		w->qhead = q;
	w->qtail = q;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return KYSO_OK;
}

struct whois_answer *
whois_async_take(struct whois_async *w)
{
	struct whois_answer *a;
	uint64_t n;

	pthread_mutex_lock(&w->mu);
	(void)!read(w->efd, &n, sizeof(n));
	a = w->ahead;
	w->ahead = w->atail = NULL;
	pthread_mutex_unlock(&w->mu);
	return a;
}

void
whois_async_stop(struct whois_async *w)
{
	struct question *q, *qn;
	struct whois_answer *a, *an;
	struct timespec until;
	int ended;

	if (w == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (2 * whois_timeout_ms()) / 1000 + 1;
	pthread_mutex_lock(&w->mu);
	w->stopping = 1;
	pthread_cond_signal(&w->cv);
	while (!w->ended && pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
		;
	ended = w->ended;
	pthread_mutex_unlock(&w->mu);
	if (!ended) {
		/* still in a question kysod-whois does not answer: left behind with w */
		log_warn("kysod-whois did not let its asking thread end; not waiting for it");
		return;
	}
	pthread_join(w->thread, NULL);
	for (q = w->qhead; q != NULL; q = qn) {
		qn = q->next;
		close(q->fd);
		free(q);
	}
	for (a = w->ahead; a != NULL; a = an) {
		an = a->next;
		free(a);
	}
	close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
