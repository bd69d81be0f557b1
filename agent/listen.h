/*
 * listen.h — the agent's listening socket: inherited through systemd socket activation
 * (LISTEN_FDS), or created in a private directory (0700) with mode 0600.
 */
#ifndef KYSO_LISTEN_H
#define KYSO_LISTEN_H

#include <stddef.h>

/*
 * Takes the sockets passed by systemd. Returns the number of descriptors stored in fds
 * (at most max), 0 when not socket-activated, or a negative kyso_err with a sentence in err.
 */
int listen_inherited(int *fds, size_t max, char *err, size_t errlen);

/*
 * Creates, binds and listens on a Unix socket at path. The parent directory is created
 * 0700 if missing, and must belong to this user (or root). A stale socket left by a dead
 * agent is replaced; a live one is an error. Returns the non-blocking descriptor, or a
 * negative kyso_err with a sentence in err.
 */
int listen_create(const char *path, char *err, size_t errlen);

#endif
