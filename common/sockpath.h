/* sockpath.h — where the agent's socket lives, agreed by kysod and every client. */
#ifndef KYSO_SOCKPATH_H
#define KYSO_SOCKPATH_H

#include <stddef.h>

/*
 * Writes the socket path to use into out: $KYSO_SOCKET if set and non-empty, else
 * $XDG_RUNTIME_DIR/kyso/agent.sock, else /tmp/kyso-<uid>/agent.sock.
 * Returns KYSO_OK or KYSO_ERR_INVALID_ARG if the path does not fit a sockaddr_un.
 */
int sockpath_default(char *out, size_t outlen);

/* Maximum length of a Unix socket path, NUL included. */
size_t sockpath_max(void);

#endif
