/*
 * web_store.h — the web pages the officer allowed "always": a small text file in the
 * user's state directory ($XDG_STATE_HOME/kyso/web-origins, else
 * ~/.local/state/kyso/web-origins), read by kysod when a page not in web_origins asks
 * and the policy says web_origins_unknown = ask.
 *
 * The file: one normalised origin (origin.h) per line, then a space and the time it was
 * allowed (RFC 3339, UTC); '#' lines are comments. It is read again whenever it changed
 * (its inode, size, modification or change time), so an edit by hand, or a chmod,
 * counts at once. It is
 * trusted only if it is a regular file (no symbolic link is followed) that belongs to
 * the user and that nobody else may write, of at most WEB_STORE_MAX_BYTES and
 * WEB_STORE_MAX_ENTRIES lines; otherwise it counts as empty (nothing is allowed by it)
 * and the log says why once. Lines that are not origins are skipped.
 *
 * kysod is its only writer (the loop thread; nothing here is thread-safe): a change
 * writes a new file next to it (mode 0600), syncs it and renames it over the old one,
 * so that a crash leaves either the old or the new list, never half of one. Its
 * directory is made (0700) if missing.
 */
#ifndef KYSO_WEB_STORE_H
#define KYSO_WEB_STORE_H

#include <stddef.h>
#include <time.h>

#define WEB_STORE_SUBPATH "kyso/web-origins"   /* below $XDG_STATE_HOME */
#define WEB_STORE_MAX_BYTES (64 * 1024)
#define WEB_STORE_MAX_ENTRIES 500

struct web_store;

/*
 * Writes the default path, $XDG_STATE_HOME/kyso/web-origins (when set and absolute),
 * else $HOME/.local/state/kyso/web-origins. Returns KYSO_OK, or KYSO_ERR_INVALID_ARG (no
 * home directory, or len too small).
 */
int web_store_path_default(char *buf, size_t len);

/* Returns a store for the file at path (nothing is read yet), or NULL on ENOMEM. */
struct web_store *web_store_new(const char *path);

/* Frees s; NULL is allowed. */
void web_store_free(struct web_store *s);

/* Returns the file's path. */
const char *web_store_path(const struct web_store *s);

/*
 * Returns 1 if the normalised origin o is in the file (read again first if it changed),
 * else 0 (also when the file is missing, unreadable or not trusted).
 */
int web_store_has(struct web_store *s, const char *o);

/*
 * The entries, in the file's order, after reading it again if it changed. Returns their
 * number; *origins and *since point into s and stay valid until the next call on s.
 */
size_t web_store_list(struct web_store *s, const char *const **origins,
    const time_t **since);

/*
 * Adds the normalised origin o (now) and rewrites the file; an origin already there is
 * left as it is. Returns KYSO_OK; KYSO_ERR_TOO_LARGE when the file holds
 * WEB_STORE_MAX_ENTRIES already; KYSO_ERR_IO with a sentence naming the file in err
 * (the file is then unchanged); KYSO_ERR_NOMEM.
 */
int web_store_add(struct web_store *s, const char *o, char *err, size_t errlen);

/*
 * Removes o (NULL: every entry) and rewrites the file if anything was removed. Returns
 * KYSO_OK with *removed (how many), KYSO_ERR_IO with err as for web_store_add, or
 * KYSO_ERR_NOMEM.
 */
int web_store_forget(struct web_store *s, const char *o, size_t *removed, char *err,
    size_t errlen);

#endif
