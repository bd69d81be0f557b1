/*
 * logins.h — how long a token stays logged in: the policy's idle and maximum times
 * (login_idle_ttl, login_max_ttl), and forgetting every login when the session locks or
 * the machine goes to sleep. Lock() and token removal are methods_tokens.c's and
 * tokens.c's. Runs in the event loop.
 */
#ifndef KYSO_LOGINS_H
#define KYSO_LOGINS_H

struct agent;
struct job;
struct token;

/*
 * Notes what a finished job did to t's login (it began, was used, ended; a PIN was
 * wrong). was_logged_in is t's state before the job.
 */
void logins_note(struct agent *a, struct token *t, const struct job *j, int was_logged_in);

/*
 * Logs out the tokens whose login passed its deadline. Returns the milliseconds until the
 * next deadline, or -1 if no login has one.
 */
int logins_expire(struct agent *a);

/* Logs out of every token now (no client waits for it); why goes to the log. */
void logins_forget_all(struct agent *a, const char *why);

/*
 * Submits a logout of t that no client waits for (a login that lasts one request: a
 * SignDocuments batch with login_cache = no). Returns 1 if submitted, 0 if t is not
 * visible, gone, or out of memory.
 */
int logins_logout(struct token *t);

#endif
