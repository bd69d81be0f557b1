/*
 * pinentry.h — asking the officer for a PIN or a confirmation through a pinentry program
 * (GnuPG's dialog programs: pinentry-gnome3, -qt, -gtk2, -curses, -tty), spoken to over
 * the Assuan protocol with libassuan.
 *
 * Each dialog runs a new pinentry process: SETTITLE, SETDESC, SETPROMPT, SETERROR, SETOK,
 * SETCANCEL, SETTIMEOUT as given, then GETPIN, CONFIRM or CONFIRM --one-button, then BYE.
 * No OPTION is sent but ttyname, ttytype, lc-ctype and lc-messages when given; nothing
 * lets pinentry cache the PIN.
 *
 * Processes: the program is started with posix_spawnp (a name without '/' is looked up in
 * PATH), with the caller's environment (DISPLAY, WAYLAND_DISPLAY, DBUS_SESSION_BUS_ADDRESS
 * ...), stdin/stdout the Assuan pipes, stderr /dev/null, every other descriptor closed,
 * an empty signal mask and SIGPIPE/SIGTERM/SIGINT/SIGHUP/SIGCHLD at their defaults. Every
 * child is reaped by the call that started it (waitpid on its own pid), so callers must
 * neither set SIGCHLD to SIG_IGN nor reap with waitpid(-1). No signal handler is
 * installed; SIGPIPE from a pinentry that died is blocked and consumed in the calling
 * thread, so the process need not ignore it. Descriptors are close-on-exec.
 *
 * Ending a dialog by force (the watchdog, an abort, pinentry_popup_stop) sends SIGTERM
 * (pinentry-curses then restores the terminal), and SIGKILL PINENTRY_KILL_GRACE_MS later
 * if the program is still there.
 *
 * Threads: every call is independent (several token workers may hold dialogs at once);
 * libassuan and libgpg-error are initialised once, internally (pthread_once).
 */
#ifndef KYSO_PINENTRY_H
#define KYSO_PINENTRY_H

#include <pthread.h>
#include <stddef.h>

struct kyso_secret;
struct pinentry_dialog;
struct pinentry_popup;

/* Longest PIN accepted from pinentry, in bytes; a longer answer is an error. */
#define PINENTRY_PIN_MAX 256
/*
 * The watchdog's grace: with a timeout of T seconds, a pinentry is killed if it has not
 * answered T + PINENTRY_GRACE_S seconds after the question was put (pinentry itself gives
 * up at T), or if it has not greeted and taken the texts that long after it was started.
 */
#define PINENTRY_GRACE_S 3
/* After SIGTERM, how long a pinentry has to leave before SIGKILL. */
#define PINENTRY_KILL_GRACE_MS 1000

struct pinentry_req {
	const char *program;      /* absolute path, or a name looked up in PATH; required */
	long timeout_s;           /* give up after this long (0: wait for ever) */
	const char *title;        /* SETTITLE, or NULL */
	const char *desc;         /* SETDESC: the full text (may hold newlines), or NULL */
	const char *prompt;       /* SETPROMPT ("PIN:"), or NULL */
	const char *error;        /* SETERROR ("Wrong PIN; 1 try left"), or NULL */
	const char *ok, *cancel;  /* SETOK / SETCANCEL button labels, or NULL */
	const char *tty, *ttytype;/* OPTION ttyname= / ttytype= (curses, tty), or NULL */
	/* OPTION lc-ctype= / lc-messages= (the session's locale: the character set
	 * pinentry-curses draws in, pinentry's own words), or NULL */
	const char *lc_ctype, *lc_messages;
};

/*
 * q and its strings need only live during the call that takes them (popups included).
 * Texts may be any bytes but NUL (UTF-8 expected); each is percent-escaped for Assuan and
 * a text too long for one Assuan line (1000 bytes, escapes included) is cut at a
 * character boundary and ends with "…". tty, ttytype, lc_ctype and lc_messages must hold
 * no control character.
 */

/*
 * Lets another thread end the dialogs in progress (the token was pulled out, the agent
 * stops). Fields are private; one abort object may serve any number of dialogs, in
 * turn or at once.
 */
struct pinentry_abort {
	pthread_mutex_t mu;
	int aborted;                     /* fired: dialogs end at once, new ones never start */
	struct pinentry_dialog *dialogs; /* the dialogs in progress started with it */
};

/* Prepares ab (not fired). */
void pinentry_abort_init(struct pinentry_abort *ab);

/*
 * Ends every dialog in progress started with ab (their calls return KYSO_ERR_CANCELLED,
 * saying the dialog was aborted) and makes any later call given ab return that at once.
 * Safe from any thread, any number of times; it does not wait for the dialogs to end.
 */
void pinentry_abort_fire(struct pinentry_abort *ab);

/* Returns 1 once pinentry_abort_fire was called on ab, else 0. */
int pinentry_abort_fired(struct pinentry_abort *ab);

/* Frees ab's resources; no dialog may be in progress with it. NULL is allowed. */
void pinentry_abort_destroy(struct pinentry_abort *ab);

/*
 * Asks for a PIN (GETPIN). ab may be NULL. Blocks until the officer answers, the timeout
 * passes, or ab fires. Returns:
 *   KYSO_OK             *pin set: a new secret (secret_free it), possibly empty (the
 *                       officer pressed OK without typing; the caller decides);
 *   KYSO_ERR_CANCELLED  the officer pressed Cancel or closed the dialog, or ab fired
 *                       (why says "aborted");
 *   KYSO_ERR_TIMEOUT    nobody answered within q->timeout_s (pinentry said so, or the
 *                       watchdog had to kill it);
 *   KYSO_ERR_PINENTRY   no dialog could be shown: the program is missing or cannot run,
 *                       died, spoke no Assuan, has no display or terminal, or answered a
 *                       PIN over PINENTRY_PIN_MAX bytes;
 *   KYSO_ERR_INVALID_ARG q, q->program or pin NULL, or a bad tty/ttytype;
 *   KYSO_ERR_NOMEM.
 * On failure *pin is NULL and why (if whylen > 0) holds one sentence naming the program.
 * The PIN never leaves locked memory except for libassuan's own buffers, which are wiped
 * when freed; it is never logged.
 */
int pinentry_getpin(const struct pinentry_req *q, struct pinentry_abort *ab,
    struct kyso_secret **pin, char *why, size_t whylen);

/*
 * Asks for a confirmation (CONFIRM: the q->ok and q->cancel buttons). ab may be NULL.
 * Returns KYSO_OK if confirmed; KYSO_ERR_CANCELLED if refused, cancelled or aborted;
 * otherwise as pinentry_getpin. why as there.
 */
int pinentry_confirm(const struct pinentry_req *q, struct pinentry_abort *ab,
    char *why, size_t whylen);

/*
 * Shows a message while something else happens (a PIN-pad reader waiting for the PIN):
 * CONFIRM --one-button in a thread of its own. q->timeout_s is ignored (the message
 * stays until pinentry_popup_stop or the officer's OK). Returns once the pinentry has
 * greeted and taken the texts: KYSO_OK with *out, or KYSO_ERR_PINENTRY,
 * KYSO_ERR_INVALID_ARG, KYSO_ERR_NOMEM with why set and *out NULL.
 */
int pinentry_popup_start(const struct pinentry_req *q, struct pinentry_popup **out,
    char *why, size_t whylen);

/*
 * Closes the message (kills the pinentry unless the officer already pressed OK), waits
 * for its thread and process, and frees p. NULL is allowed.
 */
void pinentry_popup_stop(struct pinentry_popup *p);

/*
 * Percent-escapes src for an Assuan command line (%, CR, LF and every other control byte
 * as %XX), writing at most room - 1 bytes and a NUL to dst. If it does not fit, the text
 * is cut before a whole UTF-8 character and "…" appended (room must then be at least 4).
 * Returns the length written (no NUL), or (size_t)-1 if room < 4.
 */
size_t pinentry_escape(const char *src, char *dst, size_t room);

#endif
