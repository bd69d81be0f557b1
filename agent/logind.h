/*
 * logind.h — session lock and sleep as events for the agent's loop (systemd-logind's
 * D-Bus signals, read with sd-bus), so that the agent can forget cached logins.
 *
 * What counts:
 *   - org.freedesktop.login1.Session.Lock, emitted on the session's object path
 *     /org/freedesktop/login1/session/<escaped id>, for any session of this uid
 *     (sd_uid_get_sessions, asked at each signal so that sessions opened later count too).
 *     Where logind cannot tell (no logind, no session of this uid: a private test bus),
 *     a Lock on any session path counts;
 *   - org.freedesktop.login1.Manager.PrepareForSleep(true); false (resuming) does not.
 * Unlock, PrepareForShutdown and anything else do not count.
 *
 * The sender is not checked: a test bus has no logind owning org.freedesktop.login1 to
 * emulate, and a forged signal can do no more than forget the logins — the officer types
 * the PIN again. Forgetting a login is always safe.
 *
 * The bus is the system bus, or the one at the D-Bus address in $KYSO_LOGIND_BUS (tests).
 * sd-bus objects are not thread-safe: the watcher lives in the loop's thread only.
 */
#ifndef KYSO_LOGIND_H
#define KYSO_LOGIND_H

#include <stddef.h>

enum { LOGIND_LOCK = 1, LOGIND_SLEEP = 2 };

/* At most this many bus messages are handled per logind_watch_process (the rest next time). */
#define LOGIND_PROCESS_MAX 64
/* How long each subscription may take at start-up (a bus that accepts and never answers). */
#define LOGIND_START_TIMEOUT_MS 5000

struct logind_watch;

/*
 * Connects to the bus and subscribes to the signals above (start-up blocks for at most
 * LOGIND_START_TIMEOUT_MS per subscription). Returns KYSO_OK with *out, or
 * KYSO_ERR_IO (no bus, or the subscriptions refused), KYSO_ERR_NOMEM,
 * KYSO_ERR_INVALID_ARG (out NULL), each with a sentence in why for one log line
 * ("cannot connect to the system bus: No such file or directory"); *out is NULL then.
 * The agent runs without it.
 */
int logind_watch_start(struct logind_watch **out, char *why, size_t whylen);

/*
 * The descriptor to watch for EPOLLIN (level-triggered). It stays the same, and open,
 * until logind_watch_stop, even after the bus connection dropped: it is an epoll set of
 * the watcher's own holding the bus connection, so the caller never needs EPOLLOUT and
 * never sees a hang-up. Returns -1 for NULL.
 */
int logind_watch_fd(const struct logind_watch *w);

/*
 * Handles what the bus has sent, without blocking (at most LOGIND_PROCESS_MAX messages;
 * the descriptor stays readable while more wait). Call it when the descriptor is
 * readable; calling it once right after start is allowed (a signal that arrived during
 * start-up is returned then, or with the next batch). Returns the LOGIND_* seen since the
 * last call, 0 if none (always 0 for NULL, or once the watcher is dead). When this call
 * finds the connection dropped, the watcher becomes dead (logind_watch_alive returns 0)
 * and its descriptor is never readable again; signals read before the drop are still
 * returned by this call.
 */
int logind_watch_process(struct logind_watch *w);

/* Returns 1 while the bus connection lives, 0 once it dropped (or for NULL). */
int logind_watch_alive(const struct logind_watch *w);

/* Closes the connection and the descriptor and frees the watcher; NULL is allowed. */
void logind_watch_stop(struct logind_watch *w);

/*
 * The Lock rule: returns 1 if a Lock emitted on object path path counts, else 0.
 * sessions is this uid's session ids (NULL-terminated); NULL or empty means logind cannot
 * tell, and then any session path counts (/org/freedesktop/login1/session/<something>).
 */
int logind_lock_counts(const char *path, char *const *sessions);

#endif
