/*
 * digests_ops.h — SignDigests on the token's worker: what becomes of each chunk of
 * signatures while the next chunk is at the token (token_ops.c sends that chunk first,
 * so that the agent's work per signature is off the token's path).
 */
#ifndef KYSO_DIGESTS_OPS_H
#define KYSO_DIGESTS_OPS_H

#include <stddef.h>

struct job;
struct p11_token_desc;

/*
 * Makes what SignDigests job j gives out of its signatures [from, from + k), which must
 * follow those made so far (from == many->made): each ECDSA signature turned into DER
 * (if the job asks for it), its base64 appended to many->out (the reply's array), and
 * its "granted" record formatted onto many->lines (record_digests_chunk); many->made
 * grows by k. Returns KYSO_OK, KYSO_ERR_NOMEM, KYSO_ERR_CRYPTO or KYSO_ERR_INTERNAL.
 */
int digests_ops_chunk(struct job *j, const struct p11_token_desc *tok, size_t from,
    size_t k);

#endif
