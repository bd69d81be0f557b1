/*
 * kp11_events.c — the Subscribe stream that keeps the slots true, and slot events.
 *
 * There is no thread of the module in the program. The stream (a connection of its own)
 * is read without blocking, under the lock, at the start of every call about slots, and
 * by C_WaitForSlotEvent when it wakes. When the agent closes the stream (it stopped or
 * restarted) the module connects again at once: an agent that answers lists its tokens
 * again (those it no longer has are gone, those it still has keep their sessions); no
 * agent, and every token leaves until one comes back.
 *
 * Slot events wait in kp.pending. kp.evfd (an eventfd) is readable exactly while events
 * are pending, or for good once C_Finalize began, so that threads blocked in
 * C_WaitForSlotEvent wake for them: they poll the stream and the eventfd.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kp11.h"
#include "kyso_err.h"
#include "monotime.h"
#include "wire.h"

/* Sends the Subscribe call on s's connection. */
static int
sub_send(struct kp_sub *s)
{
	json_t *call = json_pack("{s:s, s:b}", "method", "io.kyso.Agent.Subscribe", "more", 1);
	struct kbuf out;
	int e;

	if (call == NULL)
		return KYSO_ERR_NOMEM;
	kbuf_init(&out, KYSO_WIRE_MAX);
	e = wire_append(&out, call);
	json_decref(call);
	if (e == KYSO_OK)
		e = wire_send_all(s->fd, out.data, out.len);
	kbuf_free(&out);
	return e;
}

void
kp_sub_close(struct kp_sub *s, int inherited)
{
	/* a blocked C_WaitForSlotEvent polls this socket: shutting it down wakes it. Never
	 * in a forked child, where the socket is still the parent's */
	if (s->fd >= 0 && !inherited)
		(void)shutdown(s->fd, SHUT_RDWR);
	kyso_disconnect(s->c);
	s->c = NULL;
	s->fd = -1;
	kbuf_free(&s->in);
	s->state = KP_SUB_DOWN;
}

/*
 * The stream s just ended (before kp_sub_close). One that had listed kysod's tokens and
 * lasted KP_SUB_LIVED_MS, or is the first to end soon (kysod stopped or restarted), is
 * opened again at once; one that ended before any list came (a peer that is not kysod,
 * or floods the stream with garbage), or soon again, is not opened again for a while,
 * the pause doubling each time: the program would otherwise reconnect in a loop, at
 * 100 % CPU.
 */
static void
sub_backoff(struct kp_sub *s)
{
	long long now = mono_now_ms();
	int quick = now - s->opened_ms < KP_SUB_LIVED_MS;

	s->quick_ends = quick ? s->quick_ends + 1 : 0;
	if (s->state == KP_SUB_UP && s->quick_ends < 2) {
		s->backoff_ms = 0;
		s->retry_ms = 0;
		return;
	}
	s->backoff_ms = s->backoff_ms == 0 ? KP_SUB_BACKOFF_MIN_MS :
	    s->backoff_ms >= KP_SUB_BACKOFF_MAX_MS / 2 ? KP_SUB_BACKOFF_MAX_MS : 2 * s->backoff_ms;
	s->retry_ms = now + s->backoff_ms;
	kp_log("kysod's event stream ended %lld ms after it began%s: not connecting again for "
	    "%d ms", now - s->opened_ms, s->state == KP_SUB_UP ? "" : ", before any token list",
	    s->backoff_ms);
}

/* Connects and subscribes; the reply is read later. Returns 1 if connected. */
static int
sub_open(struct kp_sub *s)
{
	struct kp_fail f = { 0 };

	s->c = NULL;
	s->fd = -1;
	s->state = KP_SUB_DOWN;
	kbuf_init(&s->in, KYSO_WIRE_REPLY_MAX);
	if (kp_agent_connect(&s->c, &f) != KYSO_OK) {
		if (!s->agent_gone_said)
			kp_log("no agent: %s", f.message);
		s->agent_gone_said = 1;
		return 0;
	}
	s->fd = kyso_fd(s->c);
	if (sub_send(s) != KYSO_OK ||
	    fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK) != 0) {
		kp_log("cannot subscribe to kysod's token events: %s", strerror(errno));
		kp_sub_close(s, 0);
		return 0;
	}
	s->agent_gone_said = 0;
	s->state = KP_SUB_WAITING;
	s->opened_ms = mono_now_ms();
	return 1;
}

/* What one message of the stream says. */
enum sub_msg { MSG_NONE, MSG_LIST, MSG_ADDED, MSG_CHANGED, MSG_REMOVED, MSG_END };

static enum sub_msg
sub_classify(json_t *msg, json_t **what)
{
	json_t *p = json_object_get(msg, "parameters");
	const char *ev = json_string_value(json_object_get(p, "event"));

	*what = NULL;
	if (json_object_get(msg, "error") != NULL)
		return MSG_END;  /* SubscriberTooSlow: the agent ends the stream */
	if (ev == NULL)
		return MSG_NONE;
	if (strcmp(ev, "subscribed") == 0) {
		*what = json_object_get(p, "tokens");
		return json_is_array(*what) ? MSG_LIST : MSG_END;
	}
	*what = json_object_get(p, "token");
	if (!json_is_object(*what))
		return MSG_NONE;
	if (strcmp(ev, "token-added") == 0)
		return MSG_ADDED;
	if (strcmp(ev, "token-changed") == 0)
		return MSG_CHANGED;
	if (strcmp(ev, "token-removed") == 0)
		return MSG_REMOVED;
	return MSG_NONE;  /* an event a newer agent sends */
}

/*
 * Reads one message if a whole one is there or arrives now. Returns 1 with *msg, 0 when
 * nothing more is there, -1 when the stream ended (end of file, error, oversized).
 */
static int
sub_next(struct kp_sub *s, json_t **msg)
{
	char err[128];
	size_t len;
	long n;
	int r;

	*msg = NULL;
	for (;;) {
		if ((r = wire_frame_find(&s->in, &len)) < 0)
			return -1;
		if (r == 1) {
			r = wire_parse((const char *)s->in.data, len, msg, err, sizeof(err));
			kbuf_consume(&s->in, len + 1);
			if (r != KYSO_OK)
				continue;  /* a malformed message is skipped */
			return 1;
		}
		n = wire_read_some(s->fd, &s->in);
		if (n == WIRE_AGAIN)
			return 0;
		if (n <= 0)
			return -1;
	}
}

int
kp_sub_start(struct kp_sub *s, int wait_ms, json_t **tokens)
{
	struct timespec t0, now;
	json_t *msg, *what;
	int r;

	*tokens = NULL;
	if (!sub_open(s))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		long left;

		if ((r = sub_next(s, &msg)) < 0)
			break;
		if (r == 1) {
			if (sub_classify(msg, &what) == MSG_LIST) {
				*tokens = json_incref(what);
				s->state = KP_SUB_UP;
				json_decref(msg);
				return 1;
			}
			json_decref(msg);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = wait_ms - ((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			return 1;  /* still waiting: the list is applied when it comes */
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			break;
	}
	kp_log("kysod closed the event stream before listing its tokens");
	sub_backoff(s);
	kp_sub_close(s, 0);
	return 1;
}

/* Reads and applies what the stream holds. Returns 0, or -1 if the stream ended. */
static int
sub_pump(struct kp_sub *s)
{
	json_t *msg, *what;
	int r, end = 0;

	while (!end && (r = sub_next(s, &msg)) != 0) {
		if (r < 0)
			return -1;
		switch (sub_classify(msg, &what)) {
		case MSG_LIST:
			/* after a reconnection (or a list that came after C_Initialize
			 * stopped waiting): the truth again, changes announced */
			kp_slots_sync(what, 1);
			s->state = KP_SUB_UP;
			break;
		case MSG_ADDED:
			kp_slot_token_event(what, 1);
			break;
		case MSG_CHANGED:
			kp_slot_token_event(what, 0);
			break;
		case MSG_REMOVED:
			kp_slot_token_removed(json_string_value(json_object_get(what, "id")));
			break;
		case MSG_END: {
			const char *why = json_string_value(json_object_get(msg, "error"));

			kp_log("kysod ended the event stream: %s", why != NULL ? why :
			    "a malformed first reply");
			end = 1;
			break;
		}
		case MSG_NONE:
			break;
		}
		json_decref(msg);
	}
	return end ? -1 : 0;
}

void
kp_sub_drain(void)
{
	struct kp_sub *s = &kp.sub;

	if (s->state != KP_SUB_DOWN && sub_pump(s) == 0)
		return;
	if (s->state != KP_SUB_DOWN) {
		kp_log("kysod closed the event stream (it stopped or restarted); connecting "
		    "again");
		sub_backoff(s);
		kp_sub_close(s, 0);
	}
	if (s->retry_ms != 0 && mono_now_ms() < s->retry_ms)
		return;  /* backing off: the slots stay as they were until then */
	/* no stream: try the agent again; a new one lists its tokens as its first reply */
	if (sub_open(s)) {
		(void)sub_pump(s);
		return;
	}
	kp_slots_all_gone();
}

void
kp_event_post(CK_SLOT_ID slot)
{
	CK_SLOT_ID *p;
	uint64_t one = 1;

	for (size_t i = 0; i < kp.npending; i++)
		if (kp.pending[i] == slot)
			return;
	if ((p = realloc(kp.pending, (kp.npending + 1) * sizeof(*p))) == NULL)
		return;
	kp.pending = p;
	kp.pending[kp.npending++] = slot;
	if (kp.npending == 1 && kp.evfd >= 0)
		(void)!write(kp.evfd, &one, sizeof(one));
}

/* Takes the oldest pending event (there is one). */
static CK_SLOT_ID
event_pop(void)
{
	CK_SLOT_ID slot = kp.pending[0];
	uint64_t v;

	memmove(kp.pending, kp.pending + 1, (kp.npending - 1) * sizeof(*kp.pending));
	if (--kp.npending == 0 && kp.evfd >= 0 && !kp.finalizing)
		(void)!read(kp.evfd, &v, sizeof(v));
	return slot;
}

void
kp_events_wake_all(void)
{
	uint64_t one = 1;

	if (kp.evfd >= 0)
		(void)!write(kp.evfd, &one, sizeof(one));
}

/* The blocking wait: the stream and the eventfd, without the lock. */
static CK_RV
wait_blocking(CK_SLOT_ID *slot)
{
	unsigned long epoch = kp.epoch;
	CK_RV rv = CKR_OK;

	kp.nwaiters++;
	for (;;) {
		struct pollfd p[2] = { { .fd = kp.evfd, .events = POLLIN },
			{ .fd = kp.sub.fd, .events = POLLIN } };
		/* without the agent, look for it again every so often: the program asked to
		 * wait, and a token can only come through a new agent */
		int timeout = kp.sub.fd < 0 ? KP_RETRY_MS : -1;

		pthread_mutex_unlock(&kp.mu);
		(void)poll(p, p[1].fd >= 0 ? 2 : 1, timeout);
		pthread_mutex_lock(&kp.mu);
		if ((rv = kp_still(epoch)) != CKR_OK)
			break;
		kp_sub_drain();
		if (kp.npending > 0) {
			*slot = event_pop();
			break;
		}
	}
	if (--kp.nwaiters == 0)
		pthread_cond_broadcast(&kp.cond);
	return rv;
}

CK_RV
C_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	CK_RV rv;

	if ((rv = kp_enter()) != CKR_OK)
		return rv;
	if (pSlot == NULL || pReserved != NULL) {
		kp_leave();
		return CKR_ARGUMENTS_BAD;
	}
	kp_sub_drain();
	if (kp.npending > 0)
		*pSlot = event_pop();
	else if (flags & CKF_DONT_BLOCK)
		rv = CKR_NO_EVENT;
	else
		rv = wait_blocking(pSlot);
	kp_leave();
	return rv;
}
