/* host_err.c — the web API's error names, and the agent's errors mapped to them. */
#include <string.h>

#include "host_err.h"
#include "kyso_err.h"

static const char *const names[HE_COUNT] = {
	[HE_INVALID_ARGUMENT] = "InvalidArgument",
	[HE_INSECURE_ORIGIN] = "InsecureOrigin",
	[HE_MESSAGE_TOO_LARGE] = "MessageTooLarge",
	[HE_RESULT_TOO_LARGE] = "ResultTooLarge",
	[HE_AGENT_NOT_RUNNING] = "AgentNotRunning",
	[HE_POLICY_DENIED] = "PolicyDenied",
	[HE_CANCELLED] = "Cancelled",
	[HE_TIMEOUT] = "Timeout",
	[HE_NO_CERTIFICATE] = "NoCertificate",
	[HE_TOKEN_MISSING] = "TokenMissing",
	[HE_PIN_REQUIRED] = "PinRequired",
	[HE_PIN_INCORRECT] = "PinIncorrect",
	[HE_PIN_LOCKED] = "PinLocked",
	[HE_ALGORITHM_NOT_SUPPORTED] = "AlgorithmNotSupported",
	[HE_TOKEN_ERROR] = "TokenError",
	[HE_AUDIT_FAILED] = "AuditFailed",
	[HE_BUSY] = "Busy",
	[HE_AGENT_ERROR] = "AgentError",
};

/* The agent's error names (io.kyso.Agent.X, org.varlink.service.X) by their last part. */
static const struct {
	const char *name;
	enum host_err e;
} agent[] = {
	{ "io.kyso.Agent.PolicyDenied", HE_POLICY_DENIED },
	{ "io.kyso.Agent.Cancelled", HE_CANCELLED },
	{ "io.kyso.Agent.NoSuchCertificate", HE_NO_CERTIFICATE },
	{ "io.kyso.Agent.NoSuchToken", HE_TOKEN_MISSING },
	{ "io.kyso.Agent.TokenNotPresent", HE_TOKEN_MISSING },
	{ "io.kyso.Agent.PinRequired", HE_PIN_REQUIRED },
	{ "io.kyso.Agent.PinIncorrect", HE_PIN_INCORRECT },
	{ "io.kyso.Agent.PinLocked", HE_PIN_LOCKED },
	{ "io.kyso.Agent.UnsupportedAlgorithm", HE_ALGORITHM_NOT_SUPPORTED },
	{ "io.kyso.Agent.InvalidDigest", HE_INVALID_ARGUMENT },
	{ "io.kyso.Agent.TokenError", HE_TOKEN_ERROR },
	{ "io.kyso.Agent.AuditFailed", HE_AUDIT_FAILED },
	{ "io.kyso.Agent.TooManyConnections", HE_BUSY },
	{ "io.kyso.Agent.PermissionDenied", HE_AGENT_NOT_RUNNING },
	{ "io.kyso.Agent.MessageTooLarge", HE_MESSAGE_TOO_LARGE },
	{ "org.varlink.service.InvalidParameter", HE_INVALID_ARGUMENT },
};

const char *
host_err_name(enum host_err e)
{
	return (unsigned)e < HE_COUNT && names[e] != NULL ? names[e] : "AgentError";
}

enum host_err
host_err_from_agent(int err, const char *name, const char *reason)
{
	if (name != NULL && name[0] != '\0') {
		for (size_t i = 0; i < sizeof(agent) / sizeof(agent[0]); i++) {
			if (strcmp(name, agent[i].name) != 0)
				continue;
			if (agent[i].e == HE_CANCELLED && reason != NULL &&
			    strcmp(reason, "timeout") == 0)
				return HE_TIMEOUT;
			return agent[i].e;
		}
		return HE_AGENT_ERROR;
	}
	switch (err) {
	case KYSO_ERR_CONNECT:
	case KYSO_ERR_DISCONNECTED:
	case KYSO_ERR_PERMISSION:
		return HE_AGENT_NOT_RUNNING;
	case KYSO_ERR_BUSY:
		return HE_BUSY;
	case KYSO_ERR_INVALID_ARG:
		return HE_INVALID_ARGUMENT;
	default:
		return HE_AGENT_ERROR;
	}
}
