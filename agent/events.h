/*
 * events.h — io.kyso.Agent.Subscribe: token events streamed to the clients that asked.
 *
 * A subscriber's connection carries nothing else: its first reply lists the tokens present
 * ("event": "subscribed"), then every token-added, token-removed and token-changed follows
 * as a reply with "continues": true. A subscriber that leaves more than
 * EVENTS_UNREAD_MAX bytes unread is dropped, with a last SubscriberTooSlow error that it
 * can read if it ever catches up; nothing else waits for it.
 */
#ifndef KYSO_EVENTS_H
#define KYSO_EVENTS_H

#include <jansson.h>

#include "dispatch.h"

struct agent;
struct token;

#define EVENTS_UNREAD_MAX (64 * 1024)

/* Sends {"event": event, "token": Token} to every subscriber. */
void events_token(struct agent *a, const char *event, const struct token *t);

/* io.kyso.Agent.Subscribe() (needs "more": true). */
enum dispatch_result method_subscribe(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);

#endif
