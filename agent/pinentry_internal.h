/*
 * pinentry_internal.h — shared by the files of the pinentry client only (pinentry.c, the
 * dialogs; pinentry_proc.c, the pinentry process); no other file includes it. Holds the
 * dialog's state and what pinentry.c calls of the process plumbing.
 */
#ifndef KYSO_PINENTRY_INTERNAL_H
#define KYSO_PINENTRY_INTERNAL_H

#include <assuan.h>
#include <pthread.h>
#include <sys/types.h>
#include <time.h>

#include "pinentry.h"

/* Why a dialog was ended by force. */
enum { KILL_NONE, KILL_TIMEOUT, KILL_ABORT, KILL_STOP };

struct pinentry_dialog {
	pthread_mutex_t mu;
	pthread_cond_t cv;       /* wakes the watchdog */
	pid_t pid;               /* the child, from spawn until reaped */
	int spawn_err;           /* errno of a failed spawn */
	int done;                /* the watchdog may leave */
	int killed;              /* KILL_*: why it was ended by force (the first reason) */
	int termed, hard;        /* SIGTERM, SIGKILL sent */
	int asked;               /* the question was answered (popup: its thread ended) */
	int bye;                 /* BYE sent: the child should leave by itself */
	long limit_ms;           /* timeout + grace, or 0 */
	struct timespec deadline, term_at, bye_at;
	pthread_t wd;
	assuan_context_t ctx;
	const char *program;
	int stage;               /* STAGE_* (pinentry.c): how far the conversation got */
	const char *what;        /* the command that failed */
	struct pinentry_abort *ab;
	struct pinentry_dialog *ab_next;
};

/* Initialises libgpg-error and libassuan once; returns 1 if they are usable, else 0. */
int pinproc_init(void);

/*
 * Creates d->ctx: wiping allocators, no logging, no signal or waitpid handling of its
 * own, our system hooks (they spawn the child into d), d as its pointer.
 */
gpg_error_t pinproc_ctx_new(struct pinentry_dialog *d);

/* Ends d's child with SIGTERM (once) for reason (KILL_*, the first one kept); d->mu held. */
void pinproc_kill_locked(struct pinentry_dialog *d, int reason);

/* (Re)starts d's timeout of d->limit_ms from now and wakes the watchdog. */
void pinproc_arm(struct pinentry_dialog *d);

/* The watchdog thread (arg: the dialog), until d->done; start it with pthread_create. */
void *pinproc_watchdog(void *arg);

/*
 * Says BYE and closes the pipes (releases d->ctx), then waits for the child to exit
 * (the watchdog kills it if it stays) but leaves it unreaped. Returns its pid or 0.
 */
pid_t pinproc_bye(struct pinentry_dialog *d);

/* Stops the watchdog, then reaps pid (0: none). Returns its wait status or -1. */
int pinproc_reap(struct pinentry_dialog *d, pid_t pid);

/* Writes how a child ended to buf: " (exit status 1)", " (killed by SIGTERM)"; -1: "". */
void pinproc_describe_status(int status, char *buf, size_t len);

#endif
