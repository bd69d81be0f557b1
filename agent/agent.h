/*
 * agent.h — the agent's state and its life cycle: what kysod's main() drives and what
 * tests and fuzzers link.
 */
#ifndef KYSO_AGENT_H
#define KYSO_AGENT_H

#include <stddef.h>

#include "inventory.h"
#include "modwatch.h"
#include "worker.h"

struct audit_log;
struct conn;
struct doc_batch;
struct logind_watch;
struct usb_watch;
struct web_state;

#define AGENT_MAX_MODULES 32
#define AGENT_MAX_CONNS 256
/* Descriptors never given to clients: modules, dialogs and the audit log need them. */
#define AGENT_FD_RESERVE 8

/*
 * What the policy (kysod.conf, kysod(1) options) lets requests do; all zero: no dialogs,
 * client PINs allowed, logins kept until Lock, no audit log (tests, fuzzers).
 */
struct agent_policy {
	const char *pinentry;     /* the PIN and confirmation dialog program; NULL: none */
	const char *tty, *ttytype;/* the terminal for pinentry-curses/-tty, or NULL */
	long pinentry_timeout;    /* seconds a dialog waits for the officer; 0: for ever */
	int confirm;              /* every signature is confirmed in a dialog */
	int no_client_pin;        /* clients may not send PINs */
	int no_login_cache;       /* a login lasts one request */
	long login_idle_ttl;      /* seconds an unused login is kept; 0: no limit */
	long login_max_ttl;       /* seconds any login is kept; 0: no limit */
	long signing_time_skew;   /* seconds a chosen CAdES signing_time may be from now
	                           * (0: one); -1: no bound */
	int sessions_per_token;   /* sessions (worker threads) per token; 0: auto */
	const char *audit_path;   /* the audit log; NULL: none */
	const char *origin;       /* where the policy was read, for PolicyDenied messages */
	/* web pages (web.h): the origins and patterns allowed (normalised, origin.h), whether
	 * others are put to the officer, and the file of those allowed always (NULL: none) */
	const char *const *web_origins;
	size_t nweb_origins;
	int web_ask;
	const char *web_store_path;
};

struct agent_options {
	const char *socket_path;       /* NULL: the default (sockpath.h) */
	const char *modules[AGENT_MAX_MODULES];
	size_t nmodules;               /* 0: the modules registered with p11-kit */
	int ready_fd;                  /* written to and closed once serving; -1 for none */
	struct agent_policy policy;    /* copied; the strings must outlive the agent */
	int logind;                    /* watch logind for session lock and sleep */
	/*
	 * The policy's module allow-list (kysod.conf "modules", real paths); NULL: any module.
	 * With it, kysod loads the listed modules instead of p11-kit's registered ones, and
	 * each --module must be allowed: module_allowed says so and gives the real path to
	 * load.
	 */
	const char *const *module_list;
	size_t nmodule_list;
	int (*module_allowed)(const char *path, char *real, size_t reallen, void *arg);
	void *module_allowed_arg;
};

struct whois_async;

struct agent {
	int epfd;
	int sigfd;
	struct completions done;
	int listen_fds[8];
	size_t nlisten;
	char *socket_path;     /* the socket we created and unlink at exit (NULL if inherited) */
	struct p11_module **modules;
	struct modwatch *watch;  /* one per module */
	size_t nmodules;
	struct usb_watch *usb;   /* USB hotplug, NULL where it cannot work */
	struct logind_watch *logind; /* session lock and sleep, NULL without logind */
	struct audit_log *audit; /* every Sign request is recorded here, NULL: not at all */
	struct web_state *web;   /* web pages: the remembered ones, the questions (web.h) */
	struct whois_async *whois; /* kysod-whois asked off the loop (with KYSO_WHOIS_SOCKET) */
	int whois_fd;          /* readable while its answers wait */
	struct agent_policy policy;
	struct inventory inv;
	struct conn *conns;
	size_t nconns;
	struct doc_batch *batches; /* SignDocuments calls being served (batch.h) */
	int pending_scans;     /* start-up scans (modules, then tokens) still running */
	size_t conn_cap;       /* connections the descriptor limit allows (agent_serve) */
	int accept_paused;     /* out of descriptors (or at conn_cap): not listening for now */
	int accept_failing;    /* since the last accept that worked (logged once) */
	long accept_resume_ms; /* agent_now_ms() when to try again (0: at once) */
	int serving;
	int ready_fd;
	int stop;
};

/*
 * Loads the modules, binds (or inherits, LISTEN_FDS) the socket and starts a watcher per
 * module (its first scan finds the tokens; serving starts when they are read, or after
 * 15 s). Returns KYSO_OK, or an error with a sentence in err.
 */
int agent_init(struct agent *a, const struct agent_options *o, char *err, size_t errlen);

/* Runs the event loop until SIGTERM/SIGINT or agent_request_stop. Returns KYSO_OK. */
int agent_run(struct agent *a);

/*
 * A descriptor was freed (a connection closed): a listener paused because accept ran out
 * of descriptors (EMFILE) is resumed after the current batch.
 */
void agent_fd_freed(struct agent *a);

/* Returns a monotonic clock in seconds. */
long agent_now(void);

/* Returns the same clock in milliseconds. */
long agent_now_ms(void);

/*
 * Retires workers, stops the watchers, closes connections, removes the socket, unloads
 * the modules that nothing is stuck in.
 */
void agent_free(struct agent *a);

#endif
