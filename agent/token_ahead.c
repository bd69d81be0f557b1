/*
 * token_ahead.c — signatures whose "granted" records are written ahead of them and synced
 * while the token signs: a Sign alone (token_ops_sign_ahead), and Signs queued together
 * on a fast token (several clients at once, the same key: token_ops_run_group) with
 * their records in one write, their inputs sent to the module's helper in one call, one
 * sync, then the answer; each job then finished as token_ops_run would. Runs in a
 * worker's lane.
 */
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "kyso_err.h"
#include "log.h"
#include "p11.h"
#include "record.h"
#include "request.h"
#include "token_ops.h"
#include "worker.h"

int
token_ops_ahead(const struct job *j)
{
	const struct job_sign *sg = job_sign_part(j);

	return j->kind == JOB_SIGN && sg->many == NULL && sg->auth.ri != NULL &&
	    sg->auth.ri->audit != NULL && !sg->always_auth && !sg->key_wants_pin &&
	    !(sg->auth.protected_auth_path && sg->auth.pin == NULL);
}

/*
 * The record written unsynced, the request sent to the module's helper without waiting,
 * the record synced while the token signs, then the answer read. In this process (a
 * module without a helper: the benchmark's kysod-inproc, the tests' ahead_probe) the
 * module signs in _send, before the sync: not faster, as correct.
 */
int
token_ops_sign_ahead(struct p11_session *s, const struct p11_token_desc *expect, struct job *j)
{
	struct job_sign *sg = job_sign_part(j);
	struct p11_sign_req req = sg->req;
	struct p11_sign_call *call;
	char err[256];
	int r, synced;

	if ((r = token_ops_interrupted(j)) != KYSO_OK)
		return r;
	if ((r = record_sign_ahead(&j, 1, expect)) != KYSO_OK)
		return KYSO_ERR_AUDIT;  /* not written: nothing is signed */
	req.context_pin = NULL;  /* nothing left to ask: no PIN for the key */
	req.context_pin_pad = 0;
	if ((r = p11_session_sign_send(s, &req, &call, &j->fail)) != KYSO_OK)
		return r;
	synced = record_ahead_sync(j, err, sizeof(err));  /* while the token signs */
	r = p11_session_sign_recv(call, &sg->sig, &sg->siglen, &j->fail);
	if (r == KYSO_OK && synced != KYSO_OK) {
		log_error("%s", err);
		record_withhold(j, err);  /* taken back: no signature without its record */
		return KYSO_ERR_AUDIT;
	}
	return r;
}

int
token_ops_groupable(const struct job *a, const struct job *b)
{
	const struct job_sign *x = job_sign_part(a), *y = job_sign_part(b);

	if (a->kind != JOB_SIGN || b->kind != JOB_SIGN || x->many != NULL || y->many != NULL)
		return 0;
	return x->req.mech == y->req.mech && x->req.pss_hash_bits == y->req.pss_hash_bits &&
	    x->req.in_len == y->req.in_len && x->req.key_id_len == y->req.key_id_len &&
	    memcmp(x->req.key_id, y->req.key_id, x->req.key_id_len) == 0 &&
	    x->ecdsa_der == y->ecdsa_der;
}

/*
 * Signs the inputs ins (in_len bytes each) of jobs go[0..n-1] in one call to the module,
 * their records written ahead synced meanwhile (*synced: KYSO_OK or the sync's failure,
 * with err). Returns KYSO_OK with sigs[i] and lens[i], or the call's error (+ f).
 */
static int
group_sign(struct p11_session *s, struct job **go, size_t n, const unsigned char *ins,
    size_t in_len, unsigned char **sigs, size_t *lens, struct p11_fail *f, int *synced,
    char *err, size_t errlen)
{
	struct p11_sign_many_call *call;
	int r;

	*synced = KYSO_OK;
	r = p11_session_sign_many_send(s, &job_sign_part(go[0])->req, ins, in_len, n, &call, f);
	if (r != KYSO_OK)
		return r;
	/* one sync for the group's records (they are one write), while the token signs */
	*synced = record_ahead_sync(go[0], err, errlen);
	return p11_session_sign_many_recv(call, sigs, lens, f);
}

void
token_ops_run_group(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job **jobs,
    size_t n)
{
	unsigned char *ins = NULL, *sigs[TOKEN_OPS_GROUP_MAX];
	size_t lens[TOKEN_OPS_GROUP_MAX], in_len = job_sign_part(jobs[0])->req.in_len, live = 0;
	struct job *go[TOKEN_OPS_GROUP_MAX];
	struct p11_fail f;
	char err[256];
	int r, synced;

	if (n < 2 || n > TOKEN_OPS_GROUP_MAX || token_ops_session(m, slot, expect, sess,
	    jobs[0]) != KYSO_OK || (ins = malloc(n * in_len)) == NULL)
		goto one_by_one;
	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];

		if ((r = token_ops_interrupted(j)) != KYSO_OK) {  /* Lock, or the token left */
			j->result = r;
			token_ops_finish(j, expect);
			continue;
		}
		memcpy(ins + live * in_len, job_sign_part(j)->req.in, in_len);
		go[live++] = j;
	}
	if (live == 0) {
		free(ins);
		return;
	}
	/* their "granted" records in one write, before the token signs (a group has
	 * nothing left to ask: its jobs are plain signatures, and a key that wants its PIN
	 * makes the call fail, each job then alone); if that write fails, every job has
	 * failed with AuditFailed and nothing is signed */
	if (record_sign_ahead(go, live, expect) != KYSO_OK) {
		explicit_bzero(ins, n * in_len);
		free(ins);
		for (size_t i = 0; i < live; i++) {
			go[i]->state.logged_in = 1;  /* not asked to sign: as it was */
			token_ops_finish(go[i], expect);
		}
		return;
	}
	r = group_sign(*sess, go, live, ins, in_len, sigs, lens, &f, &synced, err,
	    sizeof(err));
	explicit_bzero(ins, n * in_len);
	free(ins);
	ins = NULL;
	if (r != KYSO_OK) {
		/* logged out behind our back, a key that wants its PIN, a token error: each
		 * job on its own, with its login, dialogs and error handling; a record written
		 * ahead stays its "granted" one (synced or corrected at its end) */
		for (size_t i = 0; i < live; i++)
			token_ops_run(m, slot, expect, sess, go[i]);
		return;
	}
	if (synced != KYSO_OK)
		log_error("%s", err);
	for (size_t i = 0; i < live; i++) {
		struct job_sign *sg = job_sign_part(go[i]);

		sg->sig = sigs[i];
		sg->siglen = lens[i];
		go[i]->result = sg->ecdsa_der ? token_ops_der(&sg->sig, &sg->siglen) : KYSO_OK;
		go[i]->state.logged_in = 1;  /* signed without a login: as it was */
		/* Lock (or the token leaving) while the group was at the token: the first
		 * signature was under way, as a job alone would be; the others were waiting
		 * behind it, so theirs are thrown away and they end as if still queued (their
		 * records written ahead then corrected) */
		if (i > 0 && (r = token_ops_interrupted(go[i])) != KYSO_OK) {
			explicit_bzero(sg->sig, sg->siglen);
			free(sg->sig);
			sg->sig = NULL;
			sg->siglen = 0;
			go[i]->result = r;
		} else if (synced != KYSO_OK && go[i]->result == KYSO_OK) {
			record_withhold(go[i], err);  /* taken back: no signature without it */
		}
	}
	/* each record made durable (already: one sync above), or corrected */
	for (size_t i = 0; i < live; i++)
		token_ops_finish(go[i], expect);
	return;
one_by_one:
	free(ins);
	for (size_t i = 0; i < n; i++)
		token_ops_run(m, slot, expect, sess, jobs[i]);
}
