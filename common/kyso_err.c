/*
 * kyso_err.c — sentences and varlink names for the error codes in kyso_err.h. The
 * sentences are for people (translated in the "kyso" domain); the names are the protocol's.
 */
#include <string.h>

#include "i18n.h"
#include "kyso_err.h"

struct err_entry {
	int code;
	const char *varlink;
	const char *sentence;
};

static const struct err_entry errors[] = {
	{ KYSO_OK, "", N_("success") },
	{ KYSO_ERR_INTERNAL, "io.kyso.Agent.InternalError", N_("internal error") },
	{ KYSO_ERR_NOMEM, "io.kyso.Agent.InternalError", N_("out of memory") },
	{ KYSO_ERR_INVALID_PARAMETER, "org.varlink.service.InvalidParameter",
	  N_("a request parameter is missing or invalid") },
	{ KYSO_ERR_INVALID_ARG, "org.varlink.service.InvalidParameter", N_("invalid argument") },
	{ KYSO_ERR_METHOD_NOT_FOUND, "org.varlink.service.MethodNotFound", N_("no such method") },
	{ KYSO_ERR_INTERFACE_NOT_FOUND, "org.varlink.service.InterfaceNotFound",
	  N_("no such interface") },
	{ KYSO_ERR_PROTOCOL, "io.kyso.Agent.ProtocolError", N_("malformed message") },
	{ KYSO_ERR_TOO_LARGE, "io.kyso.Agent.MessageTooLarge", N_("message exceeds the size limit") },
	{ KYSO_ERR_IO, "io.kyso.Agent.InternalError", N_("input/output error") },
	{ KYSO_ERR_CONNECT, "io.kyso.Agent.InternalError", N_("cannot connect to the kyso agent") },
	{ KYSO_ERR_DISCONNECTED, "io.kyso.Agent.InternalError",
	  N_("the kyso agent closed the connection") },
	{ KYSO_ERR_PERMISSION, "io.kyso.Agent.PermissionDenied",
	  N_("permission denied: the agent serves only its own user") },
	{ KYSO_ERR_NO_SUCH_CERT, "io.kyso.Agent.NoSuchCertificate", N_("no such certificate") },
	{ KYSO_ERR_NO_SUCH_TOKEN, "io.kyso.Agent.NoSuchToken", N_("no such token") },
	{ KYSO_ERR_TOKEN_NOT_PRESENT, "io.kyso.Agent.TokenNotPresent", N_("the token is not present") },
	{ KYSO_ERR_PIN_REQUIRED, "io.kyso.Agent.PinRequired", N_("the token needs a PIN") },
	{ KYSO_ERR_PIN_INCORRECT, "io.kyso.Agent.PinIncorrect", N_("the PIN is incorrect") },
	{ KYSO_ERR_PIN_LOCKED, "io.kyso.Agent.PinLocked",
	  N_("the PIN is locked; an administrator must unblock it") },
	{ KYSO_ERR_UNSUPPORTED_ALG, "io.kyso.Agent.UnsupportedAlgorithm",
	  N_("the algorithm is not supported for this key") },
	{ KYSO_ERR_INVALID_DIGEST, "io.kyso.Agent.InvalidDigest",
	  N_("the digest length does not match the algorithm") },
	{ KYSO_ERR_TOKEN, "io.kyso.Agent.TokenError", N_("the token reported an error") },
	{ KYSO_ERR_KEY_NOT_FOUND, "io.kyso.Agent.NoSuchCertificate",
	  N_("no private key on the token matches the certificate") },
	{ KYSO_ERR_MODULE, "io.kyso.Agent.TokenError", N_("a PKCS#11 module could not be loaded") },
	{ KYSO_ERR_CRYPTO, "io.kyso.Agent.InternalError", N_("a cryptographic operation failed") },
	{ KYSO_ERR_UNKNOWN_REMOTE, "io.kyso.Agent.InternalError",
	  N_("the agent reported an unknown error") },
	{ KYSO_ERR_BUSY, "io.kyso.Agent.TooManyConnections",
	  N_("the agent has too many connections open") },
	{ KYSO_ERR_UNSUPPORTED, "io.kyso.Agent.InternalError", N_("not supported") },
	{ KYSO_ERR_EXPECTED_MORE, "org.varlink.service.ExpectedMore",
	  N_("this method streams its replies: call it with \"more\": true") },
	{ KYSO_ERR_TOO_SLOW, "io.kyso.Agent.SubscriberTooSlow",
	  N_("events were not read fast enough; the subscription was ended") },
	{ KYSO_ERR_TIMEOUT, "io.kyso.Agent.InternalError", N_("timed out") },
	{ KYSO_ERR_CANCELLED, "io.kyso.Agent.Cancelled", N_("the request was cancelled") },
	{ KYSO_ERR_AUDIT, "io.kyso.Agent.AuditFailed",
	  N_("the audit log cannot be written; nothing was signed") },
	{ KYSO_ERR_POLICY, "io.kyso.Agent.PolicyDenied", N_("the policy forbids this") },
	{ KYSO_ERR_PINENTRY, "io.kyso.Agent.PinRequired",
	  N_("no PIN dialog could be shown") },
	{ KYSO_ERR_DOCUMENT, "io.kyso.Agent.InternalError",
	  N_("the document cannot be signed as it is") },
	{ KYSO_ERR_TSA, "io.kyso.Agent.InternalError", N_("the time-stamp authority failed") },
	{ KYSO_ERR_EXISTS, "io.kyso.Agent.InternalError", N_("the output file exists") },
};

static const struct err_entry *
err_find(int code)
{
	for (size_t i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].code == code)
			return &errors[i];
	return NULL;
}

const char *
kyso_strerror(int err)
{
	const struct err_entry *e = err_find(err);

	return e != NULL ? _(e->sentence) : _("unknown error");
}

const char *
kyso_err_varlink(int err)
{
	const struct err_entry *e = err_find(err);

	return e != NULL ? e->varlink : "io.kyso.Agent.InternalError";
}

int
kyso_err_from_varlink(const char *name)
{
	if (name == NULL)
		return KYSO_ERR_UNKNOWN_REMOTE;
	/* the first entry with a name is its canonical code: the table is ordered so */
	for (size_t i = 1; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (strcmp(errors[i].varlink, name) == 0)
			return errors[i].code;
	return KYSO_ERR_UNKNOWN_REMOTE;
}
