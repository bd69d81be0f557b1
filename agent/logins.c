/* logins.c — login deadlines and forgetting every login (see logins.h). */
#include <limits.h>

#include "agent.h"
#include "batch.h"
#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "logins.h"
#include "tokens.h"
#include "worker.h"

void
logins_note(struct agent *a, struct token *t, const struct job *j, int was_logged_in)
{
	long now = agent_now_ms();

	(void)a;
	if (j->kind == JOB_LOGOUT && t->logout_queued > 0)
		t->logout_queued--;
	if (j->result == KYSO_ERR_PIN_INCORRECT)
		t->pin_wrong = 1;
	if (!t->logged_in) {
		t->login_at_ms = t->used_at_ms = 0;
		return;
	}
	if (j->kind == JOB_LOGOUT) {
		/* the logout failed: the login's clock starts again rather than retrying at
		 * every turn of the loop */
		t->login_at_ms = t->used_at_ms = now;
		return;
	}
	if (t->login_at_ms == 0)  /* found logged in (another process logged it in) */
		t->login_at_ms = t->used_at_ms = now;
	if (j->kind == JOB_LOGIN || job_signs(j)) {
		if (!was_logged_in || t->login_at_ms == 0)
			t->login_at_ms = now;
		if (j->result == KYSO_OK || !was_logged_in)
			t->pin_wrong = 0;  /* a PIN was right since */
		t->used_at_ms = now;
	}
}

/* Returns t's deadline (agent_now_ms() time), or -1 for none. */
static long
logins_deadline(const struct agent *a, const struct token *t)
{
	const struct agent_policy *p = &a->policy;
	long d = -1;

	if (!t->logged_in || t->login_at_ms == 0)
		return -1;
	if (p->login_max_ttl > 0)
		d = t->login_at_ms + p->login_max_ttl * 1000;
	if (p->login_idle_ttl > 0) {
		long idle = t->used_at_ms + p->login_idle_ttl * 1000;

		if (d < 0 || idle < d)
			d = idle;
	}
	return d;
}

int
logins_logout(struct token *t)
{
	struct job *j;

	if (!t->visible || t->gone || t->worker == NULL)
		return 0;
	if ((j = job_new(JOB_LOGOUT)) == NULL) {
		log_error("out of memory: cannot log out of token '%s'", t->desc.label);
		return 0;
	}
	j->token = t;
	t->logout_queued++;
	tokens_submit(t, j);
	return 1;
}

int
logins_expire(struct agent *a)
{
	long now = agent_now_ms(), next = -1;

	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		long d = logins_deadline(a, t);

		if (d < 0 || t->logout_queued > 0)
			continue;
		if (d <= now) {
			if (logins_logout(t))
				log_info("login to token '%s' (serial %s) forgotten: %s",
				    t->desc.label, t->desc.serial,
				    a->policy.login_max_ttl > 0 && now >= t->login_at_ms +
				    a->policy.login_max_ttl * 1000 ? "login_max_ttl reached" :
				    "unused for login_idle_ttl");
			continue;
		}
		if (next < 0 || d < next)
			next = d;
	}
	if (next < 0)
		return -1;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

void
logins_forget_all(struct agent *a, const char *why)
{
	int n = 0;

	for (struct token *t = a->inv.tokens; t != NULL; t = t->next) {
		if (t->visible) {
			batch_token_locked(a, t);
			worker_end_requests(t->worker, JOB_ABORT_LOCKED);
		}
		if (t->logged_in && t->logout_queued == 0)
			n += logins_logout(t);
	}
	log_info("%s: logged out of %d token(s)", why, n);
}
