/* request.c — the context of a Sign or Login request, built by the loop for the worker. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "conn.h"
#include "request.h"
#include "web.h"

/* strdup that keeps NULL as NULL; returns 0 on ENOMEM. */
static int
dup_or_null(const char *s, char **out)
{
	*out = NULL;
	if (s == NULL)
		return 1;
	return (*out = strdup(s)) != NULL;
}

struct request_info *
request_info_new(const struct agent *a, const struct conn *c, const char *method,
    const char *description)
{
	const struct agent_policy *p = &a->policy;
	struct request_info *ri = calloc(1, sizeof(*ri));

	if (ri == NULL)
		return NULL;
	ri->uid = c->uid;
	ri->pid = c->pid;
	memcpy(ri->exe, c->exe, sizeof(ri->exe));
	ri->exe[sizeof(ri->exe) - 1] = '\0';
	ri->method = method;
	memcpy(ri->origin, c->origin, sizeof(ri->origin));
	if (ri->origin[0] != '\0')
		(void)web_parent(c, &ri->browser_pid, ri->browser,
		    sizeof(ri->browser));
	ri->pinentry_timeout = p->pinentry_timeout;
	ri->confirm = p->confirm;
	ri->no_client_pin = p->no_client_pin;
	ri->login_cached = !p->no_login_cache;
	ri->login_idle_s = p->login_idle_ttl;
	ri->login_max_s = p->login_max_ttl;
	ri->audit = a->audit;
	if (!dup_or_null(description, &ri->description) || !dup_or_null(p->pinentry,
	    &ri->pinentry) || !dup_or_null(p->tty, &ri->tty) || !dup_or_null(p->ttytype,
	    &ri->ttytype)) {
		request_info_free(ri);
		return NULL;
	}
	return ri;
}

void
request_info_free(struct request_info *ri)
{
	if (ri == NULL)
		return;
	if (ri->description != NULL)
		explicit_bzero(ri->description, strlen(ri->description));
	free(ri->description);
	free(ri->subject);
	free(ri->document);
	free(ri->doc_list);
	free(ri->pinentry);
	free(ri->tty);
	free(ri->ttytype);
	explicit_bzero(ri->digest, sizeof(ri->digest));
	free(ri);
}
