/* libkyso_events.c — token events: Subscribe, then one event at a time (see kyso.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libkyso_internal.h"
#include "wire.h"

int
kyso_fd(const kyso_client *c)
{
	return c->fd;
}

/* The subscription is over (or unusable): the connection is closed, later calls say so. */
static void
stream_end(kyso_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	kbuf_reset(&c->in);
}

int
kyso_subscribe(kyso_client *c, kyso_token ***tokens, size_t *n)
{
	const char *event;
	size_t count = 0;
	json_t *r;
	int e;

	if (tokens != NULL)
		*tokens = NULL;
	if (n != NULL)
		*n = 0;
	if ((e = kyso_rpc_more(c, "io.kyso.Agent.Subscribe", NULL, 1, &r)) != KYSO_OK)
		return e;
	event = json_string_value(json_object_get(r, "event"));
	if (event == NULL || strcmp(event, "subscribed") != 0 ||
	    !json_is_array(json_object_get(r, "tokens"))) {
		json_decref(r);
		stream_end(c);  /* what comes next on it cannot be told apart */
		return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent's first reply to "
		    "Subscribe is not the list of tokens"));
	}
	c->subscribed = 1;
	if (tokens == NULL) {
		c->first_event = r;  /* kyso_next_event hands it out */
		return KYSO_OK;
	}
	e = kyso_parse_tokens(json_object_get(r, "tokens"), tokens, &count);
	json_decref(r);
	if (n != NULL)
		*n = count;
	if (e != KYSO_OK) {
		stream_end(c);  /* a subscription whose start the caller never saw */
		return kyso_set_error(c, e, _("out of memory"));
	}
	return KYSO_OK;
}

/* Milliseconds from now to *deadline (CLOCK_MONOTONIC), at least 0. */
static int
ms_until(const struct timespec *deadline)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/*
 * Reads from the agent until c->in holds a whole message (framed by wire_frame_find) or
 * timeout_ms pass (-1: no limit). Messages that arrived together stay in c->in for the
 * next calls. Returns KYSO_OK, KYSO_ERR_TIMEOUT, KYSO_ERR_DISCONNECTED, KYSO_ERR_TOO_LARGE
 * or KYSO_ERR_IO.
 */
static int
wait_message(kyso_client *c, int timeout_ms)
{
	struct timespec deadline = { 0 };
	size_t len;
	int r;

	if (timeout_ms > 0) {
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += timeout_ms / 1000;
		deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	for (;;) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
		long n;

		if ((r = wire_frame_find(&c->in, &len)) != 0)
			return r < 0 ? r : KYSO_OK;
		r = poll(&pfd, 1, timeout_ms <= 0 ? timeout_ms : ms_until(&deadline));
		if (r < 0 && errno == EINTR)
			continue;  /* a signal does not end the wait (see kyso_fd) */
		if (r < 0)
			return KYSO_ERR_IO;
		if (r == 0)
			return KYSO_ERR_TIMEOUT;
		n = wire_read_some(c->fd, &c->in);
		if (n == 0)
			return KYSO_ERR_DISCONNECTED;
		if (n < 0 && n != WIRE_AGAIN)
			return n == KYSO_ERR_TOO_LARGE ? KYSO_ERR_TOO_LARGE : KYSO_ERR_IO;
	}
}

/* Makes *out from the parameters p of one reply. */
static int
event_new(kyso_client *c, json_t *p, kyso_event **out)
{
	const char *name = json_string_value(json_object_get(p, "event"));
	json_t *token = json_object_get(p, "token");
	kyso_event *ev;

	*out = NULL;
	if (name == NULL)
		return kyso_set_error(c, KYSO_ERR_PROTOCOL, _("the agent sent an event without "
		    "a name"));
	if ((ev = calloc(1, sizeof(*ev))) == NULL ||
	    (ev->event = strdup(name)) == NULL ||
	    (json_is_object(token) && kyso_parse_token(token, &ev->token) != KYSO_OK) ||
	    (ev->json = json_dumps(p, JSON_COMPACT)) == NULL) {
		kyso_event_free(ev);
		return kyso_set_error(c, KYSO_ERR_NOMEM, _("out of memory"));
	}
	*out = ev;
	return KYSO_OK;
}

int
kyso_next_event(kyso_client *c, int timeout_ms, kyso_event **ev)
{
	json_t *msg = NULL, *p;
	const char *ename;
	int e;

	*ev = NULL;
	if (!c->subscribed)
		return kyso_set_error(c, KYSO_ERR_INVALID_ARG, _("no subscription on this "
		    "connection: call kyso_subscribe first"));
	if (c->first_event != NULL) {
		p = c->first_event;
		c->first_event = NULL;
		kyso_clear_error(c);
		e = event_new(c, p, ev);
		json_decref(p);
		return e;
	}
	if (c->fd < 0)
		return kyso_set_error(c, KYSO_ERR_DISCONNECTED, _("the subscription has ended: "
		    "the connection to the agent is closed"));
	kyso_clear_error(c);
	if ((e = wait_message(c, timeout_ms)) == KYSO_OK)
		e = wire_recv(c->fd, &c->in, &msg);  /* whole already: parses, consumes */
	switch (e) {
	case KYSO_OK:
		break;
	case KYSO_ERR_TIMEOUT:
		return kyso_set_error(c, e, _("no event within %d ms"), timeout_ms);
	case KYSO_ERR_PROTOCOL:  /* that message is skipped; the next one may be fine */
		return kyso_set_error(c, e, _("the agent sent a malformed event"));
	case KYSO_ERR_DISCONNECTED:
		stream_end(c);
		return kyso_set_error(c, e, _("the agent closed the connection (it stopped or "
		    "restarted); no more events come on it"));
	default:
		stream_end(c);
		return kyso_set_error(c, e, _("the connection to the agent failed: %s"),
		    e == KYSO_ERR_IO ? strerror(errno) : kyso_strerror(e));
	}
	p = json_object_get(msg, "parameters");
	if ((ename = json_string_value(json_object_get(msg, "error"))) != NULL) {
		/* an error ends the call: SubscriberTooSlow, and the agent closes */
		e = kyso_remote_error(c, ename, p);
		stream_end(c);
	} else {
		e = event_new(c, p, ev);
	}
	json_decref(msg);
	return e;
}
