/*
 * token_ops.h — what the worker's jobs share between token_ops.c (one job: its session,
 * dialogs, login, signature) and token_ahead.c (signatures with their records written
 * ahead: one Sign, or Signs queued together signed in one call). Everything here runs in
 * a worker's lane and touches only its jobs and session.
 */
#ifndef KYSO_TOKEN_OPS_H
#define KYSO_TOKEN_OPS_H

#include <stddef.h>

struct job;
struct p11_module;
struct p11_session;
struct p11_token_desc;

/*
 * Opens a session on the slot into *sess if there is none, checking that the token in
 * it is still expect. Returns KYSO_OK, KYSO_ERR_TOKEN_NOT_PRESENT (another token sits in
 * the slot) or an error with j->fail.
 */
int token_ops_session(struct p11_module *m, unsigned long slot,
    const struct p11_token_desc *expect, struct p11_session **sess, struct job *j);

/*
 * Whether the loop ended j while it ran outside a dialog (Lock, session lock or sleep,
 * the token left, the client gone): from then on it must not log in nor sign. Returns
 * KYSO_OK, KYSO_ERR_CANCELLED (the job's cancel reason set) or KYSO_ERR_TOKEN_NOT_PRESENT.
 */
int token_ops_interrupted(struct job *j);

/*
 * Whether Sign job j goes to the token with its "granted" record written ahead of the
 * signature and synced while the token signs (record_sign_ahead): a Sign of one digest
 * (not SignDigests, not a document) with an audit log, nothing left to ask (the caller
 * has confirmed and logged in as needed), a key not known to want its PIN at every
 * signature, and no PIN pad to wait for. Returns 1 or 0.
 */
int token_ops_ahead(const struct job *j);

/*
 * The first signature of Sign job j, which token_ops_ahead allows: its "granted" record
 * written unsynced (record_sign_ahead), the signature sent to the module's helper
 * without waiting, the record synced while the token signs, then the answer read — about
 * max(sign, fsync) instead of their sum. Returns KYSO_OK with the signature in j (kept
 * only if the sync succeeded), KYSO_ERR_AUDIT (the record could not be written, and the
 * token was not asked; or its sync failed, and the signature was withheld), or the
 * signature's error as p11_session_sign; then the job's end (record_sign_job) writes the
 * record that corrects the "granted" one.
 */
int token_ops_sign_ahead(struct p11_session *s, const struct p11_token_desc *expect,
    struct job *j);

/* Turns an ECDSA r||s signature into DER in place. Returns KYSO_OK or an error. */
int token_ops_der(unsigned char **sig, size_t *len);

/*
 * The end of every job: its audit record (record_sign_job: synced, or the record written
 * ahead synced or corrected) before it goes back, a failed document stops its batch, and
 * the PIN is wiped.
 */
void token_ops_finish(struct job *j, const struct p11_token_desc *expect);

#endif
