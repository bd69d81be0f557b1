/* statedir.c — the user's state directory (see statedir.h). */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kyso_err.h"
#include "statedir.h"

int
statedir_path(const char *subpath, char *buf, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];
	int n;

	if (state != NULL && state[0] == '/') {
		n = snprintf(buf, len, "%s/%s", state, subpath);
		return n >= 0 && (size_t)n < len ? KYSO_OK : KYSO_ERR_INVALID_ARG;
	}
	if ((home == NULL || home[0] != '/') &&
	    getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) == 0 && res != NULL)
		home = pw.pw_dir;
	if (home == NULL || home[0] != '/')
		return KYSO_ERR_INVALID_ARG;
	n = snprintf(buf, len, "%s/.local/state/%s", home, subpath);
	return n >= 0 && (size_t)n < len ? KYSO_OK : KYSO_ERR_INVALID_ARG;
}
