/*
 * tokens.h — the life of a token in the agent, on the loop's side: found by a module
 * scan, read by its worker, announced, changed, removed, freed.
 *
 * A token found by a scan gets a worker and a JOB_SCAN at once but stays invisible (not
 * listed, not usable) until that scan has read its certificates; then it is announced
 * (event token-added). A token that leaves its slot, or whose slot now holds another
 * token, is removed at once: its worker is retired (queued jobs end with TokenNotPresent,
 * its session and login are dropped), the event token-removed goes out, and the memory
 * is freed once no job points to it. A module that fails takes its tokens with it until
 * its watcher brings it back (modwatch.h).
 */
#ifndef KYSO_TOKENS_H
#define KYSO_TOKENS_H

struct agent;
struct job;
struct token;
struct p11_token_desc;

/*
 * Returns 1 if t is logged in and stays so for a job submitted now: not when a logout
 * (an expired login, a locked session) is already queued ahead of it.
 */
int tokens_logged_in(const struct token *t);

/* Hands j to t's worker, counting it against t (t lives while jobs point to it). */
void tokens_submit(struct token *t, struct job *j);

/* Applies a module watcher's scan result (a JOB_MODSCAN). */
void tokens_module_scanned(struct agent *a, struct job *j);

/*
 * Called for every worker job after its reply: un-counts it, announces a token whose
 * first scan finished, sends token-changed when the token's state differs from before,
 * and asks for a rescan when the job failed as if the token left or the module broke.
 */
void tokens_job_done(struct agent *a, struct job *j, const struct p11_token_desc *before,
    int was_logged_in);

/* Removes t (see above); why goes to the log. */
void tokens_remove(struct agent *a, struct token *t, const char *why);

/* Asks every module for a scan now (SIGHUP, USB hotplug with burst set). */
void tokens_rescan_all(struct agent *a, int burst);

#endif
