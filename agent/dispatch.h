/*
 * dispatch.h — validating a varlink call and routing it to the method that serves it.
 */
#ifndef KYSO_DISPATCH_H
#define KYSO_DISPATCH_H

#include <jansson.h>

#include "reply.h"

struct agent;
struct conn;
struct job;

/* A handler either fills the reply now or hands a job to a worker and replies later. */
enum dispatch_result { DISPATCH_DONE, DISPATCH_PENDING };

typedef enum dispatch_result (*method_fn)(struct agent *a, struct conn *c, json_t *params,
    struct reply *r);

/*
 * Serves one call message (a parsed JSON object) from c. Returns DISPATCH_DONE with r
 * filled, or DISPATCH_PENDING when a worker will finish it. *oneway is set when the
 * caller wants no reply.
 */
enum dispatch_result dispatch_call(struct agent *a, struct conn *c, json_t *msg,
    struct reply *r, int *oneway);

/* Finishes a job that came back from a worker: updates the inventory and replies. */
void dispatch_complete(struct agent *a, struct job *j);

/* The methods (methods_*.c). */
enum dispatch_result method_get_info(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_get_interface_description(struct agent *a, struct conn *c,
    json_t *p, struct reply *r);
enum dispatch_result method_list_tokens(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_list_certificates(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_login(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_lock(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_sign(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
enum dispatch_result method_list_modules(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);
/*
 * io.kyso.Agent.SignDigests: up to SIGN_DIGESTS_MAX digests signed with one key in one
 * job (one consent, one write and one fsync of their records); all or nothing. Returns as
 * method_sign.
 */
#define SIGN_DIGESTS_MAX 1000
enum dispatch_result method_sign_digests(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);

enum dispatch_result method_sign_documents(struct agent *a, struct conn *c, json_t *p,
    struct reply *r);

/* Job completions (methods_*.c), each replying to j->conn when there is one. */
void complete_scan(struct agent *a, struct job *j);
void complete_login(struct agent *a, struct job *j, struct reply *r);
void complete_logout(struct agent *a, struct job *j);
void complete_sign(struct agent *a, struct job *j, struct reply *r);

struct kyso_secret;

/*
 * Copies the optional 'pin' parameter into locked memory. Returns KYSO_OK with *pin (NULL
 * when absent), or an error with r filled (PolicyDenied when the policy forbids PINs from
 * clients: client_pin = no).
 */
int pin_param(const struct agent *a, json_t *p, struct kyso_secret **pin, struct reply *r);

struct cert;

/*
 * Resolves the 'certificate' parameter ref to a certificate whose private key is on its
 * token. Returns KYSO_OK with *cert, or an error with r filled: InvalidParameter
 * (malformed or ambiguous), NoSuchCertificate (none; or no private key for it, with
 * *cert set for the audit record).
 */
int sign_find_cert(struct agent *a, const char *ref, struct cert **cert, struct reply *r);

struct token;

/* Returns new error parameters naming t and its PIN flags (token, count low, final try). */
json_t *token_pin_params(const struct token *t);

/* Fills r with PinRequired for t; key_wants_pin: a key that needs the PIN every Sign. */
void reply_pin_required(struct reply *r, const struct token *t, int key_wants_pin);

/* Fills r with the error a token job ended with (PinIncorrect with flags, TokenError...). */
void reply_from_job(struct reply *r, const struct job *j);

#endif
