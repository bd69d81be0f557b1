/*
 * host.h — kyso-browser-host: the native-messaging host the kyso browser extension
 * starts (Chromium, Google Chrome, Firefox). It reads one request at a time from the
 * browser (nm_frame.h), checks it, turns it into calls to kysod through libkyso, always
 * with the web page's origin, and writes one answer (docs/web.md: the messages).
 *
 * A request: {"id": ID, "origin": "https://...", "command": C, "arguments": {...}}, ID a
 * string of at most 64 characters or an integer, echoed in every answer. The answer:
 * {"id": ID, "result": {...}}, or {"id": ID, "error": {"name": N, "message": M,
 * "details": {...}}} with N from host_err.h. The origin is the page's, as the extension
 * took it from the browser (never from the page); the host serves one page: the first
 * request's origin is the only one it accepts afterwards.
 */
#ifndef KYSO_HOST_H
#define KYSO_HOST_H

#include <jansson.h>

#include "host_err.h"
#include "kyso.h"
#include "origin.h"

struct hangup;

struct host {
	kyso_client *kc;             /* the connection to kysod, NULL until needed */
	const char *socket;          /* kysod's socket; NULL: the default */
	char origin[ORIGIN_MAX + 1]; /* the page this host serves ("" until the first request) */
	char caller[128];            /* who started the host: the extension (argv), for logs */
	struct hangup *hup;
	int out;                     /* where answers go (standard output) */
	int hung_up;                 /* the browser closed the input during a call */
};

/*
 * One call to kysod with parameters params (stolen; may be NULL), connecting first if
 * need be. Returns KYSO_OK with *reply (free with json_decref), or fills *err and
 * *message (a sentence, static or from the client) and *details (new, or NULL) and
 * returns the libkyso error. A call cut short by the browser's hangup sets h->hung_up.
 */
int host_agent_call(struct host *h, const char *method, json_t *params, json_t **reply,
    enum host_err *err, char *message, size_t msglen, json_t **details);

/* Writes {"id": id, "result": result} (result stolen). Returns KYSO_OK or KYSO_ERR_IO. */
int host_reply(struct host *h, json_t *id, json_t *result);

/* Writes {"id": id, "progress": p} (p stolen), for a long command. KYSO_OK/KYSO_ERR_IO. */
int host_progress(struct host *h, json_t *id, json_t *p);

/* Writes an error answer (details stolen, may be NULL). Returns KYSO_OK or KYSO_ERR_IO. */
int host_error(struct host *h, json_t *id, enum host_err e, json_t *details,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The commands (host_cmds.c, host_sign.c); each answers, and returns what host_reply or
 * host_error returned. args is an object. */
int host_cmd_status(struct host *h, json_t *id, json_t *args);
int host_cmd_certificates(struct host *h, json_t *id, json_t *args);
int host_cmd_sign(struct host *h, json_t *id, json_t *args);
int host_cmd_sign_documents(struct host *h, json_t *id, json_t *args);

/*
 * Serves one message (len bytes at body) from the browser: parses and checks it, and
 * runs its command. Returns KYSO_OK, or KYSO_ERR_IO when the answer cannot be written.
 */
int host_serve(struct host *h, const char *body, size_t len);

#endif
