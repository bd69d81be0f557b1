/* sockpath.c — the default socket path. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/un.h>
#include <unistd.h>

#include "kyso_err.h"
#include "sockpath.h"

size_t
sockpath_max(void)
{
	return sizeof(((struct sockaddr_un *)0)->sun_path);
}

int
sockpath_default(char *out, size_t outlen)
{
	const char *env = getenv("KYSO_SOCKET");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (env != NULL && *env != '\0')
		n = snprintf(out, outlen, "%s", env);
	else if (xdg != NULL && *xdg == '/')
		n = snprintf(out, outlen, "%s/kyso/agent.sock", xdg);
	else
		n = snprintf(out, outlen, "/tmp/kyso-%lu/agent.sock", (unsigned long)getuid());
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= sockpath_max())
		return KYSO_ERR_INVALID_ARG;
	return KYSO_OK;
}
