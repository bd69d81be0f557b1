/*
 * xdg.h — where kyso keeps a user's files (the XDG base directories: $XDG_CONFIG_HOME,
 * else ~/.config; $XDG_STATE_HOME, else ~/.local/state), and making their directories.
 */
#ifndef KYSO_XDG_H
#define KYSO_XDG_H

#include <stddef.h>

/*
 * Writes $ENV/SUBPATH when the variable env is set to an absolute path, else
 * $HOME/FALLBACK/SUBPATH (HOME from the environment when absolute, else the password
 * database), e.g. xdg_path("XDG_STATE_HOME", ".local/state", "kyso/audit.log", ...).
 * Returns KYSO_OK, or KYSO_ERR_INVALID_ARG (no home directory, or len too small).
 */
int xdg_path(const char *env, const char *fallback, const char *subpath, char *buf,
    size_t len);

/* The same for $XDG_STATE_HOME, else ~/.local/state. */
int statedir_path(const char *subpath, char *buf, size_t len);

/*
 * mkdir -p dir: what is made gets mode 0700 (whatever the umask). Returns 0, or -1 with
 * errno (ENOTDIR when dir exists and is not a directory).
 */
int xdg_mkdirs(const char *dir);

#endif
