/*
 * digests_ops.h — SignDigests on the token's worker: what becomes of each chunk of
 * signatures while the next chunk is at the token (token_ops.c sends that chunk first,
 * so that the agent's work per signature is off the token's path).
 */
#ifndef KYSO_DIGESTS_OPS_H
#define KYSO_DIGESTS_OPS_H

#include <stddef.h>

struct job;
struct kbuf;
struct p11_token_desc;

/*
 * Makes what SignDigests job j gives out of its signatures [from, from + k), which must
 * follow those made so far (from == many->made): each ECDSA signature turned into DER
 * (if the job asks for it), its base64 appended to many->out (the reply's array, as JSON
 * text), and
 * its "granted" record formatted onto many->lines (record_digests_chunk); many->made
 * grows by k. Returns KYSO_OK, KYSO_ERR_NOMEM, KYSO_ERR_CRYPTO or KYSO_ERR_INTERNAL.
 */
int digests_ops_chunk(struct job *j, const struct p11_token_desc *tok, size_t from,
    size_t k);

/*
 * The parameters of the reply of SignDigests job j, which signed every digest, as JSON
 * text: {"signatures":[…],"algorithm":…,"certificate":…,"batch":…}, the array being the
 * one digests_ops_chunk made while the token signed (the loop only finishes it, and sends
 * it without building 100 KB of JSON again: reply_ok_text). Returns KYSO_OK with *text
 * (taken from many->out), or KYSO_ERR_NOMEM / KYSO_ERR_TOO_LARGE / KYSO_ERR_INTERNAL.
 */
int digests_ops_reply(struct job *j, struct kbuf **text);

#endif
