/*
 * host_err.h — the errors a web page sees (docs/web.md: their names are the API, stable
 * across versions), and how the agent's errors map to them.
 */
#ifndef KYSO_HOST_ERR_H
#define KYSO_HOST_ERR_H

enum host_err {
	HE_INVALID_ARGUMENT,        /* a message, command or argument the host cannot use */
	HE_INSECURE_ORIGIN,         /* the page is not https (nor http on this machine) */
	HE_MESSAGE_TOO_LARGE,       /* a message over 1 MiB */
	HE_RESULT_TOO_LARGE,        /* an answer over the browsers' 1 MiB */
	HE_AGENT_NOT_RUNNING,       /* kysod cannot be reached, or stopped */
	HE_POLICY_DENIED,           /* kysod.conf refuses it (web_origins, client_pin...) */
	HE_CANCELLED,               /* the officer cancelled or refused */
	HE_TIMEOUT,                 /* nobody answered the dialog in time */
	HE_NO_CERTIFICATE,          /* no such certificate, or no key for it */
	HE_TOKEN_MISSING,           /* the token is not (or no longer) there */
	HE_PIN_REQUIRED,            /* a PIN is needed and no dialog could ask for it */
	HE_PIN_INCORRECT,
	HE_PIN_LOCKED,
	HE_ALGORITHM_NOT_SUPPORTED, /* the key or token cannot sign that way */
	HE_TOKEN_ERROR,             /* the token failed */
	HE_AUDIT_FAILED,            /* the audit log cannot be written: nothing signed */
	HE_BUSY,                    /* too many requests at once */
	HE_AGENT_ERROR,             /* anything else the agent reported */
	HE_COUNT
};

/* Returns the name a page sees ("PolicyDenied"); never NULL. */
const char *host_err_name(enum host_err e);

/*
 * Returns the page's error for a failed agent call: err, the libkyso code; name, the
 * agent's varlink error name ("" or NULL when the failure was not the agent's answer);
 * reason, the reason parameter of io.kyso.Agent.Cancelled, or NULL.
 */
enum host_err host_err_from_agent(int err, const char *name, const char *reason);

#endif
