/*
 * rpc_server.h — kyso-p11-helper's side of the wire (rpc.h): the module it runs, and the
 * channels kysod opens, each served by a thread of its own.
 */
#ifndef KYSO_RPC_SERVER_H
#define KYSO_RPC_SERVER_H

#include <stddef.h>

struct p11_module;

/*
 * The module the helper serves (NULL if it could not be loaded) and the outcome of
 * loading it, which RPC_HELLO answers: result (kyso_err) and why (a sentence, or "").
 */
void rpc_server_init(struct p11_module *m, int result, const char *why);

/*
 * Serves the control channel fd (calls, and new channels passed with RPC_CHANNEL, each
 * served by a new thread) until kysod closes it or sends RPC_FINALIZE. Then returns.
 */
void rpc_server_run(int fd);

/*
 * The helper's end, once rpc_server_run returned: C_Finalize (unless RPC_FINALIZE did),
 * under the same lock and once no call is inside the module. The module stays loaded.
 * Returns 1, or 0 when a call was still inside it after a few seconds (one kysod gave up
 * on): it is not finalized then, and the helper must end with _exit (no destructors run
 * under that call).
 */
int rpc_server_finish(void);

/*
 * The helper's confinement (rpc_sandbox.c): no new privileges, not dumpable, and unless
 * filter is 0 a seccomp filter that refuses what a PKCS#11 module has no business doing
 * (kysod(1), MODULES IN HELPER PROCESSES). Returns 0, or -1 with a sentence in why.
 */
int rpc_sandbox(int filter, char *why, size_t len);

#endif
