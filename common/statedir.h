/* statedir.h — where kyso keeps a user's state: $XDG_STATE_HOME, else ~/.local/state. */
#ifndef KYSO_STATEDIR_H
#define KYSO_STATEDIR_H

#include <stddef.h>

/*
 * Writes $XDG_STATE_HOME/SUBPATH (when XDG_STATE_HOME is set and absolute), else
 * $HOME/.local/state/SUBPATH (HOME from the environment when absolute, else the
 * password database). Returns KYSO_OK, or KYSO_ERR_INVALID_ARG (no home directory, or
 * len too small).
 */
int statedir_path(const char *subpath, char *buf, size_t len);

#endif
