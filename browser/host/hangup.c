/* hangup.c — the browser closing the host's input while a call waits (see hangup.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hangup.h"
#include "kyso_err.h"

struct hangup {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int input;        /* the host's standard input */
	int wake[2];      /* tells the thread that a call ended, or to quit */
	int calling;      /* a call to kysod is in flight on fd */
	int fd;
	int hung_up;      /* the input hung up during the call */
	int quit;
};

static void *
hangup_thread(void *arg)
{
	struct hangup *h = arg;
	struct pollfd p[2];
	char drain[64];

	for (;;) {
		pthread_mutex_lock(&h->mu);
		while (!h->calling && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		if (h->quit) {
			pthread_mutex_unlock(&h->mu);
			return NULL;
		}
		pthread_mutex_unlock(&h->mu);
		/* events 0: only POLLHUP/POLLERR are reported, not input waiting to be read */
		p[0].fd = h->input;
		p[0].events = 0;
		p[1].fd = h->wake[0];
		p[1].events = POLLIN;
		if (poll(p, 2, -1) < 0 && errno != EINTR)
			return NULL;
		if (p[1].revents & POLLIN)
			while (read(h->wake[0], drain, sizeof(drain)) > 0)
				;
		if (!(p[0].revents & (POLLHUP | POLLERR | POLLNVAL)))
			continue;
		pthread_mutex_lock(&h->mu);
		if (h->calling && !h->hung_up) {
			h->hung_up = 1;
			(void)shutdown(h->fd, SHUT_RDWR);   /* kysod sees the client leave */
		}
		/* wait for the call to end before polling again (POLLHUP stays) */
		while (h->calling && !h->quit)
			pthread_cond_wait(&h->cv, &h->mu);
		pthread_mutex_unlock(&h->mu);
	}
}

int
hangup_start(int input_fd, struct hangup **out)
{
	struct hangup *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL)
		return KYSO_ERR_NOMEM;
	h->input = input_fd;
	h->fd = -1;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		free(h);
		return KYSO_ERR_IO;
	}
	if (pthread_create(&h->thread, NULL, hangup_thread, h) != 0) {
		close(h->wake[0]);
		close(h->wake[1]);
		free(h);
		return KYSO_ERR_IO;
	}
	*out = h;
	return KYSO_OK;
}

void
hangup_call_begin(struct hangup *h, int fd)
{
	pthread_mutex_lock(&h->mu);
	h->calling = 1;
	h->fd = fd;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int
hangup_call_end(struct hangup *h)
{
	int hung;

	pthread_mutex_lock(&h->mu);
	h->calling = 0;
	h->fd = -1;
	hung = h->hung_up;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	(void)!write(h->wake[1], "x", 1);
	return hung;
}

void
hangup_stop(struct hangup *h)
{
	if (h == NULL)
		return;
	pthread_mutex_lock(&h->mu);
	h->quit = 1;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	(void)!write(h->wake[1], "x", 1);
	pthread_join(h->thread, NULL);
	close(h->wake[0]);
	close(h->wake[1]);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
