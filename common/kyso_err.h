/*
 * kyso_err.h — the one list of error codes used by every kyso component.
 *
 * Part of the public libkyso API (installed beside kyso.h). Every function in kyso that can
 * fail returns one of these; kyso_strerror() turns a code into a sentence and
 * kyso_err_varlink() into the varlink error name the agent sends on the wire.
 */
#ifndef KYSO_ERR_H
#define KYSO_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kyso_err {
	KYSO_OK = 0,
	KYSO_ERR_NOMEM = -1,            /* out of memory */
	KYSO_ERR_INVALID_ARG = -2,      /* a caller passed something unusable (names it) */
	KYSO_ERR_INVALID_PARAMETER = -3,/* a request parameter is missing, mistyped or bad */
	KYSO_ERR_METHOD_NOT_FOUND = -4, /* no such varlink method */
	KYSO_ERR_INTERFACE_NOT_FOUND = -5,
	KYSO_ERR_PROTOCOL = -6,         /* malformed message from the peer */
	KYSO_ERR_TOO_LARGE = -7,        /* message over the size cap */
	KYSO_ERR_IO = -8,               /* read/write/socket failure (errno kept by caller) */
	KYSO_ERR_CONNECT = -9,          /* cannot reach the agent */
	KYSO_ERR_DISCONNECTED = -10,    /* the peer closed the connection */
	KYSO_ERR_PERMISSION = -11,      /* caller not allowed (another uid) */
	KYSO_ERR_NO_SUCH_CERT = -20,
	KYSO_ERR_NO_SUCH_TOKEN = -21,
	KYSO_ERR_TOKEN_NOT_PRESENT = -22,
	KYSO_ERR_PIN_REQUIRED = -23,
	KYSO_ERR_PIN_INCORRECT = -24,
	KYSO_ERR_PIN_LOCKED = -25,
	KYSO_ERR_UNSUPPORTED_ALG = -26,
	KYSO_ERR_INVALID_DIGEST = -27,
	KYSO_ERR_TOKEN = -28,           /* the token or module failed (CKR name attached) */
	KYSO_ERR_KEY_NOT_FOUND = -29,   /* certificate known but no private key for it */
	KYSO_ERR_MODULE = -30,          /* a PKCS#11 module could not be loaded */
	KYSO_ERR_CRYPTO = -31,          /* an OpenSSL operation failed */
	KYSO_ERR_INTERNAL = -32,        /* a bug: an invariant did not hold */
	KYSO_ERR_UNKNOWN_REMOTE = -33,  /* the agent answered with an error this client does not know */
	KYSO_ERR_BUSY = -34,            /* the agent refused: too many connections */
	KYSO_ERR_UNSUPPORTED = -35,     /* the module or agent does not offer this */
	KYSO_ERR_EXPECTED_MORE = -36,   /* a streaming method was called without "more" */
	KYSO_ERR_TOO_SLOW = -37,        /* a subscriber did not read its events; dropped */
	KYSO_ERR_TIMEOUT = -38,         /* nothing arrived in the time given */
	KYSO_ERR_CANCELLED = -39,       /* the officer cancelled, refused or did not answer a dialog */
	KYSO_ERR_AUDIT = -40,           /* the audit log cannot be written: nothing is signed */
	KYSO_ERR_POLICY = -41,          /* the machine's or the user's policy forbids this */
	KYSO_ERR_PINENTRY = -42,        /* no PIN dialog could be shown (pinentry failed to run) */
	/* documents (libkyso-pdf); numbered apart so that agent errors can grow below */
	KYSO_ERR_DOCUMENT = -60,        /* a document cannot be signed as it is (not a PDF, damaged,
	                                 * encrypted, certified against changes) */
	KYSO_ERR_TSA = -61,             /* the time-stamp authority failed or answered badly */
	KYSO_ERR_EXISTS = -62,          /* the output file exists (and no --force) */
} kyso_err;

/* Returns a static, never-NULL sentence describing err (no trailing period). */
const char *kyso_strerror(int err);

/*
 * Returns the varlink error name for err ("io.kyso.Agent.PinIncorrect",
 * "org.varlink.service.InvalidParameter", ...); never NULL.
 */
const char *kyso_err_varlink(int err);

/* Returns the code for a varlink error name, or KYSO_ERR_UNKNOWN_REMOTE if unknown. */
int kyso_err_from_varlink(const char *name);

#ifdef __cplusplus
}
#endif
#endif
